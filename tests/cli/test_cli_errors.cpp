// Issue 20, robustness 6: bad input and a hostile environment are exit 1 with a message a person
// can act on, never exit 2 ("internal error"): JSON numbers beyond double's range, /dev/null as
// the workspace, an export target that is a directory, a page damaged after the file opened, a
// full disk and a read-only medium (which reading commands still read); --json prints a JSON
// error document for usage errors too. In-process, with the fake model. The full-disk and
// read-only-medium cases mount a small tmpfs, so they run as root only (skipped otherwise).
#include "../core/fake_text_model.h"
#include "cli_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sys/mount.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

using Result = larimar::test::CliResult;

class CliErrors : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "larimar-cli-errors-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        m_dir = tmpl;
        m_model = larimar::test::makeFakeModel();
    }
    void TearDown() override {
        if (m_mounted) umount2(m_mount.c_str(), MNT_DETACH);
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
    std::string file(const std::string& name) const { return (m_dir / name).string(); }
    std::string ws() const { return file("ws.larimar"); }
    Result runOn(const std::string& workspace, std::vector<std::string> args) {
        return larimar::test::runCliOn(m_model, workspace, std::move(args));
    }
    Result run(std::vector<std::string> args) { return runOn(ws(), std::move(args)); }
    void writeText(const std::string& path, const std::string& text) {
        std::ofstream(path, std::ios::binary) << text;
    }
    /// A tmpfs of `bytes` at dir/name; false (the test skips) where mounting is not allowed.
    bool mountTmpfs(const std::string& name, std::size_t bytes) {
        m_mount = file(name);
        fs::create_directories(m_mount);
        if (geteuid() != 0) return false;
        const std::string opts = "size=" + std::to_string(bytes);
        if (mount("tmpfs", m_mount.c_str(), "tmpfs", 0, opts.c_str()) != 0) return false;
        m_mounted = true;
        return true;
    }
    bool remountReadOnly() {
        return mount(nullptr, m_mount.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0;
    }

    fs::path m_dir;
    std::string m_mount;
    bool m_mounted = false;
    std::shared_ptr<larimar::SyntheticTextModel> m_model;
};

void expectUserError(const Result& r, const std::string& needle) {
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

} // namespace

TEST_F(CliErrors, JsonNumbersBeyondDoubleRangeAreBadInput) {
    const auto jsonl = file("big.jsonl");
    writeText(jsonl, "{\"text\": \"The Tamsa flows north.\", \"weight\": 1e400}\n");
    const auto r = run({"write", "--file", jsonl});
    expectUserError(r, "a number is out of range");
    EXPECT_NE(r.err.find("1e400"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(ws())) << "a bad file must write nothing";
    // And in a bundle given to import.
    const auto bundle = file("big.bundle.json");
    writeText(bundle, "{\"format\": \"larimar-edit-bundle\", \"version\": -1e999}");
    expectUserError(run({"import", "bundle", bundle}), "");
}

TEST_F(CliErrors, JsonUsageErrorsPrintAJsonDocument) {
    const auto r = run({"--json", "facts", "--no-such-option"});
    EXPECT_EQ(r.code, 1);
    const auto j = r.json();
    EXPECT_EQ(j.value("usage", false), true);
    EXPECT_NE(j.value("error", std::string()).find("--no-such-option"), std::string::npos) << r.out;
    // Without --json, stdout stays empty.
    const auto plain = run({"facts", "--no-such-option"});
    EXPECT_EQ(plain.code, 1);
    EXPECT_EQ(plain.out, "");
}

TEST_F(CliErrors, DevNullAndDirectoriesAreNotWorkspaces) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"write", "The Tamsa flows north."}, {"facts"}, {"history"}, {"info"}})
        expectUserError(runOn("/dev/null", args), "'/dev/null' is a character device, not a workspace file");
    fs::create_directories(file("dir.larimar"));
    expectUserError(runOn(file("dir.larimar"), {"write", "The Tamsa flows north."}), "is a directory, not a workspace");
}

