// The external scope detector's sentence encoder: the MiniLM adapter (core/scope/minilm_encoder.h)
// against the Hugging Face reference tests/data/golden/minilm.json (sentence-transformers'
// all-MiniLM-L6-v2; tests/core/test_bert.cpp checks BertEncoder itself, here the adapter that the
// ESD sees: batching, id, common words), and the ESD on it. Skipped when models/assets/minilm is
// missing (run models/fetch-assets.sh).
#include "core/scope/minilm_encoder.h"
#include "core/scope/scope_decision.h"
#include "core/scope/scope_detectors.h"
#include "core/util/error.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>

using namespace larimar;

namespace {

const std::string kModelDir = LARIMAR_SOURCE_DIR "/models/assets/minilm";

#define SKIP_WITHOUT_MINILM()                                                                          \
    if (!MiniLmSentenceEncoder::present(kModelDir))                                                    \
    GTEST_SKIP() << "all-MiniLM-L6-v2 is not in " << kModelDir << ": run models/fetch-assets.sh"

/// The encoder with a given batch size, loaded once per size for the whole test program.
std::shared_ptr<const MiniLmSentenceEncoder> encoder(std::size_t batch = 64) {
    static std::map<std::size_t, std::shared_ptr<const MiniLmSentenceEncoder>> loaded;
    auto& slot = loaded[batch];
    if (!slot) slot = MiniLmSentenceEncoder::load(kModelDir, batch);
    return slot;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        ab += double(a[i]) * b[i];
        aa += double(a[i]) * a[i];
        bb += double(b[i]) * b[i];
    }
    return ab / std::sqrt(aa * bb);
}

struct Golden {
    std::vector<std::string> texts;
    std::vector<std::vector<float>> embeddings;
};

Golden golden() {
    std::ifstream in(LARIMAR_TEST_DATA_DIR "/golden/minilm.json");
    EXPECT_TRUE(in) << "cannot open tests/data/golden/minilm.json";
    const auto doc = nlohmann::json::parse(in);
    Golden g;
    for (const auto& c : doc.at("cases")) {
        g.texts.push_back(c.at("text").get<std::string>());
        g.embeddings.push_back(c.at("embedding").get<std::vector<float>>());
    }
    return g;
}

} // namespace

TEST(MiniLmSentenceEncoder, EmbeddingsEqualTheHuggingFaceReferenceThroughTheAdapter) {
    SKIP_WITHOUT_MINILM();
    const auto g = golden();
    ASSERT_GE(g.texts.size(), 5u);
    // Batches of 3: the golden's 8 texts (the empty one and a long one included) go through the
    // adapter's own batching, then BertEncoder's.
    for (std::size_t batch : {std::size_t{3}, std::size_t{64}}) {
        const std::shared_ptr<const SentenceEncoder> enc = encoder(batch);
        EXPECT_EQ(enc->dimension(), 384);
        EXPECT_EQ(enc->id(), "minilm-l6-v2");
        const auto got = enc->embed(g.texts);
        ASSERT_EQ(got.size(), g.texts.size());
        for (std::size_t i = 0; i < g.texts.size(); ++i) {
            ASSERT_EQ(got[i].size(), g.embeddings[i].size()) << g.texts[i];
            double maxDiff = 0, norm = 0;
            for (std::size_t k = 0; k < got[i].size(); ++k) {
                maxDiff = std::max(maxDiff, std::abs(double(got[i][k]) - g.embeddings[i][k]));
                norm += double(got[i][k]) * got[i][k];
            }
            EXPECT_GT(cosine(got[i], g.embeddings[i]), 0.9999) << "batch " << batch << ": " << g.texts[i];
            EXPECT_LT(maxDiff, 1e-4) << "batch " << batch << ": " << g.texts[i];
            EXPECT_NEAR(norm, 1.0, 1e-4) << g.texts[i];
        }
    }
    EXPECT_TRUE(encoder()->embed({}).empty());
}

TEST(MiniLmSentenceEncoder, BatchingDoesNotChangeEmbeddings) {
    SKIP_WITHOUT_MINILM();
    const std::vector<std::string> texts = {"Short.", "", "A much longer sentence that needs quite a few more tokens.",
                                            "", "Paris is the capital of France."};
    const auto together = encoder(2)->embed(texts);
    ASSERT_EQ(together.size(), texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto alone = encoder()->embed({texts[i]});
        ASSERT_EQ(alone.size(), 1u);
        EXPECT_GT(cosine(alone[0], together[i]), 0.99999) << "sentence " << i;
    }
}

