// The scope detectors as the editor uses them: ESD (MiniLM, embeddings kept in the workspace)
// and ISD (the model's encoder and the editor's memory; distance and trained classifier), the
// factory, thresholds and the empty workspace. The model is the synthetic test double; the
// sentence encoder is the real all-MiniLM-L6-v2 (skipped when models/fetch-assets.sh has not run).
#include "fake_text_model.h"
#include "store_test_support.h"

#include "core/editor/editor.h"
#include "core/scope/minilm_encoder.h"
#include "core/scope/scope_classifier.h"
#include "core/scope/scope_detectors.h"
#include "core/store/fact_embeddings.h"
#include "core/util/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

using namespace larimar;
using larimar::test::TempDir;

namespace {

const std::string kAssets = LARIMAR_SOURCE_DIR "/models/assets/minilm";

std::shared_ptr<const SentenceEncoder> encoderOrSkip() {
    return sharedSentenceEncoder(kAssets);
}

#define REQUIRE_ENCODER(enc)                                                                    \
    auto enc = encoderOrSkip();                                                                 \
    if (!enc) GTEST_SKIP() << "no all-MiniLM-L6-v2 assets in " << kAssets << ": run models/fetch-assets.sh"

struct EditorWithEsd {
    std::shared_ptr<SyntheticTextModel> model = larimar::test::makeFakeModel();
    std::shared_ptr<EsdScopeDetector> esd;
    std::unique_ptr<Editor> editor;
    int embedded = 0; // facts embedded by reset() (not found in the workspace)

    EditorWithEsd(std::shared_ptr<const SentenceEncoder> encoder, const std::string& path) {
        EsdOptions o;
        o.workspacePath = path;
        o.progress = [this](std::int64_t done, std::int64_t) { embedded = static_cast<int>(done); };
        esd = std::make_shared<EsdScopeDetector>(std::move(encoder), o);
        EditorOptions eo;
        eo.actor = "test";
        eo.scope = esd;
        editor = std::make_unique<Editor>(model, path, eo);
        connectScopeDetector(*esd, *editor);
    }
};

const std::string kFact = "The capital of Freedonia is Fredville.";
const std::string kQuestion = "Fredville is the capital of Freedonia."; // cosine about 0.9 with kFact
const std::string kUnrelated = "Bananas are rich in potassium and grow in the tropics.";

} // namespace

TEST(EsdScopeDetector, EmptyWorkspaceIsOutOfScopeForEveryQuery) {
    REQUIRE_ENCODER(enc);
    TempDir dir;
    EditorWithEsd e(enc, dir.file("ws.larimar"));
    for (const std::string& q : {kQuestion, kFact, kUnrelated, std::string("x")}) {
        const auto r = e.editor->query(q);
        EXPECT_FALSE(r.inScope) << q;
        EXPECT_LT(r.scope.score, r.threshold) << q;
        EXPECT_FALSE(r.scope.nearestFactId.has_value());
    }
    // Even with the lowest threshold a workspace could hold that is not -1 itself.
    QueryOptions o;
    o.threshold = -0.99;
    EXPECT_FALSE(e.editor->query(kFact, o).inScope);
}

TEST(EsdScopeDetector, WriteScoreForgetAndTheGenerationRecordsTheScore) {
    REQUIRE_ENCODER(enc);
    TempDir dir;
    EditorWithEsd e(enc, dir.file("ws.larimar"));
    const auto w = e.editor->write(kFact);
    const auto id = w.factIds.at(0);

    const auto in = e.editor->query(kQuestion);
    EXPECT_EQ(in.detector, "esd hybrid");
    EXPECT_TRUE(in.inScope) << in.scope.score;
    EXPECT_GE(in.scope.score, kEsdThreshold);
    ASSERT_TRUE(in.scope.nearestFactId.has_value());
    EXPECT_EQ(*in.scope.nearestFactId, id);
    EXPECT_EQ(in.scope.nearestText, kFact);

    const auto out = e.editor->query(kUnrelated);
    EXPECT_FALSE(out.inScope) << out.scope.score;
    EXPECT_LT(out.scope.score, in.scope.score);

    const auto gens = e.editor->generations();
    ASSERT_EQ(gens.size(), 2u);
    ASSERT_TRUE(gens[0].scopeScore.has_value());
    EXPECT_DOUBLE_EQ(*gens[0].scopeScore, in.scope.score);
    EXPECT_TRUE(gens[0].inScope);
    EXPECT_EQ(gens[0].details.at("detector"), "esd hybrid");
    EXPECT_EQ(gens[0].details.at("nearest_fact_id"), id);

    e.editor->forget({id});
    const auto after = e.editor->query(kQuestion);
    EXPECT_FALSE(after.inScope);
    EXPECT_LT(after.scope.score, in.scope.score);
    EXPECT_FALSE(after.scope.nearestFactId.has_value());
}

