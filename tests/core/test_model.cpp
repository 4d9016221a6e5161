// Encoder, latent-conditioned decoder, generation and model directories, on tiny random-weight
// models so the whole suite runs in seconds.
#include "core/model/larimar_model.h"
#include "core/model/model_bench.h"
#include "core/model/torch_io.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace larimar;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

ModelConfig tinyConfig() {
    ModelConfig c;
    c.name = "tiny";
    c.latentSize = 8;
    c.encoder = {2, 2, 16, 32, 300, 32, 2, 1e-12};
    c.decoder = {2, 2, 16, 64, 300, 32, 1e-5};
    c.memory.slots = 6;
    return c;
}

// A byte-level tokenizer: the 256 bytes, two merges ("t"+"h", "th"+"e") and <|endoftext|>.
Tokenizer tinyTokenizer() {
    BpeVocabulary v;
    for (auto b : bytelevel::baseOrder()) v.tokens.emplace_back(1, char(b));
    v.tokens.push_back("th");
    v.tokens.push_back("the");
    v.merges = {{"t", "h"}, {"th", "e"}};
    return Tokenizer::fromVocabulary(v);
}

// Random weights scaled from 0.02 to 0.4 (matrices only), so logits are O(1) and attention is far
// from uniform: tolerances like 1e-5 then test something.
LarimarModel tinyModel(std::uint64_t seed = 7) {
    auto model = LarimarModel::randomInit(tinyConfig(), seed, tinyTokenizer());
    torch::NoGradGuard noGrad;
    for (auto& [name, t] : model.stateDict())
        if (t.dim() == 2 && name != "memory.prior") t.mul_(20.0);
    return model;
}

torch::Tensor ids2d(std::vector<int64_t> v) {
    const auto n = int64_t(v.size());
    return torch::tensor(v, torch::kLong).view({1, n});
}

// Larger latent so its effect is well above rounding with 0.02-scale weights.
torch::Tensor someLatent(int64_t rows, int64_t c, std::uint64_t seed) {
    auto z = torch::empty({rows, c});
    fillNormal(z, 1.0, seed);
    return z;
}

class TempDir {
public:
    TempDir() {
        static int counter = 0;
        m_path = fs::temp_directory_path() /
                 ("larimar_test_model_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(m_path);
        fs::create_directories(m_path);
    }
    ~TempDir() { fs::remove_all(m_path); }
    std::string str() const { return m_path.string(); }
    fs::path path() const { return m_path; }

private:
    fs::path m_path;
};

double maxDiff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

} // namespace

// ---------------------------------------------------------------- config

TEST(ModelConfig, BundledSmallConfigIsValidAndRoundTrips) {
    const auto c = ModelConfig::load(std::string(LARIMAR_SOURCE_DIR) + "/models/configs/larimar-small.json");
    EXPECT_EQ(c.name, "larimar-small");
    EXPECT_EQ(c.decoder.hidden % c.decoder.heads, 0);
    EXPECT_EQ(c.memory.pinv, "exact") << "the trainer's projection readout is the exact pseudo-inverse";
    const auto again = ModelConfig::fromJson(c.toJson());
    EXPECT_EQ(again.toJson(), c.toJson());
    EXPECT_GT(c.parameterCount(), 1000000);
}

TEST(ModelConfig, ParameterCountMatchesTheModule) {
    auto model = tinyModel();
    int64_t n = 0;
    for (const auto& [name, t] : model.stateDict()) n += t.numel();
    EXPECT_EQ(n, model.config().parameterCount());
}

TEST(ModelConfig, ErrorsNameFieldAndValue) {
    auto expectError = [](const std::string& json, const std::string& part) {
        try {
            ModelConfig::fromJson(json, "cfg.json");
            FAIL() << "no error for " << json;
        } catch (const UserError& e) {
            EXPECT_THAT(e.what(), HasSubstr(part)) << e.what();
            EXPECT_THAT(e.what(), HasSubstr("cfg.json"));
        }
    };
    expectError(R"({"decoder": {"hidden": 380, "heads": 6}})", "decoder.hidden = 380 is not a multiple of decoder.heads = 6");
    expectError(R"({"memory": {"pinv": "svd"}})", "memory.pinv = \"svd\"");
    expectError(R"({"encoder": {"layers": "four"}})", "encoder.layers = \"four\" must be an integer");
    expectError(R"({"latent_size": 0})", "latent_size = 0 must be positive");
    expectError(R"({"model_type": "bert"})", "model_type");
    expectError(R"({"decoder": )", "not valid JSON");
    expectError(R"({"special_tokens": {"bos": ""}})", "special_tokens.bos");
    // A setting this build does not know is refused, not ignored: a stale build that ignored a
    // newer model's "key_gain" answered a written fact wrongly.
    expectError(R"({"key_gian": 8})", "key_gian = 8 is not a setting this build knows");
    expectError(R"({"encoder": {"mean_pools": true}})", "encoder.mean_pools = true is not a setting");
    expectError(R"({"memory": {"slots": 8, "prior": "eye"}})", "memory.prior");
}

// ---------------------------------------------------------------- decoder

TEST(Decoder, CachedIncrementalDecodingEqualsFullForward) {
    auto model = tinyModel();
    auto& dec = *model.decoder();
    torch::NoGradGuard noGrad;
    const auto ids = ids2d({0, 5, 17, 42, 99, 3, 250, 7, 8, 11});
    for (const bool withLatent : {false, true}) {
        const torch::Tensor z = withLatent ? someLatent(1, 8, 3) : torch::Tensor();
        const auto full = dec.forward(ids, {}, z);
        // Prompt of 4 in one step, then chunks of 1, 3 and 2.
        auto cache = dec.startCache(1, 32, z);
        std::vector<torch::Tensor> parts;
        int64_t pos = 0;
        for (int64_t len : {4, 1, 3, 2}) {
            parts.push_back(dec.logits(dec.step(ids.narrow(1, pos, len), cache)));
            pos += len;
        }
        const auto cached = torch::cat(parts, 1);
        EXPECT_LT(maxDiff(full, cached), 1e-5) << "latent " << withLatent;
        EXPECT_EQ(cache.length, 10);
    }
}

