// In-process tests of the editor's subcommands with the fake model (tests/core/fake_text_model.h):
// output captured, --json shapes parsed, exit codes, malformed imports that write nothing,
// SQL metacharacters verbatim, and a history row changed behind the program's back.
#include "../core/fake_text_model.h"

#include "app/cli/cli.h"
#include "core/util/npy.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <cstdlib>
#include <pwd.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {

struct Result {
    int code;
    std::string out, err;
    nlohmann::json json() const { return nlohmann::json::parse(out); }
};

/// One scratch directory and one fake model per test: the fake remembers the texts it encoded
/// (to answer with the nearest written fact), as one long-lived model process would.
class CliEditor : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "larimar-cli-editor-XXXXXX").string();
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

    /// Runs `larimar --workspace <ws> args...` with the fake model.
    Result run(std::vector<std::string> args, bool withWorkspace = true) {
        if (withWorkspace) args.insert(args.begin(), {"--workspace", ws()});
        std::ostringstream out, err;
        auto model = m_model;
        const int code = larimar::cli::run(args, out, err, [model](const larimar::cli::GlobalOptions&) { return model; });
        return {code, out.str(), err.str()};
    }
    Result json(std::vector<std::string> args) {
        args.insert(args.begin(), "--json");
        return run(args);
    }
    std::string writeFile(const std::string& name, const std::string& content) {
        std::ofstream(file(name), std::ios::binary) << content;
        return file(name);
    }
    std::int64_t factCount() {
        if (!fs::exists(ws())) return 0;
        const auto r = json({"facts"});
        EXPECT_EQ(r.code, 0) << r.err;
        return r.json().at("count").get<std::int64_t>();
    }

    fs::path m_dir;
    std::shared_ptr<larimar::SyntheticTextModel> m_model;
};

