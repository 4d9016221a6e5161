// The Llama-family decoder (core/model/llama.h) and the GGUF-to-Hugging-Face conversion
// (core/model/gguf_convert.h) against Hugging Face transformers: tests/data/golden holds tiny
// random Llama / Qwen2 models with their logits, and the logits and greedy ids of the real
// SmolLM2-135M GGUF file as transformers computes them (made by tests/data/golden/make_golden.py).
// The real-model tests skip when models/assets/smollm2 is missing.
#include "core/model/generation.h"
#include "core/model/gguf.h"
#include "core/model/gguf_convert.h"
#include "core/model/llama.h"
#include "core/model/torch_io.h"
#include "core/util/error.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace larimar;

namespace {

const std::string kGolden = LARIMAR_TEST_DATA_DIR "/golden/";
const std::string kSmolLm = LARIMAR_SOURCE_DIR "/models/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

nlohmann::json readJson(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    return nlohmann::json::parse(in);
}

Llama loadTiny(const std::string& name) {
    const std::string dir = kGolden + name;
    Llama model(LlamaConfig::fromHfConfig(readJson(dir + "/config.json"), dir));
    model->loadWeights(loadTensors(dir + "/model.safetensors"), dir);
    model->eval();
    return model;
}

torch::Tensor ids(const std::vector<std::int64_t>& v) { return torch::tensor(v, torch::kLong).unsqueeze(0); }

class TinyGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(TinyGolden, LogitsMatchTransformers) {
    torch::NoGradGuard ng;
    Llama model = loadTiny(GetParam());
    const auto golden = readJson(kGolden + GetParam() + ".json");
    ASSERT_GE(golden["cases"].size(), 2u);
    for (const auto& c : golden["cases"]) {
        const auto input = c["ids"].get<std::vector<std::int64_t>>();
        const auto logits = model->forward(ids(input)).squeeze(0); // [T, V]
        const auto expected = c["logits"].get<std::vector<std::vector<float>>>();
        ASSERT_EQ(logits.size(0), static_cast<int64_t>(expected.size()));
        double maxDiff = 0;
        for (std::size_t t = 0; t < expected.size(); ++t) {
            const auto row = logits[int64_t(t)];
            ASSERT_EQ(row.size(0), static_cast<int64_t>(expected[t].size()));
            const auto ref = torch::tensor(expected[t]);
            maxDiff = std::max(maxDiff, (row - ref).abs().max().item<double>());
        }
        EXPECT_LT(maxDiff, 1e-4) << GetParam() << ", " << input.size() << " tokens";
    }
}

TEST_P(TinyGolden, CachedStepsEqualTheFullForward) {
    torch::NoGradGuard ng;
    Llama model = loadTiny(GetParam());
    const std::vector<std::int64_t> input = {5, 17, 200, 3, 99, 42, 7};
    const auto full = model->hiddenStates(ids(input)).squeeze(0);
    DecoderCache cache = model->startCache(1, 16);
    const auto first = model->step(ids({5, 17, 200}), cache).squeeze(0);
    std::vector<torch::Tensor> rows = {first};
    for (std::size_t i = 3; i < input.size(); ++i) rows.push_back(model->step(ids({input[i]}), cache).squeeze(0));
    const auto stepped = torch::cat(rows, 0);
    EXPECT_LT((full - stepped).abs().max().item<double>(), 1e-5);
    EXPECT_EQ(cache.length, 7);
}

TEST_P(TinyGolden, PaddingOnEitherSideChangesNothing) {
    torch::NoGradGuard ng;
    Llama model = loadTiny(GetParam());
    const auto alone = model->hiddenStates(ids({9, 8, 7})).squeeze(0);
    const auto batch = torch::tensor({0, 0, 9, 8, 7, 9, 8, 7, 0, 0}, torch::kLong).view({2, 5});
    const auto mask = torch::tensor({0, 0, 1, 1, 1, 1, 1, 1, 0, 0}, torch::kLong).view({2, 5});
    const auto h = model->hiddenStates(batch, mask);
    EXPECT_LT((h[0].narrow(0, 2, 3) - alone).abs().max().item<double>(), 1e-5);
    EXPECT_LT((h[1].narrow(0, 0, 3) - alone).abs().max().item<double>(), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Architectures, TinyGolden, ::testing::Values("tiny-llama", "tiny-llama-tied", "tiny-qwen2"));

TEST(LlamaConfig, ReadsTheHuggingFaceFields) {
    const auto c = LlamaConfig::fromHfConfig(readJson(kGolden + "tiny-qwen2/config.json"), "tiny-qwen2");
    EXPECT_EQ(c.architecture, "qwen2");
    EXPECT_TRUE(c.attentionBias);
    EXPECT_EQ(c.kvHeads, 2);
    EXPECT_EQ(c.headDim, 8);
    EXPECT_DOUBLE_EQ(c.ropeTheta, 1e6);
    const auto tied = LlamaConfig::fromHfConfig(readJson(kGolden + "tiny-llama-tied/config.json"), "t");
    EXPECT_TRUE(tied.tieEmbeddings);
    // toHfConfig gives a config that reads back the same.
    const auto again = LlamaConfig::fromHfConfig(c.toHfConfig(), "again");
    EXPECT_EQ(again.architecture, c.architecture);
    EXPECT_EQ(again.parameterCount(), c.parameterCount());
    EXPECT_DOUBLE_EQ(again.ropeTheta, c.ropeTheta);
}

TEST(LlamaConfig, RefusesBadOrHostileValues) {
    const auto base = readJson(kGolden + "tiny-llama/config.json");
    auto expectError = [&](const char* field, nlohmann::json value, const std::string& needle) {
        auto j = base;
        if (value.is_null()) j.erase(field);
        else j[field] = value;
        try {
            LlamaConfig::fromHfConfig(j, "cfg");
            ADD_FAILURE() << field << " = " << value.dump() << " was accepted";
        } catch (const UserError& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    expectError("hidden_size", nullptr, "hidden_size");
    expectError("hidden_size", "32", "integer");
    expectError("vocab_size", 1ll << 40, "vocab_size");
    expectError("num_hidden_layers", -1, "num_hidden_layers");
    expectError("num_key_value_heads", 3, "multiple");
    expectError("model_type", "bert", "not a Llama-family");
    expectError("hidden_act", "gelu", "hidden_act");
    expectError("rope_scaling", nlohmann::json{{"rope_type", "yarn"}, {"factor", 4}}, "yarn");
}

TEST(LlamaWeights, MissingWrongShapeOrForeignTensorsAreRefused) {
    const std::string dir = kGolden + "tiny-llama";
    const auto config = LlamaConfig::fromHfConfig(readJson(dir + "/config.json"), dir);
    const auto good = loadTensors(dir + "/model.safetensors");
    auto expectError = [&](std::map<std::string, torch::Tensor> w, const std::string& needle) {
        Llama model(config);
        try {
            model->loadWeights(w, "src");
            ADD_FAILURE() << "accepted";
        } catch (const UserError& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    auto missing = good;
    missing.erase("model.layers.1.mlp.up_proj.weight");
    expectError(missing, "missing tensors: model.layers.1.mlp.up_proj.weight");
    auto shape = good;
    shape["model.norm.weight"] = torch::zeros({31});
    expectError(shape, "model.norm.weight has shape");
    auto foreign = good;
    foreign["model.layers.7.self_attn.q_proj.weight"] = torch::zeros({32, 32});
    expectError(foreign, "does not have: model.layers.7");
}

TEST(LlamaLatent, APlainModelRefusesALatent) {
    Llama model = loadTiny("tiny-llama");
    EXPECT_THROW(model->hiddenStates(ids({1, 2}), {}, torch::ones({1, 4})), UserError);
    EXPECT_NO_THROW(model->hiddenStates(ids({1, 2}), {}, torch::zeros({1, 4})));
}

// The real SmolLM2 file, dequantised and converted as `larimar import-model` does.
class SmolLm2 : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (!fs::exists(kSmolLm)) return;
        const auto file = gguf::File::open(kSmolLm);
        auto hf = ggufToHf(file);
        s_model = std::make_unique<Llama>(LlamaConfig::fromHfConfig(hf.config, kSmolLm));
        (*s_model)->loadWeights(hf.tensors, kSmolLm);
        (*s_model)->eval();
    }
    static void TearDownTestSuite() { s_model.reset(); }
    void SetUp() override {
        if (!s_model) GTEST_SKIP() << kSmolLm << " is missing: run models/fetch-assets.sh";
    }
    static std::unique_ptr<Llama> s_model;
};
std::unique_ptr<Llama> SmolLm2::s_model;

TEST_F(SmolLm2, ConfigIsTheModelCardOne) {
    const auto& c = (*s_model)->config();
    EXPECT_EQ(c.layers, 30);
    EXPECT_EQ(c.hidden, 576);
    EXPECT_EQ(c.heads, 9);
    EXPECT_EQ(c.kvHeads, 3);
    EXPECT_EQ(c.vocab, 49152);
    EXPECT_TRUE(c.tieEmbeddings);
}

TEST_F(SmolLm2, LogitsMatchTransformersOnTheSameGguf) {
    torch::NoGradGuard ng;
    const auto golden = readJson(kGolden + "smollm2.json");
    ASSERT_FALSE(golden["bos_prepended"].get<bool>());
    for (const auto& c : golden["cases"]) {
        const auto input = c["ids"].get<std::vector<std::int64_t>>();
        const auto logits = (*s_model)->forward(ids(input)).squeeze(0);
        // Top-1 at every position.
        const auto top1 = logits.argmax(-1);
        const auto expectedTop1 = c["top1"].get<std::vector<std::int64_t>>();
        for (std::size_t t = 0; t < expectedTop1.size(); ++t)
            EXPECT_EQ(top1[int64_t(t)].item<int64_t>(), expectedTop1[t]) << c["text"] << " position " << t;
        // The 20 best logits of the last position within 1e-2, and the whole row's checksums.
        const auto last = logits[-1].to(torch::kDouble);
        for (const auto& e : c["last_top"]) {
            const auto id = e[0].get<int64_t>();
            EXPECT_NEAR(last[id].item<double>(), e[1].get<double>(), 1e-2) << c["text"] << " token " << id;
        }
        EXPECT_NEAR(last.sum().item<double>(), c["last_logits_sum"].get<double>(), 1e-2 * 49152);
        EXPECT_NEAR(last.norm().item<double>(), c["last_logits_l2"].get<double>(), 1e-2 * 10);
    }
}

TEST_F(SmolLm2, GreedyGenerationFollowsTransformers) {
    const auto golden = readJson(kGolden + "smollm2.json");
    TokenDecoding tokens;
    tokens.bosId = -1; // SmolLM2 is used without bos, as transformers' tokenizer does
    tokens.eosId = 2;
    for (const auto& c : golden["cases"]) {
        const auto input = c["ids"].get<std::vector<std::int32_t>>();
        const auto expected = c["greedy_ids"].get<std::vector<std::int32_t>>();
        const auto gaps = c["greedy_top2_gap"].get<std::vector<double>>();
        GenerationOptions o;
        o.maxNewTokens = int(expected.size());
        o.stopAtEos = false;
        o.alternatives = 0;
        const auto r = generate(**s_model, tokens, input, torch::Tensor(), o);
        ASSERT_EQ(r.tokens.size(), expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            if (gaps[i] < 1e-2) break; // a near tie: either choice is the model's, later steps differ
            ASSERT_EQ(r.tokens[i].id, expected[i]) << c["text"] << " step " << i;
        }
    }
}

} // namespace

// A Hugging Face GPT-2 directory runs through the pretrained loader (the same path
// `larimar import-model` and `--model DIR` take) and gives transformers' logits.
#include "core/model/pretrained_lm.h"
namespace {
torch::Tensor matrix(const nlohmann::json& rows) {
    std::vector<torch::Tensor> r;
    for (const auto& row : rows) r.push_back(torch::tensor(row.get<std::vector<float>>()));
    return torch::stack(r);
}
TEST(PretrainedLoader, Gpt2DirectoryMatchesTransformers) {
    torch::NoGradGuard ng;
    const auto lm = loadPretrainedLm(kGolden + "tiny-gpt2");
    EXPECT_EQ(lm.architecture, "gpt2");
    EXPECT_FALSE(lm.tokenizer.has_value());
    const auto golden = readJson(kGolden + "tiny-gpt2.json");
    for (const auto& c : golden["cases"]) {
        const auto input = c["ids"].get<std::vector<std::int64_t>>();
        const auto logits = lm.lm->logits(lm.lm->hiddenStates(ids(input))).squeeze(0);
        const auto expected = matrix(c["logits"]);
        EXPECT_LT((logits - expected).abs().max().item<double>(), 1e-4) << input.size() << " tokens";
    }
}
TEST(PretrainedLoader, LlamaDirectoryMatchesTransformers) {
    torch::NoGradGuard ng;
    const auto lm = loadPretrainedLm(kGolden + "tiny-qwen2");
    EXPECT_EQ(lm.architecture, "qwen2");
    const auto c = readJson(kGolden + "tiny-qwen2.json")["cases"].back();
    const auto logits = lm.lm->logits(lm.lm->hiddenStates(ids(c["ids"].get<std::vector<std::int64_t>>()))).squeeze(0);
    EXPECT_LT((logits - matrix(c["logits"])).abs().max().item<double>(), 1e-4);
}
TEST(PretrainedLoader, PickleOnlyDirectoryIsRefused) {
    const fs::path dir = fs::temp_directory_path() / "larimar-pickle-only";
    fs::create_directories(dir);
    fs::copy_file(kGolden + "tiny-gpt2/config.json", dir / "config.json", fs::copy_options::overwrite_existing);
    std::ofstream(dir / "pytorch_model.bin") << "not loaded";
    try {
        loadPretrainedLm(dir.string());
        ADD_FAILURE() << "accepted";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("pickle"), std::string::npos) << e.what();
    }
    fs::remove_all(dir);
}
} // namespace

// What a user does: import the fetched SmolLM2 GGUF, load the directory like `--model DIR`,
// and ask it a question.
#include "core/model/pretrained.h"
#include "core/model/text_model.h"
namespace {
TEST(ImportModel, SmolLm2GgufBecomesADirectoryThatAnswersParis) {
    if (!fs::exists(kSmolLm)) GTEST_SKIP() << kSmolLm << " is missing: run models/fetch-assets.sh";
    const fs::path dst = fs::temp_directory_path() / ("larimar-import-" + std::to_string(::getpid()));
    fs::remove_all(dst);
    const ImportResult r = importModel(kSmolLm, dst.string(), {});
    EXPECT_EQ(r.architecture, "llama");
    EXPECT_GT(r.parameters, 130'000'000);
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "LICENSE"}) EXPECT_TRUE(fs::exists(dst / f)) << f;
    EXPECT_THROW(importModel(kSmolLm, dst.string(), {}), UserError) << "an existing destination needs force";
    EXPECT_FALSE(fs::exists(dst.string() + ".import-tmp"));
    ASSERT_TRUE(isPretrainedModel(dst.string()));
    auto model = loadTextModel(dst.string());
    DecodeSettings s;
    s.maxNewTokens = 4;
    EXPECT_EQ(model->generate("The capital of France is", std::nullopt, s).text.substr(0, 6), " Paris");
    EXPECT_THROW(model->encode({"The Eiffel Tower is located in Rome."}), UserError) << "a plain LM cannot write facts";
    EXPECT_LT(model->score("The capital of France is", " Rome", std::nullopt),
              model->score("The capital of France is", " Paris", std::nullopt));
    fs::remove_all(dst);
}
} // namespace