TEST(EsdScopeDetector, ForgetDropsTheScoreToTheNextNearestFact) {
    REQUIRE_ENCODER(enc);
    TempDir dir;
    EditorWithEsd e(enc, dir.file("ws.larimar"));
    const auto a = e.editor->write(kFact).factIds.at(0);
    const auto b = e.editor->write(kUnrelated).factIds.at(0);
    const auto before = e.esd->score(kQuestion);
    ASSERT_EQ(before.nearestFactId, a);
    e.editor->forget({a});
    const auto after = e.esd->score(kQuestion);
    EXPECT_EQ(after.nearestFactId, b);
    EXPECT_LT(after.score, before.score);
    EXPECT_LT(after.score, kEsdThreshold);
    // Rollback writes it again: the detector follows (reset()).
    e.editor->undoLast();
    EXPECT_EQ(e.esd->score(kQuestion).nearestFactId, a);
    EXPECT_FLOAT_EQ(static_cast<float>(e.esd->score(kQuestion).score), static_cast<float>(before.score));
}

TEST(EsdScopeDetector, MultiSentenceQueryTakesTheBestSentence) {
    REQUIRE_ENCODER(enc);
    EsdScopeDetector esd(enc);
    Fact f;
    f.id = 1;
    f.text = kFact;
    esd.added({f});
    const double alone = esd.score(kQuestion).score;
    const double unrelated = esd.score(kUnrelated).score;
    const std::string both = kUnrelated + " " + kQuestion;
    const auto d = esd.decide(both, kEsdThreshold);
    EXPECT_NEAR(d.score, alone, 1e-5);
    EXPECT_EQ(d.sentence, 1);
    EXPECT_TRUE(d.inScope);
    // As one unsplit text the question is diluted.
    EXPECT_GT(alone, unrelated);
}

TEST(EsdScopeDetector, EmbeddingsAreKeptInTheWorkspaceAndNotRecomputedOnReopen) {
    REQUIRE_ENCODER(enc);
    TempDir dir;
    const auto path = dir.file("ws.larimar");
    double score = 0;
    {
        EditorWithEsd e(enc, path);
        e.editor->write(kFact);
        e.editor->write(kUnrelated);
        score = e.esd->score(kQuestion).score;
    }
    EXPECT_EQ(FactEmbeddingCache(path).count(kMiniLmEncoderId), 2);
    {
        // A batch stores all its embeddings too.
        EditorWithEsd e(enc, path);
        std::vector<FactRecord> batch(3);
        for (int i = 0; i < 3; ++i) batch[i].text = "Batch fact number " + std::to_string(i) + " is true.";
        e.editor->writeBatch(batch);
    }
    EXPECT_EQ(FactEmbeddingCache(path).count(kMiniLmEncoderId), 5);
    EditorWithEsd reopened(enc, path);
    EXPECT_EQ(reopened.embedded, 0) << "reopening re-embedded facts";
    EXPECT_EQ(reopened.esd->index().size(), 5u);
    EXPECT_DOUBLE_EQ(reopened.esd->score(kQuestion).score, score);
}

TEST(EsdScopeDetector, FactsWithoutStoredEmbeddingsAreEmbeddedOnOpen) {
    REQUIRE_ENCODER(enc);
    TempDir dir;
    const auto path = dir.file("ws.larimar");
    {
        // Written without the ESD (e.g. by an older version): nothing stored.
        EditorOptions o;
        o.actor = "test";
        Editor plain(larimar::test::makeFakeModel(), path, o);
        plain.write(kFact);
    }
    EXPECT_EQ(FactEmbeddingCache(path).count(kMiniLmEncoderId), 0);
    EditorWithEsd e(enc, path);
    EXPECT_EQ(e.embedded, 1);
    EXPECT_TRUE(e.editor->query(kQuestion).inScope);
    EXPECT_EQ(FactEmbeddingCache(path).count(kMiniLmEncoderId), 1);
}

