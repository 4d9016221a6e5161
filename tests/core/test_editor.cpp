// The editor facade over the fake model: write / batch / forget / rollback / undo semantics,
// the memory digest chain, restore on reopen (snapshot + replay), all-or-nothing batches,
// refusal of another model, queries recorded with and without memory.
#include "fake_text_model.h"
#include "store_test_support.h"

#include "core/editor/editor.h"
#include "core/editor/longcontext.h"
#include "core/util/error.h"
#include "core/util/npy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <random>

using namespace larimar;
using namespace larimar::test;
using ::testing::HasSubstr;

namespace {

EditorOptions options() {
    EditorOptions o;
    o.actor = "tester";
    o.workspace = testOptions();
    return o;
}

std::unique_ptr<Editor> open(const std::string& path, std::shared_ptr<TextModel> model = makeFakeModel()) {
    return std::make_unique<Editor>(std::move(model), path, options());
}

std::vector<FactRecord> records(const std::string& prefix, int n) {
    std::vector<FactRecord> out;
    for (int i = 0; i < n; ++i) {
        FactRecord r;
        r.text = prefix + " fact number " + std::to_string(i) + " is true.";
        r.source = "test:" + std::to_string(i + 1);
        out.push_back(r);
    }
    return out;
}

/// The least-squares memory of the facts written now in the page the editor shows, solved
/// directly from their stored keys.
Eigen::MatrixXd rebuiltFromWrittenFacts(Editor& ed) {
    FactFilter f;
    f.state = FactState::Written;
    f.withVectors = true;
    std::vector<Fact> facts;
    for (auto& fact : ed.facts(f))
        if (ed.memoryBackend().pageOf(fact.id) == ed.visiblePage()) facts.push_back(std::move(fact));
    const int k = ed.slots(), c = ed.width();
    Eigen::MatrixXd keys(static_cast<Eigen::Index>(facts.size()), k), z(static_cast<Eigen::Index>(facts.size()), c);
    for (std::size_t i = 0; i < facts.size(); ++i) {
        for (int j = 0; j < k; ++j) keys(static_cast<Eigen::Index>(i), j) = facts[i].writeKey[static_cast<std::size_t>(j)];
        for (int j = 0; j < c; ++j) z(static_cast<Eigen::Index>(i), j) = facts[i].latent[static_cast<std::size_t>(j)];
    }
    return EpisodicMemory::leastSquaresMemory(Eigen::MatrixXd::Zero(k, c), keys, z, ed.memory().effectiveLambda());
}

double relativeDifference(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
    return (a - b).norm() / std::max(1e-300, std::max(a.norm(), b.norm()));
}

TEST(Editor, WriteChangesTheAnswerAndForgetChangesItBack) {
    TempDir dir;
    auto ed = open(dir.file("w.larimar"));
    const std::string prompt = "What is the capital of Freedonia?";
    auto q0 = ed->query(prompt);
    EXPECT_FALSE(q0.inScope);
    EXPECT_EQ(q0.withMemory.text, SyntheticTextModel::plainAnswer(prompt));

    const auto w = ed->write("The capital of Freedonia is Fredville.", {"Freedonia", "The capital of Freedonia is",
                                                                         "Fredville", "atlas"},
                             "new capital");
    ASSERT_EQ(w.factIds.size(), 1u);
    EXPECT_EQ(w.op, EditOp::Write);
    auto q1 = ed->query(prompt);
    EXPECT_TRUE(q1.inScope);
    EXPECT_DOUBLE_EQ(q1.scope.score, 1.0);
    EXPECT_EQ(q1.withMemory.text, "The capital of Freedonia is Fredville.");
    EXPECT_EQ(q1.withoutMemory.text, SyntheticTextModel::plainAnswer(prompt));
    EXPECT_EQ(q1.readWeights.size(), ed->slots());
    ASSERT_FALSE(q1.withMemory.tokens.empty());
    EXPECT_GT(q1.withMemory.tokens.front().probability, 0.0);

    const Fact f = ed->fact(w.factIds[0]);
    EXPECT_EQ(f.subject, "Freedonia");
    EXPECT_EQ(f.relation, "The capital of Freedonia is");
    EXPECT_EQ(f.target, "Fredville");
    EXPECT_EQ(f.source, "atlas");
    EXPECT_EQ(ed->edits().back().reason, "new capital");
    EXPECT_EQ(ed->edits().back().actor, "tester");

    ed->forget(w.factIds, "wrong");
    auto q2 = ed->query(prompt);
    EXPECT_FALSE(q2.inScope);
    EXPECT_EQ(q2.withMemory.text, SyntheticTextModel::plainAnswer(prompt));

    // Every query is recorded, with both outputs and the scope score.
    const auto gens = ed->generations();
    ASSERT_EQ(gens.size(), 3u);
    EXPECT_EQ(gens[1].outputWithMemory, "The capital of Freedonia is Fredville.");
    EXPECT_EQ(gens[1].outputWithoutMemory, SyntheticTextModel::plainAnswer(prompt));
    EXPECT_TRUE(gens[1].inScope);
    ASSERT_TRUE(gens[1].scopeScore);
    EXPECT_DOUBLE_EQ(*gens[1].scopeScore, 1.0);
    EXPECT_FALSE(gens[2].inScope);
    EXPECT_TRUE(gens[1].details.contains("tokens_with_memory"));
}

TEST(Editor, MemoryAnswersWithAWrittenFactAndForgetMovesItToAnother) {
    TempDir dir;
    auto ed = open(dir.file("n.larimar"));
    const auto paris = ed->write("Paris is the capital of France.");
    const auto danube = ed->write("The Danube flows into the Black Sea.");
    QueryOptions qo;
    qo.record = false;
    const std::string prompt = "Tell me a fact.";
    const std::string first = ed->query(prompt, qo).withMemory.text;
    ASSERT_TRUE(first == "Paris is the capital of France." || first == "The Danube flows into the Black Sea.") << first;
    ed->forget(first == "Paris is the capital of France." ? paris.factIds : danube.factIds);
    const std::string second = ed->query(prompt, qo).withMemory.text;
    EXPECT_NE(second, first);
    EXPECT_TRUE(second == "Paris is the capital of France." || second == "The Danube flows into the Black Sea.");
    const auto c = ed->compare(prompt);
    EXPECT_TRUE(c.query.inScope);
    EXPECT_TRUE(c.differs);
    EXPECT_EQ(ed->generations().size(), 1u) << "record = false stores nothing";
    // Forced out of scope: the plain model, even with facts written.
    qo.forceScope = false;
    EXPECT_EQ(ed->query(prompt, qo).withMemory.text, SyntheticTextModel::plainAnswer(prompt));
}

TEST(Editor, DigestChainLinksEveryEdit) {
    TempDir dir;
    auto ed = open(dir.file("d.larimar"));
    const std::string empty = ed->memoryDigest();
    const auto a = ed->write("alpha is first.");
    ed->writeBatch(records("beta", 5), "import");
    ed->forget(a.factIds);
    ed->rollback(1);
    ed->undoLast();
    const auto edits = ed->edits();
    ASSERT_EQ(edits.size(), 5u);
    EXPECT_EQ(edits[0].memoryDigestBefore, empty);
    for (std::size_t i = 1; i < edits.size(); ++i)
        EXPECT_EQ(edits[i].memoryDigestBefore, edits[i - 1].memoryDigestAfter) << "edit " << edits[i].id;
    EXPECT_EQ(edits.back().memoryDigestAfter, ed->memoryDigest());
    for (const auto& e : edits) {
        EXPECT_EQ(e.modelId, "fake-model 1");
        EXPECT_EQ(e.modelHash, makeFakeModel()->weightsHash());
    }
    EXPECT_TRUE(ed->verify().ok) << ed->verify().message();
}

TEST(Editor, ReopenRestoresTheSameMemory) {
    TempDir dir;
    const auto path = dir.file("r.larimar");
    std::string digest;
    Eigen::MatrixXd m;
    {
        auto ed = open(path);
        for (int i = 0; i < 30; ++i) ed->write("single fact " + std::to_string(i) + ".");
        ed->writeBatch(records("batch", 20));
        ed->forget({3, 7, 40});
        ed->write("after the forget.");
        ed->write("and one more.");
        digest = ed->memoryDigest();
        m = ed->memoryMatrix();
        // Snapshots: edit 25 (interval), 31 (batch); 32..34 are replayed on open.
        EXPECT_TRUE(ed->workspace().latestSnapshot(25));
        EXPECT_EQ(ed->workspace().latestSnapshot()->editId, 31);
    }
    auto ed = open(path);
    EXPECT_EQ(ed->memoryDigest(), digest);
    EXPECT_EQ(ed->memoryBackend().digest(), digest);
    EXPECT_TRUE(ed->memoryMatrix() == m) << "restore must be bit-exact";
    EXPECT_LT(relativeDifference(ed->memoryMatrix(), rebuiltFromWrittenFacts(*ed)), 1e-9);
    // The restored memory keeps working: forget exactly what the write put in.
    ed->forget({1});
    EXPECT_LT(relativeDifference(ed->memoryMatrix(), rebuiltFromWrittenFacts(*ed)), 1e-9);
}

TEST(Editor, RollbackRestoresFactsAndMemory) {
    TempDir dir;
    const auto path = dir.file("rb.larimar");
    auto ed = open(path);
    const auto a = ed->write("a is a fact.");       // edit 1
    const auto b = ed->write("b is a fact.");       // edit 2
    ed->forget(a.factIds);                           // edit 3
    const auto c = ed->writeBatch(records("c", 3)); // edit 4
    const std::string after2 = ed->edits()[1].memoryDigestAfter;
    const std::string after4 = ed->memoryDigest();

    const auto r = ed->rollback(2, "back to two");
    EXPECT_EQ(r.op, EditOp::Rollback);
    EXPECT_EQ(r.targetEdit, 2);
    EXPECT_EQ(r.memoryDigestAfter, after2);
    EXPECT_EQ(ed->memoryDigest(), after2);
    EXPECT_EQ(r.restored, a.factIds);
    EXPECT_EQ(r.forgotten, c.factIds);
    EXPECT_EQ(ed->fact(a.factIds[0]).state, FactState::Written);
    EXPECT_EQ(ed->fact(b.factIds[0]).state, FactState::Written);
    for (auto id : c.factIds) EXPECT_EQ(ed->fact(id).state, FactState::Forgotten);
    const Edit rb = ed->edits().back();
    EXPECT_EQ(rb.op, EditOp::Rollback);
    EXPECT_EQ(rb.payload.at("target_edit"), 2);
    EXPECT_EQ(rb.reason, "back to two");
    EXPECT_TRUE(ed->workspace().latestSnapshot(rb.id)->editId == rb.id) << "every rollback is snapshotted";
    EXPECT_LT(relativeDifference(ed->memoryMatrix(), rebuiltFromWrittenFacts(*ed)), 1e-9);

    // Undo the rollback: back to the state after edit 4.
    const auto u = ed->undoLast();
    EXPECT_EQ(u.targetEdit, 4);
    EXPECT_EQ(ed->memoryDigest(), after4);
    EXPECT_EQ(ed->fact(a.factIds[0]).state, FactState::Forgotten);
    for (auto id : c.factIds) EXPECT_EQ(ed->fact(id).state, FactState::Written);
    EXPECT_TRUE(ed->verify().ok) << ed->verify().message();

    ed.reset();
    ed = open(path);
    EXPECT_EQ(ed->memoryDigest(), after4);

    EXPECT_THAT([&] { ed->rollback(99); }, ::testing::ThrowsMessage<UserError>(HasSubstr("no edit with id 99")));
    EXPECT_THAT([&] { ed->rollback(*ed->lastEditId()); },
                ::testing::ThrowsMessage<UserError>(HasSubstr("is the latest edit")));
}

TEST(Editor, RollbackToZeroAndUndoOfTheFirstEditEmptyTheMemory) {
    TempDir dir;
    auto ed = open(dir.file("z.larimar"));
    EXPECT_THROW(ed->undoLast(), UserError);
    const std::string empty = ed->memoryDigest();
    const auto a = ed->write("only fact.");
    const auto u = ed->undoLast();
    EXPECT_EQ(u.targetEdit, 0);
    EXPECT_EQ(ed->memoryDigest(), empty);
    EXPECT_EQ(ed->fact(a.factIds[0]).state, FactState::Forgotten);
    EXPECT_FALSE(ed->query("only?").inScope);
    ed->undoLast(); // undo the undo: the fact is back
    EXPECT_EQ(ed->fact(a.factIds[0]).state, FactState::Written);
    EXPECT_NE(ed->memoryDigest(), empty);
}

TEST(Editor, UndoWalksBackEditByEditAndRedoBringsThemBack) {
    TempDir dir;
    const std::string path = dir.file("u.larimar");
    auto ed = open(path);
    EXPECT_THAT([&] { ed->undo(); }, ::testing::ThrowsMessage<UserError>(HasSubstr("nothing to undo")));
    const std::string empty = ed->memoryDigest();
    const auto a = ed->write("first fact.");
    const std::string after1 = ed->memoryDigest();
    const auto b = ed->write("second fact.");
    const std::string after2 = ed->memoryDigest();
    ed->workspace().recordSetting("scope.threshold", "0.6", ed->actor()); // not a step
    const auto c = ed->forget({a.factIds[0]}, "test");
    const std::string after3 = ed->memoryDigest();
    EXPECT_THAT([&] { ed->redo(); }, ::testing::ThrowsMessage<UserError>(HasSubstr("nothing to redo")));

    UndoHistory h = ed->undoHistory();
    ASSERT_EQ(h.undo.size(), 3u);
    EXPECT_EQ(h.undo.back().edit.id, c.editId);
    EXPECT_EQ(h.undo.back().stateBefore, b.editId) << "the setting edit is skipped";

    // Ctrl+Z three times: forget, then write 2, then write 1 are taken back (not a toggle).
    auto u1 = ed->undo();
    EXPECT_EQ(u1.targetEdit, b.editId);
    EXPECT_EQ(ed->memoryDigest(), after2);
    EXPECT_EQ(ed->edits().back().payload.at("undo_of"), c.editId);
    auto u2 = ed->undo();
    EXPECT_EQ(u2.targetEdit, a.editId);
    EXPECT_EQ(ed->memoryDigest(), after1);
    EXPECT_EQ(ed->fact(b.factIds[0]).state, FactState::Forgotten);
    ed->undo();
    EXPECT_EQ(ed->memoryDigest(), empty);
    EXPECT_THAT([&] { ed->undo(); }, ::testing::ThrowsMessage<UserError>(HasSubstr("nothing to undo")));
    h = ed->undoHistory();
    ASSERT_EQ(h.redo.size(), 3u);
    EXPECT_EQ(h.redo.back().edit.id, a.editId);

    // Redo walks forward again, and the stacks survive reopening the workspace.
    ed->redo();
    EXPECT_EQ(ed->memoryDigest(), after1);
    ed.reset();
    ed = open(path);
    ed->redo();
    EXPECT_EQ(ed->memoryDigest(), after2);
    EXPECT_EQ(ed->fact(b.factIds[0]).state, FactState::Written);
    ed->redo();
    EXPECT_EQ(ed->memoryDigest(), after3);
    EXPECT_EQ(ed->fact(a.factIds[0]).state, FactState::Forgotten);
    EXPECT_TRUE(ed->undoHistory().redo.empty());

    // A new change after an undo clears the redo stack; undo then takes back the new change.
    ed->undo();
    EXPECT_EQ(ed->memoryDigest(), after2);
    const auto d = ed->write("third fact.");
    EXPECT_TRUE(ed->undoHistory().redo.empty());
    EXPECT_THAT([&] { ed->redo(); }, ::testing::ThrowsMessage<UserError>(HasSubstr("nothing to redo")));
    ed->undo();
    EXPECT_EQ(ed->memoryDigest(), after2);
    EXPECT_EQ(ed->fact(d.factIds[0]).state, FactState::Forgotten);
    EXPECT_TRUE(ed->verify().ok) << ed->verify().message();
}

TEST(Editor, ForgetRefusesUnknownAndForgottenFacts) {
    TempDir dir;
    auto ed = open(dir.file("f.larimar"));
    const auto a = ed->write("x is y.");
    const std::string digest = ed->memoryDigest();
    EXPECT_THAT([&] { ed->forget({17}); }, ::testing::ThrowsMessage<UserError>(HasSubstr("fact 17 is not written")));
    EXPECT_THAT([&] { ed->forget({a.factIds[0], 17}); }, ::testing::Throws<UserError>());
    EXPECT_EQ(ed->memoryDigest(), digest);
    EXPECT_EQ(ed->fact(a.factIds[0]).state, FactState::Written) << "nothing of a refused forget is applied";
    ed->forget({a.factIds[0], a.factIds[0]}); // duplicates collapse
    EXPECT_THAT([&] { ed->forget(a.factIds); },
                ::testing::ThrowsMessage<UserError>(HasSubstr("fact 1 is not written (forgotten by edit 2)")));
    EXPECT_THROW(ed->forget({}), UserError);
    EXPECT_EQ(ed->edits().size(), 2u);
}

TEST(Editor, BatchIsAllOrNothingWhenCancelledAtAnyPoint) {
    TempDir dir;
    EditorOptions o = options();
    o.encodeChunk = 4;
    Editor ed(makeFakeModel(), dir.file("b.larimar"), o);
    ed.write("a fact before the batches.");
    const std::string digest = ed.memoryDigest();
    const Eigen::MatrixXd m = ed.memoryMatrix();
    std::mt19937 rng(5);
    const auto batch = records("cancelled", 37); // 10 chunks
    for (int trial = 0; trial < 12; ++trial) {
        const int cancelAfter = static_cast<int>(rng() % 11); // 0..10 progress calls (10: before commit)
        std::atomic<bool> cancel{cancelAfter == 0};
        int calls = 0;
        EXPECT_THROW(ed.writeBatch(batch, "cancel me",
                                   [&](std::int64_t, std::int64_t) {
                                       if (++calls >= cancelAfter) cancel = true;
                                   },
                                   &cancel),
                     EditCancelled)
            << "trial " << trial;
        EXPECT_EQ(ed.memoryDigest(), digest);
        EXPECT_TRUE(ed.memoryMatrix() == m);
        EXPECT_EQ(ed.workspace().factCount(), 1);
        EXPECT_EQ(ed.edits().size(), 1u);
    }
    // After all that, a batch goes through whole, with progress up to the total.
    std::int64_t lastDone = 0, lastTotal = 0;
    const auto r = ed.writeBatch(batch, "whole", [&](std::int64_t d, std::int64_t t) { lastDone = d, lastTotal = t; });
    EXPECT_EQ(lastDone, 37);
    EXPECT_EQ(lastTotal, 37);
    EXPECT_EQ(r.factIds.size(), 37u);
    EXPECT_TRUE(r.snapshot);
    EXPECT_EQ(ed.edits().back().payload.at("count"), 37);
    EXPECT_EQ(ed.fact(r.factIds[2]).source, "test:3");
    EXPECT_LT(relativeDifference(ed.memoryMatrix(), rebuiltFromWrittenFacts(ed)), 1e-9);
}

TEST(Editor, BatchValidatesEverythingBeforeWriting) {
    TempDir dir;
    auto ed = open(dir.file("v.larimar"));
    auto batch = records("valid", 5);
    batch[3].text = "  ";
    EXPECT_THAT([&] { ed->writeBatch(batch); },
                ::testing::ThrowsMessage<UserError>(HasSubstr("test:4: text is empty")));
    batch[3].text = std::string("bad \xff utf8");
    EXPECT_THAT([&] { ed->writeBatch(batch); }, ::testing::ThrowsMessage<UserError>(HasSubstr("test:4")));
    batch[3].text = "fine";
    batch[3].source.clear();
    batch[4].subject = std::string("\xc3", 1);
    EXPECT_THAT([&] { ed->writeBatch(batch); }, ::testing::ThrowsMessage<UserError>(HasSubstr("subject")));
    EXPECT_THROW(ed->writeBatch({}), UserError);
    EXPECT_THROW(ed->write(""), UserError);
    EXPECT_THROW(ed->write(std::string(kMaxLineBytes + 1, 'a')), UserError);
    EXPECT_EQ(ed->workspace().factCount(), 0);
    EXPECT_FALSE(ed->lastEditId());
}

TEST(Editor, AnotherModelIsRefusedNamingBoth) {
    TempDir dir;
    const auto path = dir.file("m.larimar");
    // A workspace with an edit is bound to its model (an empty one takes whichever opens it).
    open(path, makeFakeModel("model-a"))->write("The Eiffel Tower is located in Rome.");
    EXPECT_THAT([&] { open(path, makeFakeModel("model-b")); },
                ::testing::ThrowsMessage<UserError>(::testing::AllOf(HasSubstr("model-a"), HasSubstr("model-b"))));
    // Same name, other weights: refused too.
    EXPECT_THROW(open(path, makeFakeModel("model-a", 99)), UserError);
    EXPECT_NO_THROW(open(path, makeFakeModel("model-a")));
}

TEST(Editor, TamperedLatentMakesTheWorkspaceInconsistent) {
    TempDir dir;
    const auto path = dir.file("t.larimar");
    open(path)->write("one fact.");
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, "UPDATE facts SET latent = zeroblob(256) WHERE id = 1", nullptr, nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(db);
    }
    EXPECT_THAT([&] { open(path); }, ::testing::ThrowsMessage<Error>(HasSubstr("is inconsistent")));
}