TEST(Decoder, ZeroLatentEqualsNoLatent) {
    auto model = tinyModel();
    auto& dec = *model.decoder();
    torch::NoGradGuard noGrad;
    const auto ids = torch::tensor({0, 5, 17, 42, 99, 3, 0, 9, 8, 7}, torch::kLong).view({2, 5});
    const auto plain = dec.forward(ids);
    // All rows zero: the plain code path, bit for bit.
    EXPECT_TRUE(torch::equal(plain, dec.forward(ids, {}, torch::zeros({2, 8}))));
    EXPECT_TRUE(torch::equal(plain, dec.forward(ids, {}, torch::zeros({8}))));
    // Mixed batch: the zero row still equals the plain LM (slot masked), the other row changes.
    auto z = torch::zeros({2, 8});
    z[1].copy_(someLatent(1, 8, 5)[0]);
    const auto mixed = dec.forward(ids, {}, z);
    EXPECT_LT(maxDiff(mixed[0], plain[0]), 1e-6);
    EXPECT_GT(maxDiff(mixed[1], plain[1]), 1e-4);
    // The cache path behaves the same.
    auto cache = dec.startCache(2, 16, z);
    EXPECT_LT(maxDiff(dec.logits(dec.step(ids, cache)), mixed), 1e-5);
}

TEST(Decoder, NonZeroLatentChangesLogitsAndDependsOnTheLatent) {
    auto model = tinyModel();
    auto& dec = *model.decoder();
    torch::NoGradGuard noGrad;
    const auto ids = ids2d({0, 5, 17, 42});
    const auto plain = dec.forward(ids);
    const auto a = dec.forward(ids, {}, someLatent(1, 8, 1));
    const auto b = dec.forward(ids, {}, someLatent(1, 8, 2));
    EXPECT_GT(maxDiff(plain, a), 1e-4);
    EXPECT_GT(maxDiff(a, b), 1e-4);
}

// decoder.latent_output: a gated copy of the latent after ln_f. It starts closed (zero), so a
// model that gains it behaves as before; opened, it can name a token straight from the latent.
TEST(Decoder, LatentOutputStartsClosedAndCanNameATokenFromTheLatent) {
    ModelConfig withOut = tinyConfig();
    withOut.decoder.latentOutput = true;
    auto model = LarimarModel::randomInit(withOut, 7, tinyTokenizer());
    auto base = LarimarModel::randomInit(tinyConfig(), 7, tinyTokenizer());
    auto& dec = *model.decoder();
    torch::NoGradGuard noGrad;
    const auto ids = torch::tensor({0, 5, 17, 42, 0, 5, 17, 42}, torch::kLong).view({2, 4});
    auto z = torch::zeros({2, 8});
    z[1].copy_(someLatent(1, 8, 4)[0]);
    EXPECT_LT(maxDiff(dec.forward(ids, {}, z), base.decoder()->forward(ids, {}, z)), 1e-6)
        << "the new path must start closed";

    // Open it: linear_out maps z to the multiple of wte[target] that adds 50 to its logit
    // through the tied lm_head, the gate fully open.
    const int64_t target = 123;
    auto params = model.stateDict();
    const auto zr = z[1], w = dec.wte()[target];
    params.at("decoder.transformer.linear_out.weight").copy_(torch::outer(50.0 * w / w.dot(w), zr / zr.dot(zr)));
    params.at("decoder.transformer.out_gate.bias").fill_(20.0);
    const auto closed = base.decoder()->forward(ids, {}, z);
    const auto logits = dec.forward(ids, {}, z);
    const auto gain = logits[1].select(-1, target) - closed[1].select(-1, target);
    EXPECT_LT((gain - 50.0).abs().max().item<double>(), 1e-3) << "every position of the row with a latent: " << gain;
    EXPECT_LT(maxDiff(logits[0], base.decoder()->forward(ids.narrow(0, 0, 1))[0]), 1e-5)
        << "a row without a latent is the plain LM";
    // The cached path agrees.
    auto cache = dec.startCache(2, 16, z);
    auto first = dec.logits(dec.step(ids.narrow(1, 0, 3), cache));
    auto last = dec.logits(dec.step(ids.narrow(1, 3, 1), cache));
    EXPECT_LT(maxDiff(torch::cat({first, last}, 1), logits), 1e-4);
}

TEST(ModelConfig, LatentOutputRoundTripsAndIsLeftOutWhenOff) {
    ModelConfig c = tinyConfig();
    EXPECT_EQ(c.toJson().find("latent_output"), std::string::npos);
    c.decoder.latentOutput = true;
    const auto back = ModelConfig::fromJson(c.toJson(), "cfg.json");
    EXPECT_TRUE(back.decoder.latentOutput);
    auto model = LarimarModel::randomInit(c, 3, tinyTokenizer());
    int64_t n = 0;
    for (const auto& [name, t] : model.stateDict()) n += t.numel();
    EXPECT_EQ(n, c.parameterCount());
    EXPECT_THROW(ModelConfig::fromJson(R"({"decoder": {"latent_output": 1}})", "cfg.json"), UserError);
}

TEST(Decoder, PaddingDoesNotChangeRealTokens) {
    auto model = tinyModel();
    auto& dec = *model.decoder();
    torch::NoGradGuard noGrad;
    const auto z = someLatent(1, 8, 9);
    const auto alone = dec.forward(ids2d({0, 5, 17, 42}), {}, z);
    // Right padding and left padding of the same sequence in a batch of two.
    const auto ids = torch::tensor({0, 5, 17, 42, 1, 1, 1, 1, 0, 5, 17, 42}, torch::kLong).view({2, 6});
    const auto mask = torch::tensor({1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1}, torch::kLong).view({2, 6});
    const auto batch = dec.forward(ids, mask, z.expand({2, 8}));
    EXPECT_LT(maxDiff(batch[0].narrow(0, 0, 4), alone[0]), 1e-5);
    EXPECT_LT(maxDiff(batch[1].narrow(0, 2, 4), alone[0]), 1e-5);
    EXPECT_TRUE(torch::isfinite(batch).all().item<bool>());
}

TEST(Decoder, TokenNllMatchesLogSoftmaxAndWeights) {
    auto model = tinyModel();
    auto& dec = *model.decoder();
    const auto ids = ids2d({0, 5, 17, 42, 99});
    const auto logits = dec.forward(ids.narrow(1, 0, 4));
    const auto targets = ids.narrow(1, 1, 4);
    const auto weights = torch::tensor({1.0f, 1.0f, 0.0f, 1.0f}).view({1, 4});
    const auto nll = tokenNll(logits, targets, weights);
    const auto ref = -torch::log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1) * weights;
    EXPECT_LT(maxDiff(nll, ref), 1e-6);
    EXPECT_EQ(nll[0][2].item<float>(), 0.0f);
    // Differentiable: the trainer backpropagates through it.
    nll.sum().backward();
    EXPECT_TRUE(dec.wte().grad().defined());
}