TEST(EsdScopeDetector, ThresholdComesFromTheQueryThenTheWorkspaceThenTheDetector) {
    REQUIRE_ENCODER(enc);
    TempDir dir;
    EditorWithEsd e(enc, dir.file("ws.larimar"));
    e.editor->write(kFact);
    const auto r = e.editor->query(kQuestion);
    EXPECT_DOUBLE_EQ(r.threshold, kEsdThreshold);
    ASSERT_TRUE(r.inScope);
    e.editor->workspace().setMeta("scope.threshold", "0.999");
    const auto strict = e.editor->query(kQuestion);
    EXPECT_DOUBLE_EQ(strict.threshold, 0.999);
    EXPECT_FALSE(strict.inScope);
    QueryOptions o;
    o.threshold = 0.1;
    const auto loose = e.editor->query(kUnrelated, o);
    EXPECT_TRUE(loose.inScope) << loose.scope.score;
}

TEST(EsdScopeDetector, CacheRefusesUnknownFacts) {
    TempDir dir;
    const auto path = dir.file("ws.larimar");
    { Workspace ws(path); }
    FactEmbeddingCache cache(path);
    EXPECT_THROW(cache.store(kMiniLmEncoderId, {{42, std::vector<float>(4, 1.0f)}}), UserError);
    EXPECT_EQ(cache.count(kMiniLmEncoderId), 0);
}

TEST(EsdScopeDetector, AWorkspaceWithUseLiteEmbeddingsIsReEmbeddedWithMiniLm) {
    REQUIRE_ENCODER(enc);
    TempDir dir;
    const auto path = dir.file("ws.larimar");
    std::vector<std::int64_t> ids;
    {
        // Written by a version whose ESD ran Universal Sentence Encoder Lite (512-d, "use-lite").
        EditorOptions o;
        o.actor = "test";
        Editor plain(larimar::test::makeFakeModel(), path, o);
        ids.push_back(plain.write(kFact).factIds.at(0));
        ids.push_back(plain.write(kUnrelated).factIds.at(0));
    }
    {
        FactEmbeddingCache cache(path);
        std::vector<std::pair<std::int64_t, std::vector<float>>> rows;
        for (auto id : ids) rows.emplace_back(id, std::vector<float>(512, 0.04f));
        cache.store("use-lite", rows);
    }
    EditorWithEsd e(enc, path);
    EXPECT_EQ(e.embedded, 2) << "the old encoder's vectors were used";
    EXPECT_EQ(e.esd->index().dimension(), 384);
    const auto in = e.editor->query(kQuestion);
    EXPECT_TRUE(in.inScope) << in.scope.score;
    EXPECT_EQ(in.scope.nearestFactId, ids[0]);
    EXPECT_FALSE(e.editor->query("How many legs does a spider have?").inScope);
    EXPECT_EQ(FactEmbeddingCache(path).count(kMiniLmEncoderId), 2);
    EditorWithEsd reopened(enc, path);
    EXPECT_EQ(reopened.embedded, 0) << "the MiniLM vectors were not kept";
}

// ---------------------------------------------------------------------------------------
// ISD

namespace {

struct EditorWithIsd {
    std::shared_ptr<SyntheticTextModel> model = larimar::test::makeFakeModel();
    std::shared_ptr<InternalScopeDetector> isd;
    std::unique_ptr<Editor> editor;

    explicit EditorWithIsd(const std::string& path, std::shared_ptr<const ScopeClassifier> classifier = nullptr) {
        isd = std::make_shared<InternalScopeDetector>(model, std::move(classifier));
        EditorOptions eo;
        eo.actor = "test";
        eo.scope = isd;
        editor = std::make_unique<Editor>(model, path, eo);
        connectScopeDetector(*isd, *editor);
    }
};

} // namespace