TEST(Editor, TwoEditorsOnOneWorkspaceStayInStep) {
    TempDir dir;
    const auto path = dir.file("two.larimar");
    auto a = open(path);
    auto b = open(path);
    a->write("from a.");
    const auto rb = b->write("from b.");
    EXPECT_EQ(rb.memoryDigestBefore, a->edits().front().memoryDigestAfter) << "b caught up before writing";
    const auto ra = a->forget({1});
    EXPECT_EQ(ra.memoryDigestBefore, rb.memoryDigestAfter);
    EXPECT_TRUE(a->verify().ok);
    EXPECT_LT(relativeDifference(a->memoryMatrix(), rebuiltFromWrittenFacts(*a)), 1e-9);
}

TEST(Editor, Inspection) {
    TempDir dir;
    auto ed = open(dir.file("i.larimar"));
    const auto r = ed->writeBatch(records("inspect", 6));
    EXPECT_EQ(ed->memoryMatrix().rows(), 16);
    EXPECT_EQ(ed->memoryMatrix().cols(), 32);
    const auto sv = ed->singularValues();
    EXPECT_EQ(sv.size(), 16);
    EXPECT_GT(sv(0), 0.0);
    EXPECT_EQ(ed->readWeights("what about inspect?").size(), 16);
    const auto key = ed->writeKey(r.factIds[0]);
    ASSERT_EQ(key.size(), 16u);
    const auto slots = ed->slotFacts(2);
    ASSERT_EQ(slots.size(), 16u);
    for (const auto& s : slots) {
        ASSERT_EQ(s.facts.size(), 2u);
        EXPECT_GE(std::abs(s.facts[0].second), std::abs(s.facts[1].second));
    }
    // Slot 0's top fact really has the largest |key[0]|.
    double best = 0;
    for (auto id : r.factIds) best = std::max(best, std::abs(ed->writeKey(id)[0]));
    EXPECT_DOUBLE_EQ(std::abs(slots[0].facts[0].second), best);
    FactFilter f;
    f.textContains = "number 3";
    EXPECT_EQ(ed->facts(f).size(), 1u);
    EXPECT_THROW(ed->writeKey(999), UserError);

    TempDir out;
    ed->exportMemoryNpy(out.file("m.npy"));
    const NpyArray m = readNpy(out.file("m.npy"));
    EXPECT_EQ(m.shape, (std::vector<std::int64_t>{16, 32}));
    ed->exportReadWeightsNpy("a prompt", out.file("w.npy"));
    EXPECT_EQ(readNpy(out.file("w.npy")).shape, (std::vector<std::int64_t>{1, 16}));
    ed->exportHistory(out.file("h.csv"), "csv");
    ed->exportHistory(out.file("h.json"), "json");
    EXPECT_GT(std::filesystem::file_size(out.file("h.csv")), 0u);
    std::ifstream history(out.file("h.json"));
    EXPECT_TRUE(nlohmann::json::accept(history));
    EXPECT_THROW(ed->exportHistory(out.file("h.xml"), "xml"), UserError);
}

