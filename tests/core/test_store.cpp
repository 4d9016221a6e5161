// Workspace (core/store): opening and schema versions, CRUD and filters, transactions,
// the audit chain and tamper detection, verbatim storage, exports.
#include "store_test_support.h"

#include "core/util/error.h"

#include <gmock/gmock.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <thread>

using namespace larimar;
using namespace larimar::test;
using ::testing::HasSubstr;

namespace {

template <typename F>
std::string userErrorOf(F&& f) {
    try {
        f();
    } catch (const UserError& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("not a UserError: ") + e.what();
    }
    return "no exception";
}

} // namespace

// --- opening, schema ---------------------------------------------------------------------

TEST(WorkspaceOpen, CreatesAndReopens) {
    TempDir dir;
    const auto path = dir.file("w.larimar");
    {
        Workspace ws(path, testOptions());
        EXPECT_EQ(ws.openedSchemaVersion(), 0);
        EXPECT_EQ(ws.meta("created_at").value_or(""), "2024-05-01T12:00:00.000Z");
        writeFacts(ws, {makeFact("The sky is green")});
    }
    {
        Workspace ws(path, testOptions());
        EXPECT_EQ(ws.openedSchemaVersion(), Workspace::kSchemaVersion);
        ASSERT_EQ(ws.factCount(), 1);
        EXPECT_EQ(ws.fact(1).text, "The sky is green");
        EXPECT_TRUE(ws.verifyChain().ok);
    }
    RawDb raw(path);
    EXPECT_EQ(raw.text("PRAGMA user_version"), std::to_string(Workspace::kSchemaVersion));
    EXPECT_EQ(std::stoll(raw.text("PRAGMA application_id")), Workspace::kApplicationId);
    EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
}

TEST(WorkspaceOpen, MissingFileWithoutCreate) {
    TempDir dir;
    WorkspaceOptions o;
    o.create = false;
    const auto path = dir.file("none.larimar");
    EXPECT_THAT(userErrorOf([&] { Workspace ws(path, o); }), HasSubstr(path));
}

TEST(WorkspaceOpen, RejectsNonSqliteFile) {
    TempDir dir;
    const auto path = dir.file("notes.larimar");
    std::ofstream(path) << "These are my notes, not a database. " << std::string(5000, 'x');
    const auto msg = userErrorOf([&] { Workspace ws(path); });
    EXPECT_THAT(msg, HasSubstr(path));
    EXPECT_THAT(msg, HasSubstr("not an SQLite database"));
}

TEST(WorkspaceOpen, RejectsForeignSqliteDatabase) {
    TempDir dir;
    const auto path = dir.file("other.db");
    {
        RawDb raw(path);
        raw.exec("CREATE TABLE contacts(name TEXT); INSERT INTO contacts VALUES('bob')");
    }
    const auto msg = userErrorOf([&] { Workspace ws(path); });
    EXPECT_THAT(msg, HasSubstr(path));
    EXPECT_THAT(msg, HasSubstr("not a Larimar workspace"));
    RawDb raw(path); // left untouched
    EXPECT_EQ(raw.text("SELECT name FROM contacts"), "bob");
    EXPECT_EQ(raw.text("PRAGMA application_id"), "0");
}

TEST(WorkspaceOpen, RejectsNewerSchemaVersion) {
    TempDir dir;
    const auto path = dir.file("future.larimar");
    { Workspace ws(path, testOptions()); }
    { RawDb(path).exec("PRAGMA user_version = 7"); }
    const auto msg = userErrorOf([&] { Workspace ws(path); });
    EXPECT_THAT(msg, HasSubstr(path));
    EXPECT_THAT(msg, HasSubstr("newer"));
    EXPECT_THAT(msg, HasSubstr("version 7"));
}

TEST(WorkspaceOpen, MigratesEmptyVersion0Database) {
    TempDir dir;
    const auto path = dir.file("empty.larimar");
    { std::ofstream touch(path); } // a zero-byte file is an empty v0 SQLite database
    {
        RawDb raw(path);
        EXPECT_EQ(raw.text("PRAGMA user_version"), "0");
    }
    Workspace ws(path, testOptions());
    EXPECT_EQ(ws.openedSchemaVersion(), 0);
    writeFacts(ws, {makeFact("migrated")});
    EXPECT_TRUE(ws.verifyChain().ok);
    RawDb raw(path);
    EXPECT_EQ(raw.text("PRAGMA user_version"), std::to_string(Workspace::kSchemaVersion));
}

TEST(WorkspaceOpen, TwoConnectionsSeeEachOthersCommits) {
    TempDir dir;
    const auto path = dir.file("shared.larimar");
    Workspace a(path, testOptions());
    Workspace b(path, testOptions());
    writeFacts(a, {makeFact("from a")});
    EXPECT_EQ(b.factCount(), 1);
    // A second writer waits busyTimeout, then gets a clear error rather than a hang.
    WorkspaceOptions quick = testOptions();
    quick.busyTimeout = std::chrono::milliseconds(50);
    Workspace c(path, quick);
    auto tx = a.begin();
    EXPECT_THROW(c.begin(), Error);
    tx.rollback();
    EXPECT_NO_THROW(c.begin().rollback());
    // Writes from another thread with its own object (one object per thread).
    std::thread t([&] {
        Workspace d(path, testOptions());
        writeFacts(d, {makeFact("from thread")});
    });
    t.join();
    EXPECT_EQ(a.factCount(), 2);
    EXPECT_TRUE(b.verifyChain().ok);
}

TEST(WorkspaceOpen, RequireModelNamesBothModels) {
    TempDir dir;
    Workspace ws(dir.file("m.larimar"), testOptions());
    ws.requireModel("larimar-small", "aaaa");
    EXPECT_NO_THROW(ws.requireModel("larimar-small", "aaaa"));
    // Edits default to the workspace's model.
    const auto e = writeFacts(ws, {makeFact("x")});
    EXPECT_EQ(e.modelId, "larimar-small");
    EXPECT_EQ(e.modelHash, "aaaa");
    // Once it holds an edit, another model is refused, and the message names both.
    const auto msg = userErrorOf([&] { ws.requireModel("gpt2-xl", "bbbb"); });
    EXPECT_THAT(msg, HasSubstr("larimar-small"));
    EXPECT_THAT(msg, HasSubstr("gpt2-xl"));
    EXPECT_EQ(ws.meta("model.id").value_or(""), "larimar-small");
}