TEST(InternalScopeDetector, DistanceScoreFollowsTheMemory) {
    TempDir dir;
    EditorWithIsd e(dir.file("ws.larimar"));
    EXPECT_FALSE(e.editor->query(kFact).inScope);
    EXPECT_EQ(e.isd->details(kFact).score, 0.0);
    const auto id = e.editor->write(kFact).factIds.at(0);
    // The synthetic model encodes equal texts equally: the memory reproduces a written fact.
    const auto in = e.isd->details(kFact);
    EXPECT_LT(in.distance, 0.1);
    EXPECT_GT(in.score, 0.9);
    EXPECT_TRUE(e.editor->query(kFact).inScope);
    EXPECT_EQ(e.editor->query(kFact).detector, "isd distance");
    // A text the memory does not hold (nearly orthogonal encoding) reads out as little.
    const auto out = e.isd->details(kUnrelated);
    EXPECT_GT(out.distance, 0.5);
    EXPECT_FALSE(e.editor->query(kUnrelated).inScope);
    e.editor->forget({id});
    EXPECT_FALSE(e.editor->query(kFact).inScope);
}

TEST(InternalScopeDetector, WithoutAMemoryItSaysSo) {
    InternalScopeDetector isd(larimar::test::makeFakeModel());
    Fact f;
    f.id = 1;
    f.text = kFact;
    isd.added({f});
    EXPECT_THROW(isd.score(kFact), Error);
}

namespace {

/// Cases where the paraphrase is the fact itself (the synthetic encoder maps equal texts to
/// equal encodings and anything else to a random direction) and the neighbour another text.
std::vector<EditCase> syntheticCases(int n) {
    std::vector<EditCase> cases;
    for (int i = 0; i < n; ++i) {
        EditCase c;
        c.caseId = std::to_string(i);
        c.prompt = "Fact number " + std::to_string(i) + " says the answer is";
        c.targetNew = "value " + std::to_string(i);
        c.paraphrasePrompts = {c.editText()};
        c.neighbourhoodPrompts = {"Another statement " + std::to_string(i) + " is not written"};
        cases.push_back(c);
    }
    return cases;
}

} // namespace

TEST(ScopeClassifier, TrainsSavesLoadsAndSeparatesWrittenFromUnwritten) {
    auto model = larimar::test::makeFakeModel();
    ScopeTrainOptions o;
    o.factsPerMemory = 8;
    o.iterations = 150;
    int calls = 0;
    const auto r = trainScopeClassifier(*model, syntheticCases(40), o, [&](std::int64_t, std::int64_t) { ++calls; });
    EXPECT_GT(calls, 0);
    EXPECT_EQ(r.positives, 40);
    EXPECT_EQ(r.negatives, 40 + 40); // neighbours, and paraphrases of another group's facts
    EXPECT_GE(r.trainAccuracy, 0.95);
    EXPECT_EQ(r.classifier.latentSize, 32);
    EXPECT_EQ(r.classifier.weight.size(), ScopeClassifier::kFeatures);
    EXPECT_EQ(r.classifier.modelHash, model->weightsHash());

    TempDir dir;
    const auto file = dir.file(kScopeClassifierFile);
    r.classifier.save(file);
    const auto loaded = ScopeClassifier::load(file);
    EXPECT_EQ(loaded.weight, r.classifier.weight);
    EXPECT_EQ(loaded.bias, r.classifier.bias);
    EXPECT_EQ(loaded.modelHash, model->weightsHash());

    // The factory picks it up from the model directory for the model it was trained on.
    ScopeDetectorSetup s;
    s.kind = "isd";
    s.model = model;
    s.modelDir = dir.file("");
    auto det = makeScopeDetector(s);
    EXPECT_EQ(det->name(), "isd classifier");
    s.model = larimar::test::makeFakeModel("other-model", 9);
    EXPECT_EQ(makeScopeDetector(s)->name(), "isd distance");

    // In an editor: a written fact scores high, an unwritten text low.
    EditorWithIsd e(dir.file("ws.larimar"), std::make_shared<ScopeClassifier>(loaded));
    e.editor->write(kFact);
    const auto in = e.isd->details(kFact);
    ASSERT_TRUE(in.probability.has_value());
    EXPECT_GT(*in.probability, 0.5);
    EXPECT_LT(*e.isd->details(kUnrelated).probability, 0.5);
}

TEST(ScopeClassifier, RejectsDataWithoutPositivesAndBadFiles) {
    auto model = larimar::test::makeFakeModel();
    auto cases = syntheticCases(4);
    for (auto& c : cases) c.paraphrasePrompts.clear(); // no positives
    EXPECT_THROW(trainScopeClassifier(*model, cases), UserError);
    TempDir dir;
    const auto bad = dir.file("bad.safetensors");
    { std::ofstream(bad) << "not a safetensors file"; }
    EXPECT_THROW(ScopeClassifier::load(bad), UserError);
}