TEST(Editor, SqlMetacharactersAreStoredVerbatim) {
    TempDir dir;
    auto ed = open(dir.file("sql.larimar"));
    const std::string nasty = "Robert'); DROP TABLE facts;-- \"quoted\" % _ \\ ; '' é 😀";
    const auto r = ed->write(nasty, {nasty, nasty, nasty, nasty}, nasty);
    const Fact f = ed->fact(r.factIds[0]);
    EXPECT_EQ(f.text, nasty);
    EXPECT_EQ(f.subject, nasty);
    EXPECT_EQ(f.source, nasty);
    EXPECT_EQ(ed->edits().back().reason, nasty);
    FactFilter ff;
    ff.textContains = "'); DROP";
    EXPECT_EQ(ed->facts(ff).size(), 1u);
}

TEST(Editor, WordDiff) {
    const auto d = wordDiff("the cat sat on the mat", "the dog sat on the mat today");
    ASSERT_EQ(d.size(), 5u);
    EXPECT_EQ(d[0].kind, DiffSegment::Kind::Same);
    EXPECT_EQ(d[0].text, "the");
    EXPECT_EQ(d[1].kind, DiffSegment::Kind::Removed);
    EXPECT_EQ(d[1].text, "cat");
    EXPECT_EQ(d[2].kind, DiffSegment::Kind::Added);
    EXPECT_EQ(d[2].text, "dog");
    EXPECT_EQ(d[3].text, "sat on the mat");
    EXPECT_EQ(d[4].kind, DiffSegment::Kind::Added);
    EXPECT_TRUE(wordDiff("", "").empty());
    EXPECT_EQ(wordDiff("a b", "a b").size(), 1u);
}

} // namespace