TEST(WorkspaceOpen, EmptyWorkspaceTakesTheModelItIsOpenedWith) {
    TempDir dir;
    Workspace ws(dir.file("m.larimar"), testOptions());
    ws.requireModel("larimar-small", "aaaa");
    // Nothing was written with larimar-small: trying another model must not lock the workspace.
    EXPECT_NO_THROW(ws.requireModel("smollm2-135m", "bbbb"));
    EXPECT_EQ(ws.meta("model.id").value_or(""), "smollm2-135m");
    EXPECT_EQ(ws.meta("model.hash").value_or(""), "bbbb");
}

// --- CRUD and filters --------------------------------------------------------------------

TEST(WorkspaceFacts, InsertGetAndFilter) {
    TempDir dir;
    Workspace ws(dir.file("f.larimar"), testOptions());
    std::vector<Fact> batch;
    for (int i = 0; i < 10; ++i)
        batch.push_back(makeFact("Fact number " + std::to_string(i), i, i < 4 ? "a.csv" : "b.jsonl"));
    const auto e = writeFacts(ws, batch);
    EXPECT_EQ(e.op, EditOp::Batch);
    ASSERT_EQ(e.factIds.size(), 10u);
    forgetFacts(ws, {e.factIds[1], e.factIds[5]});

    const auto f = ws.fact(e.factIds[3]);
    EXPECT_EQ(f.text, "Fact number 3");
    EXPECT_EQ(f.subject, "subject 3");
    EXPECT_EQ(f.target, "target 3");
    EXPECT_EQ(f.writeKey, makeFact("", 3).writeKey); // bit-exact float64
    EXPECT_EQ(f.latent, makeFact("", 3).latent);
    EXPECT_EQ(f.createdEdit, e.id);
    EXPECT_FALSE(f.forgottenEdit);
    const auto g = ws.fact(e.factIds[5]);
    EXPECT_EQ(g.state, FactState::Forgotten);
    EXPECT_EQ(g.forgottenEdit, e.id + 1);

    EXPECT_THAT(userErrorOf([&] { ws.fact(17); }), HasSubstr("no fact with id 17"));
    EXPECT_EQ(ws.factCount(), 10);
    EXPECT_EQ(ws.factCount(FactState::Forgotten), 2);

    FactFilter written;
    written.state = FactState::Written;
    EXPECT_EQ(ws.facts(written).size(), 8u);
    FactFilter bySource;
    bySource.source = "a.csv";
    EXPECT_EQ(ws.facts(bySource).size(), 4u);
    FactFilter byText;
    byText.textContains = "number 7";
    ASSERT_EQ(ws.facts(byText).size(), 1u);
    EXPECT_EQ(ws.facts(byText)[0].id, e.factIds[7]);
    EXPECT_TRUE(ws.facts(byText)[0].writeKey.empty()); // vectors only on request
    byText.withVectors = true;
    EXPECT_EQ(ws.facts(byText)[0].writeKey.size(), 4u);
    FactFilter page;
    page.limit = 3;
    page.offset = 4;
    const auto p = ws.facts(page);
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[0].id, e.factIds[4]);
    EXPECT_EQ(p[2].id, e.factIds[6]);
}

TEST(WorkspaceFacts, UnknownIdsInWritesAreUserErrors) {
    TempDir dir;
    Workspace ws(dir.file("u.larimar"), testOptions());
    writeFacts(ws, {makeFact("one")});
    {
        auto tx = ws.begin();
        EXPECT_THAT(userErrorOf([&] { ws.setFactState({42}, FactState::Forgotten); }),
                    HasSubstr("no fact with id 42"));
    }
    {
        auto tx = ws.begin();
        Edit e;
        e.op = EditOp::Forget;
        e.factIds = {1, 99};
        EXPECT_THAT(userErrorOf([&] { ws.appendEdit(e); }), HasSubstr("no fact with id 99"));
    }
    EXPECT_EQ(ws.lastEditId(), 1);
    EXPECT_TRUE(ws.verifyChain().ok);
}

TEST(WorkspaceEdits, ListAndFilter) {
    TempDir dir;
    Workspace ws(dir.file("e.larimar"), testOptions()); // clock: +1 s per call
    const auto e1 = writeFacts(ws, {makeFact("a")}, "alice", "first");
    const auto e2 = writeFacts(ws, {makeFact("b"), makeFact("c")}, "bob");
    forgetFacts(ws, {e1.factIds[0]}, "alice");
    const auto e4 = writeFacts(ws, {makeFact("d")}, "carol");

    const auto all = ws.edits();
    ASSERT_EQ(all.size(), 4u);
    EXPECT_EQ(all[0].prevHash, kGenesisHash);
    EXPECT_EQ(all[1].prevHash, all[0].hash);
    EXPECT_EQ(all[0].reason, "first");
    EXPECT_EQ(all[1].factIds, e2.factIds);
    EXPECT_EQ(all[2].factStates, std::vector<FactState>{FactState::Forgotten});
    EXPECT_EQ(all[3].hash, e4.hash);
    EXPECT_EQ(ws.edit(2).actor, "bob");
    EXPECT_THAT(userErrorOf([&] { ws.edit(9); }), HasSubstr("no edit with id 9"));

    EditFilter byOp;
    byOp.op = EditOp::Forget;
    ASSERT_EQ(ws.edits(byOp).size(), 1u);
    EXPECT_EQ(ws.edits(byOp)[0].id, 3);
    EditFilter byActor;
    byActor.actor = "alice";
    EXPECT_EQ(ws.edits(byActor).size(), 2u);
    EditFilter range;
    range.since = all[1].timestamp;
    range.until = all[2].timestamp;
    ASSERT_EQ(ws.edits(range).size(), 2u);
    EXPECT_EQ(ws.edits(range)[0].id, 2);
    EditFilter day; // a bare date as `until` includes the whole day
    day.until = "2024-05-01";
    EXPECT_EQ(ws.edits(day).size(), 4u);
    day.until = "2024-04-30";
    EXPECT_TRUE(ws.edits(day).empty());
    EditFilter newest;
    newest.newestFirst = true;
    newest.limit = 2;
    const auto n = ws.edits(newest);
    ASSERT_EQ(n.size(), 2u);
    EXPECT_EQ(n[0].id, 4);
    EXPECT_EQ(n[1].id, 3);
    EXPECT_EQ(ws.lastEditId(), 4);
}