// ---------------------------------------------------------------------------------------
// Hybrid score: the query must name what the fact is about

namespace {
// A workspace of 40 facts, 8 per relation wording, as a user who writes many facts of a kind
// has: the IDF learns from them that the relation words are common and the names rare. (With
// a handful of facts every word is rare, and wording alone can reach the threshold.)
std::vector<Fact> handWrittenFacts() {
    const std::vector<std::pair<std::string, std::string>> relations = {
        {"The mother tongue of ", " is "}, {"", " plays the "}, {"", " is located in "},
        {"The twin city of ", " is "}, {"", " professionally plays the sport "}};
    const std::vector<std::vector<std::string>> subjects = {
        {"Danielle Darrieux", "Orhan Veli", "Marta Kowalczyk", "Juho Lallukka", "Aldo Rinaldi", "Petra Novakova",
         "Ilse Brandt", "Tomas Ferreira"},
        {"Toko Yasuda", "Bram Visser", "Lena Okafor", "Mirko Tadic", "Ada Quist", "Rui Amaral", "Nils Berglund",
         "Sanne Dijkstra"},
        {"The Eiffel Tower", "Hagia Sophia", "Lake Bled", "Castle Kronborg", "Mount Olympus", "Temple Bar",
         "Ponte Vecchio", "Sagrada Familia"},
        {"Kyoto", "Tromso", "Gdansk", "Porto", "Bergen", "Tartu", "Bruges", "Graz"},
        {"Michael Jordan", "Oskar Lindqvist", "Priya Raman", "Diego Salas", "Yuki Tanaka", "Ivan Petrov",
         "Femi Adeyemi", "Carla Moretti"}};
    const std::vector<std::string> objects = {"English", "guitar", "Rome", "Beijing", "baseball"};
    std::vector<Fact> facts;
    for (std::size_t r = 0; r < relations.size(); ++r)
        for (const auto& subject : subjects[r]) {
            Fact f;
            f.id = static_cast<std::int64_t>(facts.size()) + 1;
            f.text = relations[r].first + subject + relations[r].second + objects[r];
            facts.push_back(f);
        }
    return facts;
}
} // namespace

TEST(EsdScopeDetector, HybridScoreNeedsTheFactsSubjectNotJustItsWording) {
    REQUIRE_ENCODER(enc);
    EsdScopeDetector hybrid(enc);
    EsdOptions o;
    o.scoring = EsdScore::Cosine;
    EsdScopeDetector cosineOnly(enc, o);
    hybrid.reset(handWrittenFacts());
    cosineOnly.reset(handWrittenFacts());
    EXPECT_EQ(hybrid.name(), "esd hybrid");
    EXPECT_EQ(cosineOnly.name(), "esd minilm");
    EXPECT_DOUBLE_EQ(hybrid.defaultThreshold(), kEsdThreshold);
    EXPECT_DOUBLE_EQ(cosineOnly.defaultThreshold(), kEsdCosineThreshold);

    // Rephrases that name the subject in other words (one after an unrelated sentence).
    const std::vector<std::pair<std::string, std::int64_t>> rephrases = {
        {"Danielle Darrieux, a native speaker of", 1},
        {"The weather was fine that day. What instrument does Toko Yasuda play?", 9},
        {"Where can one find the Eiffel Tower?", 17},
        {"Michael Jordan is a professional", 33},
    };
    // Neighbourhood prompts: the same relation wording about another subject.
    const std::vector<std::string> neighbours = {
        "The mother tongue of Léon Blum is",
        "Jimmy Page plays the",
        "The Brandenburg Gate is located in",
        "The twin city of Osaka is",
        "Serena Williams professionally plays the sport",
    };
    for (const auto& [q, id] : rephrases) {
        const auto s = hybrid.score(q);
        EXPECT_GE(s.score, kEsdThreshold) << q;
        EXPECT_EQ(s.nearestFactId, id) << q;
        EXPECT_LE(s.score, 1.0) << q;
    }
    double weakestRephrase = 2;
    for (const auto& r : rephrases) weakestRephrase = std::min(weakestRephrase, hybrid.score(r.first).score);
    for (const auto& q : neighbours) {
        const double score = hybrid.score(q).score;
        EXPECT_GE(score, 0.0) << q;
        // Every neighbour ranks below every rephrase. One is a known near miss at the default
        // threshold: MiniLM knows Osaka and Kyoto as Japanese cities (cosine 0.65) and "osaka"
        // is a whole word of its vocabulary (so the unseen name dilutes the overlap less); it
        // scores about 0.57 against 0.56. A detector that knows names pays for it with
        // neighbours whose subject is a near relative of the fact's.
        EXPECT_LT(score, weakestRephrase - 0.1) << q;
        if (q.find("Osaka") == std::string::npos) EXPECT_LT(score, kEsdThreshold) << q;
        else EXPECT_LT(score, kEsdThreshold + 0.05) << q;
    }
    // A sentence encoder alone puts the neighbours' wording near their facts: the reason for the
    // hybrid.
    double worstNeighbourCosine = -1;
    for (const auto& q : neighbours) worstNeighbourCosine = std::max(worstNeighbourCosine, cosineOnly.score(q).score);
    EXPECT_GE(worstNeighbourCosine, 0.5);
    // decide() gives the same score and the matching sentence.
    const auto d = hybrid.decide(rephrases[1].first, kEsdThreshold);
    EXPECT_TRUE(d.inScope);
    EXPECT_EQ(d.sentence, 1);
    EXPECT_NEAR(d.score, hybrid.score(rephrases[1].first).score, 1e-6);
}