namespace {

/// After a forget, a read must not bring the forgotten fact back. The forget leaves a residue
/// of ~1e-11 in M (rounding); a pseudo-inverse that counts it as rank projects every query onto
/// the forgotten direction again. Checked at the bundled model's sizes (K = 128, C = 256).
void forgottenFactStaysForgotten(PinvMode mode) {
    TempDir dir;
    SyntheticModelOptions o;
    o.slots = 128;
    o.width = 256;
    o.pinv = {mode, 5e-4, 15};
    auto model = std::make_shared<SyntheticTextModel>(o);
    Editor ed(model, dir.file("p.larimar"), options());
    const auto paris = ed.write("Paris is the capital of France.");
    ed.write("The Danube flows into the Black Sea.");
    ed.write("Water boils at 100 degrees.");
    ed.forget(paris.factIds);
    const Eigen::RowVectorXd readout = ed.memory().read(model->encodingOf("Tell me a fact.")).readout;
    const Eigen::RowVectorXd forgotten = model->encodingOf("Paris is the capital of France.");
    const double cosine = std::abs(readout.dot(forgotten)) / (readout.norm() * forgotten.norm());
    EXPECT_LT(cosine, 0.2) << "the readout still points at the forgotten fact";
    QueryOptions q;
    q.record = false;
    EXPECT_NE(ed.query("Tell me a fact.", q).withMemory.text, "Paris is the capital of France.");
}

TEST(EditorForgetRead, IterativePseudoInverse) { forgottenFactStaysForgotten(PinvMode::Iterative); }

// With Eigen's default cut-off (eps * size * sigma_max) the ~1e-11 residue of a forget counted
// as rank and the read projected onto the forgotten fact (cosine 0.73); kPinvRelativeCutoff fixes it.
TEST(EditorForgetRead, ExactPseudoInverse) { forgottenFactStaysForgotten(PinvMode::Exact); }

} // namespace

