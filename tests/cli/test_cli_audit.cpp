// Issue 20 from the command line: workspaces no input can break (schema versions, export
// targets, terminal escapes) and an audit trail an auditor can anchor (audit head,
// --expect-head, the head after every edit, no appends to a broken chain). In-process, with
// the fake model; the workspace is changed behind the program's back with sqlite3, as a user
// with the sqlite3 shell could.
#include "../core/fake_text_model.h"
#include "cli_test_support.h"

#include "app/cli/cli.h"
#include "core/util/terminal_text.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <sys/stat.h>

namespace fs = std::filesystem;

namespace {

using Result = larimar::test::CliResult;

class CliAudit : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "larimar-cli-audit-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        m_dir = tmpl;
        m_model = larimar::test::makeFakeModel();
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
    std::string file(const std::string& name) const { return (m_dir / name).string(); }
    std::string ws() const { return file("ws.larimar"); }

    Result runOn(const std::string& workspace, std::vector<std::string> args) {
        return larimar::test::runCliOn(m_model, workspace, std::move(args));
    }
    Result run(std::vector<std::string> args) { return runOn(ws(), std::move(args)); }
    Result json(std::vector<std::string> args) {
        args.insert(args.begin(), "--json");
        return run(std::move(args));
    }
    void sql(const std::string& statement, const std::string& path = {}) {
        larimar::test::execSql(path.empty() ? ws() : path, statement);
    }
    std::string sqlText(const std::string& query) {
        sqlite3* db = nullptr;
        sqlite3_open(ws().c_str(), &db);
        sqlite3_stmt* st = nullptr;
        std::string out;
        if (sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return out;
    }

    fs::path m_dir;
    std::shared_ptr<larimar::SyntheticTextModel> m_model;
};

// --- schema versions ------------------------------------------------------------------------

TEST_F(CliAudit, NegativeSchemaVersionIsAClearExit1) {
    // Used to crash every command (the migration loop indexed before its table).
    ASSERT_EQ(run({"write", "a fact."}).code, 0);
    sql("PRAGMA user_version = -1");
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"facts"}, {"history"}, {"audit", "verify"}, {"info"}, {"write", "more."},
          {"export", "history", file("h.csv")}}) {
        const auto r = run(args);
        EXPECT_EQ(r.code, 1) << args[0] << ": " << r.err;
        EXPECT_NE(r.err.find("schema version (PRAGMA user_version) is -1"), std::string::npos) << r.err;
    }
    EXPECT_EQ(sqlText("PRAGMA user_version"), "-1");
}

TEST_F(CliAudit, ReadOnlyCommandsDoNotMigrate) {
    ASSERT_EQ(run({"write", "a fact."}).code, 0);
    sql("DROP TABLE fact_embeddings; PRAGMA user_version = 1"); // as a version-1 workspace
    EXPECT_EQ(run({"facts"}).code, 0);
    EXPECT_EQ(run({"history"}).code, 0);
    EXPECT_EQ(run({"audit", "verify"}).code, 0);
    EXPECT_EQ(run({"audit", "head"}).code, 0);
    EXPECT_EQ(run({"export", "history", file("h.json")}).code, 0);
    EXPECT_EQ(sqlText("PRAGMA user_version"), "1") << "listings, audits and exports change nothing";
}

// --- export targets -------------------------------------------------------------------------