TEST(EsdScopeDetector, HybridEmptyWorkspaceAndForgetFollowTheWrittenFacts) {
    REQUIRE_ENCODER(enc);
    EsdScopeDetector esd(enc);
    const std::string q = "Danielle Darrieux, a native speaker of";
    EXPECT_EQ(esd.score(q).score, -1);
    EXPECT_FALSE(esd.decide(q, kEsdThreshold).inScope);
    esd.reset(handWrittenFacts());
    EXPECT_GE(esd.score(q).score, kEsdThreshold);
    EXPECT_EQ(esd.lexicalIndex().documentFrequency("darrieux"), 1);
    EXPECT_EQ(esd.lexicalIndex().documentFrequency("tongue"), 8);
    esd.removed({1});
    EXPECT_LT(esd.score(q).score, kEsdThreshold);
    EXPECT_EQ(esd.lexicalIndex().documentFrequency("darrieux"), 0);
    EXPECT_EQ(esd.lexicalIndex().documentFrequency("tongue"), 7);
    EXPECT_EQ(esd.lexicalIndex().size(), 39u);
    std::vector<std::int64_t> rest;
    for (std::int64_t id = 2; id <= 40; ++id) rest.push_back(id);
    esd.removed(rest);
    EXPECT_EQ(esd.score(q).score, -1);
}

TEST(LexicalFactIndex, WordsAreLowercasedNfkcWithoutPunctuation) {
    EXPECT_EQ(lexicalWords("The mother-tongue of Léon BLUM is: the ﬁrst!"),
              (std::vector<std::string>{"the", "mother", "tongue", "of", "léon", "blum", "is", "first"}));
    EXPECT_TRUE(lexicalWords(" ,.; ").empty());
}

