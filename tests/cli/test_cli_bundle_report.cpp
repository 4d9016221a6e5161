// Issue 20.5 and 20.6 from the command line: `audit report FILE.html` (and the PDF refusal),
// `export bundle` / `import bundle` between two workspaces, a tampered bundle refused, and the
// exit codes. In-process with the fake model; keys in a temporary XDG_CONFIG_HOME.
#include "../core/fake_text_model.h"
#include "cli_test_support.h"

#include "app/cli/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

using Result = larimar::test::CliResult;

std::string readAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

class CliBundleReport : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "larimar-cli-bundle-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        m_dir = tmpl;
        m_model = larimar::test::makeFakeModel();
        const char* v = std::getenv("XDG_CONFIG_HOME");
        m_hadXdg = v != nullptr;
        m_savedXdg = v ? v : "";
        ::setenv("XDG_CONFIG_HOME", file("config").c_str(), 1);
        ::unsetenv("LARIMAR_KEY");
    }
    void TearDown() override {
        if (m_hadXdg) ::setenv("XDG_CONFIG_HOME", m_savedXdg.c_str(), 1);
        else ::unsetenv("XDG_CONFIG_HOME");
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
    std::string file(const std::string& name) const { return (m_dir / name).string(); }

    Result runOn(const std::string& workspace, std::vector<std::string> args) {
        return larimar::test::runCliOn(m_model, workspace, std::move(args));
    }
    void sql(const std::string& path, const std::string& statement) { larimar::test::execSql(path, statement); }
    /// A signed source workspace: key 'default' trusted, a hostile fact, a batch, a setting.
    std::string source() {
        const auto ws = file("src.larimar");
        EXPECT_EQ(runOn(ws, {"key", "create"}).code, 0);
        EXPECT_EQ(runOn(ws, {"key", "trust", "default", "--name", "Alice"}).code, 0);
        EXPECT_EQ(runOn(ws, {"write", "<script>alert(1)</script> lives in Paris.", "--reason", "hostile"}).code, 0);
        {
            std::ofstream(file("facts.txt")) << "The Eiffel Tower is in Rome.\nThe Louvre is in Madrid.\n";
        }
        EXPECT_EQ(runOn(ws, {"write", "--file", file("facts.txt")}).code, 0);
        EXPECT_EQ(runOn(ws, {"scope", "--set-threshold", "0.7"}).code, 0);
        return ws;
    }

    fs::path m_dir;
    std::shared_ptr<larimar::TextModel> m_model;
    std::string m_savedXdg;
    bool m_hadXdg = false;
};

TEST_F(CliBundleReport, AuditReportHtml) {
    const auto ws = source();
    auto r = runOn(ws, {"audit", "report", file("report.html")});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("wrote the audit report (5 edits)"));
    EXPECT_THAT(r.out, HasSubstr("audit head 5:"));
    const auto html = readAll(file("report.html"));
    EXPECT_THAT(html, HasSubstr("PASSED"));
    EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt; lives in Paris."));
    EXPECT_THAT(html, Not(HasSubstr("<script")));
    EXPECT_THAT(html, HasSubstr("trusted</span>: Alice"));
    EXPECT_THAT(html, HasSubstr("scope.threshold"));
    EXPECT_THAT(html, HasSubstr("The Louvre is in Madrid."));

    r = runOn(ws, {"--json", "audit", "report", file("report2.html")});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(r.json()["ok"].get<bool>());
    EXPECT_EQ(r.json()["edits"], 5);

    // Tampered: the report is still written, says FAILED, and the exit code is 1.
    sql(ws, "UPDATE facts SET text = 'The Louvre is in Lisbon.' WHERE id = 3");
    r = runOn(ws, {"audit", "report", file("tampered.html")});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("the report says FAILED"));
    const auto bad = readAll(file("tampered.html"));
    EXPECT_THAT(bad, HasSubstr("FAILED"));
    EXPECT_THAT(bad, Not(HasSubstr("PASSED")));
}

TEST_F(CliBundleReport, ReportErrorsAreExitOne) {
    const auto ws = source();
    auto r = runOn(ws, {"audit", "report", file("report.pdf")});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("PDF needs the GUI build"));
    EXPECT_FALSE(fs::exists(file("report.pdf")));
    r = runOn(ws, {"audit", "report", file("report.txt")});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("must end in .html"));
    // Never over the workspace itself (the exports' shared check).
    fs::copy_file(ws, file("ws.html"));
    r = runOn(file("ws.html"), {"audit", "report", file("ws.html")});
    EXPECT_EQ(r.code, 1);
    r = runOn(file("none.larimar"), {"audit", "report", file("r.html")});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("no workspace"));
}