TEST(Decoder, RejectsTooLongInputAndBadLatent) {
    auto model = tinyModel();
    auto& dec = *model.decoder();
    torch::NoGradGuard noGrad;
    EXPECT_THROW(dec.forward(torch::zeros({1, 33}, torch::kLong)), UserError);
    EXPECT_THROW(dec.forward(ids2d({0, 1}), {}, torch::ones({1, 7})), UserError);
    auto cache = dec.startCache(1, 3);
    dec.step(ids2d({0, 1, 2}), cache);
    EXPECT_THROW(dec.step(ids2d({3}), cache), UserError);
}

// ---------------------------------------------------------------- encoder

TEST(Encoder, PaddingInABatchDoesNotChangeAnEncoding) {
    auto model = tinyModel();
    {
        // 0.02-scale weights give latents of ~1e-4; scale the pooler and head to O(1) latents so
        // the tolerances below mean something.
        torch::NoGradGuard noGrad;
        auto s = model.stateDict();
        fillNormal(s.at("encoder.pooler.dense.weight"), 1.0, 1);
        fillNormal(s.at("encoder.latent_head.weight"), 1.0, 2);
    }
    const std::vector<std::string> texts = {"the cat", "the quick brown fox jumps over the lazy dog", "ok"};
    const auto batch = model.encode(texts);
    ASSERT_EQ(batch.sizes(), (std::vector<int64_t>{3, 8}));
    for (size_t i = 0; i < texts.size(); ++i) {
        const auto alone = model.encode({texts[i]});
        EXPECT_LT(maxDiff(batch[int64_t(i)], alone[0]), 1e-5) << texts[i];
    }
    EXPECT_GT(batch.abs().max().item<double>(), 0.1);
    EXPECT_GT(maxDiff(batch[0], batch[1]), 1e-2);
}

// encoder.mean_pool: a head on the mean of the last hidden states, added to the Larimar head.
// It starts closed (zero), so a model that gains it encodes as before; opened, the mean is over
// real tokens only, so padding in a batch still leaves every encoding alone.
TEST(Encoder, MeanPoolStartsClosedAndIgnoresPadding) {
    ModelConfig withMean = tinyConfig();
    withMean.encoder.meanPool = true;
    auto model = LarimarModel::randomInit(withMean, 7, tinyTokenizer());
    auto base = LarimarModel::randomInit(tinyConfig(), 7, tinyTokenizer());
    const std::vector<std::string> texts = {"the cat", "the quick brown fox jumps over the lazy dog", "ok"};
    EXPECT_LT(maxDiff(model.encode(texts), base.encode(texts)), 1e-7) << "the new head must start closed";

    {
        torch::NoGradGuard noGrad;
        fillNormal(model.stateDict().at("encoder.mean_head.weight"), 1.0, 3);
    }
    const auto batch = model.encode(texts);
    const auto closed = base.encode(texts);
    EXPECT_GT(maxDiff(batch, closed), 0.1) << "opened, the mean reaches the latent";
    for (size_t i = 0; i < texts.size(); ++i)
        EXPECT_LT(maxDiff(batch[int64_t(i)], model.encode({texts[i]})[0]), 1e-5) << texts[i];

    // Config: written only when on, read back, and counted.
    EXPECT_EQ(tinyConfig().toJson().find("mean_pool"), std::string::npos);
    EXPECT_TRUE(ModelConfig::fromJson(withMean.toJson(), "cfg.json").encoder.meanPool);
    int64_t n = 0;
    for (const auto& [name, t] : model.stateDict()) n += t.numel();
    EXPECT_EQ(n, withMean.parameterCount());
}

// encoder.token_bag: a head on the mean of the sentence's rows of the decoder's embedding
// table. It starts closed; opened, it adds exactly that mean (mapped), padding left alone; the
// table is the decoder's (not a copy), and a config with two vocabularies is refused.
TEST(Encoder, TokenBagAddsTheMeanOfTheDecodersEmbeddingRows) {
    ModelConfig withBag = tinyConfig();
    withBag.encoder.tokenBag = true;
    auto model = LarimarModel::randomInit(withBag, 7, tinyTokenizer());
    auto base = LarimarModel::randomInit(tinyConfig(), 7, tinyTokenizer());
    const std::vector<std::string> texts = {"the cat", "the quick brown fox jumps over the lazy dog", "ok"};
    EXPECT_LT(maxDiff(model.encode(texts), base.encode(texts)), 1e-7) << "the new head must start closed";

    torch::NoGradGuard noGrad;
    auto params = model.stateDict();
    auto head = params.at("encoder.bag_head.weight"); // [2C, Hd] = [16, 16]
    head.zero_();
    head.narrow(0, 0, 8).narrow(1, 0, 8).copy_(torch::eye(8));
    const auto wte = params.at("decoder.transformer.wte.weight");
    const auto batch = model.encode(texts), closed = base.encode(texts);
    for (size_t i = 0; i < texts.size(); ++i) {
        const auto ids = model.encoderTokens(texts[i]);
        const auto rows = wte.index_select(0, torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())));
        const auto expected = rows.mean(0).narrow(0, 0, 8);
        EXPECT_LT(maxDiff(batch[int64_t(i)] - closed[int64_t(i)], expected), 1e-5) << texts[i];
        EXPECT_LT(maxDiff(batch[int64_t(i)], model.encode({texts[i]})[0]), 1e-5) << "padding changed " << texts[i];
    }
    // The decoder's table itself: changing it changes the encoding.
    wte.mul_(2.0);
    EXPECT_GT(maxDiff(model.encode(texts), batch), 1e-3);

    int64_t n = 0;
    for (const auto& [name, t] : model.stateDict()) n += t.numel();
    EXPECT_EQ(n, withBag.parameterCount());
    EXPECT_TRUE(ModelConfig::fromJson(withBag.toJson(), "cfg.json").encoder.tokenBag);
    EXPECT_EQ(tinyConfig().toJson().find("token_bag"), std::string::npos);
    withBag.decoder.vocab = 301;
    EXPECT_THROW(withBag.validate(), UserError);
}

