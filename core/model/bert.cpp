#include "core/model/bert.h"

#include "core/model/safetensors.h"
#include "core/model/token_batch.h"
#include "core/model/torch_io.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>

namespace larimar {
namespace {

constexpr std::size_t kBatchSize = 32; // sentences per forward pass: bounds memory, keeps padding low

nlohmann::json readJson(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError(path + ": cannot read it");
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw UserError(path + ": not valid JSON (" + e.what() + ")");
    }
}

template <typename T>
void readField(const nlohmann::json& doc, const std::string& path, const char* key, T& out) {
    if (!doc.contains(key)) return;
    const auto& v = doc.at(key);
    if constexpr (std::is_same_v<T, double>) {
        if (!v.is_number()) throw UserError(path + ": " + key + " must be a number");
    } else {
        if (!v.is_number_integer()) throw UserError(path + ": " + key + " must be an integer");
    }
    out = v.get<T>();
}

struct Layer {
    torch::Tensor qkvW, qkvB;     // [3H, H], [3H]: query, key, value stacked
    torch::Tensor outW, outB;     // attention output dense
    torch::Tensor ln1W, ln1B;     // attention.output.LayerNorm
    torch::Tensor interW, interB; // intermediate.dense
    torch::Tensor ffW, ffB;       // output.dense
    torch::Tensor ln2W, ln2B;     // output.LayerNorm
};

} // namespace

BertConfig BertConfig::fromFile(const std::string& path) {
    const auto doc = readJson(path);
    if (!doc.is_object()) throw UserError(path + ": the top level must be a JSON object");
    BertConfig c;
    if (doc.contains("model_type") && doc["model_type"] != "bert")
        throw UserError(path + ": model_type is " + doc["model_type"].dump() + ", not \"bert\"");
    if (doc.contains("hidden_act") && doc["hidden_act"] != "gelu")
        throw UserError(path + ": hidden_act " + doc["hidden_act"].dump() + " is not supported (only \"gelu\")");
    if (doc.contains("position_embedding_type") && doc["position_embedding_type"] != "absolute")
        throw UserError(path + ": position_embedding_type " + doc["position_embedding_type"].dump() +
                        " is not supported (only \"absolute\")");
    readField(doc, path, "vocab_size", c.vocabSize);
    readField(doc, path, "hidden_size", c.hiddenSize);
    readField(doc, path, "num_hidden_layers", c.layers);
    readField(doc, path, "num_attention_heads", c.heads);
    readField(doc, path, "intermediate_size", c.intermediateSize);
    readField(doc, path, "max_position_embeddings", c.maxPositions);
    readField(doc, path, "type_vocab_size", c.typeVocabSize);
    readField(doc, path, "layer_norm_eps", c.layerNormEps);
    auto positive = [&](const char* name, std::int64_t v) {
        if (v < 1 || v > (std::int64_t{1} << 24)) throw UserError(path + ": " + name + " = " + std::to_string(v) + " is out of range");
    };
    positive("vocab_size", c.vocabSize);
    positive("hidden_size", c.hiddenSize);
    positive("num_hidden_layers", c.layers);
    positive("num_attention_heads", c.heads);
    positive("intermediate_size", c.intermediateSize);
    positive("max_position_embeddings", c.maxPositions);
    positive("type_vocab_size", c.typeVocabSize);
    if (c.hiddenSize % c.heads != 0)
        throw UserError(path + ": hidden_size " + std::to_string(c.hiddenSize) + " is not a multiple of num_attention_heads " +
                        std::to_string(c.heads));
    if (!(c.layerNormEps > 0 && c.layerNormEps < 1)) throw UserError(path + ": layer_norm_eps must be in (0, 1)");
    return c;
}

struct BertEncoder::Impl {
    BertConfig config;
    WordPieceTokenizer tokenizer;
    int maxLength = 512;
    torch::Device device = torch::kCPU;
    torch::Tensor wordEmb, posEmb, typeEmb, embLnW, embLnB;
    std::vector<Layer> layers;