TEST_F(CliBundleReport, BundleRoundTripIsOneAuditedEditNamingTheSource) {
    const auto src = source();
    auto r = runOn(src, {"export", "bundle", file("b.json")});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("wrote a bundle of 3 fact(s) from 2 edit(s)"));
    EXPECT_THAT(r.out, HasSubstr("signed by key 'default'"));
    r = runOn(src, {"--json", "export", "bundle", file("b2.json"), "--facts", "2-3"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.json()["facts"], 2);
    EXPECT_EQ(runOn(src, {"export", "bundle", file("b3.json"), "--edits", "3"}).code, 0);

    const auto dst = file("dst.larimar");
    ASSERT_EQ(runOn(dst, {"write", "Berlin is in Germany."}).code, 0);
    r = runOn(dst, {"--json", "import", "bundle", file("b2.json"), "--reason", "from the team"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = r.json();
    EXPECT_EQ(j["edit_id"], 2);
    EXPECT_EQ(j["op"], "batch");
    EXPECT_EQ(j["bundle"]["signed_edits"], 1);
    EXPECT_FALSE(j["bundle"]["re_encoded"].get<bool>());
    const std::string sha = j["bundle"]["sha256"];
    r = runOn(dst, {"--json", "history"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto history = r.json();
    const auto& edits = history.is_array() ? history : history["edits"];
    ASSERT_EQ(edits.size(), 2u);
    bool found = false;
    for (const auto& e : edits)
        if (e["id"] == 2) {
            found = true;
            const std::string reason = e["reason"];
            EXPECT_THAT(reason, HasSubstr("from the team; applied bundle sha256:" + sha));
            EXPECT_THAT(reason, HasSubstr(src));
        }
    EXPECT_TRUE(found);
    r = runOn(dst, {"facts"});
    EXPECT_THAT(r.out, HasSubstr("The Louvre is in Madrid."));
    EXPECT_THAT(r.out, HasSubstr("The Eiffel Tower is in Rome."));
    EXPECT_THAT(r.out, Not(HasSubstr("Paris")));
    EXPECT_EQ(runOn(dst, {"audit", "verify"}).code, 0);

    // Again: duplicates refused; --allow-duplicate writes them.
    r = runOn(dst, {"import", "bundle", file("b2.json")});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("already written here"));
    // Not signed by a key the target trusts (it trusts none).
    r = runOn(dst, {"import", "bundle", file("b.json"), "--require-trusted"});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("--require-trusted"));
    r = runOn(dst, {"import", "bundle", file("b.json"), "--allow-duplicate"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("wrote 3 fact(s) as one edit"));
    EXPECT_THAT(r.out, HasSubstr("edit 3 (batch)"));
}

TEST_F(CliBundleReport, TamperedBundleIsRefusedAndWritesNothing) {
    const auto src = source();
    ASSERT_EQ(runOn(src, {"export", "bundle", file("b.json")}).code, 0);
    auto text = readAll(file("b.json"));
    const auto at = text.find("The Louvre is in Madrid.");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 24, "The Louvre is in Berlin.");
    {
        std::ofstream(file("bad.json"), std::ios::binary) << text;
    }
    const auto dst = file("dst.larimar");
    auto r = runOn(dst, {"import", "bundle", file("bad.json")});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("changed after it was made"));
    EXPECT_FALSE(fs::exists(dst)) << "verified before the workspace is opened";
    {
        std::ofstream(file("junk.json")) << "not json";
    }
    r = runOn(dst, {"import", "bundle", file("junk.json")});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("not a Larimar bundle"));
}

TEST_F(CliBundleReport, BundleErrorsAreExitOne) {
    const auto src = source();
    auto r = runOn(src, {"export", "bundle", src});
    EXPECT_EQ(r.code, 1) << "never over the open workspace";
    r = runOn(src, {"export", "bundle", file("b.json"), "--edits", "1"});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("edit 1 (trust) wrote no fact"));
    r = runOn(src, {"export", "bundle", file("b.json"), "--facts", "x"});
    EXPECT_EQ(r.code, 1);
    r = runOn(src, {"export", "bundle", file("b.json"), "--facts", "1", "--edits", "2"});
    EXPECT_EQ(r.code, 1);
    r = runOn(src, {"import", "bundle", file("missing.json")});
    EXPECT_EQ(r.code, 1);
    sql(src, "UPDATE edits SET reason = 'other' WHERE id = 2");
    r = runOn(src, {"export", "bundle", file("b.json")});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("does not verify"));
}

} // namespace