// word_slot: the latent's last decoder.hidden dimensions are the fact's words (rows of the
// decoder's embedding table) weighted by a learned pointer; the heads' dimensions are unchanged.
// bos and eos are never in the slot; padding leaves it alone; the slot is a point (log-variance
// 0); the pointer can put all weight on the last word (where an answer stands).
// tinyConfig with a word slot (and a key slot when asked): 8 learned latent dimensions, then 16
// (the decoder's hidden size) for each slot.
ModelConfig slotConfig(bool keySlot) {
    ModelConfig c = tinyConfig();
    c.wordSlot = true;
    c.keySlot = keySlot;
    c.latentSize = 8 + 16 + (keySlot ? 16 : 0);
    return c;
}

TEST(Encoder, WordSlotHoldsTheFactsWordsAndThePointerChoosesThem) {
    ModelConfig withSlot = slotConfig(false);
    ASSERT_EQ(withSlot.featureSize(), 8);
    auto model = LarimarModel::randomInit(withSlot, 7, tinyTokenizer());
    auto base = LarimarModel::randomInit(tinyConfig(), 7, tinyTokenizer());
    const std::vector<std::string> texts = {"the cat", "the quick brown fox jumps over the lazy dog", "ok"};
    const auto batch = model.encode(texts);
    ASSERT_EQ(batch.sizes(), (std::vector<int64_t>{3, 24}));
    EXPECT_LT(maxDiff(batch.narrow(1, 0, 8), base.encode(texts)), 1e-6) << "the heads' dimensions must not change";

    torch::NoGradGuard noGrad;
    auto params = model.stateDict();
    const auto wte = params.at("decoder.transformer.wte.weight");
    auto end = params.at("encoder.pointer.end");
    auto slotOf = [&](const std::string& text, int64_t from, int64_t to) { // mean of wte rows of tokens [from, to)
        const auto ids = model.encoderTokens(text);
        std::vector<int64_t> words(ids.begin() + from, ids.begin() + to);
        return wte.index_select(0, torch::tensor(words)).mean(0);
    };
    end.zero_(); // score is zero too: a plain mean over the words, bos and eos left out
    const auto plain = model.encode(texts);
    for (size_t i = 0; i < texts.size(); ++i) {
        const auto n = int64_t(model.encoderTokens(texts[i]).size());
        EXPECT_LT(maxDiff(plain[int64_t(i)].narrow(0, 8, 16), slotOf(texts[i], 1, n - 1)), 1e-5) << texts[i];
        EXPECT_LT(maxDiff(plain[int64_t(i)], model.encode({texts[i]})[0]), 1e-5) << "padding changed " << texts[i];
    }
    end[1] = 60.0; // all weight on the last word
    const auto last = model.encode(texts);
    for (size_t i = 0; i < texts.size(); ++i) {
        const auto n = int64_t(model.encoderTokens(texts[i]).size());
        EXPECT_LT(maxDiff(last[int64_t(i)].narrow(0, 8, 16), slotOf(texts[i], n - 2, n - 1)), 1e-5) << texts[i];
    }
    const auto ids = model.encoderTokens("the cat");
    const auto dist = model.encoder()->forward(ids2d({ids.begin(), ids.end()}));
    EXPECT_EQ(dist.logvar.narrow(1, 8, 16).abs().max().item<double>(), 0.0);

    // Config: written only when on, read back, counted; refused without room or with two vocabularies.
    int64_t n = 0;
    for (const auto& [name, t] : model.stateDict()) n += t.numel();
    EXPECT_EQ(n, withSlot.parameterCount());
    EXPECT_TRUE(ModelConfig::fromJson(withSlot.toJson(), "cfg.json").wordSlot);
    EXPECT_EQ(tinyConfig().toJson().find("word_slot"), std::string::npos);
    ModelConfig small = withSlot;
    small.latentSize = 16;
    EXPECT_THROW(small.validate(), UserError);
    withSlot.decoder.vocab = 301;
    EXPECT_THROW(withSlot.validate(), UserError);
}

// The decoder adds copy_scale * sigmoid(copy_gate(h)) * copy_map(slot) after ln_f: every word
// gets the bonus w . copy_map . slot, so the word the memory read back rises; the cache path
// does the same; copy_map starts whitened (an average word scores 1 against itself).
TEST(Decoder, WordSlotGivesTheWordItHoldsABonus) {
    auto model = LarimarModel::randomInit(slotConfig(false), 7, tinyTokenizer());
    torch::NoGradGuard noGrad;
    auto params = model.stateDict();
    const auto wte = params.at("decoder.transformer.wte.weight");
    const auto map = params.at("decoder.transformer.copy_map.weight");
    EXPECT_NEAR((torch::matmul(wte, map) * wte).sum(1).mean().item<double>(), 1.0, 1e-3);

    auto& dec = *model.decoder();
    const auto ids = ids2d({5, 70, 80});
    const auto features = someLatent(1, 8, 3);
    const int64_t word = 104;
    const auto withWord = torch::cat({features, wte[word].unsqueeze(0)}, 1);
    const auto without = torch::cat({features, torch::zeros({1, 16})}, 1);
    const auto bonus = (dec.forward(ids, {}, withWord) - dec.forward(ids, {}, without))[0][2]; // [V]
    const auto h = dec.hiddenStates(ids, {}, without)[0][2];
    const double gate = torch::sigmoid(h.dot(params.at("decoder.transformer.copy_gate.weight")[0]) +
                                       params.at("decoder.transformer.copy_gate.bias")[0]).item<double>();
    const double scale = params.at("decoder.transformer.copy_scale.weight")[0].item<double>();
    const auto expected = gate * scale * torch::matmul(wte, torch::matmul(map, wte[word]));
    EXPECT_LT(maxDiff(bonus, expected), 1e-3);
    EXPECT_GT(bonus[word].item<double>(), 0.0) << "the held word must gain";
    EXPECT_LT(bonus.gt(bonus[word]).sum().item<int64_t>(), 10) << "and more than almost every other word";

    auto cache = dec.startCache(1, 16, withWord);
    const auto stepped = dec.logits(dec.step(ids, cache));
    EXPECT_LT(maxDiff(stepped, dec.forward(ids, {}, withWord)), 1e-4);

    // copy_norm opens the gate in proportion to how much of a word was read back: a full read of
    // the word gains more than a read of a tenth of it, beyond the tenfold of a linear bonus.
    params.at("decoder.transformer.copy_norm.weight").fill_(1.0);
    const auto tenth = torch::cat({features, 0.1 * wte[word].unsqueeze(0)}, 1);
    const double full = (dec.forward(ids, {}, withWord) - dec.forward(ids, {}, without))[0][2][word].item<double>();
    const double small = (dec.forward(ids, {}, tenth) - dec.forward(ids, {}, without))[0][2][word].item<double>();
    EXPECT_GT(full, 0.0);
    EXPECT_GT(full, 12.0 * small) << "full read " << full << ", a tenth " << small;
}