TEST(MiniLmSentenceEncoder, CommonWordsAreWholeWordsOfTheVocabulary) {
    SKIP_WITHOUT_MINILM();
    const auto enc = encoder();
    for (const std::string w : {"the", "aired", "programs", "capital", "tongue"}) EXPECT_TRUE(enc->isCommonWord(w)) << w;
    // Names the vocabulary splits into pieces, a piece itself, several words, nothing.
    for (const std::string w : {"darrieux", "yasuda", "freedonia", "##ing", "mother tongue", ""})
        EXPECT_FALSE(enc->isCommonWord(w)) << w;
    // The tokenizer's normalisation decides: accents are dropped as BERT does.
    EXPECT_TRUE(enc->isCommonWord("café"));
}

TEST(MiniLmSentenceEncoder, MissingAssetsSayToFetch) {
    EXPECT_FALSE(MiniLmSentenceEncoder::present("/nonexistent/minilm"));
    EXPECT_FALSE(MiniLmSentenceEncoder::present(""));
    try {
        MiniLmSentenceEncoder::load("/nonexistent/minilm");
        ADD_FAILURE() << "no error for a missing directory";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("fetch-assets.sh"), std::string::npos) << e.what();
    }
}

TEST(MiniLmSentenceEncoder, TimingPerSentence) {
    SKIP_WITHOUT_MINILM();
    const auto enc = encoder();
    std::vector<std::string> sentences;
    for (int i = 0; i < 32; ++i) sentences.push_back("The mother tongue of person number " + std::to_string(i) + " is French.");
    enc->embed({sentences[0]}); // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& s : sentences) enc->embed({s});
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
                      double(sentences.size());
    std::cout << "[ScopeEsd] MiniLM: " << ms << " ms per sentence at batch 1\n";
    RecordProperty("ms_per_sentence_batch1", std::to_string(ms));
    EXPECT_LT(ms, 500.0); // a sanity bound, not a benchmark
}

// ---- the ESD on MiniLM ------------------------------------------------------------------------

TEST(ScopeEsdDecision, RephraseOfAWrittenFactIsInScopeAndAnUnrelatedQuestionIsNot) {
    SKIP_WITHOUT_MINILM();
    const std::shared_ptr<const SentenceEncoder> enc = encoder();
    std::vector<Fact> facts(3);
    const std::vector<std::string> texts = {"The capital of France is Paris.",
                                            "Danielle Darrieux's mother tongue is French.",
                                            "Microsoft was founded by Bill Gates."};
    for (std::size_t i = 0; i < facts.size(); ++i) {
        facts[i].id = static_cast<std::int64_t>(i + 10);
        facts[i].text = texts[i];
    }
    const std::string rephrase = "Which city is the capital of France?";
    const std::string unrelated = "How many legs does a spider have?";

    // The default detector (hybrid) and the paper's (cosine alone), at their default thresholds.
    EsdScopeDetector hybrid(enc);
    EsdOptions o;
    o.scoring = EsdScore::Cosine;
    EsdScopeDetector cosineOnly(enc, o);
    EXPECT_EQ(hybrid.name(), "esd hybrid");
    EXPECT_EQ(cosineOnly.name(), "esd minilm");
    for (EsdScopeDetector* esd : {&hybrid, &cosineOnly}) {
        EXPECT_FALSE(esd->decide(rephrase, esd->defaultThreshold()).inScope) << esd->name() << ": nothing written";
        esd->reset(facts);
        const auto in = esd->decide(rephrase, esd->defaultThreshold());
        EXPECT_TRUE(in.inScope) << esd->name() << " " << in.score;
        EXPECT_EQ(in.nearestFactId, 10) << esd->name();
        const auto out = esd->decide(unrelated, esd->defaultThreshold());
        EXPECT_FALSE(out.inScope) << esd->name() << " " << out.score;
        // Multi-sentence: the best sentence decides.
        const auto mixed = esd->decide(unrelated + " Bill Gates founded Microsoft.", esd->defaultThreshold());
        EXPECT_EQ(mixed.nearestFactId, 12) << esd->name();
        EXPECT_EQ(mixed.sentence, 1) << esd->name();
        EXPECT_TRUE(mixed.inScope) << esd->name() << " " << mixed.score;
        std::cout << "[ScopeEsd] " << esd->name() << ": rephrase " << in.score << ", unrelated " << out.score
                  << ", mixed " << mixed.score << "\n";
    }

    // decideScope (the cosine decision on its own) agrees with the cosine-only detector.
    EXPECT_NEAR(decideScope(*enc, cosineOnly.index(), rephrase).score,
                cosineOnly.decide(rephrase, kEsdCosineThreshold).score, 1e-6);
    const auto same = decideScope(*enc, cosineOnly.index(), texts[0]);
    EXPECT_NEAR(same.score, 1.0f, 1e-4f);
    EXPECT_EQ(same.nearestFactId, 10);
}