TEST_F(CliAudit, ExportRefusesTheWorkspaceItsFilesAndNonRegularTargets) {
    ASSERT_EQ(run({"write", "a fact."}).code, 0);
    ASSERT_EQ(run({"write", "another fact."}).code, 0);
    fs::create_symlink(ws(), file("link.larimar"));
    ASSERT_EQ(mkfifo(file("fifo").c_str(), 0600), 0);
    fs::create_directory(file("dir"));
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"export", "history", ws()}, "the workspace itself"},
        {{"export", "history", ws(), "--format", "json"}, "the workspace itself"},
        {{"export", "memory", ws()}, "the workspace itself"},
        {{"export", "history", file("link.larimar")}, "the workspace itself"},
        {{"export", "history", (m_dir / "." / "ws.larimar").string()}, "the workspace itself"},
        {{"export", "history", ws() + "-wal"}, "the wal file"},
        {{"export", "memory", ws() + "-shm"}, "the shm file"},
        {{"export", "history", file("fifo")}, "not a regular file"},
        {{"export", "memory", file("fifo")}, "not a regular file"},
        {{"export", "history", file("dir")}, "a directory"},
    };
    for (const auto& [args, expected] : cases) {
        const auto r = run(args);
        EXPECT_EQ(r.code, 1) << args[2] << ": " << r.out << r.err;
        EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    }
    struct stat st{};
    ASSERT_EQ(stat(file("fifo").c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO was not replaced";
    EXPECT_TRUE(fs::is_directory(file("dir")));
    EXPECT_TRUE(fs::is_symlink(file("link.larimar")));
    const auto audit = run({"audit", "verify"});
    EXPECT_EQ(audit.code, 0) << audit.out << audit.err;
    EXPECT_EQ(json({"facts"}).json().at("count"), 2);
    // An ordinary file is still fine, also one that exists.
    EXPECT_EQ(run({"export", "history", file("h.csv")}).code, 0);
    EXPECT_EQ(run({"export", "history", file("h.csv")}).code, 0);
    EXPECT_EQ(run({"export", "memory", file("m.npy")}).code, 0);
}

// --- terminal escapes -----------------------------------------------------------------------

TEST(TerminalText, EscapesControlsAndBidiKeepsTheRest) {
    using larimar::escapeForTerminal;
    EXPECT_EQ(escapeForTerminal("Paris is in France."), "Paris is in France.");
    EXPECT_EQ(escapeForTerminal("Zürich, 東京, emoji \xF0\x9F\x98\x80"), "Zürich, 東京, emoji \xF0\x9F\x98\x80");
    EXPECT_EQ(escapeForTerminal("a\rb\nc\td\x1b[2Je"), "a\\rb\\nc\\td\\e[2Je");
    EXPECT_EQ(escapeForTerminal("\x1b]0;owned\x07"), "\\e]0;owned\\x07");
    EXPECT_EQ(escapeForTerminal(std::string("nul\0x\x7f", 6)), "nul\\x00x\\x7F");
    EXPECT_EQ(escapeForTerminal("back\\slash"), "back\\\\slash") << "a typed \\e is not an escape";
    EXPECT_EQ(escapeForTerminal("\xC2\x9B" "31m"), "\\u009B31m") << "C1 CSI";
    EXPECT_EQ(escapeForTerminal("abc\xE2\x80\xAEgnp.exe"), "abc\\u202Egnp.exe");
    EXPECT_EQ(escapeForTerminal("\xE2\x81\xA6x\xE2\x81\xA9\xE2\x80\x8E\xE2\x80\x8F\xD8\x9C\xE2\x80\xA8"),
              "\\u2066x\\u2069\\u200E\\u200F\\u061C\\u2028");
    EXPECT_EQ(escapeForTerminal("bad \xFF\xC3"), "bad \\xFF\\xC3");
    EXPECT_EQ(escapeForTerminal("\xE0\x80\x80"), "\\xE0\\x80\\x80") << "overlong";
}

TEST_F(CliAudit, ListingsShowHostileTextVisiblyAndJsonExactly) {
    const std::string hostile = "Paris is in France.\r\x1b[2J\x1b]0;pwned\x07\xE2\x80\xAE.sraeppa ti tahw ton";
    ASSERT_EQ(run({"write", hostile, "--reason", "why\x1b[8mhidden", "--actor", "eve\rmallory"}).code, 0);
    auto clean = [](const std::string& s) {
        return s.find('\x1b') == std::string::npos && s.find('\r') == std::string::npos &&
               s.find('\x07') == std::string::npos && s.find("\xE2\x80\xAE") == std::string::npos;
    };
    const auto facts = run({"facts"});
    ASSERT_EQ(facts.code, 0);
    EXPECT_TRUE(clean(facts.out)) << facts.out;
    EXPECT_NE(facts.out.find("Paris is in France.\\r\\e[2J\\e]0;pwned\\x07\\u202E.sraeppa"), std::string::npos)
        << facts.out;
    const auto history = run({"history"});
    ASSERT_EQ(history.code, 0);
    EXPECT_TRUE(clean(history.out)) << history.out;
    EXPECT_NE(history.out.find("eve\\rmallory"), std::string::npos) << history.out;
    EXPECT_NE(history.out.find("why\\e[8mhidden"), std::string::npos) << history.out;
    const auto query = run({"query", "Paris is in"});
    ASSERT_EQ(query.code, 0) << query.err;
    EXPECT_TRUE(clean(query.out)) << query.out;
    const auto compare = run({"compare", "Paris is in"});
    ASSERT_EQ(compare.code, 0) << compare.err;
    EXPECT_TRUE(clean(compare.out)) << compare.out;
    EXPECT_NE(query.out.find("\\e[2J"), std::string::npos) << "the answer quotes the fact, visibly:\n" << query.out;
    // --json keeps the exact text.
    EXPECT_EQ(json({"facts"}).json().at("facts").at(0).at("text"), hostile);
    const auto edits = json({"history"}).json().at("edits");
    EXPECT_EQ(edits.at(0).at("actor"), "eve\rmallory");
    EXPECT_EQ(edits.at(0).at("reason"), "why\x1b[8mhidden");
}

// --- anchors ----------------------------------------------------------------------------------

TEST_F(CliAudit, EveryEditEndsWithTheNewHead) {
    const std::regex headLine(R"(  audit head (\d+):([0-9a-f]{64}))");
    std::smatch m;
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"write", "a fact."}, {"write", "another fact."}, {"forget", "1", "--reason", "test"},
          {"rollback", "1"}, {"undo"}}) {
        const auto r = run(args);
        ASSERT_EQ(r.code, 0) << r.err;
        const auto last = r.lastLine();
        ASSERT_TRUE(std::regex_match(last, m, headLine)) << args[0] << ":\n" << r.out;
        const auto id = std::stoll(m[1]);
        EXPECT_EQ(m[2].str(), sqlText("SELECT hash FROM edits WHERE id = " + std::to_string(id)));
        EXPECT_EQ(sqlText("SELECT max(id) FROM edits"), std::to_string(id));
    }
    const auto j = json({"write", "third fact."}).json();
    EXPECT_EQ(j.at("hash"), sqlText("SELECT hash FROM edits WHERE id = 6"));
    EXPECT_EQ(j.at("head"), "6:" + j.at("hash").get<std::string>());
}