TEST(WorkspaceGenerations, AddAndList) {
    TempDir dir;
    Workspace ws(dir.file("g.larimar"), testOptions());
    Generation g;
    g.prompt = "Where is the Eiffel Tower?";
    g.outputWithoutMemory = "Paris";
    g.outputWithMemory = "Rome";
    g.scopeScore = 0.91;
    g.inScope = true;
    g.details = {{"tokens", 12}};
    const auto g1 = ws.addGeneration(g); // no edits yet
    EXPECT_FALSE(g1.editId);
    writeFacts(ws, {makeFact("The Eiffel Tower is in Rome")});
    g.scopeScore.reset();
    g.inScope = false;
    const auto g2 = ws.addGeneration(g);
    EXPECT_EQ(g2.editId, 1);

    const auto all = ws.generations();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].outputWithMemory, "Rome");
    EXPECT_DOUBLE_EQ(all[0].scopeScore.value_or(0), 0.91);
    EXPECT_TRUE(all[0].inScope);
    EXPECT_EQ(all[0].details["tokens"], 12);
    EXPECT_FALSE(all[1].scopeScore);
    EXPECT_FALSE(all[1].inScope);
    GenerationFilter f;
    f.editId = 1;
    ASSERT_EQ(ws.generations(f).size(), 1u);
    EXPECT_EQ(ws.generations(f)[0].id, g2.id);
    f = {};
    f.newestFirst = true;
    f.limit = 1;
    EXPECT_EQ(ws.generations(f)[0].id, g2.id);
}

TEST(WorkspaceSnapshots, LatestAtOrBefore) {
    TempDir dir;
    const auto path = dir.file("s.larimar");
    Workspace ws(path, testOptions());
    for (int i = 0; i < 5; ++i) writeFacts(ws, {makeFact("f" + std::to_string(i))});
    EXPECT_FALSE(ws.latestSnapshot());
    ws.putSnapshot(2, {1, 2, 3}, "mem2");
    ws.putSnapshot(4, {4, 5, 6, 7}, "mem4");
    EXPECT_EQ(ws.latestSnapshot()->editId, 4);
    EXPECT_EQ(ws.latestSnapshot(3)->editId, 2);
    EXPECT_EQ(ws.latestSnapshot(3)->state, (std::vector<std::uint8_t>{1, 2, 3}));
    EXPECT_EQ(ws.latestSnapshot(4)->digest, "mem4");
    EXPECT_FALSE(ws.latestSnapshot(1));
    EXPECT_THROW(ws.putSnapshot(3, {1}, "not-mem3"), Error);
    EXPECT_THAT(userErrorOf([&] { ws.putSnapshot(99, {1}, "x"); }), HasSubstr("no edit with id 99"));
    EXPECT_TRUE(ws.verifyChain().ok);

    RawDb(path).exec("UPDATE snapshots SET state = x'040506ff' WHERE edit_id = 4");
    EXPECT_THROW(ws.latestSnapshot(), Error);
    const auto r = ws.verifyChain();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.editId, 4);
}

TEST(WorkspaceMeta, GetSet) {
    TempDir dir;
    Workspace ws(dir.file("meta.larimar"), testOptions());
    EXPECT_FALSE(ws.meta("scope.threshold"));
    ws.setMeta("scope.threshold", "0.5");
    ws.setMeta("scope.threshold", "0.7");
    EXPECT_EQ(ws.meta("scope.threshold"), "0.7");
    EXPECT_THAT(userErrorOf([&] { ws.setMeta("audit.head", "0 x"); }), HasSubstr("reserved"));
}

// --- transactions ------------------------------------------------------------------------

TEST(WorkspaceTransactions, UncommittedWorkIsRolledBack) {
    TempDir dir;
    Workspace ws(dir.file("t.larimar"), testOptions());
    writeFacts(ws, {makeFact("kept")});
    {
        auto tx = ws.begin();
        ws.insertFacts({makeFact("lost 1"), makeFact("lost 2")});
        Edit e;
        e.op = EditOp::Batch;
        e.factIds = {2, 3};
        ws.appendEdit(e);
        // no commit: the destructor rolls back (as an exception would)
    }
    EXPECT_FALSE(ws.inTransaction());
    EXPECT_EQ(ws.factCount(), 1);
    EXPECT_EQ(ws.lastEditId(), 1);
    EXPECT_TRUE(ws.verifyChain().ok);
    // The ids are reused after a rollback, and the chain stays valid.
    EXPECT_EQ(writeFacts(ws, {makeFact("next")}).id, 2);
    EXPECT_TRUE(ws.verifyChain().ok);
}

TEST(WorkspaceTransactions, MisuseIsRefused) {
    TempDir dir;
    Workspace ws(dir.file("t.larimar"), testOptions());
    EXPECT_THROW(ws.insertFacts({makeFact("no tx")}), Error);
    EXPECT_THROW(ws.appendEdit(Edit{}), Error);
    {
        auto tx = ws.begin();
        EXPECT_THROW(ws.begin(), Error);
        ws.insertFacts({makeFact("orphan")});
        // A fact without an edit that lists it must not be committed.
        EXPECT_THROW(tx.commit(), Error);
        EXPECT_THROW(tx.commit(), Error);
    }
    EXPECT_EQ(ws.factCount(), 0);
    EXPECT_FALSE(ws.lastEditId());
    {
        auto tx = ws.begin();
        std::vector<Fact> batch = {makeFact("good"), makeFact("bad \xff\xfe utf-8")};
        EXPECT_THAT(userErrorOf([&] { ws.insertFacts(batch); }), HasSubstr("fact 2 of the batch"));
        EXPECT_THAT(userErrorOf([&] { ws.insertFacts({makeFact(std::string("nul\0inside", 10))}); }),
                    HasSubstr("NUL"));
        EXPECT_THROW(ws.insertFacts({makeFact("")}), UserError);
    }
    EXPECT_EQ(ws.factCount(), 0);
}

TEST(WorkspaceTransactions, LargeBatchIsOneEdit) {
    TempDir dir;
    Workspace ws(dir.file("big.larimar"), testOptions());
    std::vector<Fact> batch;
    for (int i = 0; i < 5000; ++i) batch.push_back(makeFact("batch fact " + std::to_string(i), i));
    const auto e = writeFacts(ws, batch);
    EXPECT_EQ(e.id, 1);
    EXPECT_EQ(e.factIds.size(), 5000u);
    EXPECT_EQ(ws.factCount(), 5000);
    EXPECT_EQ(ws.edits().size(), 1u);
    const auto r = ws.verifyChain();
    EXPECT_TRUE(r.ok) << r.message();
    EXPECT_EQ(r.factsChecked, 5000);
}

// --- audit chain -------------------------------------------------------------------------