// key_slot: decoder.hidden more dimensions after the word slot, key_map(a pointer-weighted mean
// of the words), which address the memory and which the decoder never reads. key_map starts as
// a scaled whitening, so sentences that share words have overlapping keys and the memory reads a
// fact back for a query in proportion to the words they share.
TEST(Encoder, KeySlotAddressesByTheWordsAFactSharesAndTheDecoderIgnoresIt) {
    ModelConfig withKey = slotConfig(true);
    ASSERT_EQ(withKey.featureSize(), 8);
    auto model = LarimarModel::randomInit(withKey, 7, tinyTokenizer());
    torch::NoGradGuard noGrad;
    auto params = model.stateDict();
    const auto wte = params.at("decoder.transformer.wte.weight");
    const auto keyMap = params.at("encoder.key_map.weight");
    // Whitened and scaled by 30: an average word's key has squared norm 900.
    EXPECT_NEAR(torch::matmul(wte, keyMap.t()).pow(2).sum(1).mean().item<double>(), 900.0, 1.0);

    const std::vector<std::string> texts = {"the cat sat on the mat", "the cat sat", "dogs bark loudly"};
    const auto z = model.encode(texts);
    ASSERT_EQ(z.size(1), 40);
    const auto ids = model.encoderTokens(texts[1]);
    const std::vector<int64_t> words(ids.begin() + 1, ids.end() - 1);
    EXPECT_LT(maxDiff(z[1].narrow(0, 24, 16), torch::matmul(keyMap, wte.index_select(0, torch::tensor(words)).mean(0))), 1e-3);
    auto coefficient = [&](int64_t query) { return (z[query].dot(z[0]) / z[0].dot(z[0])).item<double>(); };
    EXPECT_GT(coefficient(1), 0.3) << "a query sharing the fact's words reads it back";
    EXPECT_LT(std::abs(coefficient(2)), 0.5 * coefficient(1)) << "one sharing none reads far less of it";

    auto& dec = *model.decoder();
    const auto in = ids2d({5, 70, 80});
    auto other = z[1].clone();
    other.narrow(0, 24, 16).normal_();
    EXPECT_LT(maxDiff(dec.forward(in, {}, z[1].unsqueeze(0)), dec.forward(in, {}, other.unsqueeze(0))), 1e-6)
        << "the decoder must not read the key slot";

    int64_t n = 0;
    for (const auto& [name, t] : params) n += t.numel();
    EXPECT_EQ(n, withKey.parameterCount());
    EXPECT_TRUE(ModelConfig::fromJson(withKey.toJson(), "cfg.json").keySlot);

    // key_gain scales the key alone, so addressing goes more by shared words; the rest of the
    // latent is unchanged.
    ModelConfig gained = withKey;
    gained.keyGain = 8.0;
    EXPECT_EQ(ModelConfig::fromJson(gained.toJson(), "cfg.json").keyGain, 8.0);
    EXPECT_EQ(withKey.toJson().find("key_gain"), std::string::npos);
    auto loud = LarimarModel::randomInit(gained, 7, tinyTokenizer());
    const auto zg = loud.encode(texts);
    EXPECT_LT(maxDiff(zg.narrow(1, 0, 24), z.narrow(1, 0, 24)), 1e-6);
    EXPECT_LT(maxDiff(zg.narrow(1, 24, 16), 8.0 * z.narrow(1, 24, 16)), 1e-3);
    ModelConfig badGain = withKey;
    badGain.keyGain = 0.0;
    EXPECT_THROW(badGain.validate(), UserError);
    ModelConfig noWord = withKey;
    noWord.wordSlot = false;
    EXPECT_THROW(noWord.validate(), UserError);
    ModelConfig tooSmall = withKey;
    tooSmall.latentSize = 32;
    EXPECT_THROW(tooSmall.validate(), UserError);
}

TEST(Encoder, TokensAreBosTextEosAndCutToMaxPositions) {
    auto model = tinyModel();
    const auto& tok = model.tokenizer();
    const auto ids = model.encoderTokens("the");
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_EQ(ids.front(), tok.bosId());
    EXPECT_EQ(ids.back(), tok.eosId());
    EXPECT_EQ(model.encoderTokens(std::string(100, 'x')).size(), 32u);
    // A closing full stop is not part of what a fact says (training facts have none).
    EXPECT_EQ(model.encoderTokens("the cat sat. "), model.encoderTokens("the cat sat"));
    EXPECT_EQ(model.encoderTokens("the cat sat..."), model.encoderTokens("the cat sat"));
    EXPECT_NE(model.encoderTokens("the cat sat?"), model.encoderTokens("the cat sat"));
    EXPECT_EQ(model.encoderTokens("...").size(), 5u) << "a text of only dots keeps them";
    const auto dist = model.encoder()->forward(ids2d({ids.begin(), ids.end()}));
    EXPECT_EQ(dist.logvar.sizes(), (std::vector<int64_t>{1, 8}));
}

// ---------------------------------------------------------------- generation

TEST(Generation, SameSeedSameTextDifferentSeedsDiffer) {
    auto model = tinyModel();
    GenerationOptions o;
    o.greedy = false;
    o.maxNewTokens = 12;
    o.stopAtEos = false;
    o.seed = 123;
    const auto a = model.generate("the cat", {}, o);
    const auto b = model.generate("the cat", {}, o);
    ASSERT_EQ(a.tokens.size(), 12u);
    std::vector<int32_t> ida, idb, idc;
    for (auto& t : a.tokens) ida.push_back(t.id);
    for (auto& t : b.tokens) idb.push_back(t.id);
    EXPECT_EQ(ida, idb);
    EXPECT_EQ(a.text, b.text);
    o.seed = 124;
    for (auto& t : model.generate("the cat", {}, o).tokens) idc.push_back(t.id);
    EXPECT_NE(ida, idc);
    // top-k and top-p are reproducible too.
    o.topK = 20;
    o.topP = 0.9;
    o.temperature = 0.7;
    const auto c = model.generate("the cat", {}, o);
    const auto d = model.generate("the cat", {}, o);
    EXPECT_EQ(c.text, d.text);
}