TEST_F(CliAudit, AuditHeadAndExpectHeadCatchARewrittenChain) {
    ASSERT_EQ(run({"write", "Paris is in France."}).code, 0);
    ASSERT_EQ(run({"write", "Rome is in Italy."}).code, 0);
    ASSERT_EQ(run({"write", "Oslo is in Norway."}).code, 0);
    const auto head = run({"audit", "head"});
    ASSERT_EQ(head.code, 0) << head.err;
    const std::string hash3 = sqlText("SELECT hash FROM edits WHERE id = 3");
    EXPECT_EQ(head.out, "audit head 3:" + hash3 + "\n");
    const auto hj = json({"audit", "head"}).json();
    EXPECT_EQ(hj.at("head").at("head"), "3:" + hash3);
    EXPECT_EQ(hj.at("head").at("edit_id"), 3);
    const std::string recorded = "3:" + hash3;

    auto ok = run({"audit", "verify", "--expect-head", recorded});
    EXPECT_EQ(ok.code, 0) << ok.out << ok.err;
    EXPECT_NE(ok.out.find("passes through the recorded head"), std::string::npos) << ok.out;
    EXPECT_EQ(run({"audit", "verify", "--expect-head", "2:" + sqlText("SELECT hash FROM edits WHERE id = 2").substr(0, 12)}).code, 0);
    ASSERT_EQ(run({"write", "Bern is in Switzerland."}).code, 0);
    EXPECT_EQ(run({"audit", "verify", "--expect-head", recorded}).code, 0) << "later edits keep the anchor";

    // A rewritten history, every hash recomputed (another workspace built with other facts
    // and put in its place): plain verify passes, the recorded head does not.
    const std::string forged = file("forged.larimar");
    ASSERT_EQ(runOn(forged, {"write", "Paris is in Spain."}).code, 0);
    for (int i = 0; i < 4; ++i) ASSERT_EQ(runOn(forged, {"write", "filler " + std::to_string(i) + "."}).code, 0);
    fs::copy_file(forged, ws(), fs::copy_options::overwrite_existing);
    EXPECT_EQ(run({"audit", "verify"}).code, 0);
    auto bad = run({"audit", "verify", "--expect-head", recorded});
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.out.find("audit FAILED at edit 3"), std::string::npos) << bad.out;
    EXPECT_NE(bad.out.find("was rewritten"), std::string::npos) << bad.out;
    const auto bj = json({"audit", "verify", "--expect-head", recorded});
    EXPECT_EQ(bj.code, 1);
    EXPECT_FALSE(bj.json().at("ok").get<bool>());
    EXPECT_EQ(bj.json().at("expected_head"), recorded);

    // Edits removed: a head beyond the history.
    const auto removed = run({"audit", "verify", "--expect-head", "9:" + hash3});
    EXPECT_EQ(removed.code, 1);
    EXPECT_NE(removed.out.find("history ends at edit 5"), std::string::npos) << removed.out;
    // A malformed head is a usage error, exit 1.
    const auto usage = run({"audit", "verify", "--expect-head", "three"});
    EXPECT_EQ(usage.code, 1);
    EXPECT_NE(usage.err.find("ID:HASH"), std::string::npos) << usage.err;
}