namespace {

// 5 edits: 1 write (fact 1), 2 batch (facts 2-4), 3 forget (fact 2), 4 write (fact 5),
// 5 rollback restoring fact 2.
void buildHistory(Workspace& ws) {
    ws.requireModel("test-model", "0123abcd");
    writeFacts(ws, {makeFact("Paris is in France", 1)});
    writeFacts(ws, {makeFact("Rome is in Italy", 2), makeFact("Oslo is in Norway", 3),
                    makeFact("Bern is in Switzerland", 4)});
    forgetFacts(ws, {2});
    writeFacts(ws, {makeFact("Lima is in Peru", 5)});
    auto tx = ws.begin();
    ws.setFactState({2}, FactState::Written);
    Edit e;
    e.op = EditOp::Rollback;
    e.factIds = {2};
    e.actor = "tester";
    e.reason = "undo the forget";
    e.memoryDigestBefore = "mem4";
    e.memoryDigestAfter = "mem5";
    e.payload = {{"rollback_to", 2}};
    ws.appendEdit(e);
    ws.putSnapshot(5, {9, 9, 9}, "mem5");
    tx.commit();
}

// Changes one byte of a stored value (text or blob) in place, keeping its type, like an
// UPDATE in the sqlite3 shell would.
void changeOneByte(const std::string& path, const std::string& table, const std::string& column,
                   std::int64_t id) {
    RawDb raw(path);
    const std::string where = " WHERE id = " + std::to_string(id);
    const std::string type = raw.text("SELECT typeof(" + column + ") FROM " + table + where);
    std::string value = raw.text("SELECT " + column + " FROM " + table + where);
    ASSERT_FALSE(value.empty()) << table << "." << column;
    auto& c = value[value.size() / 2];
    if (type == "blob") c = static_cast<char>(c ^ 0x01);
    else if (c >= '0' && c <= '8') c = static_cast<char>(c + 1);
    else if (c == '9') c = '0';
    else if (c >= 'a' && c < 'z') c = static_cast<char>(c + 1);
    else c = (c == 'x' ? 'y' : 'x');
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw.handle(), ("UPDATE " + table + " SET " + column + " = ?" + where).c_str(),
                                 -1, &st, nullptr),
              SQLITE_OK);
    if (type == "blob") sqlite3_bind_blob(st, 1, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    else sqlite3_bind_text(st, 1, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(st), SQLITE_DONE) << sqlite3_errmsg(raw.handle());
    sqlite3_finalize(st);
    ASSERT_EQ(sqlite3_changes(raw.handle()), 1);
}

} // namespace

TEST(WorkspaceAudit, ChainVerifiesAfterManyEdits) {
    TempDir dir;
    const auto path = dir.file("chain.larimar");
    {
        Workspace ws(path, testOptions());
        std::mt19937 rng(7);
        std::vector<std::int64_t> written;
        for (int i = 0; i < 300; ++i) {
            if (written.size() > 3 && rng() % 4 == 0) {
                const auto k = rng() % written.size();
                forgetFacts(ws, {written[k]});
                written.erase(written.begin() + static_cast<long>(k));
            } else {
                std::vector<Fact> batch;
                for (unsigned j = 0; j <= rng() % 5; ++j) batch.push_back(makeFact("f" + std::to_string(i) + "." + std::to_string(j), i));
                const auto e = writeFacts(ws, batch);
                written.insert(written.end(), e.factIds.begin(), e.factIds.end());
            }
        }
        const auto r = ws.verifyChain();
        EXPECT_TRUE(r.ok) << r.message();
        EXPECT_EQ(r.editsChecked, 300);
    }
    Workspace again(path, testOptions());
    EXPECT_TRUE(again.verifyChain().ok);
    EXPECT_THAT(again.verifyChain().message(), HasSubstr("audit ok: 300 edits"));
}

TEST(WorkspaceAudit, FactStatesAfterReplaysTheHistory) {
    TempDir dir;
    Workspace ws(dir.file("r.larimar"), testOptions());
    buildHistory(ws);
    using S = std::map<std::int64_t, FactState>;
    const auto W = FactState::Written, F = FactState::Forgotten;
    EXPECT_EQ(ws.factStatesAfter(1), (S{{1, W}}));
    EXPECT_EQ(ws.factStatesAfter(2), (S{{1, W}, {2, W}, {3, W}, {4, W}}));
    EXPECT_EQ(ws.factStatesAfter(3), (S{{1, W}, {2, F}, {3, W}, {4, W}}));
    EXPECT_EQ(ws.factStatesAfter(5), (S{{1, W}, {2, W}, {3, W}, {4, W}, {5, W}}));
    EXPECT_THROW(ws.factStatesAfter(6), UserError);
}

TEST(WorkspaceAudit, ProgressAndCancel) {
    TempDir dir;
    Workspace ws(dir.file("p.larimar"), testOptions());
    {
        auto tx = ws.begin(); // 2,500 empty edits in one transaction: fast to build
        for (int i = 0; i < 2500; ++i) {
            Edit e;
            e.op = EditOp::Rollback;
            e.payload = {{"i", i}};
            ws.appendEdit(e);
        }
        tx.commit();
    }
    std::vector<std::pair<std::int64_t, std::int64_t>> calls;
    const auto r = ws.verifyChain([&](std::int64_t done, std::int64_t total) { calls.emplace_back(done, total); });
    EXPECT_TRUE(r.ok) << r.message();
    ASSERT_GE(calls.size(), 3u);
    EXPECT_EQ(calls.front(), std::make_pair(std::int64_t(0), std::int64_t(2500)));
    EXPECT_EQ(calls.back(), std::make_pair(std::int64_t(2500), std::int64_t(2500)));
    std::atomic<bool> cancel{true};
    const auto c = ws.verifyChain({}, &cancel);
    EXPECT_FALSE(c.ok);
    EXPECT_TRUE(c.cancelled);
    EXPECT_EQ(c.editsChecked, 1000);
}

TEST(WorkspaceAudit, ShellStyleUpdateIsDetected) {
    TempDir dir;
    const auto path = dir.file("a.larimar");
    Workspace ws(path, testOptions());
    buildHistory(ws);
    ASSERT_TRUE(ws.verifyChain().ok) << ws.verifyChain().message();
    RawDb(path).exec("UPDATE edits SET reason='x' WHERE id=3");
    const auto r = ws.verifyChain();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.editId, 3);
    EXPECT_THAT(r.message(), HasSubstr("edit 3"));
}

// Every column of an edit row, one byte changed: the report names that edit.
class EditColumnTamper : public ::testing::TestWithParam<const char*> {};

TEST_P(EditColumnTamper, NamesTheEdit) {
    TempDir dir;
    const auto path = dir.file("a.larimar");
    Workspace ws(path, testOptions());
    buildHistory(ws);
    const std::string column = GetParam();
    if (column == "op") RawDb(path).exec("UPDATE edits SET op='batch' WHERE id=3");
    else changeOneByte(path, "edits", column, 3);
    const auto r = ws.verifyChain();
    EXPECT_FALSE(r.ok) << column;
    EXPECT_EQ(r.editId, 3) << column << ": " << r.message();
}