TEST_F(CliEditor, InfoJsonShape) {
    // A mistyped path is not made a workspace (issue 20, robustness 7).
    const auto missing = json({"info"});
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.err.find("no workspace at"), std::string::npos) << missing.err;
    EXPECT_FALSE(fs::exists(ws()));
    ASSERT_EQ(run({"write", "The capital of Freedonia is Fredville."}).code, 0);
    const auto r = json({"info"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = r.json();
    EXPECT_EQ(j.at("workspace"), ws());
    EXPECT_EQ(j.at("model").at("id"), "fake-model 1");
    EXPECT_EQ(j.at("slots"), 16);
    EXPECT_EQ(j.at("width"), 32);
    EXPECT_EQ(j.at("facts").at("written"), 1);
    EXPECT_EQ(j.at("edits"), 1);
    EXPECT_EQ(j.at("last_edit"), 1);
    EXPECT_EQ(j.at("memory_digest").get<std::string>().size(), 64u);
    const auto t = run({"info"});
    ASSERT_EQ(t.code, 0);
    EXPECT_NE(t.out.find("K = 16 slots"), std::string::npos) << t.out;
}

TEST_F(CliEditor, WriteQueryCompareForgetFlow) {
    auto r = json({"write", "The capital of Freedonia is Fredville.", "--reason", "atlas 2024", "--actor", "alice",
                   "--subject", "Freedonia", "--target", "Fredville"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = r.json();
    EXPECT_EQ(j.at("edit_id"), 1);
    EXPECT_EQ(j.at("op"), "write");
    EXPECT_EQ(j.at("fact_ids"), nlohmann::json({1}));
    EXPECT_EQ(j.at("count"), 1);
    EXPECT_NE(j.at("memory_digest_before"), j.at("memory_digest_after"));
    // A question worded unlike its fact may score near the detector's default threshold: set a
    // per-workspace threshold, as a user would.
    ASSERT_EQ(run({"scope", "--set-threshold", "0.6"}).code, 0); // an audited edit (2) since issue 20

    r = json({"query", "What is the capital of Freedonia?", "--max-tokens", "10"});
    ASSERT_EQ(r.code, 0) << r.err;
    j = r.json();
    EXPECT_TRUE(j.at("in_scope").get<bool>());
    EXPECT_GT(j.at("scope_score").get<double>(), 0.6);
    EXPECT_EQ(j.at("with_memory").at("text"), "The capital of Freedonia is Fredville.");
    EXPECT_EQ(j.at("without_memory").at("text"), "plain continuation of What is the capital of Freedonia?");
    ASSERT_FALSE(j.at("with_memory").at("tokens").empty());
    EXPECT_GT(j["with_memory"]["tokens"][0].at("probability").get<double>(), 0.0);
    EXPECT_TRUE(j.at("generation_id").is_number());

    r = json({"compare", "What is the capital of Freedonia?"});
    ASSERT_EQ(r.code, 0) << r.err;
    j = r.json();
    EXPECT_TRUE(j.at("differs").get<bool>());
    ASSERT_TRUE(j.at("diff").is_array());
    bool added = false;
    for (const auto& s : j["diff"]) added |= s.at("op") == "added" && s.at("text").get<std::string>().find("Fredville") != std::string::npos;
    EXPECT_TRUE(added) << j["diff"].dump();
    const auto text = run({"compare", "What is the capital of Freedonia?"});
    EXPECT_NE(text.out.find("{+"), std::string::npos) << text.out;

    r = run({"forget", "1", "--reason", "wrong"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("edit 3 (forget): fact 1"), std::string::npos) << r.out;
    r = json({"query", "What is the capital of Freedonia?"});
    EXPECT_FALSE(r.json().at("in_scope").get<bool>());
    EXPECT_EQ(r.json().at("with_memory").at("text"), "plain continuation of What is the capital of Freedonia?");

    r = json({"facts"});
    j = r.json();
    ASSERT_EQ(j.at("count"), 1);
    const auto& f = j.at("facts")[0];
    EXPECT_EQ(f.at("state"), "forgotten");
    EXPECT_EQ(f.at("subject"), "Freedonia");
    EXPECT_EQ(f.at("target"), "Fredville");
    EXPECT_EQ(f.at("created_edit"), 1);
    EXPECT_EQ(f.at("forgotten_edit"), 3);

    r = json({"history"});
    j = r.json();
    ASSERT_EQ(j.at("count"), 3);
    EXPECT_EQ(j["edits"][0].at("actor"), "alice");
    EXPECT_EQ(j["edits"][0].at("reason"), "atlas 2024");
    EXPECT_EQ(j["edits"][1].at("op"), "setting");
    EXPECT_EQ(j["edits"][1].at("payload").at("setting"), "scope.threshold");
    EXPECT_EQ(j["edits"][2].at("op"), "forget");
    EXPECT_EQ(j["edits"][2].at("hash").get<std::string>().size(), 64u);
    EXPECT_EQ(json({"history", "--op", "forget"}).json().at("count"), 1);
    EXPECT_EQ(json({"history", "--limit", "1"}).json()["edits"][0].at("id"), 3);
    EXPECT_NE(run({"history"}).out.find("\"atlas 2024\""), std::string::npos);

    r = json({"audit", "verify"});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(r.json().at("ok").get<bool>());
    EXPECT_EQ(r.json().at("edits_checked"), 3);
}

TEST_F(CliEditor, UnknownFactIdIsAUserErrorWithOneJsonDocument) {
    ASSERT_EQ(run({"write", "a fact."}).code, 0);
    auto r = run({"forget", "99", "--reason", "test"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("fact 99 is not written"), std::string::npos) << r.err;
    r = json({"forget", "99", "--reason", "test"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.json().at("error").get<std::string>().find("fact 99 is not written"), std::string::npos);
    EXPECT_EQ(run({"forget", "abc"}).code, 1);
    EXPECT_EQ(run({"rollback", "99"}).code, 1);
    EXPECT_EQ(run({"inspect", "key", "99"}).code, 1);
    EXPECT_EQ(run({"query", " "}).code, 1);
    EXPECT_EQ(run({"write"}).code, 1);
    EXPECT_EQ(factCount(), 1);
}

TEST_F(CliEditor, ImportsEveryFormat) {
    const std::string data = LARIMAR_TEST_DATA_DIR "/datasets/";
    std::int64_t expected = 0;
    for (const char* name : {"facts.txt", "facts.csv", "facts.jsonl", "counterfact-rome-3.json",
                             "counterfact-easyedit-3.json", "zsre-3.jsonl"}) {
        const auto r = json({"write", "--file", data + name, "--reason", std::string("import ") + name});
        ASSERT_EQ(r.code, 0) << name << ": " << r.err << r.out;
        const auto j = r.json();
        EXPECT_EQ(j.at("op"), "batch");
        EXPECT_TRUE(j.at("snapshot").get<bool>());
        EXPECT_EQ(j.at("count").get<std::int64_t>(), static_cast<std::int64_t>(j.at("fact_ids").size()));
        expected += j.at("count").get<std::int64_t>();
    }
    EXPECT_EQ(factCount(), expected);
    const auto r = json({"write", "--file", data + "facts.csv", "--format", "csv"});
    EXPECT_EQ(r.code, 0);
    const auto t = run({"write", "--file", data + "facts.txt"});
    EXPECT_NE(t.out.find("wrote "), std::string::npos);
}

TEST_F(CliEditor, MalformedImportsWriteNothing) {
    ASSERT_EQ(run({"write", "the one good fact."}).code, 0);
    const std::string longLine(10 * 1024 * 1024, 'x');
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"empty.txt", ""},
        {"badutf8.txt", "fine line\nbad \xff\xfe line\n"},
        {"long.txt", "ok\n" + longLine + "\n"},
        {"missing.csv", "subject,prompt\nA,B\n"},
        {"emptycell.csv", "text,source\nfirst,a\n,b\n"},
        {"wrongtype.jsonl", "{\"text\": \"ok\"}\n{\"text\": 17}\n"},
        {"notjson.jsonl", "{\"text\": \"ok\"}\n{text\n"},
        {"cf.json", R"([{"case_id": 1, "requested_rewrite": {"prompt": "{} is in", "subject": "X"}}])"},
        {"zsre.jsonl", "{\"src\": \"Who?\", \"alt\": 3}\n"},
        {"easyedit.json", R"([{"prompt": "X is in", "subject": "X"}])"},
    };
    for (const auto& [name, content] : bad) {
        const std::string path = writeFile(name, content);
        std::vector<std::string> args = {"write", "--file", path};
        if (name == "cf.json") args.insert(args.end(), {"--format", "counterfact"});
        if (name == "easyedit.json") args.insert(args.end(), {"--format", "easyedit"});
        if (name == "zsre.jsonl") args.insert(args.end(), {"--format", "zsre"});
        const auto r = run(args);
        EXPECT_EQ(r.code, 1) << name << ": " << r.err;
        EXPECT_NE(r.err.find(name), std::string::npos) << name << ": the message names the file: " << r.err;
        const auto j = json(args);
        EXPECT_EQ(j.code, 1);
        EXPECT_TRUE(j.json().contains("error")) << name;
    }
    EXPECT_EQ(factCount(), 1);
    EXPECT_EQ(json({"history"}).json().at("count"), 1);
}

TEST_F(CliEditor, SqlMetacharactersAreStoredVerbatim) {
    const std::string nasty = "Robert'); DROP TABLE facts;-- \"x\" % _ \\ ' OR 1=1 --";
    ASSERT_EQ(run({"write", nasty, "--reason", nasty, "--actor", nasty}).code, 0);
    const auto j = json({"facts", "--search", "'); DROP"}).json();
    ASSERT_EQ(j.at("count"), 1);
    EXPECT_EQ(j["facts"][0].at("text"), nasty);
    EXPECT_EQ(json({"facts", "--search", "%"}).json().at("count"), 1);
    EXPECT_EQ(json({"facts", "--search", "no such text"}).json().at("count"), 0);
    const auto h = json({"history"}).json();
    EXPECT_EQ(h["edits"][0].at("reason"), nasty);
    EXPECT_EQ(h["edits"][0].at("actor"), nasty);
    EXPECT_EQ(json({"audit", "verify"}).code, 0);
}

TEST_F(CliEditor, ForgetNeedsAReasonAndTheActorIsTheOsAccountWithoutUser) {
    // $USER unset (a service, a container): the actor is the OS account, not "unknown".
    const char* saved = std::getenv("USER");
    const std::string user = saved ? saved : "";
    unsetenv("USER");
    const auto written = run({"write", "a fact."});
    if (saved) setenv("USER", user.c_str(), 1);
    ASSERT_EQ(written.code, 0) << written.err;
    const passwd* account = getpwuid(geteuid());
    ASSERT_NE(account, nullptr);
    EXPECT_EQ(json({"history"}).json()["edits"][0].at("actor"), account->pw_name);

    for (const std::vector<std::string>& args : {std::vector<std::string>{"forget", "1"}, {"forget", "1", "--reason", " "}}) {
        const auto r = run(args);
        EXPECT_EQ(r.code, 1) << r.out;
        EXPECT_NE(r.err.find("forget needs --reason"), std::string::npos) << r.err;
    }
    EXPECT_EQ(json({"history"}).json().at("count"), 1) << "a forget without a reason changes nothing";
    ASSERT_EQ(run({"forget", "1", "--reason", "wrong"}).code, 0);
}

TEST_F(CliEditor, ACorrectionIsRefusedNamingTheFactItContradictsOrReplacesIt) {
    ASSERT_EQ(run({"write", "The Eiffel Tower is located in Rome."}).code, 0);
    ASSERT_EQ(run({"write", "The Louvre is located in Paris."}).code, 0);
    auto r = run({"write", "The Eiffel Tower is located in Berlin."});
    EXPECT_EQ(r.code, 1) << "never silently written beside the old answer";
    EXPECT_NE(r.err.find("fact 1 ('The Eiffel Tower is located in Rome.')"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("another answer"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--replace"), std::string::npos) << r.err;
    r = run({"write", "the eiffel tower is located in rome"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("the same text"), std::string::npos) << r.err;
    EXPECT_EQ(json({"history"}).json().at("count"), 2) << "nothing was written";

    r = json({"write", "The Eiffel Tower is located in Berlin.", "--replace"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = r.json();
    EXPECT_EQ(j.at("fact_ids"), nlohmann::json::array({3}));
    EXPECT_EQ(j.at("replaced"), nlohmann::json::array({1}));
    EXPECT_EQ(j.at("conflicts")[0].at("kind"), "other-answer");
    const auto h = json({"history"}).json();
    ASSERT_EQ(h.at("count"), 3) << "one audited edit";
    EXPECT_EQ(h["edits"][2].at("op"), "write");
    EXPECT_EQ(h["edits"][2].at("reason"), "replaces fact 1");
    const auto facts = json({"facts", "--state", "written"}).json();
    EXPECT_EQ(facts.at("count"), 2);
    for (const auto& f : facts.at("facts")) EXPECT_NE(f.at("text"), "The Eiffel Tower is located in Rome.");
    EXPECT_EQ(json({"query", "The Eiffel Tower is located in"}).json().at("with_memory").at("text"),
              "The Eiffel Tower is located in Berlin.")
        << "the answer is the correction";
    EXPECT_EQ(run({"audit", "verify"}).code, 0);

    // Both on purpose: written, with a warning naming the other.
    r = run({"write", "The Eiffel Tower is located in Paris.", "--allow-duplicate"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("warning: written beside fact 3"), std::string::npos) << r.err;
    EXPECT_EQ(run({"write", "Water boils at 100 degrees.", "--replace"}).code, 1) << "nothing to replace";
}

TEST_F(CliEditor, TamperedHistoryRowIsReported) {
    ASSERT_EQ(run({"write", "first fact."}).code, 0);
    ASSERT_EQ(run({"write", "second fact."}).code, 0);
    ASSERT_EQ(run({"forget", "1", "--reason", "test"}).code, 0);
    ASSERT_EQ(run({"audit", "verify"}).code, 0);
    auto exec = [&](const std::string& sql) {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(ws().c_str(), &db), SQLITE_OK);
        char* msg = nullptr;
        ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg), SQLITE_OK) << (msg ? msg : "");
        sqlite3_close(db);
    };
    // One byte of an edit's reason (what someone with the sqlite3 shell could do).
    exec("UPDATE edits SET reason = 'x' WHERE id = 2");
    auto r = run({"audit", "verify"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("edit 2"), std::string::npos) << r.out;
    r = json({"audit", "verify"});
    EXPECT_EQ(r.code, 1);
    const auto j = r.json();
    EXPECT_FALSE(j.at("ok").get<bool>());
    EXPECT_EQ(j.at("edit_id"), 2);
    exec("UPDATE edits SET reason = '' WHERE id = 2");
    EXPECT_EQ(run({"audit", "verify"}).code, 0) << "restoring the byte restores the chain";
    // A fact's text.
    exec("UPDATE facts SET text = 'Second fact.' WHERE id = 2");
    r = json({"audit", "verify"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.json().at("fact_id"), 2) << r.out;
}

TEST_F(CliEditor, RollbackAndUndo) {
    ASSERT_EQ(run({"write", "a."}).code, 0);                                           // 1
    ASSERT_EQ(run({"write", "--file", LARIMAR_TEST_DATA_DIR "/datasets/facts.txt"}).code, 0); // 2
    ASSERT_EQ(run({"forget", "1", "--reason", "test"}).code, 0);                       // 3
    auto r = json({"rollback", "1", "--reason", "bad import"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = r.json();
    EXPECT_EQ(j.at("op"), "rollback");
    EXPECT_EQ(j.at("target_edit"), 1);
    EXPECT_EQ(j.at("restored"), nlohmann::json({1}));
    EXPECT_FALSE(j.at("forgotten").empty());
    EXPECT_EQ(j.at("memory_digest_after"), json({"history"}).json()["edits"][0].at("memory_digest_after"));
    EXPECT_EQ(json({"facts", "--state", "written"}).json().at("count"), 1);

    r = json({"undo"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.json().at("target_edit"), 3);
    EXPECT_EQ(json({"facts", "--state", "forgotten"}).json().at("count"), 1);
    EXPECT_NE(run({"undo"}).out.find("back to the state after edit 4"), std::string::npos);
    EXPECT_EQ(run({"audit", "verify"}).code, 0);
    EXPECT_EQ(run({"rollback", "6"}).code, 1) << "the latest edit";
}

TEST_F(CliEditor, ExportAndInspect) {
    ASSERT_EQ(run({"write", "--file", LARIMAR_TEST_DATA_DIR "/datasets/facts.csv"}).code, 0);
    auto r = json({"export", "history", file("h.csv")});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.json().at("format"), "csv");
    EXPECT_TRUE(fs::file_size(file("h.csv")) > 0);
    r = json({"export", "history", file("h.json")});
    EXPECT_EQ(r.json().at("format"), "json");
    std::ifstream hj(file("h.json"));
    EXPECT_TRUE(nlohmann::json::accept(hj));
    EXPECT_EQ(run({"export", "history", file("no/such/dir/h.csv")}).code, 1);
    r = json({"export", "memory", file("m.npy")});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.json().at("shape"), nlohmann::json({16, 32}));
    EXPECT_EQ(larimar::readNpy(file("m.npy")).shape, (std::vector<std::int64_t>{16, 32}));

    r = json({"inspect", "memory"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = r.json();
    ASSERT_EQ(j.at("memory").size(), 16u);
    EXPECT_EQ(j["memory"][0].size(), 32u);
    EXPECT_EQ(j.at("singular_values").size(), 16u);
    r = json({"inspect", "weights", "Where is the Eiffel Tower?", "--npy", file("w.npy")});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.json().at("weights").size(), 16u);
    EXPECT_EQ(larimar::readNpy(file("w.npy")).shape, (std::vector<std::int64_t>{1, 16}));
    r = json({"inspect", "key", "1"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.json().at("key").size(), 16u);
    r = json({"inspect", "slots", "--top", "2"});
    ASSERT_EQ(r.code, 0) << r.err;
    j = r.json();
    ASSERT_EQ(j.at("slots").size(), 16u);
    EXPECT_EQ(j["slots"][0].at("facts").size(), 2u);
    EXPECT_TRUE(j["slots"][0]["facts"][0].contains("text"));
    for (const char* what : {"memory", "slots"}) EXPECT_EQ(run({"inspect", what}).code, 0) << what;
    EXPECT_NE(run({"inspect", "weights", "x"}).out.find("slot"), std::string::npos);
}

TEST_F(CliEditor, ListingsNeedAnExistingWorkspace) {
    for (const std::vector<std::string>& args : {std::vector<std::string>{"facts"}, {"history"}, {"audit", "verify"},
                                                 {"export", "history", file("h.csv")}}) {
        auto a = args;
        a.insert(a.begin(), "--json");
        const auto r = run(a);
        EXPECT_EQ(r.code, 1) << args[0];
        EXPECT_NE(r.json().at("error").get<std::string>().find("no workspace at"), std::string::npos);
    }
    EXPECT_FALSE(fs::exists(ws())) << "read-only commands create nothing";
}

TEST_F(CliEditor, AnotherModelIsRefused) {
    ASSERT_EQ(run({"write", "x."}).code, 0);
    m_model = larimar::test::makeFakeModel("other-model");
    const auto r = run({"info"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("other-model"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("fake-model"), std::string::npos) << r.err;
}

TEST_F(CliEditor, DefaultWorkspaceUnderXdgDataHome) {
    const char* old = std::getenv("XDG_DATA_HOME");
    const std::string saved = old ? old : "";
    setenv("XDG_DATA_HOME", m_dir.c_str(), 1);
    const auto r = run({"write", "in the default workspace."}, false);
    if (old) setenv("XDG_DATA_HOME", saved.c_str(), 1); else unsetenv("XDG_DATA_HOME");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(fs::exists(m_dir / "larimar-workbench" / "default.larimar"));
}

TEST_F(CliEditor, MissingModelSaysWhatToPass) {
    std::ostringstream out, err;
    const int code = larimar::cli::run({"--workspace", ws(), "--model", file("nope"), "write", "A fact."}, out, err);
    EXPECT_EQ(code, 1);
    EXPECT_NE(err.str().find("no model found at"), std::string::npos) << err.str();
    EXPECT_NE(err.str().find("pass --model"), std::string::npos) << err.str();
}

TEST_F(CliEditor, BenchEditor) {
    auto r = run({"--json", "bench", "editor", "--facts", "40", "--repetitions", "3"}, false);
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = r.json();
    EXPECT_EQ(j.at("benchmark"), "editor");
    EXPECT_EQ(j.at("model"), "fake-model 1");
    EXPECT_FALSE(j.at("synthetic_model").get<bool>());
    for (const char* k : {"encode_one_median", "write_one_median", "batch", "query_median", "forget_one_median", "reopen"})
        EXPECT_GT(j.at("ms").at(k).get<double>(), 0.0) << k;
    // Without a model: the synthetic stand-in, and the output says so.
    std::ostringstream out, err;
    ASSERT_EQ(larimar::cli::run({"bench", "editor", "--facts", "20", "--repetitions", "2", "--slots", "8", "--width", "16"},
                                out, err),
              0)
        << err.str();
    EXPECT_NE(out.str().find("synthetic stand-in model"), std::string::npos) << out.str();
    EXPECT_NE(out.str().find("batch of 20 facts"), std::string::npos) << out.str();
}

} // namespace