TEST_F(CliErrors, ExportTargetsThatAreDirectoriesAreRefused) {
    ASSERT_EQ(run({"write", "The Tamsa flows north."}).code, 0);
    fs::create_directories(file("out"));
    for (const std::vector<std::string>& args : {std::vector<std::string>{"export", "history", file("out")},
                                                 {"export", "memory", file("out")},
                                                 {"export", "bundle", file("out")}})
        expectUserError(run(args), "is a directory");
}

TEST_F(CliErrors, APageDamagedAfterOpeningIsReportedNotInternal) {
    // Enough facts for the facts table to span many pages; then one of its pages is overwritten.
    std::string facts;
    for (int i = 0; i < 400; ++i) facts += "Fact number " + std::to_string(i) + " is about the river Tamsa.\n";
    writeText(file("facts.txt"), facts);
    ASSERT_EQ(run({"write", "--file", file("facts.txt")}).code, 0);
    ASSERT_FALSE(fs::exists(ws() + "-wal")) << "the last connection checkpoints";
    const auto size = fs::file_size(ws());
    ASSERT_GT(size, 40u * 4096u);
    {
        std::fstream f(ws(), std::ios::in | std::ios::out | std::ios::binary);
        const std::string junk(4096, '\xA5');
        for (std::uintmax_t page = 4; page * 4096 < size - 8192; page += 3) {
            f.seekp(static_cast<std::streamoff>(page * 4096));
            f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
        }
    }
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"facts"}, {"history"}, {"audit", "verify"}, {"write", "One more fact."}}) {
        const auto r = run(args);
        EXPECT_EQ(r.code, 1) << args[0] << ": " << r.err;
        EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("damaged"), std::string::npos) << args[0] << ": " << r.err;
    }
}

TEST_F(CliErrors, AFullDiskFailsTheEditCleanly) {
    if (!mountTmpfs("small", 192 * 1024)) GTEST_SKIP() << "mounting a tmpfs needs root";
    const auto path = m_mount + "/ws.larimar";
    ASSERT_EQ(runOn(path, {"write", "The Tamsa flows north."}).code, 0);
    std::string facts;
    for (int i = 0; i < 1000; ++i) facts += "Fact number " + std::to_string(i) + " is about the river Tamsa.\n";
    writeText(file("facts.txt"), facts); // outside the small disk
    const auto r = runOn(path, {"write", "--file", file("facts.txt")});
    expectUserError(r, "the disk is full");
    // Nothing of the failed edit stays: one fact, and the chain verifies.
    const auto listed = runOn(path, {"--json", "facts"});
    ASSERT_EQ(listed.code, 0) << listed.err;
    EXPECT_EQ(listed.json()["facts"].size(), 1u) << listed.out;
    EXPECT_EQ(runOn(path, {"audit", "verify"}).code, 0);
}

TEST_F(CliErrors, AReadOnlyMediumIsReadAndNotWritten) {
    if (!mountTmpfs("medium", 4 * 1024 * 1024)) GTEST_SKIP() << "mounting a tmpfs needs root";
    const auto path = m_mount + "/archive.larimar";
    ASSERT_EQ(runOn(path, {"write", "The Tamsa flows north."}).code, 0);
    ASSERT_EQ(runOn(path, {"write", "The Tamsa has three bridges."}).code, 0);
    const auto head = runOn(path, {"audit", "head"});
    ASSERT_EQ(head.code, 0);
    ASSERT_TRUE(remountReadOnly());
    // An auditor checks the archived copy: every reading command works, and says the same.
    const auto facts = runOn(path, {"--json", "facts"});
    ASSERT_EQ(facts.code, 0) << facts.err;
    EXPECT_EQ(facts.json()["facts"].size(), 2u);
    EXPECT_EQ(runOn(path, {"history"}).code, 0);
    const auto verify = runOn(path, {"audit", "verify"});
    EXPECT_EQ(verify.code, 0) << verify.err;
    EXPECT_EQ(runOn(path, {"audit", "head"}).out, head.out);
    EXPECT_EQ(runOn(path, {"export", "history", file("history.csv")}).code, 0);
    const auto memory = runOn(path, {"export", "memory", file("memory.npy")});
    EXPECT_EQ(memory.code, 0) << memory.err;
    EXPECT_TRUE(fs::exists(file("memory.npy")));
    const auto info = runOn(path, {"info"});
    EXPECT_EQ(info.code, 0) << info.err;
    // A write says why it cannot.
    const auto write = runOn(path, {"write", "A third fact."});
    EXPECT_EQ(write.code, 1) << write.err;
    EXPECT_EQ(write.err.find("internal error"), std::string::npos) << write.err;
    EXPECT_NE(write.err.find("read-only"), std::string::npos) << write.err;
}