TEST(Generation, GreedyEqualsTopK1AndReportsProbabilities) {
    auto model = tinyModel();
    GenerationOptions greedy;
    greedy.maxNewTokens = 8;
    greedy.stopAtEos = false;
    const auto z = someLatent(1, 8, 4)[0];
    const auto g = model.generate("the", z, greedy);
    GenerationOptions k1 = greedy;
    k1.greedy = false;
    k1.topK = 1;
    k1.seed = 99;
    const auto s = model.generate("the", z, k1);
    ASSERT_EQ(g.tokens.size(), s.tokens.size());
    for (size_t i = 0; i < g.tokens.size(); ++i) {
        const auto& t = g.tokens[i];
        EXPECT_EQ(t.id, s.tokens[i].id);
        ASSERT_EQ(t.alternatives.size(), 5u);
        EXPECT_EQ(t.alternatives[0].id, t.id); // greedy picks the best alternative
        EXPECT_FLOAT_EQ(t.alternatives[0].probability, t.probability);
        for (size_t j = 1; j < 5; ++j) EXPECT_LE(t.alternatives[j].probability, t.alternatives[j - 1].probability);
        EXPECT_GT(t.probability, 0.0f);
        EXPECT_LE(t.probability, 1.0f);
    }
    EXPECT_EQ(g.stopReason, StopReason::MaxNewTokens);
}

TEST(Generation, GreedyTokensMatchFullForwardArgmax) {
    auto model = tinyModel();
    auto& dec = *model.decoder();
    TokenDecoding tokens;
    tokens.bosId = 0;
    tokens.eosId = -1;
    GenerationOptions o;
    o.maxNewTokens = 6;
    const auto z = someLatent(1, 8, 6);
    const auto r = generate(dec, tokens, {5, 6, 7}, z, o);
    std::vector<int64_t> seq = {0, 5, 6, 7};
    torch::NoGradGuard noGrad;
    for (const auto& t : r.tokens) {
        const auto logits = dec.forward(ids2d(seq), {}, z);
        EXPECT_EQ(logits[0][int64_t(seq.size()) - 1].argmax().item<int64_t>(), t.id);
        seq.push_back(t.id);
    }
}

TEST(Generation, StopStringsCutTheText) {
    auto model = tinyModel();
    TokenDecoding tokens;
    tokens.bosId = 0;
    tokens.eosId = -1;
    tokens.decode = [](const std::vector<int32_t>& ids) {
        std::string s;
        for (auto id : ids) s += "[" + std::to_string(id) + "]";
        return s;
    };
    GenerationOptions o;
    o.maxNewTokens = 10;
    const auto full = generate(*model.decoder(), tokens, {1, 2}, {}, o);
    ASSERT_EQ(full.tokens.size(), 10u);
    o.stopStrings = {"[" + std::to_string(full.tokens[3].id) + "]", "never"};
    const auto cut = generate(*model.decoder(), tokens, {1, 2}, {}, o);
    EXPECT_EQ(cut.stopReason, StopReason::StopString);
    const auto stopAt = full.text.find(o.stopStrings[0]);
    EXPECT_EQ(cut.text, full.text.substr(0, stopAt));
    EXPECT_LE(cut.tokens.size(), 4u);
    // The eos token stops generation and is not part of the text.
    tokens.eosId = full.tokens[2].id;
    o.stopStrings.clear();
    const auto eos = generate(*model.decoder(), tokens, {1, 2}, {}, o);
    EXPECT_EQ(eos.stopReason, StopReason::Eos);
    EXPECT_EQ(eos.tokens.back().id, tokens.eosId);
}

namespace {

bool validUtf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (len == 0 || i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += len;
    }
    return true;
}

} // namespace

TEST(Generation, TextIsValidUtf8EvenWhenTokensSplitCharacters) {
    // The tiny tokenizer has one token per byte, so random sampling emits stray UTF-8 bytes.
    auto model = tinyModel();
    GenerationOptions o;
    o.greedy = false;
    o.maxNewTokens = 25;
    o.stopAtEos = false;
    int sawReplacement = 0;
    for (std::uint64_t seed = 0; seed < 8; ++seed) {
        o.seed = seed;
        const auto r = model.generate("caf\xC3\xA9 ", {}, o);
        EXPECT_TRUE(validUtf8(r.text));
        for (const auto& t : r.tokens) {
            EXPECT_TRUE(validUtf8(t.text));
            for (const auto& a : t.alternatives) EXPECT_TRUE(validUtf8(a.text));
        }
        sawReplacement += r.text.find("\xEF\xBF\xBD") != std::string::npos;
    }
    EXPECT_GT(sawReplacement, 0);
}

TEST(Generation, StopsAtMaxPositionsAndRejectsBadOptions) {
    auto model = tinyModel();
    GenerationOptions o;
    o.maxNewTokens = 100;
    o.stopAtEos = false;
    const auto r = model.generate("the", {}, o);
    EXPECT_EQ(r.stopReason, StopReason::MaxPositions);
    // bos + "the" (one merged token) fill 2 of 32 positions; the token predicted at the last
    // position needs no slot of its own.
    EXPECT_EQ(r.tokens.size(), 31u);
    o.temperature = 0;
    EXPECT_THROW(model.generate("the", {}, o), UserError);
    o.temperature = 1;
    o.topP = 1.5;
    EXPECT_THROW(model.generate("the", {}, o), UserError);
    EXPECT_THROW(model.generate(std::string(40, 'x'), {}, GenerationOptions{}), UserError);
}

TEST(Generation, ScoreIsMeanTokenLogProbAndSeesTheLatent) {
    auto model = tinyModel();
    const auto& tok = model.tokenizer();
    const auto plain = model.score("the cat", " sat", {});
    const auto p = tok.encode("the cat"), c = tok.encode(" sat");
    ASSERT_EQ(plain.tokenLogProbs.size(), c.size());
    std::vector<int64_t> seq = {tok.bosId()};
    seq.insert(seq.end(), p.begin(), p.end());
    seq.insert(seq.end(), c.begin(), c.end());
    torch::NoGradGuard noGrad;
    const auto logp = torch::log_softmax(model.decoder()->forward(ids2d(seq)), -1)[0];
    double sum = 0;
    for (size_t j = 0; j < c.size(); ++j)
        sum += logp[int64_t(p.size() + j)][c[j]].item<double>();
    EXPECT_NEAR(plain.meanLogProb, sum / double(c.size()), 1e-5);
    EXPECT_NEAR(plain.sumLogProb, sum, 1e-5);
    const auto withLatent = model.score("the cat", " sat", someLatent(1, 8, 2));
    EXPECT_NE(withLatent.meanLogProb, plain.meanLogProb);
    EXPECT_EQ(model.score("the cat", " sat", torch::zeros({8})).meanLogProb, plain.meanLogProb);
    EXPECT_THROW(model.score("the cat", "", {}), UserError);
}