namespace {

std::vector<std::string> conflictKinds(const std::vector<FactConflict>& cs) {
    std::vector<std::string> out;
    for (const auto& c : cs) out.push_back(std::string(toString(c.kind)) + " " + std::to_string(c.fact.id));
    return out;
}

} // namespace

TEST(Editor, ConflictsNameDuplicatesAndOtherAnswers) {
    TempDir dir;
    auto ed = open(dir.file("c.larimar"));
    ed->write("The Eiffel Tower is located in Rome.");                                      // 1
    ed->write("The Louvre is located in Paris.");                                           // 2
    FactMeta meta;
    meta.subject = "Toko Yasuda";
    meta.prompt = "Toko Yasuda plays the";
    meta.target = "piano";
    ed->write("Toko Yasuda plays the piano.", meta);                                        // 3
    using V = std::vector<std::string>;
    EXPECT_EQ(conflictKinds(ed->conflicts("the eiffel tower  is located in ROME")), V{"duplicate 1"});
    EXPECT_EQ(conflictKinds(ed->conflicts("The Eiffel Tower is located in Berlin.")), V{"other-answer 1"});
    EXPECT_EQ(conflictKinds(ed->conflicts("The Eiffel Tower is located in New York City.")), V{"other-answer 1"});
    EXPECT_TRUE(ed->conflicts("The Colosseum is located in Rome.").empty()) << "another subject";
    EXPECT_TRUE(ed->conflicts("Water boils at 100 degrees.").empty());
    FactMeta guitar = meta;
    guitar.target = "guitar";
    EXPECT_EQ(conflictKinds(ed->conflicts("Toko Yasuda's instrument is the guitar.", guitar)), V{"same-subject 3"});
    ed->forget({1}, "test");
    EXPECT_TRUE(ed->conflicts("The Eiffel Tower is located in Berlin.").empty()) << "only written facts count";
}