TEST(LexicalFactIndex, IdfFollowsAddAndRemove) {
    LexicalFactIndex idx;
    idx.add(1, "The capital of Freedonia is Fredville");
    idx.add(2, "The capital of Sylvania is Trentino");
    idx.add(3, "Rufus plays the tuba");
    EXPECT_EQ(idx.documentFrequency("the"), 3);
    EXPECT_EQ(idx.documentFrequency("capital"), 2);
    EXPECT_DOUBLE_EQ(idx.idf("the"), std::log(4.0 / 3.0));       // in every fact: the smallest
    EXPECT_DOUBLE_EQ(idx.idf("capital"), std::log(4.0 / 2.0));
    EXPECT_DOUBLE_EQ(idx.idf("freedonia"), std::log(4.0));
    EXPECT_DOUBLE_EQ(idx.idf("nowhere"), std::log(4.0));         // in no fact: as if in one
    const double before = idx.similarity("What is the capital of Freedonia?", 1);
    EXPECT_GT(before, 0.5);
    EXPECT_GT(before, idx.similarity("What is the capital of Freedonia?", 2));

    EXPECT_TRUE(idx.remove(2));
    EXPECT_FALSE(idx.remove(2));
    EXPECT_EQ(idx.size(), 2u);
    EXPECT_EQ(idx.documentFrequency("capital"), 1);
    EXPECT_EQ(idx.documentFrequency("sylvania"), 0);
    EXPECT_DOUBLE_EQ(idx.idf("capital"), std::log(3.0));
    EXPECT_DOUBLE_EQ(idx.idf("the"), std::log(3.0 / 2.0));
    EXPECT_DOUBLE_EQ(idx.idf("sylvania"), std::log(3.0));
    EXPECT_DOUBLE_EQ(idx.similarity("capital of Sylvania", 2), 0.0);
    // The fact norms follow the new IDFs: the score of fact 1 changes.
    EXPECT_NE(idx.similarity("What is the capital of Freedonia?", 1), before);
    const auto best = idx.best("Freedonia", 5);
    ASSERT_EQ(best.size(), 1u);
    EXPECT_EQ(best[0].id, 1);

    // Unseen words can be made to weigh less (the detector's common words).
    idx.setUnseenWeight([](const std::string& w) { return w == "what" ? 0.0 : 1.0; });
    EXPECT_DOUBLE_EQ(idx.idf("what"), 0.0);
    EXPECT_GT(idx.similarity("What is the capital of Freedonia?", 1), idx.similarity("Who is the capital of Freedonia?", 1));
    idx.clear();
    EXPECT_EQ(idx.size(), 0u);
    EXPECT_TRUE(idx.best("Freedonia", 5).empty());
}

// ---------------------------------------------------------------------------------------
// Factory

TEST(MakeScopeDetector, ChoosesEsdWhenItsAssetsExistElseIsd) {
    auto model = larimar::test::makeFakeModel();
    ScopeDetectorSetup s;
    s.model = model;
    s.assetDir = "/nonexistent/minilm";
    EXPECT_EQ(makeScopeDetector(s)->name(), "isd distance");
    s.kind = "esd";
    try {
        makeScopeDetector(s);
        ADD_FAILURE() << "no error for missing assets";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("fetch-assets.sh"), std::string::npos) << e.what();
    }
    s.kind = "bogus";
    EXPECT_THROW(makeScopeDetector(s), UserError);
    s.kind = "isd";
    s.model = nullptr;
    EXPECT_THROW(makeScopeDetector(s), UserError);
    if (encoderOrSkip()) {
        s.kind = "auto";
        s.assetDir = kAssets;
        EXPECT_EQ(makeScopeDetector(s)->name(), "esd hybrid");
        EXPECT_DOUBLE_EQ(makeScopeDetector(s)->defaultThreshold(), kEsdThreshold);
        s.kind = "esd-minilm";
        EXPECT_EQ(makeScopeDetector(s)->name(), "esd minilm");
        EXPECT_DOUBLE_EQ(makeScopeDetector(s)->defaultThreshold(), kEsdCosineThreshold);
        s.kind = "esd-hybrid";
        EXPECT_EQ(makeScopeDetector(s)->name(), "esd hybrid");
        // The tuning knobs of `larimar eval scope` reach the detector.
        s.esdCosineWeight = 1.0;
        s.esdCommonWordWeight = 1.0;
        auto tuned = std::dynamic_pointer_cast<EsdScopeDetector>(makeScopeDetector(s));
        ASSERT_TRUE(tuned);
        Fact f;
        f.id = 1;
        f.text = kFact;
        tuned->reset({f});
        ScopeDetectorSetup p;
        p.kind = "esd-minilm";
        p.assetDir = kAssets;
        auto plain = std::dynamic_pointer_cast<EsdScopeDetector>(makeScopeDetector(p));
        ASSERT_TRUE(plain);
        plain->reset({f});
        // Cosine weight 1: the hybrid is max(cos, 0), the cosine-only score of a related query.
        EXPECT_NEAR(tuned->score(kQuestion).score, plain->score(kQuestion).score, 1e-6);
    }
    // The retired USE-Lite kinds say what replaced them.
    s.kind = "esd-use-lite";
    try {
        makeScopeDetector(s);
        ADD_FAILURE() << "esd-use-lite still accepted";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("esd-minilm"), std::string::npos) << e.what();
    }
}