// ---------------------------------------------------------------- model directories

TEST(ModelFiles, RandomInitIsDeterministic) {
    auto a = tinyModel(5), b = tinyModel(5), c = tinyModel(6);
    const auto sa = a.stateDict(), sb = b.stateDict(), sc = c.stateDict();
    for (const auto& [name, t] : sa) EXPECT_TRUE(torch::equal(t, sb.at(name))) << name;
    EXPECT_FALSE(torch::equal(sa.at("decoder.transformer.wte.weight"), sc.at("decoder.transformer.wte.weight")));
    EXPECT_TRUE(torch::equal(a.memoryPrior(), torch::eye(6, 8)));
    EXPECT_EQ(a.pinvSettings().mode, PinvMode::Iterative);
}

TEST(ModelFiles, NamesFollowHuggingFace) {
    const auto s = tinyModel().stateDict();
    for (const char* name :
         {"encoder.embeddings.word_embeddings.weight", "encoder.embeddings.LayerNorm.weight",
          "encoder.encoder.layer.0.attention.self.query.weight", "encoder.encoder.layer.1.output.LayerNorm.bias",
          "encoder.pooler.dense.weight", "encoder.latent_head.weight", "decoder.transformer.wte.weight",
          "decoder.transformer.h.1.attn.c_attn.weight", "decoder.transformer.h.0.mlp.c_proj.bias",
          "decoder.transformer.ln_f.weight", "decoder.transformer.linear.weight",
          "decoder.transformer.linear_emb.weight", "memory.prior"})
        EXPECT_TRUE(s.count(name)) << name;
    EXPECT_EQ(s.at("decoder.transformer.h.0.attn.c_attn.weight").sizes(), (std::vector<int64_t>{16, 48})); // Conv1D [in, out]
    EXPECT_EQ(s.at("decoder.transformer.linear.weight").sizes(), (std::vector<int64_t>{32, 8}));
    EXPECT_EQ(s.at("encoder.latent_head.weight").sizes(), (std::vector<int64_t>{16, 16}));
}

TEST(ModelFiles, SaveLoadRoundTripGivesIdenticalLogits) {
    TempDir dir;
    auto model = tinyModel();
    model.save(dir.str());
    for (const char* f : {"config.json", "model.safetensors", "vocab.json", "merges.txt", "MODEL_CARD.md"})
        EXPECT_TRUE(fs::exists(dir.path() / f)) << f;
    auto loaded = LarimarModel::load(dir.str());
    EXPECT_EQ(loaded.config().toJson(), model.config().toJson());
    EXPECT_EQ(loaded.weightsSha256(), model.weightsSha256());
    EXPECT_EQ(loaded.weightsSha256().size(), 64u);
    for (const auto& [name, t] : model.stateDict()) EXPECT_TRUE(torch::equal(t, loaded.stateDict().at(name))) << name;
    torch::NoGradGuard noGrad;
    const auto ids = ids2d({0, 5, 17, 42});
    const auto z = someLatent(1, 8, 1);
    EXPECT_TRUE(torch::equal(model.decoder()->forward(ids, {}, z), loaded.decoder()->forward(ids, {}, z)));
    EXPECT_TRUE(torch::equal(model.encode({"the cat"}), loaded.encode({"the cat"})));
    EXPECT_EQ(model.tokenizer().encode("the cat sat"), loaded.tokenizer().encode("the cat sat"));

    // A model card that exists is kept.
    {
        std::ofstream(dir.path() / "MODEL_CARD.md") << "# mine\n";
    }
    loaded.save(dir.str());
    std::ifstream in(dir.path() / "MODEL_CARD.md");
    std::string first;
    std::getline(in, first);
    EXPECT_EQ(first, "# mine");
}

TEST(ModelFiles, SaveAsFloat16HalvesTheWeightsAndLoadsAsFloat32) {
    TempDir full, half;
    auto model = tinyModel();
    model.save(full.str());
    model.save(half.str(), torch::kHalf);
    EXPECT_LT(fs::file_size(half.path() / "model.safetensors"), fs::file_size(full.path() / "model.safetensors") * 6 / 10);
    const auto loaded = LarimarModel::load(half.str()).stateDict();
    for (const auto& [name, t] : model.stateDict()) {
        const torch::Tensor u = loaded.at(name);
        EXPECT_EQ(u.scalar_type(), torch::kFloat) << name;
        EXPECT_TRUE(torch::allclose(t, u, 1e-3, 1e-3)) << name;
        EXPECT_TRUE(torch::equal(t.to(torch::kHalf).to(torch::kFloat), u)) << name; // rounded once, nothing else
    }

    // A weight beyond float16's range is refused, naming the tensor.
    {
        torch::NoGradGuard noGrad;
        model.net()->named_parameters()["memory.prior"].fill_(1e6);
    }
    TempDir bad;
    try {
        model.save(bad.str(), torch::kHalf);
        FAIL() << "no error";
    } catch (const larimar::UserError& e) {
        EXPECT_THAT(e.what(), HasSubstr("memory.prior"));
    }
}

TEST(ModelFiles, AnOlderReadmeCardIsFoundAndNoStubIsAdded) {
    TempDir dir;
    EXPECT_EQ(LarimarModel::findCard(dir.str()), "");
    std::ofstream(dir.path() / "README.md") << "# older card\n";
    tinyModel().save(dir.str());
    EXPECT_FALSE(fs::exists(dir.path() / "MODEL_CARD.md"));
    EXPECT_EQ(LarimarModel::findCard(dir.str()), (dir.path() / "README.md").string());
}

namespace {

void expectLoadError(const std::string& dir, const std::vector<std::string>& parts) {
    try {
        LarimarModel::load(dir);
        FAIL() << "no error";
    } catch (const UserError& e) {
        for (const auto& p : parts) EXPECT_THAT(e.what(), HasSubstr(p));
    }
}

} // namespace