    torch::Tensor forward(const BertBatch& batch) const {
        c10::InferenceMode inference;
        const auto& c = config;
        if (batch.ids.dim() != 2 || !batch.mask.defined() || batch.mask.sizes() != batch.ids.sizes())
            throw UserError("BERT: ids and mask must both be [batch, length]");
        const std::int64_t b = batch.ids.size(0), t = batch.ids.size(1);
        if (t > c.maxPositions)
            throw UserError("BERT: " + std::to_string(t) + " tokens, but the model has " + std::to_string(c.maxPositions) +
                            " positions");
        torch::Tensor ids = batch.ids.to(device, torch::kLong);
        if (b > 0 && t > 0) {
            const auto lo = ids.min().item<std::int64_t>(), hi = ids.max().item<std::int64_t>();
            if (lo < 0 || hi >= c.vocabSize)
                throw UserError("BERT: token id " + std::to_string(lo < 0 ? lo : hi) + " is outside the vocabulary (0.." +
                                std::to_string(c.vocabSize - 1) + ")");
        }
        const torch::Tensor mask = batch.mask.to(device, torch::kFloat);
        // word + position + token type 0, then LayerNorm (dropout is off at inference).
        torch::Tensor x = torch::embedding(wordEmb, ids) + posEmb.slice(0, 0, t).unsqueeze(0) + typeEmb[0];
        x = torch::layer_norm(x, {c.hiddenSize}, embLnW, embLnB, c.layerNormEps);
        // Padding keys get the lowest float added to their scores (modeling_bert's extended mask).
        const torch::Tensor bias =
            ((1.0 - mask) * std::numeric_limits<float>::lowest()).view({b, 1, 1, t});
        const std::int64_t d = c.hiddenSize / c.heads;
        const double scale = 1.0 / std::sqrt(static_cast<double>(d));
        for (const Layer& l : layers) {
            const auto qkv = torch::linear(x, l.qkvW, l.qkvB).view({b, t, 3, c.heads, d}).permute({2, 0, 3, 1, 4});
            const torch::Tensor q = qkv[0], k = qkv[1], v = qkv[2]; // [B, heads, T, d]
            torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2)).mul_(scale).add_(bias);
            const torch::Tensor probs = torch::softmax(scores, -1);
            const torch::Tensor context = torch::matmul(probs, v).permute({0, 2, 1, 3}).reshape({b, t, c.hiddenSize});
            x = torch::layer_norm(torch::linear(context, l.outW, l.outB) + x, {c.hiddenSize}, l.ln1W, l.ln1B,
                                  c.layerNormEps);
            const torch::Tensor h = torch::gelu(torch::linear(x, l.interW, l.interB));
            x = torch::layer_norm(torch::linear(h, l.ffW, l.ffB) + x, {c.hiddenSize}, l.ln2W, l.ln2B, c.layerNormEps);
        }
        return x;
    }
};

BertEncoder::BertEncoder(std::shared_ptr<const Impl> impl) : m_impl(std::move(impl)) {}
BertEncoder::~BertEncoder() = default;
BertEncoder::BertEncoder(const BertEncoder&) = default;
BertEncoder& BertEncoder::operator=(const BertEncoder&) = default;
BertEncoder::BertEncoder(BertEncoder&&) noexcept = default;
BertEncoder& BertEncoder::operator=(BertEncoder&&) noexcept = default;