INSTANTIATE_TEST_SUITE_P(AllColumns, EditColumnTamper,
                         ::testing::Values("op", "fact_ids", "fact_states", "facts_digest", "actor",
                                           "reason", "timestamp", "model_id", "model_hash",
                                           "memory_digest_before", "memory_digest_after",
                                           "payload", "prev_hash", "hash"));

// Every column of a fact row, one byte (or the state) changed: the report names the fact.
class FactColumnTamper : public ::testing::TestWithParam<const char*> {};

TEST_P(FactColumnTamper, NamesTheFact) {
    TempDir dir;
    const auto path = dir.file("a.larimar");
    Workspace ws(path, testOptions());
    buildHistory(ws);
    const std::string column = GetParam();
    if (column == "state") RawDb(path).exec("UPDATE facts SET state='forgotten' WHERE id=3");
    else if (column == "created_edit_id") RawDb(path).exec("UPDATE facts SET created_edit_id=1 WHERE id=3");
    else if (column == "forgotten_edit_id") RawDb(path).exec("UPDATE facts SET forgotten_edit_id=4 WHERE id=3");
    else changeOneByte(path, "facts", column, 3);
    const auto r = ws.verifyChain();
    EXPECT_FALSE(r.ok) << column;
    if (column == "content_digest") EXPECT_EQ(r.editId, 2) << r.message(); // the edit that wrote it
    else EXPECT_EQ(r.factId, 3) << column << ": " << r.message();
}

INSTANTIATE_TEST_SUITE_P(AllColumns, FactColumnTamper,
                         ::testing::Values("text", "subject", "relation", "target", "source",
                                           "write_key", "latent", "content_digest", "state",
                                           "created_edit_id", "forgotten_edit_id"));

TEST(WorkspaceAudit, StructuralTamperingIsDetected) {
    struct Case {
        const char* name;
        const char* sql;
        std::optional<std::int64_t> editId;
        std::optional<std::int64_t> factId;
    };
    const Case cases[] = {
        {"delete a middle edit", "DELETE FROM edits WHERE id=3", 3, std::nullopt},
        {"renumber an edit", "UPDATE edits SET id=30 WHERE id=3", 3, std::nullopt},
        {"delete the newest edit", "DELETE FROM edits WHERE id=5", 5, std::nullopt},
        {"change the first edit",
         "UPDATE edits SET reason = CASE id WHEN 1 THEN 'test2' ELSE reason END WHERE id=1",
         1, std::nullopt},
        {"insert a fact by hand",
         "INSERT INTO facts SELECT 99, 'sneaky', subject, relation, target, source, state, "
         "write_key, latent, content_digest, created_edit_id, NULL FROM facts WHERE id=1",
         std::nullopt, 99},
        {"un-forget by hand (rollback restored fact 2; forget fact 4 by hand)",
         "UPDATE facts SET state='forgotten', forgotten_edit_id=2 WHERE id=4", 2, 4},
        {"delete a fact", "DELETE FROM facts WHERE id=5", 4, 5},
    };
    for (const auto& c : cases) {
        TempDir dir;
        const auto path = dir.file("s.larimar");
        Workspace ws(path, testOptions());
        buildHistory(ws);
        RawDb(path).exec(c.sql);
        const auto r = ws.verifyChain();
        EXPECT_FALSE(r.ok) << c.name;
        EXPECT_EQ(r.editId, c.editId) << c.name << ": " << r.message();
        EXPECT_EQ(r.factId, c.factId) << c.name << ": " << r.message();
    }
}

// --- verbatim storage, export ------------------------------------------------------------

TEST(WorkspaceText, SqlMetacharactersAreStoredVerbatim) {
    TempDir dir;
    const auto path = dir.file("meta'chars\".larimar");
    const std::vector<std::string> texts = {
        "'); DROP TABLE facts;--",
        "Robert'); DROP TABLE edits; --",
        "\"double\" and 'single' quotes, `backticks`",
        "100% of _wildcards_ like % and _ and \\ escapes",
        "emoji 🦄 and CJK 東京 and RTL שלום and combining é",
        "multi\nline\r\ntext\twith tabs",
        "?1 :name @p $x placeholders",
        "a; SELECT * FROM meta; --",
    };
    {
        Workspace ws(path, testOptions());
        std::vector<Fact> facts;
        for (std::size_t i = 0; i < texts.size(); ++i) {
            auto f = makeFact(texts[i], static_cast<int>(i), texts[(i + 1) % texts.size()]);
            f.subject = texts[(i + 2) % texts.size()];
            facts.push_back(f);
        }
        writeFacts(ws, facts, "o'brien \"the\" auditor", texts[0]);
    }
    Workspace ws(path, testOptions());
    ASSERT_EQ(ws.factCount(), static_cast<std::int64_t>(texts.size()));
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto f = ws.fact(static_cast<std::int64_t>(i + 1));
        EXPECT_EQ(f.text, texts[i]);
        EXPECT_EQ(f.source, texts[(i + 1) % texts.size()]);
        EXPECT_EQ(f.subject, texts[(i + 2) % texts.size()]);
    }
    EXPECT_EQ(ws.edit(1).actor, "o'brien \"the\" auditor");
    EXPECT_EQ(ws.edit(1).reason, texts[0]);
    FactFilter pct;
    pct.textContains = "100%";
    EXPECT_EQ(ws.facts(pct).size(), 1u);
    pct.textContains = "%";
    EXPECT_EQ(ws.facts(pct).size(), 1u); // '%' is not a wildcard
    pct.textContains = "'); DROP";
    EXPECT_EQ(ws.facts(pct).size(), 2u);
    FactFilter src;
    src.source = texts[1];
    ASSERT_EQ(ws.facts(src).size(), 1u);
    EXPECT_TRUE(ws.verifyChain().ok);
}