TEST(ModelFiles, MissingOrWrongShapedTensorIsAClearError) {
    TempDir dir;
    auto model = tinyModel();
    model.save(dir.str());
    const std::string weights = (dir.path() / "model.safetensors").string();
    auto tensors = loadTensors(weights);

    auto missing = tensors;
    missing.erase("decoder.transformer.wpe.weight");
    saveTensors(weights, missing);
    expectLoadError(dir.str(), {"decoder.transformer.wpe.weight", "missing", "[32, 16]"});

    auto wrong = tensors;
    wrong["decoder.transformer.wpe.weight"] = torch::zeros({64, 16});
    saveTensors(weights, wrong);
    expectLoadError(dir.str(), {"decoder.transformer.wpe.weight", "has shape [64, 16], expected [32, 16]"});

    auto ints = tensors;
    ints["memory.prior"] = torch::zeros({6, 8}, torch::kInt);
    saveTensors(weights, ints);
    expectLoadError(dir.str(), {"memory.prior", "dtype I32"});

    auto nan = tensors;
    nan["memory.prior"] = torch::full({6, 8}, std::nan(""));
    saveTensors(weights, nan);
    expectLoadError(dir.str(), {"memory.prior", "NaN"});

    // Half precision is accepted and converted; extra tensors are ignored.
    auto half = tensors;
    half["memory.prior"] = tensors["memory.prior"].to(torch::kHalf);
    half["decoder.transformer.h.0.attn.bias"] = torch::ones({1});
    saveTensors(weights, half);
    EXPECT_TRUE(torch::equal(LarimarModel::load(dir.str()).memoryPrior(), tensors["memory.prior"]));
}

TEST(ModelFiles, TruncatedOrGarbledWeightsAreAClearError) {
    TempDir dir;
    auto model = tinyModel();
    model.save(dir.str());
    const auto weights = dir.path() / "model.safetensors";
    const auto size = fs::file_size(weights);
    fs::resize_file(weights, size / 2);
    expectLoadError(dir.str(), {"model.safetensors"});
    fs::resize_file(weights, 5);
    expectLoadError(dir.str(), {"model.safetensors"});
    {
        std::ofstream out(weights, std::ios::binary | std::ios::trunc);
        const std::uint64_t n = 1ull << 40; // header length far beyond the file
        out.write(reinterpret_cast<const char*>(&n), 8);
        out << "{garbage";
    }
    expectLoadError(dir.str(), {"model.safetensors"});
    fs::remove(weights);
    expectLoadError(dir.str(), {"model.safetensors"});
}

TEST(ModelFiles, MissingConfigTokenizerOrDirectoryIsAClearError) {
    TempDir dir;
    expectLoadError((dir.path() / "nope").string(), {"not a model directory"});
    auto model = tinyModel();
    model.save(dir.str());
    fs::remove(dir.path() / "merges.txt");
    expectLoadError(dir.str(), {"tokenizer"});
    fs::remove(dir.path() / "config.json");
    expectLoadError(dir.str(), {"config.json"});
}

TEST(ModelFiles, TokenizerMustFitTheVocabulary) {
    auto c = tinyConfig();
    c.decoder.vocab = 100;
    EXPECT_THROW(LarimarModel::randomInit(c, 1, tinyTokenizer()), UserError);
    auto idsOnly = LarimarModel::randomInit(c, 1);
    EXPECT_FALSE(idsOnly.hasTokenizer());
    EXPECT_THROW(idsOnly.encode({"x"}), UserError);
}

TEST(Device, ParsesNamesAndRefusesCudaWithoutAGpu) {
    EXPECT_TRUE(parseDevice("cpu").is_cpu());
    EXPECT_THROW(parseDevice("tpu9"), UserError);
    if (!torch::cuda::is_available()) {
        try {
            parseDevice("cuda");
            FAIL();
        } catch (const UserError& e) {
            EXPECT_THAT(e.what(), HasSubstr("CUDA is not available"));
        }
    }
}

TEST(ModelBench, RunsOnATinyConfig) {
    ModelBenchOptions o;
    o.encoderRuns = 5;
    o.decoderRuns = 2;
    o.decodeTokens = 10;
    const auto r = benchmarkModel(tinyConfig(), o);
    EXPECT_GT(r.encoderSentencesPerSecond, 0);
    EXPECT_GT(r.decoderTokensPerSecond, 0);
    EXPECT_EQ(r.decodeTokens, 10);
}

// Timing for the bundled config (random weights); not part of the quick suite. Run with
//   test_model --gtest_also_run_disabled_tests --gtest_filter='*LarimarSmall*'
// LARIMAR_BENCH_THREADS sets libtorch's thread count (default 1, see ModelBenchOptions).
TEST(ModelBench, DISABLED_LarimarSmall) {
    // LARIMAR_BENCH_CONFIG=path times another config.json instead.
    const char* path = std::getenv("LARIMAR_BENCH_CONFIG");
    const auto c = ModelConfig::load(path ? std::string(path)
                                          : std::string(LARIMAR_SOURCE_DIR) + "/models/configs/larimar-small.json");
    ModelBenchOptions o;
    if (const char* t = std::getenv("LARIMAR_BENCH_THREADS")) o.threads = std::atoi(t);
    const auto r = benchmarkModel(c, o);
    EXPECT_EQ(r.parameters, c.parameterCount());
    EXPECT_EQ(r.device, "cpu");
    if (o.threads > 0) EXPECT_EQ(r.threads, o.threads);
    const int prompt = std::min(o.promptTokens, c.decoder.maxPositions - 2);
    EXPECT_EQ(r.decodeTokens, std::max(1, std::min(o.decodeTokens, c.decoder.maxPositions - 1 - prompt)));
    ASSERT_GT(r.encoderMsPerSentence, 0);
    ASSERT_GT(r.decoderMsPerToken, 0);
    EXPECT_DOUBLE_EQ(r.encoderSentencesPerSecond, 1000.0 / r.encoderMsPerSentence);
    EXPECT_DOUBLE_EQ(r.decoderTokensPerSecond, 1000.0 / r.decoderMsPerToken);
    std::printf("%s (%lld params) on %s, %d threads:\n  encoder %.3f ms / 12-token sentence = %.0f "
                "sentences/s\n  decoder %.3f ms / token = %.0f tokens/s (greedy, cached, %d tokens)\n",
                c.name.c_str(), r.parameters, r.device.c_str(), r.threads, r.encoderMsPerSentence, r.encoderSentencesPerSecond,
                r.decoderMsPerToken, r.decoderTokensPerSecond, r.decodeTokens);
}