TEST(Editor, ReplaceForgetsTheOldFactAndWritesTheNewOneAsOneEdit) {
    TempDir dir;
    const std::string path = dir.file("r.larimar");
    std::string digest;
    {
        auto ed = open(path);
        ed->write("The Eiffel Tower is located in Rome.");  // fact 1, edit 1
        ed->write("The Louvre is located in Paris.");       // fact 2, edit 2
        const auto r = ed->replace({1}, "The Eiffel Tower is located in Berlin.", {}, "correction");
        EXPECT_EQ(r.op, EditOp::Write);
        EXPECT_EQ(r.factIds, std::vector<std::int64_t>{3});
        EXPECT_EQ(r.forgotten, std::vector<std::int64_t>{1});
        ASSERT_EQ(ed->edits().size(), 3u) << "one edit";
        const Edit e = ed->edits().back();
        EXPECT_EQ(e.factIds, (std::vector<std::int64_t>{3, 1}));
        EXPECT_EQ(e.factStates, (std::vector<FactState>{FactState::Written, FactState::Forgotten}));
        EXPECT_EQ(e.payload.at("replaces"), nlohmann::json::array({1}));
        EXPECT_EQ(e.reason, "correction");
        EXPECT_EQ(ed->fact(1).state, FactState::Forgotten);
        EXPECT_EQ(ed->fact(1).forgottenEdit, std::optional<std::int64_t>(3));
        EXPECT_EQ(ed->fact(3).state, FactState::Written);
        EXPECT_LT(relativeDifference(ed->memoryMatrix(), rebuiltFromWrittenFacts(*ed)), 1e-9)
            << "the memory holds the new fact and not the old one";
        EXPECT_TRUE(ed->verify().ok) << ed->verify().message();
        EXPECT_THAT([&] { ed->replace({1}, "The Eiffel Tower is located in Madrid."); },
                    ::testing::ThrowsMessage<UserError>(HasSubstr("fact 1 is not written (forgotten by edit 3)")));
        EXPECT_EQ(ed->edits().size(), 3u) << "a refused replace changes nothing";
        digest = ed->memoryDigest();
    }
    // Reopening replays the replace bit for bit (the constructor checks the digest).
    auto ed = open(path);
    EXPECT_EQ(ed->memoryDigest(), digest);
    // Undo brings the old fact back and takes the new one away.
    ed->undoLast("undo");
    EXPECT_EQ(ed->fact(1).state, FactState::Written);
    EXPECT_EQ(ed->fact(3).state, FactState::Forgotten);
    EXPECT_TRUE(ed->verify().ok);
}

