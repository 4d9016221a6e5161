// The external scope detector's sentence encoder (Universal Sentence Encoder Lite in libtorch)
// against the JavaScript reference: tests/data/scope/golden.json, made by make_golden.js there.
#include "core/scope/nfkc.h"
#include "core/scope/scope_decision.h"
#include "core/scope/sentence_encoder.h"
#include "core/util/error.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <random>

namespace fs = std::filesystem;
using namespace larimar;

namespace {

const std::string kModelDir = LARIMAR_SOURCE_DIR "/models/assets/use-lite";

struct GoldenSentence {
    std::string text;
    std::optional<std::string> nfkc;
    std::vector<std::int32_t> ids;
    std::vector<float> embedding;
};

const std::vector<GoldenSentence>& golden() {
    static const std::vector<GoldenSentence> sentences = [] {
        std::ifstream in(LARIMAR_TEST_DATA_DIR "/scope/golden.json");
        EXPECT_TRUE(in) << "cannot open tests/data/scope/golden.json";
        const auto doc = nlohmann::json::parse(in);
        std::vector<GoldenSentence> out;
        for (const auto& s : doc.at("sentences")) {
            GoldenSentence g;
            g.text = s.at("text").get<std::string>();
            if (s.contains("nfkc")) g.nfkc = s["nfkc"].get<std::string>();
            g.ids = s.at("ids").get<std::vector<std::int32_t>>();
            g.embedding = s.at("embedding").get<std::vector<float>>();
            out.push_back(std::move(g));
        }
        return out;
    }();
    return sentences;
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

/// The encoder, loaded once for the whole test program; a missing model fails the test.
const SentenceEncoder* encoder() {
    static std::unique_ptr<SentenceEncoder> loaded;
    static std::string error;
    static bool tried = false;
    if (!tried) {
        tried = true;
        try {
            loaded = std::make_unique<SentenceEncoder>(SentenceEncoder::load(kModelDir));
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    if (!loaded)
        ADD_FAILURE() << "Universal Sentence Encoder Lite is not in " << kModelDir
                      << ": run models/fetch-assets.sh (" << error << ")";
    return loaded.get();
}

std::string texts(const std::vector<std::int32_t>& ids) {
    std::string s;
    for (auto id : ids) s += std::to_string(id) + " ";
    return s;
}

} // namespace

TEST(ScopeEsd, FixtureHasAFewHundredSentences) { EXPECT_GE(golden().size(), 200u); }

TEST(ScopeEsd, NfkcMatchesJavaScript) {
    int changed = 0;
    for (const auto& g : golden()) {
        EXPECT_EQ(nfkc(g.text), g.nfkc.value_or(g.text)) << "text: " << g.text;
        changed += g.nfkc.has_value();
    }
    EXPECT_GT(changed, 10);  // the fixture does exercise normalisation
    EXPECT_EQ(nfkc("e\xCC\x81"), "\xC3\xA9");                         // e + combining acute -> é
    EXPECT_EQ(nfkc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // conjoining jamo -> 각
    EXPECT_EQ(nfkc("\xEF\xAC\x81"), "fi");                             // ligature
    EXPECT_THROW(nfkc("bad \xFF byte"), UserError);
}

TEST(ScopeEsd, TokenIdsMatchJavaScriptExactly) {
    const SentenceEncoder* enc = encoder();
    ASSERT_NE(enc, nullptr);
    int mismatches = 0;
    for (const auto& g : golden()) {
        const auto ids = enc->tokenizer().encode(g.text);
        if (ids != g.ids) {
            ++mismatches;
            ADD_FAILURE() << "text: " << g.text << "\n  C++: " << texts(ids) << "\n  JS:  " << texts(g.ids);
        }
    }
    EXPECT_EQ(mismatches, 0) << "of " << golden().size();
}

TEST(ScopeEsd, EmbeddingsMatchJavaScript) {
    const SentenceEncoder* enc = encoder();
    ASSERT_NE(enc, nullptr);
    ASSERT_EQ(enc->dimension(), 512);
    std::vector<std::string> inputs;
    for (const auto& g : golden()) inputs.push_back(g.text);
    const auto embeddings = enc->embed(inputs);
    ASSERT_EQ(embeddings.size(), golden().size());
    double worst = 1.0;
    std::string worstText;
    for (std::size_t i = 0; i < embeddings.size(); ++i) {
        ASSERT_EQ(embeddings[i].size(), 512u);
        const double c = cosine(embeddings[i], golden()[i].embedding);
        EXPECT_GT(c, 0.999) << "text: " << golden()[i].text;
        double norm = 0;
        for (float x : embeddings[i]) norm += double(x) * x;
        EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-4);
        if (c < worst) {
            worst = c;
            worstText = golden()[i].text;
        }
    }
    std::cout << std::setprecision(7) << "[ScopeEsd] " << embeddings.size() << " sentences, worst cosine to the JS reference " << worst
              << " (1 - cos = " << std::scientific << 1.0 - worst << std::defaultfloat << ", \"" << worstText << "\")\n";
    RecordProperty("worst_cosine", std::to_string(worst));
}

TEST(ScopeEsd, BatchingDoesNotChangeEmbeddings) {
    const SentenceEncoder* enc = encoder();
    ASSERT_NE(enc, nullptr);
    const std::vector<std::string> batch = {"Short.", "", "A much longer sentence that needs quite a few more tokens.", ""};
    const auto together = enc->embed(batch);
    ASSERT_EQ(together.size(), batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto alone = enc->embed({batch[i]});
        ASSERT_EQ(alone.size(), 1u);
        EXPECT_GT(cosine(alone[0], together[i]), 0.99999) << "sentence " << i;
    }
    EXPECT_TRUE(enc->embed({}).empty());
    EXPECT_EQ(enc->embed({"", ""}).size(), 2u);
}

TEST(ScopeEsd, TimingPerSentenceAtBatchOne) {
    const SentenceEncoder* enc = encoder();
    ASSERT_NE(enc, nullptr);
    std::vector<std::string> sentences;
    for (const auto& g : golden())
        if (!g.text.empty() && sentences.size() < 60) sentences.push_back(g.text);
    enc->embed({sentences[0]});  // warm-up
    const auto start = std::chrono::steady_clock::now();
    for (const auto& s : sentences) enc->embed({s});
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / double(sentences.size());
    const auto startBatch = std::chrono::steady_clock::now();
    enc->embed(sentences);
    const double msBatched =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - startBatch).count() /
        double(sentences.size());
    std::cout << "[ScopeEsd] embedding: " << ms << " ms per sentence at batch 1, " << msBatched
              << " ms per sentence in batches of 32 (" << sentences.size() << " sentences)\n";
    RecordProperty("ms_per_sentence_batch1", std::to_string(ms));
    EXPECT_LT(ms, 200.0);  // a sanity bound, not a benchmark
}

TEST(ScopeEsd, GraphUsesOnlyKnownOps) {
    const SentenceEncoder* enc = encoder();
    ASSERT_NE(enc, nullptr);
    const auto ops = enc->graphOps();
    EXPECT_GE(ops.size(), 30u);
    std::string list;
    for (const auto& op : ops) list += op + " ";
    std::cout << "[ScopeEsd] graph ops: " << list << "\n";
}

// ---- load errors name the file and say what to do ---------------------------------------------

namespace {

struct TempModelCopy {
    fs::path dir;
    TempModelCopy() {
        dir = fs::temp_directory_path() / ("larimar-use-" + std::to_string(std::random_device{}()));
        fs::create_directories(dir);
        for (const auto& e : fs::directory_iterator(kModelDir))
            if (e.is_regular_file()) fs::copy_file(e.path(), dir / e.path().filename());
    }
    ~TempModelCopy() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

std::string loadError(const fs::path& dir) {
    try {
        SentenceEncoder::load(dir.string());
    } catch (const UserError& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST(ScopeEsdLoad, MissingDirectorySaysToFetch) {
    const auto msg = loadError("/nonexistent/use-lite");
    EXPECT_NE(msg.find("fetch-assets.sh"), std::string::npos) << msg;
}

TEST(ScopeEsdLoad, MissingOrCorruptFilesAreNamed) {
    ASSERT_NE(encoder(), nullptr);
    {
        TempModelCopy copy;
        fs::remove(copy.dir / "vocab.json");
        const auto msg = loadError(copy.dir);
        EXPECT_NE(msg.find("vocab.json"), std::string::npos) << msg;
        EXPECT_NE(msg.find("fetch-assets.sh"), std::string::npos) << msg;
    }
    {
        TempModelCopy copy;
        fs::resize_file(copy.dir / "group1-shard7of7", 1000);
        const auto msg = loadError(copy.dir);
        EXPECT_NE(msg.find("group1-shard7of7"), std::string::npos) << msg;
    }
    {
        TempModelCopy copy;
        fs::remove(copy.dir / "group1-shard3of7");
        const auto msg = loadError(copy.dir);
        EXPECT_NE(msg.find("group1-shard3of7"), std::string::npos) << msg;
    }
    {
        TempModelCopy copy;
        std::ofstream(copy.dir / "model.json") << "{ \"modelTopology\": ";
        const auto msg = loadError(copy.dir);
        EXPECT_NE(msg.find("model.json"), std::string::npos) << msg;
    }
}

TEST(ScopeEsdLoad, UnknownOpIsNamed) {
    ASSERT_NE(encoder(), nullptr);
    TempModelCopy copy;
    std::ifstream in(copy.dir / "model.json");
    auto model = nlohmann::json::parse(in);
    in.close();
    for (auto& node : model["modelTopology"]["node"])
        if (node["op"] == "Tanh") node["op"] = "Softplus";
    std::ofstream(copy.dir / "model.json") << model.dump();
    const auto msg = loadError(copy.dir);
    EXPECT_NE(msg.find("Softplus"), std::string::npos) << msg;
    EXPECT_NE(msg.find("tanh_layer_0"), std::string::npos) << msg;
}

// ---- the scope decision with the real encoder ------------------------------------------------

TEST(ScopeEsdDecision, ParaphraseOfAStoredFactIsInScopeAndUnrelatedTextIsNot) {
    const SentenceEncoder* enc = encoder();
    ASSERT_NE(enc, nullptr);
    const std::vector<std::string> facts = {"The capital of France is Paris.", "Danielle Darrieux's mother tongue is French.",
                                            "Microsoft was founded by Bill Gates."};
    NearestFactIndex index;
    EXPECT_FALSE(decideScope(*enc, index, "What is the capital of France?").inScope);  // empty: never in scope
    const auto embeddings = enc->embed(facts);
    for (std::size_t i = 0; i < facts.size(); ++i) index.add(static_cast<std::int64_t>(i + 10), embeddings[i]);

    const auto same = decideScope(*enc, index, "The capital of France is Paris.");
    EXPECT_TRUE(same.inScope);
    EXPECT_NEAR(same.score, 1.0f, 1e-4f);
    EXPECT_EQ(same.nearestFactId, 10);

    const auto paraphrase = decideScope(*enc, index, "Which city is the capital of France?");
    EXPECT_EQ(paraphrase.nearestFactId, 10);
    EXPECT_TRUE(paraphrase.inScope) << paraphrase.score;

    const auto unrelated = decideScope(*enc, index, "I like to eat apples in the morning.");
    EXPECT_FALSE(unrelated.inScope) << unrelated.score;

    // Multi-sentence: the best sentence decides.
    const auto mixed = decideScope(*enc, index, "I like to eat apples in the morning. Bill Gates founded Microsoft.");
    EXPECT_EQ(mixed.nearestFactId, 12);
    EXPECT_EQ(mixed.sentence, 1);
    EXPECT_TRUE(mixed.inScope) << mixed.score;
    std::cout << "[ScopeEsd] scores: same " << same.score << ", paraphrase " << paraphrase.score << ", unrelated "
              << unrelated.score << ", mixed " << mixed.score << "\n";
}