BertEncoder BertEncoder::load(const std::string& dir, torch::Device device) {
    namespace fs = std::filesystem;
    const fs::path root(dir);
    for (const char* name : {"config.json", "model.safetensors", "vocab.txt"})
        if (!fs::is_regular_file(root / name))
            throw UserError((root / name).string() + ": missing (a BERT model directory needs config.json, "
                            "model.safetensors and vocab.txt; run models/fetch-assets.sh for all-MiniLM-L6-v2)");
    const BertConfig config = BertConfig::fromFile((root / "config.json").string());

    bool lowerCase = true;
    if (fs::is_regular_file(root / "tokenizer_config.json")) {
        const auto tc = readJson((root / "tokenizer_config.json").string());
        if (tc.contains("do_lower_case") && tc["do_lower_case"].is_boolean()) lowerCase = tc["do_lower_case"].get<bool>();
    }
    int maxLength = static_cast<int>(std::min<std::int64_t>(config.maxPositions, 512));
    if (fs::is_regular_file(root / "sentence_bert_config.json")) {
        const std::string p = (root / "sentence_bert_config.json").string();
        const auto sc = readJson(p);
        if (sc.contains("max_seq_length")) {
            if (!sc["max_seq_length"].is_number_integer()) throw UserError(p + ": max_seq_length must be an integer");
            const auto m = sc["max_seq_length"].get<std::int64_t>();
            if (m < 2 || m > config.maxPositions)
                throw UserError(p + ": max_seq_length " + std::to_string(m) + " must be in 2.." +
                                std::to_string(config.maxPositions) + " (max_position_embeddings)");
            maxLength = static_cast<int>(m);
        }
    }

    auto impl = std::make_shared<Impl>(Impl{config, WordPieceTokenizer::fromVocabFile((root / "vocab.txt").string(), lowerCase),
                                            maxLength, device, {}, {}, {}, {}, {}, {}});
    const std::string modelPath = (root / "model.safetensors").string();
    if (impl->tokenizer.size() != config.vocabSize)
        throw UserError((root / "vocab.txt").string() + ": " + std::to_string(impl->tokenizer.size()) +
                        " tokens, but config.json says vocab_size " + std::to_string(config.vocabSize));

    const auto file = safetensors::File::open(modelPath);
    // Hugging Face saves a bare BertModel without a prefix and BertFor* models with "bert.".
    const std::string prefix = file.contains("embeddings.word_embeddings.weight") ? ""
                               : file.contains("bert.embeddings.word_embeddings.weight")
                                   ? "bert."
                                   : throw UserError(modelPath + ": no embeddings.word_embeddings.weight (not a BERT model?)");
    auto get = [&](const std::string& name, std::vector<std::int64_t> shape) {
        const std::string full = prefix + name;
        if (!file.contains(full)) throw UserError(modelPath + ": tensor " + full + " is missing");
        const auto& view = file.get(full);
        if (view.dtype != safetensors::DType::F32 && view.dtype != safetensors::DType::F16 &&
            view.dtype != safetensors::DType::BF16)
            throw UserError(modelPath + ": tensor " + full + " is " + safetensors::dtypeName(view.dtype) +
                            ", expected F32, F16 or BF16");
        if (view.shape != shape) {
            auto str = [](const std::vector<std::int64_t>& s) {
                std::string r = "[";
                for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
                return r + "]";
            };
            throw UserError(modelPath + ": tensor " + full + " has shape " + str(view.shape) + ", config.json implies " +
                            str(shape));
        }
        return toTensor(view).to(torch::kFloat).to(device).contiguous();
    };
    const std::int64_t h = config.hiddenSize, inter = config.intermediateSize;
    impl->wordEmb = get("embeddings.word_embeddings.weight", {config.vocabSize, h});
    impl->posEmb = get("embeddings.position_embeddings.weight", {config.maxPositions, h});
    impl->typeEmb = get("embeddings.token_type_embeddings.weight", {config.typeVocabSize, h});
    impl->embLnW = get("embeddings.LayerNorm.weight", {h});
    impl->embLnB = get("embeddings.LayerNorm.bias", {h});
    for (std::int64_t i = 0; i < config.layers; ++i) {
        const std::string p = "encoder.layer." + std::to_string(i) + ".";
        Layer l;
        l.qkvW = torch::cat({get(p + "attention.self.query.weight", {h, h}), get(p + "attention.self.key.weight", {h, h}),
                             get(p + "attention.self.value.weight", {h, h})})
                     .contiguous();
        l.qkvB = torch::cat({get(p + "attention.self.query.bias", {h}), get(p + "attention.self.key.bias", {h}),
                             get(p + "attention.self.value.bias", {h})})
                     .contiguous();
        l.outW = get(p + "attention.output.dense.weight", {h, h});
        l.outB = get(p + "attention.output.dense.bias", {h});
        l.ln1W = get(p + "attention.output.LayerNorm.weight", {h});
        l.ln1B = get(p + "attention.output.LayerNorm.bias", {h});
        l.interW = get(p + "intermediate.dense.weight", {inter, h});
        l.interB = get(p + "intermediate.dense.bias", {inter});
        l.ffW = get(p + "output.dense.weight", {h, inter});
        l.ffB = get(p + "output.dense.bias", {h});
        l.ln2W = get(p + "output.LayerNorm.weight", {h});
        l.ln2B = get(p + "output.LayerNorm.bias", {h});
        impl->layers.push_back(std::move(l));
    }
    const std::string extra = prefix + "encoder.layer." + std::to_string(config.layers) + ".attention.self.query.weight";
    if (file.contains(extra))
        throw UserError(modelPath + ": has more layers than config.json's num_hidden_layers " + std::to_string(config.layers));
    return BertEncoder(std::move(impl));
}