namespace {
void setMetaRow(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
    sqlite3_close(db);
}
} // namespace

TEST(Editor, WorkspaceFromBeforeThePortableKernelsReplaysWithItsOwnArithmetic) {
    // Workspaces made before meta memory.arithmetic existed were updated with Eigen's products;
    // the edits after their last snapshot must replay with those, or the digest check fails.
    TempDir dir;
    const auto path = dir.file("old.larimar");
    open(path); // a new workspace records "portable"
    EXPECT_EQ(Workspace(path, testOptions()).meta("memory.arithmetic"), std::optional<std::string>("portable"));
    setMetaRow(path, "UPDATE meta SET value = 'eigen-blocked' WHERE key = 'memory.arithmetic'");
    std::string digest;
    Eigen::MatrixXd m;
    {
        auto ed = open(path);
        EXPECT_EQ(ed->memory().settings().arithmetic, MemoryArithmetic::EigenBlocked);
        for (int i = 0; i < 4; ++i) ed->write("old fact " + std::to_string(i) + ".");
        ed->forget({2});
        EXPECT_FALSE(ed->workspace().latestSnapshot()) << "the edits must be replayed from the empty memory";
        digest = ed->memoryDigest();
        m = ed->memoryMatrix();
    }
    setMetaRow(path, "DELETE FROM meta WHERE key = 'memory.arithmetic'"); // as an earlier build left it
    {
        auto ed = open(path);
        EXPECT_EQ(ed->memory().settings().arithmetic, MemoryArithmetic::EigenBlocked);
        EXPECT_EQ(ed->memoryDigest(), digest);
        EXPECT_TRUE(ed->memoryMatrix() == m) << "replay must be bit-exact";
        ed->write("a new fact on the old workspace.");
        digest = ed->memoryDigest();
    }
    EXPECT_EQ(open(path)->memoryDigest(), digest);
    // (Replayed with the portable kernels the same edits give other bits: test_memory's
    // Arithmetic.EigenBlockedAndPortableAgreeToRoundingButNotBitForBit.)
    setMetaRow(path, "INSERT INTO meta(key, value) VALUES ('memory.arithmetic', 'float16')");
    EXPECT_THAT([&] { open(path); }, ::testing::ThrowsMessage<Error>(HasSubstr("memory.arithmetic is 'float16'")));
}

// `larimar ingest` cuts a document into sentences: after . ! ? followed by a space or line end,
// and at line ends; blank parts go.
TEST(Editor, DocumentsAreCutIntoSentences) {
    EXPECT_EQ(splitSentences("The sky is blue. Grass is green!  Is it?\nA line without end\n\n3.14 is pi."),
              (std::vector<std::string>{"The sky is blue.", "Grass is green!", "Is it?", "A line without end", "3.14 is pi."}));
    EXPECT_TRUE(splitSentences(" \n\t ").empty());
}