TEST(WorkspaceExport, CsvAndJson) {
    TempDir dir;
    Workspace ws(dir.file("x.larimar"), testOptions());
    buildHistory(ws);
    writeFacts(ws, {makeFact("quoted")}, "eve", "reason with, comma and \"quotes\"\nand a newline");

    const auto csv = ws.exportHistoryCsv();
    EXPECT_EQ(csv.rfind("id,op,fact_ids,", 0), 0u);
    EXPECT_THAT(csv, HasSubstr("\"reason with, comma and \"\"quotes\"\"\nand a newline\""));
    EXPECT_THAT(csv, HasSubstr("\"[2,3,4]\""));
    EXPECT_THAT(csv, HasSubstr(ws.edit(6).hash));

    const auto doc = nlohmann::json::parse(ws.exportHistoryJson());
    EXPECT_EQ(doc["format"], "larimar-history");
    ASSERT_EQ(doc["edits"].size(), 6u);
    EXPECT_EQ(doc["edits"][4]["op"], "rollback");
    EXPECT_EQ(doc["edits"][4]["payload"]["rollback_to"], 2);
    EXPECT_EQ(doc["edits"][1]["fact_ids"], nlohmann::json({2, 3, 4}));
    EXPECT_EQ(doc["edits"][2]["fact_states"], nlohmann::json({"forgotten"}));
    EXPECT_EQ(doc["edits"][5]["reason"], "reason with, comma and \"quotes\"\nand a newline");
    EXPECT_EQ(doc["edits"][0]["prev_hash"], kGenesisHash);
    EXPECT_EQ(doc["meta"]["created_at"], "2024-05-01T12:00:00.000Z");
}

TEST(WorkspaceTime, FormatsIsoUtc) {
    using namespace std::chrono;
    EXPECT_EQ(formatTimestamp(system_clock::time_point(milliseconds(1714564800123))),
              "2024-05-01T12:00:00.123Z");
    EXPECT_EQ(formatTimestamp(system_clock::time_point(milliseconds(0))), "1970-01-01T00:00:00.000Z");
}

// --- issue 20: a workspace no input can break ---------------------------------------------

TEST(WorkspaceOpen, RefusesNegativeSchemaVersion) {
    // Used to index the migration table before its start and call whatever it found there.
    TempDir dir;
    const auto path = dir.file("neg.larimar");
    {
        Workspace ws(path, testOptions());
        writeFacts(ws, {makeFact("a fact")});
    }
    RawDb(path).exec("PRAGMA user_version = -1");
    auto msg = userErrorOf([&] { Workspace ws(path, testOptions()); });
    EXPECT_THAT(msg, HasSubstr(path));
    EXPECT_THAT(msg, HasSubstr("schema version (PRAGMA user_version) is -1"));
    WorkspaceOptions ro = testOptions();
    ro.readOnly = true;
    EXPECT_THAT(userErrorOf([&] { Workspace ws(path, ro); }), HasSubstr("is -1"));
    RawDb(path).exec("PRAGMA user_version = -2147483648");
    EXPECT_THAT(userErrorOf([&] { Workspace ws(path, testOptions()); }), HasSubstr("-2147483648"));
    EXPECT_EQ(RawDb(path).text("PRAGMA user_version"), "-2147483648") << "left as it was";
}

TEST(WorkspaceOpen, RefusesVersionItsTablesDoNotMatch) {
    TempDir dir;
    const auto path = dir.file("odd.larimar");
    { Workspace ws(path, testOptions()); }
    RawDb(path).exec("DROP TABLE generations");
    EXPECT_THAT(userErrorOf([&] { Workspace ws(path, testOptions()); }),
                HasSubstr("says schema version " + std::to_string(Workspace::kSchemaVersion) +
                          " but has no table 'generations'"));
    // Marked as a workspace, version 0, but tables: not a blank file to migrate.
    const auto zero = dir.file("zero.larimar");
    { Workspace ws(zero, testOptions()); }
    RawDb(zero).exec("PRAGMA user_version = 0");
    EXPECT_THAT(userErrorOf([&] { Workspace ws(zero, testOptions()); }), HasSubstr("schema version 0"));
}

TEST(WorkspaceOpen, ReadOnlyNeverMigratesOrWrites) {
    TempDir dir;
    const auto path = dir.file("v1.larimar");
    {
        Workspace ws(path, testOptions());
        writeFacts(ws, {makeFact("old fact")});
    }
    { // what a version-1 workspace looks like
        RawDb raw(path);
        raw.exec("DROP TABLE fact_embeddings");
        raw.exec("PRAGMA user_version = 1");
    }
    WorkspaceOptions ro = testOptions();
    ro.readOnly = true;
    {
        Workspace ws(path, ro);
        EXPECT_EQ(ws.openedSchemaVersion(), 1);
        EXPECT_EQ(ws.fact(1).text, "old fact");
        EXPECT_TRUE(ws.verifyChain().ok) << ws.verifyChain().message();
        EXPECT_THAT(userErrorOf([&] { ws.begin(); }), HasSubstr("reading only"));
        EXPECT_THAT(userErrorOf([&] { ws.setMeta("scope.threshold", "0.5"); }), HasSubstr("reading only"));
    }
    EXPECT_EQ(RawDb(path).text("PRAGMA user_version"), "1") << "a read-only open does not migrate";
    { Workspace ws(path, testOptions()); } // a writing open does
    EXPECT_EQ(RawDb(path).text("PRAGMA user_version"), std::to_string(Workspace::kSchemaVersion));

    const auto blank = dir.file("blank.larimar");
    { std::ofstream touch(blank); }
    EXPECT_THAT(userErrorOf([&] { Workspace ws(blank, ro); }), HasSubstr("not a workspace yet"));
    EXPECT_EQ(std::filesystem::file_size(blank), 0u);
    EXPECT_THAT(userErrorOf([&] { Workspace ws(dir.file("absent.larimar"), ro); }), HasSubstr("no workspace"));
    EXPECT_FALSE(std::filesystem::exists(dir.file("absent.larimar")));
}

// --- issue 20: external anchors -------------------------------------------------------------

TEST(ChainHeadText, ParsesAndRefuses) {
    const std::string hash(64, 'a');
    const auto h = ChainHead::parse("12:" + std::string(64, 'A'));
    EXPECT_EQ(h.editId, 12);
    EXPECT_EQ(h.hash, hash);
    EXPECT_EQ(h.toString(), "12:" + hash);
    EXPECT_TRUE(ChainHead::parse("3:aaaaaaaaaaaa").matches(hash));
    EXPECT_FALSE(ChainHead::parse("3:aaaaaaaaaaab").matches(hash));
    for (const char* bad : {"", "12", "x:aaaaaaaaaaaa", "-1:aaaaaaaaaaaa", "1:aaaa", "1:zzzzzzzzzzzz",
                            "1:aaaaaaaaaaaa ", "99999999999999999999:aaaaaaaaaaaa"})
        EXPECT_THAT(userErrorOf([&] { ChainHead::parse(bad); }), HasSubstr("ID:HASH")) << bad;
}