// --- no appends to a broken chain -----------------------------------------------------------

TEST_F(CliAudit, EditsAreRefusedWhileTheAuditFailsReadsStillWork) {
    ASSERT_EQ(run({"write", "first fact."}).code, 0);
    ASSERT_EQ(run({"write", "second fact."}).code, 0);
    ASSERT_EQ(run({"forget", "1", "--reason", "test"}).code, 0);
    sql("UPDATE edits SET reason = 'x' WHERE id = 2");
    const std::string edits = sqlText("SELECT count(*) FROM edits");
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"write", "third fact."}, {"forget", "2", "--reason", "test"}, {"rollback", "1"}, {"undo"}}) {
        const auto r = run(args);
        EXPECT_EQ(r.code, 1) << args[0] << ": " << r.out << r.err;
        EXPECT_NE(r.err.find("refusing to write"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("audit FAILED at edit 2"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("larimar audit verify"), std::string::npos) << r.err;
    }
    EXPECT_EQ(sqlText("SELECT count(*) FROM edits"), edits) << "nothing was appended";
    EXPECT_EQ(sqlText("SELECT reason FROM edits WHERE id = 2"), "x") << "the evidence is kept";
    EXPECT_EQ(run({"facts"}).code, 0);
    EXPECT_EQ(run({"history"}).code, 0);
    EXPECT_EQ(run({"export", "history", file("h.json")}).code, 0);
    EXPECT_EQ(run({"audit", "verify"}).code, 1);
    EXPECT_EQ(run({"audit", "head"}).code, 1) << "no trustworthy head to record";
    // A flipped fact state is no longer "repaired" by the next rollback either.
    sql("UPDATE edits SET reason = '' WHERE id = 2");
    ASSERT_EQ(run({"audit", "verify"}).code, 0);
    sql("UPDATE facts SET state = 'written', forgotten_edit_id = NULL WHERE id = 1");
    const auto rb = run({"rollback", "2"});
    EXPECT_EQ(rb.code, 1);
    EXPECT_NE(rb.err.find("is 'written' but edit 3 left it 'forgotten'"), std::string::npos) << rb.err;
    EXPECT_EQ(sqlText("SELECT state FROM facts WHERE id = 1"), "written");
}

} // namespace