BertBatch BertEncoder::encodeBatch(const std::vector<std::string>& sentences) const {
    const Impl& m = *m_impl;
    std::vector<std::vector<std::int32_t>> tokens;
    tokens.reserve(sentences.size());
    for (const auto& s : sentences) tokens.push_back(m.tokenizer.encode(s, static_cast<std::size_t>(m.maxLength)));
    auto [ids, mask] = rightPaddedBatch(tokens, m.tokenizer.padId(), 0);
    return BertBatch{ids, mask};
}

torch::Tensor BertEncoder::forward(const BertBatch& batch) const { return m_impl->forward(batch); }

torch::Tensor BertEncoder::meanPoolNormalize(const torch::Tensor& hidden, const torch::Tensor& mask) {
    c10::InferenceMode inference;
    const torch::Tensor m = mask.to(hidden.device(), hidden.scalar_type()).unsqueeze(-1);
    const torch::Tensor sum = (hidden * m).sum(1);
    const torch::Tensor count = m.sum(1).clamp_min(1e-9);
    const torch::Tensor mean = sum / count;
    return mean / mean.norm(2, -1, true).clamp_min(1e-12);
}

std::vector<std::vector<float>> BertEncoder::embed(const std::vector<std::string>& sentences) const {
    const Impl& m = *m_impl;
    // Tokenise once to sort by length: every row is padded to the longest in its batch.
    std::vector<std::size_t> lengths(sentences.size());
    for (std::size_t i = 0; i < sentences.size(); ++i)
        lengths[i] = m.tokenizer.encode(sentences[i], static_cast<std::size_t>(m.maxLength)).size();
    std::vector<std::size_t> order(sentences.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return lengths[a] < lengths[b]; });
    std::vector<std::vector<float>> result(sentences.size());
    const auto dim = static_cast<std::size_t>(m.config.hiddenSize);
    for (std::size_t start = 0; start < sentences.size(); start += kBatchSize) {
        const std::size_t end = std::min(sentences.size(), start + kBatchSize);
        std::vector<std::string> texts;
        for (std::size_t i = start; i < end; ++i) texts.push_back(sentences[order[i]]);
        const BertBatch batch = encodeBatch(texts);
        const torch::Tensor pooled = meanPoolNormalize(forward(batch), batch.mask).to(torch::kCPU).contiguous();
        const float* p = pooled.data_ptr<float>();
        for (std::size_t i = 0; i < end - start; ++i) result[order[start + i]].assign(p + i * dim, p + (i + 1) * dim);
    }
    return result;
}

int BertEncoder::dimension() const { return static_cast<int>(m_impl->config.hiddenSize); }
int BertEncoder::maxSequenceLength() const { return m_impl->maxLength; }
const BertConfig& BertEncoder::config() const { return m_impl->config; }
const WordPieceTokenizer& BertEncoder::tokenizer() const { return m_impl->tokenizer; }
torch::Device BertEncoder::device() const { return m_impl->device; }

} // namespace larimar