TEST(WorkspaceAudit, RecordedHeadCatchesAConsistentRewrite) {
    TempDir dir;
    const auto path = dir.file("a.larimar");
    ChainHead recorded;
    {
        Workspace ws(path, testOptions());
        EXPECT_EQ(ws.chainHead().toString(), "0:" + kGenesisHash);
        buildHistory(ws);
        recorded = ws.chainHead();
        EXPECT_EQ(recorded.editId, 5);
        EXPECT_EQ(recorded.hash, ws.edit(5).hash);
        const auto r = ws.verifyChain(recorded);
        EXPECT_TRUE(r.ok) << r.message();
        ASSERT_TRUE(r.head);
        EXPECT_EQ(r.head->toString(), recorded.toString());
        EXPECT_TRUE(ws.verifyChain(ChainHead{3, ws.edit(3).hash.substr(0, 12)}).ok) << "an earlier head, short form";
        writeFacts(ws, {makeFact("later")});
        EXPECT_TRUE(ws.verifyChain(recorded).ok) << "appending keeps the old head in the chain";
    }
    // Someone rebuilds the history with other content and every hash recomputed: the chain
    // is consistent in itself (plain verify passes) but no longer ends in the recorded head.
    const auto forged = dir.file("forged.larimar");
    {
        Workspace ws(forged, testOptions());
        ws.requireModel("test-model", "0123abcd");
        writeFacts(ws, {makeFact("Paris is in Spain", 1)});
        for (int i = 0; i < 5; ++i) writeFacts(ws, {makeFact("filler " + std::to_string(i), i + 2)});
    }
    std::filesystem::copy_file(forged, path, std::filesystem::copy_options::overwrite_existing);
    {
        Workspace ws(path, testOptions());
        ASSERT_TRUE(ws.verifyChain().ok) << "the forgery is self-consistent";
        const auto r = ws.verifyChain(recorded);
        EXPECT_FALSE(r.ok);
        EXPECT_EQ(r.editId, 5);
        EXPECT_THAT(r.message(), HasSubstr("was rewritten"));
        EXPECT_FALSE(r.head);
    }
    // ... or keeps an identical prefix and drops the newest edits.
    const auto shorter = dir.file("shorter.larimar");
    ChainHead three;
    {
        Workspace ws(shorter, testOptions());
        buildHistory(ws);
        three = ws.chainHead();
    }
    {
        Workspace ws(dir.file("prefix.larimar"), testOptions());
        ws.requireModel("test-model", "0123abcd");
        writeFacts(ws, {makeFact("Paris is in France", 1)});
        writeFacts(ws, {makeFact("Rome is in Italy", 2), makeFact("Oslo is in Norway", 3),
                        makeFact("Bern is in Switzerland", 4)});
        ASSERT_EQ(ws.edit(2).hash, Workspace(shorter, testOptions()).edit(2).hash) << "same prefix";
        const auto r = ws.verifyChain(three);
        EXPECT_FALSE(r.ok);
        EXPECT_EQ(r.editId, 3);
        EXPECT_THAT(r.message(), HasSubstr("history ends at edit 2"));
    }
}

// --- issue 20: no appends to a broken chain ------------------------------------------------

TEST(WorkspaceWriteGuard, RefusesToAppendWhileTheAuditFails) {
    TempDir dir;
    const auto path = dir.file("g.larimar");
    Workspace ws(path, testOptions());
    buildHistory(ws);
    writeFacts(ws, {makeFact("verified, then cached")});
    const auto before = ws.lastEditId();

    struct Case {
        const char* what;
        const char* tamper;
        const char* restore;
    };
    const std::string head = RawDb(path).text("SELECT value FROM meta WHERE key='audit.head'");
    const Case cases[] = {
        {"an edit's reason", "UPDATE edits SET reason='x' WHERE id=3", "UPDATE edits SET reason='forget' WHERE id=3"},
        // The next write used to overwrite a wrong head, and a rollback a flipped state.
        {"the recorded head", "UPDATE meta SET value='6 0000' WHERE key='audit.head'",
         nullptr},
        {"a fact's state", "UPDATE facts SET state='forgotten', forgotten_edit_id=6 WHERE id=6",
         "UPDATE facts SET state='written', forgotten_edit_id=NULL WHERE id=6"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        RawDb(path).exec(c.tamper); // another connection, as the sqlite3 shell would be
        const auto msg = userErrorOf([&] { writeFacts(ws, {makeFact("must not be written")}); });
        EXPECT_THAT(msg, HasSubstr("refusing to write"));
        EXPECT_THAT(msg, HasSubstr("audit FAILED"));
        EXPECT_THAT(msg, HasSubstr("larimar audit verify"));
        EXPECT_FALSE(ws.inTransaction());
        EXPECT_EQ(ws.lastEditId(), before);
        // Reads and exports still work.
        EXPECT_EQ(ws.factCount(), 6);
        EXPECT_THAT(ws.exportHistoryCsv(), HasSubstr("id,op"));
        EXPECT_FALSE(ws.verifyChain().ok);
        if (c.restore) RawDb(path).exec(c.restore);
        else RawDb(path).exec("UPDATE meta SET value='" + head + "' WHERE key='audit.head'");
        ASSERT_TRUE(ws.verifyChain().ok) << ws.verifyChain().message();
    }
    EXPECT_NO_THROW(writeFacts(ws, {makeFact("the chain verifies again")}));

    // A second connection sees the damage too; the guard can be turned off for tests.
    RawDb(path).exec("UPDATE edits SET reason='x' WHERE id=1");
    EXPECT_THAT(userErrorOf([&] { Workspace(path, testOptions()).begin(); }), HasSubstr("at edit 1"));
    WorkspaceOptions unguarded = testOptions();
    unguarded.verifyBeforeWrite = false;
    Workspace raw(path, unguarded);
    EXPECT_NO_THROW(raw.begin().rollback());
}

TEST(WorkspaceWriteGuard, VerifiesOncePerConnectionNotPerWrite) {
    // The cost of the guard: one walk on this object's first write, none for its later writes.
    TempDir dir;
    const auto path = dir.file("cost.larimar");
    Workspace ws(path, testOptions());
    std::vector<Fact> many;
    for (int i = 0; i < 2000; ++i) many.push_back(makeFact("fact " + std::to_string(i), i));
    writeFacts(ws, many);
    for (int i = 0; i < 200; ++i) writeFacts(ws, {makeFact("single " + std::to_string(i), i)});
    using clock = std::chrono::steady_clock;
    Workspace fresh(path, testOptions());
    auto t0 = clock::now();
    writeFacts(fresh, {makeFact("first write: walks the chain")});
    const auto first = clock::now() - t0;
    t0 = clock::now();
    for (int i = 0; i < 20; ++i) writeFacts(fresh, {makeFact("cached " + std::to_string(i))});
    const auto later = (clock::now() - t0) / 20;
    EXPECT_TRUE(fresh.verifyChain().ok);
    // Writes commit with fsync, so compare loosely: a re-walk would cost as much as the first.
    RecordProperty("first_write_us", static_cast<int>(std::chrono::duration_cast<std::chrono::microseconds>(first).count()));
    RecordProperty("later_write_us", static_cast<int>(std::chrono::duration_cast<std::chrono::microseconds>(later).count()));
    std::cout << "first write " << std::chrono::duration_cast<std::chrono::microseconds>(first).count()
              << " us, later writes " << std::chrono::duration_cast<std::chrono::microseconds>(later).count()
              << " us each\n";
}

// --- issue 20: settings that change behaviour are audited edits ---------------------------

TEST(WorkspaceSettings, ThresholdChangesAreSettingEditsInTheChain) {
    TempDir dir;
    const auto path = dir.file("s.larimar");
    WorkspaceOptions o = testOptions();
    o.actor = "carol";
    Workspace ws(path, o);
    buildHistory(ws);
    ws.setMeta("scope.threshold", "0.5");
    ws.setMeta("scope.threshold", "0.5"); // unchanged: no edit
    const auto second = ws.recordSetting("scope.threshold", "0.7", "dave", "tuned on the dev set");
    EXPECT_EQ(ws.meta("scope.threshold"), "0.7");
    ASSERT_EQ(ws.lastEditId(), 7);
    const auto first = ws.edit(6);
    EXPECT_EQ(first.op, EditOp::Setting);
    EXPECT_EQ(first.actor, "carol");
    EXPECT_TRUE(first.factIds.empty());
    EXPECT_EQ(first.payload, nlohmann::json({{"setting", "scope.threshold"}, {"value", "0.5"}, {"previous", nullptr}}));
    EXPECT_EQ(first.memoryDigestBefore, "mem5");
    EXPECT_EQ(first.memoryDigestAfter, "mem5") << "the memory does not change";
    EXPECT_EQ(second.id, 7);
    EXPECT_EQ(second.actor, "dave");
    EXPECT_EQ(ws.edit(7).payload.at("previous"), "0.5");
    EXPECT_TRUE(ws.verifyChain().ok) << ws.verifyChain().message();
    EXPECT_THAT(userErrorOf([&] { ws.recordSetting("created_at", "x", "eve"); }), HasSubstr("not a setting"));

    // Changed behind the program's back: the audit names the edit that set it, writes stop.
    RawDb(path).exec("UPDATE meta SET value = '0.1' WHERE key = 'scope.threshold'");
    const auto r = ws.verifyChain();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.editId, 7);
    EXPECT_THAT(r.message(), HasSubstr("scope.threshold is '0.1' but edit 7 set it to '0.7'"));
    EXPECT_THAT(userErrorOf([&] { ws.setMeta("scope.threshold", "0.2"); }), HasSubstr("refusing to write"));
}

