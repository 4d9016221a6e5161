// Issue 20, signed edits from the command line: `larimar key create|list|trust|export`, the
// global --key, and what `audit verify` says about signatures. In-process with the fake model;
// XDG_CONFIG_HOME points at a temporary directory, so no real key is touched.
#include "../core/fake_text_model.h"
#include "cli_test_support.h"

#include "app/cli/cli.h"
#include "core/store/audit.h"
#include "core/store/signing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

using Result = larimar::test::CliResult;

class CliKeys : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "larimar-cli-keys-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        m_dir = tmpl;
        m_model = larimar::test::makeFakeModel();
        save("XDG_CONFIG_HOME", m_savedXdg, m_hadXdg);
        save("LARIMAR_KEY", m_savedKey, m_hadKey);
        ::setenv("XDG_CONFIG_HOME", file("config").c_str(), 1);
        ::unsetenv("LARIMAR_KEY");
    }
    void TearDown() override {
        restore("XDG_CONFIG_HOME", m_savedXdg, m_hadXdg);
        restore("LARIMAR_KEY", m_savedKey, m_hadKey);
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
    static void save(const char* name, std::string& value, bool& had) {
        const char* v = std::getenv(name);
        had = v != nullptr;
        value = v ? v : "";
    }
    static void restore(const char* name, const std::string& value, bool had) {
        if (had) ::setenv(name, value.c_str(), 1);
        else ::unsetenv(name);
    }
    std::string file(const std::string& name) const { return (m_dir / name).string(); }
    std::string keyFile(const std::string& name) const { return file("config/larimar/keys/" + name); }
    std::string ws() const { return file("ws.larimar"); }

    Result run(std::vector<std::string> args) { return larimar::test::runCliOn(m_model, ws(), std::move(args)); }
    void sql(const std::string& statement) { larimar::test::execSql(ws(), statement); }

    fs::path m_dir;
    std::shared_ptr<larimar::TextModel> m_model;
    std::string m_savedXdg, m_savedKey;
    bool m_hadXdg = false, m_hadKey = false;
};

} // namespace

TEST_F(CliKeys, CreateListExport) {
    auto r = run({"key", "create"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("created key 'default'"));
    struct stat st {};
    ASSERT_EQ(::stat(keyFile("default.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    r = run({"key", "create"});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("already exists"));
    r = run({"key", "create", "bad/name"});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("is not a key name"));

    ASSERT_EQ(run({"key", "create", "bob"}).code, 0);
    r = run({"key", "list"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("  bob  "));
    EXPECT_THAT(r.out, HasSubstr("  default  "));
    EXPECT_THAT(r.out, HasSubstr("no workspace at"));

    r = run({"key", "export", "bob"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("-----BEGIN PUBLIC KEY-----"));
    EXPECT_EQ(larimar::PublicKey::fromPem(r.out, "out").hex, run({"--json", "key", "export", "bob"}).json()["public_key"]);
    r = run({"key", "export", "carol"});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("no key named 'carol'"));
}

TEST_F(CliKeys, LooseKeyFileModeIsRefused) {
    ASSERT_EQ(run({"key", "create"}).code, 0);
    ::chmod(keyFile("default.key").c_str(), 0644);
    const auto r = run({"write", "Paris is in France."});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("file mode is 0644"));
    EXPECT_THAT(r.err, HasSubstr("chmod 600"));
}

TEST_F(CliKeys, WithoutKeysEditsAreUnsignedNotBroken) {
    ASSERT_EQ(run({"write", "Paris is in France."}).code, 0);
    ASSERT_EQ(run({"write", "Rome is in Italy."}).code, 0);
    const auto r = run({"audit", "verify"});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("0 by trusted keys, 0 by untrusted keys, 2 unsigned (unsigned before edit 3)"));
    EXPECT_THAT(run({"history"}).out, HasSubstr("[unsigned]"));
    const auto j = run({"--json", "audit", "verify"}).json();
    EXPECT_EQ(j["signatures"]["unsigned"], 2);
    EXPECT_EQ(j["signatures"]["unsigned_before"], 3);
}

TEST_F(CliKeys, TrustIsASignedAuditedEditAndARewrittenChainFails) {
    ASSERT_EQ(run({"write", "Paris is in France."}).code, 0); // before any key: unsigned
    ASSERT_EQ(run({"key", "create", "alice"}).code, 0);

    auto r = run({"key", "trust", "alice"});
    EXPECT_EQ(r.code, 1) << "no signing key: there is no 'default' and no --key";
    EXPECT_THAT(r.err, HasSubstr("trusting a key is a signed edit"));

    r = run({"--key", "alice", "key", "trust", "alice", "--reason", "alice signs from now on"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("edit 2 (trust)"));
    EXPECT_THAT(r.out, HasSubstr("audit head 2:"));
    r = run({"--key", "alice", "key", "trust", "alice"});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("already trusts"));

    r = run({"write", "Rome is in Italy."});
    EXPECT_EQ(r.code, 1) << "unsigned edits are refused once the workspace trusts keys";
    EXPECT_THAT(r.err, HasSubstr("accepts only edits signed by a key it trusts"));
    ASSERT_EQ(run({"--key", "alice", "write", "Rome is in Italy."}).code, 0);

    // A second actor: trusted through alice's signed edit, from his exported public key.
    ASSERT_EQ(run({"key", "create", "bob"}).code, 0);
    {
        std::ofstream(file("bob.pem")) << run({"key", "export", "bob"}).out;
    }
    r = run({"--key", "bob", "key", "trust", file("bob.pem")});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("only a trusted key can trust another"));
    ASSERT_EQ(run({"--key", "alice", "key", "trust", file("bob.pem"), "--name", "Bob"}).code, 0);
    ::setenv("LARIMAR_KEY", "bob", 1);
    ASSERT_EQ(run({"write", "Madrid is in Spain."}).code, 0);
    ::unsetenv("LARIMAR_KEY");

    r = run({"audit", "verify"});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("4 by trusted keys, 0 by untrusted keys, 1 unsigned (unsigned before edit 2); 2 trusted keys"));
    r = run({"key", "list"});
    EXPECT_THAT(r.out, HasSubstr("trusted here as 'alice'"));
    EXPECT_THAT(r.out, HasSubstr("Bob  "));
    r = run({"history"});
    EXPECT_THAT(r.out, HasSubstr("signed by alice"));
    EXPECT_THAT(r.out, HasSubstr("signed by Bob"));
    EXPECT_THAT(r.out, HasSubstr("trust"));

    // The attack: stripping the signatures from the edits after the trust edit.
    sql("UPDATE edits SET signer = '', signature = '' WHERE id = 3");
    r = run({"audit", "verify"});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.out, HasSubstr("audit FAILED at edit 3"));
    EXPECT_THAT(r.out, HasSubstr("unsigned"));
}

TEST_F(CliKeys, ErrorsAreExitOne) {
    auto r = run({"key", "trust", file("missing.pem")});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("neither a public key file nor a key"));
    {
        std::ofstream(file("junk.pem")) << "hello";
    }
    r = run({"key", "trust", file("junk.pem")});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("is not a PEM public key"));
    r = run({"--key", "nobody", "write", "x."});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("no key named 'nobody'"));
}