// Robustness 7, the smaller cases.
TEST_F(CliErrors, ANanThresholdIsRefusedNotIgnored) {
    ASSERT_EQ(run({"write", "The Tamsa flows north."}).code, 0);
    expectUserError(run({"query", "The Tamsa", "--threshold", "nan"}), "--threshold must be a finite number");
    expectUserError(run({"query", "The Tamsa", "--threshold", "inf"}), "not infinity");
    EXPECT_EQ(run({"query", "The Tamsa", "--threshold", "0.5"}).code, 0);
}

TEST_F(CliErrors, WriteFileRefusesDevicesInsteadOfReadingForever) {
    expectUserError(run({"write", "--file", "/dev/zero"}), "/dev/zero is not a regular file");
    EXPECT_FALSE(fs::exists(ws()));
}

TEST_F(CliErrors, UndoNamesTheOtherUsersEditItTakesBack) {
    ASSERT_EQ(run({"write", "The Tamsa flows north.", "--actor", "alice"}).code, 0);
    ASSERT_EQ(run({"write", "The Tamsa has three bridges.", "--actor", "bob"}).code, 0);
    // Alice meant to undo her own write; bob's came in between.
    const auto r = run({"undo", "--actor", "alice"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("note: this took back edit 2 (write by bob), not made by alice"), std::string::npos) << r.err;
    const auto j = run({"--json", "undo", "--actor", "alice"});
    ASSERT_EQ(j.code, 0) << j.err;
    // The second undo takes back edit 3, alice's own undo: nobody else's edit is named.
    EXPECT_EQ(j.json()["undid_others"].size(), 0u) << j.out;
}

TEST_F(CliErrors, CrOnlyLineEndsSplitTextAndJsonl) {
    writeText(file("mac.txt"), "The Tamsa flows north.\rThe Tamsa has three bridges.\rThe Tamsa is cold.\r");
    const auto r = run({"--json", "write", "--file", file("mac.txt")});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.json()["count"], 3); // before: one fact holding all three lines
    writeText(file("mac.jsonl"), "{\"text\": \"One.\"}\r{\"text\": \"Two.\"}\r\n{\"text\": \"Three.\"}");
    const auto j = run({"--json", "write", "--file", file("mac.jsonl")});
    ASSERT_EQ(j.code, 0) << j.err; // before: 'invalid JSON' on line 1
    EXPECT_EQ(j.json()["count"], 3);
}

TEST_F(CliErrors, EveryJsonRecordMustHaveTheFirstRecordsSchema) {
    writeText(file("mixed.jsonl"), "{\"text\": \"The Tamsa flows north.\"}\n"
                                   "{\"prompt\": \"The Tamsa flows\", \"target_new\": \"south\"}\n");
    const auto r = run({"write", "--file", file("mixed.jsonl")});
    expectUserError(r, "mixed.jsonl: line 2: a record of schema easyedit, but the first record is jsonl");
    EXPECT_FALSE(fs::exists(ws()));
}