TEST(WorkspaceSettings, LambdaAndModelBindingAreCovered) {
    TempDir dir;
    const auto path = dir.file("l.larimar");
    {
        Workspace ws(path, testOptions());
        ws.setMeta("memory.lambda", "0.001"); // the editor's first choice: not an edit
        EXPECT_FALSE(ws.lastEditId());
        buildHistory(ws);
        ws.setMeta("memory.lambda", "0.01"); // a change once there is history: an edit
        EXPECT_EQ(ws.edit(*ws.lastEditId()).op, EditOp::Setting);
        EXPECT_TRUE(ws.verifyChain().ok) << ws.verifyChain().message();
    }
    RawDb(path).exec("UPDATE meta SET value = 'other-model' WHERE key = 'model.id'");
    Workspace ws(path, testOptions());
    const auto r = ws.verifyChain();
    EXPECT_FALSE(r.ok);
    EXPECT_THAT(r.message(), HasSubstr("model binding was changed"));
}

TEST(WorkspaceOpen, MigratesVersion2KeepingTheChain) {
    TempDir dir;
    const auto path = dir.file("v2.larimar");
    std::string head;
    {
        Workspace ws(path, testOptions());
        buildHistory(ws);
        head = ws.chainHead().toString();
    }
    { // back to the version-2 edits table (no 'setting' op), as an older build wrote it
        RawDb raw(path);
        raw.exec(R"sql(
CREATE TABLE edits_v2 (
    id INTEGER PRIMARY KEY,
    op TEXT NOT NULL CHECK (op IN ('write', 'forget', 'batch', 'rollback')),
    fact_ids TEXT NOT NULL, fact_states TEXT NOT NULL, facts_digest TEXT NOT NULL, actor TEXT NOT NULL,
    reason TEXT NOT NULL, timestamp TEXT NOT NULL, model_id TEXT NOT NULL, model_hash TEXT NOT NULL,
    memory_digest_before TEXT NOT NULL, memory_digest_after TEXT NOT NULL, payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL) STRICT;
INSERT INTO edits_v2 SELECT id, op, fact_ids, fact_states, facts_digest, actor, reason, timestamp, model_id,
    model_hash, memory_digest_before, memory_digest_after, payload, prev_hash, hash FROM edits;
DROP TABLE edits;
ALTER TABLE edits_v2 RENAME TO edits;
PRAGMA user_version = 2;
)sql");
        EXPECT_THROW(raw.exec("INSERT INTO edits SELECT 99, 'setting', fact_ids, fact_states, facts_digest, actor, "
                              "reason, timestamp, model_id, model_hash, memory_digest_before, "
                              "memory_digest_after, payload, prev_hash, hash FROM edits WHERE id = 1"),
                     std::runtime_error);
    }
    Workspace ws(path, testOptions());
    EXPECT_EQ(ws.openedSchemaVersion(), 2);
    EXPECT_EQ(ws.chainHead().toString(), head) << "rows copied verbatim";
    EXPECT_TRUE(ws.verifyChain(ChainHead::parse(head)).ok);
    ws.setMeta("scope.threshold", "0.4");
    EXPECT_EQ(ws.edit(*ws.lastEditId()).op, EditOp::Setting);
    EXPECT_TRUE(ws.verifyChain().ok) << ws.verifyChain().message();
    RawDb raw(path);
    EXPECT_EQ(raw.text("PRAGMA user_version"), std::to_string(Workspace::kSchemaVersion));
    EXPECT_EQ(raw.text("SELECT \"table\" FROM pragma_foreign_key_list('facts') LIMIT 1"), "edits");
    EXPECT_EQ(raw.text("SELECT count(*) FROM sqlite_schema WHERE name = 'edits_by_op'"), "1");
}
