#include "core/model/encoder.h"

#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

namespace larimar {

namespace {
constexpr double kInitialKeyScale = 30.0; // see resetKeyMap
} // namespace

// One BERT layer with Hugging Face's module tree, so named_parameters() gives HF names:
// attention.self.{query,key,value}, attention.output.{dense,LayerNorm}, intermediate.dense,
// output.{dense,LayerNorm}.
struct BertLayer : torch::nn::Module {
    BertLayer(const EncoderConfig& c) {
        const auto h = c.hidden, i = c.intermediate;
        const auto eps = torch::nn::LayerNormOptions({h}).eps(c.layerNormEps);
        auto attention = register_module("attention", std::make_shared<torch::nn::Module>());
        auto self = attention->register_module("self", std::make_shared<torch::nn::Module>());
        query = self->register_module("query", torch::nn::Linear(h, h));
        key = self->register_module("key", torch::nn::Linear(h, h));
        value = self->register_module("value", torch::nn::Linear(h, h));
        auto attnOut = attention->register_module("output", std::make_shared<torch::nn::Module>());
        attnDense = attnOut->register_module("dense", torch::nn::Linear(h, h));
        attnNorm = attnOut->register_module("LayerNorm", torch::nn::LayerNorm(eps));
        auto inter = register_module("intermediate", std::make_shared<torch::nn::Module>());
        interDense = inter->register_module("dense", torch::nn::Linear(h, i));
        auto out = register_module("output", std::make_shared<torch::nn::Module>());
        outDense = out->register_module("dense", torch::nn::Linear(i, h));
        outNorm = out->register_module("LayerNorm", torch::nn::LayerNorm(eps));
        heads = c.heads;
        eps_ = c.layerNormEps;
    }

    // x: [B, T, H]; keyMask: [B, 1, 1, T] bool, true where the key is padding (or undefined).
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& keyMask) {
        const auto b = x.size(0), t = x.size(1), h = x.size(2), hd = h / heads;
        auto split = [&](const torch::Tensor& y) { return y.view({b, t, heads, hd}).transpose(1, 2); };
        const auto q = split(torch::linear(x, query->weight, query->bias));
        const auto k = split(torch::linear(x, key->weight, key->bias));
        const auto v = split(torch::linear(x, value->weight, value->bias));
        auto scores = torch::matmul(q, k.transpose(-1, -2)) * (1.0 / std::sqrt(double(hd)));
        if (keyMask.defined()) scores = scores.masked_fill(keyMask, -1e9);
        const auto ctx = torch::matmul(torch::softmax(scores, -1), v).transpose(1, 2).reshape({b, t, h});
        const auto a = torch::layer_norm(torch::linear(ctx, attnDense->weight, attnDense->bias) + x, {h},
                                         attnNorm->weight, attnNorm->bias, eps_);
        const auto f = torch::gelu(torch::linear(a, interDense->weight, interDense->bias));
        return torch::layer_norm(torch::linear(f, outDense->weight, outDense->bias) + a, {h}, outNorm->weight,
                                 outNorm->bias, eps_);
    }

    torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, attnDense{nullptr}, interDense{nullptr},
        outDense{nullptr};
    torch::nn::LayerNorm attnNorm{nullptr}, outNorm{nullptr};
    int64_t heads = 1;
    double eps_ = 1e-12;
};

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

std::uint64_t fnv1a(const std::string& s) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

} // namespace

std::uint64_t parameterSeed(std::uint64_t seed, const std::string& name) {
    return splitmix64(seed ^ fnv1a(name));
}

namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

void fillNormal(torch::Tensor t, double std, std::uint64_t seed) {
    // mt19937_64's output sequence is fixed by the C++ standard; Box-Muller on top of it is
    // written out here because std::normal_distribution differs between standard libraries.
    std::mt19937_64 rng(splitmix64(seed));
    const auto n = t.numel();
    std::vector<float> values(static_cast<std::size_t>(n));
    const double twoPi = 6.283185307179586;
    for (int64_t i = 0; i < n; i += 2) {
        const double u1 = (double((rng() >> 11) + 1)) * 0x1.0p-53; // (0, 1]
        const double u2 = double(rng() >> 11) * 0x1.0p-53;         // [0, 1)
        const double r = std::sqrt(-2.0 * std::log(u1));
        values[std::size_t(i)] = float(std * r * std::cos(twoPi * u2));
        if (i + 1 < n) values[std::size_t(i + 1)] = float(std * r * std::sin(twoPi * u2));
    }
    torch::NoGradGuard noGrad;
    t.copy_(torch::from_blob(values.data(), t.sizes(), torch::kFloat).to(t.dtype()));
}

EncoderImpl::EncoderImpl(const EncoderConfig& c, int latentSize, int tokenBagWidth, bool wordSlot, bool keySlot,
                         double keyGain)
    : m_config(c), m_latentSize(latentSize), m_wordSlot(wordSlot ? tokenBagWidth : 0),
      m_keySlot(keySlot ? tokenBagWidth : 0), m_keyGain(keyGain) {
    if (c.heads <= 0 || c.hidden % c.heads != 0)
        throw UserError("encoder.hidden = " + std::to_string(c.hidden) + " is not a multiple of encoder.heads = " +
                        std::to_string(c.heads));
    auto emb = register_module("embeddings", std::make_shared<torch::nn::Module>());
    m_wordEmbeddings = emb->register_module("word_embeddings", torch::nn::Embedding(c.vocab, c.hidden));
    m_positionEmbeddings = emb->register_module("position_embeddings", torch::nn::Embedding(c.maxPositions, c.hidden));
    m_tokenTypeEmbeddings = emb->register_module("token_type_embeddings", torch::nn::Embedding(c.typeVocab, c.hidden));
    m_embeddingsNorm = emb->register_module(
        "LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden}).eps(c.layerNormEps)));
    auto enc = register_module("encoder", std::make_shared<torch::nn::Module>());
    auto list = enc->register_module("layer", torch::nn::ModuleList());
    for (int i = 0; i < c.layers; ++i) {
        m_layers.push_back(std::make_shared<BertLayer>(c));
        list->push_back(m_layers.back());
    }
    auto pooler = register_module("pooler", std::make_shared<torch::nn::Module>());
    m_poolerDense = pooler->register_module("dense", torch::nn::Linear(c.hidden, c.hidden));
    m_latentHead = register_module("latent_head",
                                   torch::nn::Linear(torch::nn::LinearOptions(c.hidden, 2 * latentSize).bias(false)));
    if (c.meanPool) {
        auto head = register_module("mean_head", std::make_shared<torch::nn::Module>());
        m_meanHead = head->register_parameter("weight", torch::empty({2 * latentSize, c.hidden}));
    }
    if (c.tokenBag || wordSlot) {
        if (tokenBagWidth <= 0) throw Error("encoder: token_bag and word_slot need the decoder's hidden size");
    }
    if (c.tokenBag) {
        auto head = register_module("bag_head", std::make_shared<torch::nn::Module>());
        m_bagHead = head->register_parameter("weight", torch::empty({2 * latentSize, tokenBagWidth}));
    }
    if (wordSlot) {
        auto pointer = register_module("pointer", std::make_shared<torch::nn::Module>());
        m_pointerScore = pointer->register_parameter("score", torch::empty({1, c.hidden}));
        m_pointerEnd = pointer->register_parameter("end", torch::empty({c.maxPositions}));
    }
    if (keySlot) {
        if (!wordSlot) throw UserError("encoder: key_slot needs word_slot");
        auto pointer = register_module("key_pointer", std::make_shared<torch::nn::Module>());
        m_keyScore = pointer->register_parameter("score", torch::empty({1, c.hidden}));
        m_keyEnd = pointer->register_parameter("end", torch::empty({c.maxPositions}));
        auto map = register_module("key_map", std::make_shared<torch::nn::Module>());
        m_keyMap = map->register_parameter("weight", torch::empty({tokenBagWidth, tokenBagWidth}));
    }
}

torch::Tensor EncoderImpl::hiddenStates(const torch::Tensor& ids, const torch::Tensor& mask) {
    if (ids.dim() != 2 || ids.size(1) == 0)
        throw UserError("encoder: token ids must be a non-empty [batch, length] tensor");
    const auto b = ids.size(0), t = ids.size(1);
    if (t > m_config.maxPositions)
        throw UserError("encoder: " + std::to_string(t) + " tokens exceed encoder.max_positions = " +
                        std::to_string(m_config.maxPositions));
    if (mask.defined() && mask.sizes() != ids.sizes())
        throw UserError("encoder: the attention mask must have the shape of the token ids");
    const auto dev = m_wordEmbeddings->weight.device();
    const auto idx = ids.to(dev, torch::kLong);
    const auto positions = torch::arange(t, torch::TensorOptions().dtype(torch::kLong).device(dev));
    auto x = torch::embedding(m_wordEmbeddings->weight, idx) +
             torch::embedding(m_positionEmbeddings->weight, positions).unsqueeze(0) +
             m_tokenTypeEmbeddings->weight[0];
    x = torch::layer_norm(x, {m_config.hidden}, m_embeddingsNorm->weight, m_embeddingsNorm->bias,
                          m_config.layerNormEps);
    torch::Tensor keyMask;
    if (mask.defined()) keyMask = mask.to(dev).eq(0).view({b, 1, 1, t});
    // Small inference batches are padded (masked) to a multiple of 16 rows: OpenBLAS's sgemm
    // takes twice as long for 12 rows as for 16 (measured: a 12-token sentence 2.2 ms -> 1.3 ms).
    // Padding never changes the real tokens' states (tested), and training batches are left alone.
    const int64_t padded = (t + 15) / 16 * 16;
    const bool pad = b * t < 64 && padded != t && padded <= m_config.maxPositions && !x.requires_grad();
    if (pad) {
        x = torch::cat({x, x.new_zeros({b, padded - t, x.size(2)})}, 1);
        auto real = mask.defined() ? mask.to(dev).eq(0) : torch::zeros({b, t}, torch::TensorOptions().dtype(torch::kBool).device(dev));
        keyMask = torch::cat({real, torch::ones({b, padded - t}, real.options())}, 1).view({b, 1, 1, padded});
    }
    for (auto& layer : m_layers) x = layer->forward(x, keyMask);
    return pad ? x.narrow(1, 0, t) : x;
}

torch::Tensor EncoderImpl::pooled(const torch::Tensor& hidden) {
    return torch::tanh(torch::linear(hidden.select(1, 0), m_poolerDense->weight, m_poolerDense->bias));
}

namespace {
/// [B, T] weights that average over the real tokens of mask ([B, T], 1 real / 0 padding;
/// undefined: all real), so padding never changes a sentence's latent.
torch::Tensor realTokenWeights(const torch::Tensor& like, const torch::Tensor& mask) {
    const auto b = like.size(0), t = like.size(1);
    if (!mask.defined()) return torch::full({b, t}, 1.0 / double(t), like.options());
    const auto w = mask.to(like.device(), like.scalar_type());
    return w / w.sum(1, true).clamp_min(1.0);
}
/// x [B, T, D] weighted by w [B, T] over T.
torch::Tensor weightedTokens(const torch::Tensor& x, const torch::Tensor& w) {
    return torch::matmul(w.unsqueeze(1), x).squeeze(1);
}
} // namespace

torch::Tensor EncoderImpl::wordWeights(const torch::Tensor& hidden, const torch::Tensor& mask, bool key) {
    const torch::Tensor& score = key ? m_keyScore : m_pointerScore;
    const torch::Tensor& endBias = key ? m_keyEnd : m_pointerEnd;
    if (!score.defined()) throw Error(key ? "encoder: key weights without a key slot" : "encoder: word weights without a word slot");
    const auto b = hidden.size(0), t = hidden.size(1);
    const auto dev = hidden.device();
    const auto longOpts = torch::TensorOptions().dtype(torch::kLong).device(dev);
    auto real = mask.defined() ? mask.to(dev).ne(0) : torch::ones({b, t}, longOpts.dtype(torch::kBool));
    const auto pos = torch::arange(t, longOpts).unsqueeze(0);
    const auto len = real.to(torch::kLong).sum(1, true); // [B, 1]
    // Distance of each token from the sentence's last real token (eos for encoderTokens).
    const auto dist = (len - 1 - pos).clamp(0, m_config.maxPositions - 1);
    // bos and eos carry no word of the fact (and a bonus for eos would end generations early):
    // left out whenever a sentence has a token between them.
    const auto words = real.logical_and(len.ge(3).logical_not().logical_or(pos.gt(0).logical_and(dist.gt(0))));
    auto scores = torch::linear(hidden, score).squeeze(-1) + torch::embedding(endBias.unsqueeze(1), dist).squeeze(-1);
    scores = scores.masked_fill(words.logical_not(), -1e9);
    return torch::softmax(scores, 1);
}

LatentDistribution EncoderImpl::forward(const torch::Tensor& ids, const torch::Tensor& mask) {
    const auto hidden = hiddenStates(ids, mask);
    auto stats = torch::linear(pooled(hidden), m_latentHead->weight);
    if (m_meanHead.defined())
        stats = stats + torch::linear(weightedTokens(hidden, realTokenWeights(hidden, mask)), m_meanHead);
    // The sentence's rows of the decoder's embedding table, for the token bag and the slots.
    torch::Tensor rows;
    if (m_bagHead.defined() || m_wordSlot) {
        if (!m_tokenTable) throw Error("encoder: token_bag or word_slot without a token table (setTokenTable)");
        const torch::Tensor table = m_tokenTable();
        rows = torch::embedding(table, ids.to(table.device(), torch::kLong)); // [B, T, Hd]
    }
    if (m_bagHead.defined())
        stats = stats + torch::linear(weightedTokens(rows, realTokenWeights(rows, mask)), m_bagHead);
    auto halves = stats.chunk(2, -1);
    if (!m_wordSlot) return {halves[0], halves[1]};
    auto slots = weightedTokens(rows, wordWeights(hidden, mask, false).to(rows.device()));
    torch::Tensor keyWeights;
    if (m_keySlot) {
        keyWeights = wordWeights(hidden, mask, true);
        auto key = torch::linear(weightedTokens(rows, keyWeights.to(rows.device())), m_keyMap);
        if (m_keyGain != 1.0) key = key * m_keyGain;
        slots = torch::cat({slots, key}, 1);
    }
    slots = slots.to(halves[0].device());
    // The slots are points, not distributions: zero log-variance keeps the trainer's noise off them.
    return {torch::cat({halves[0], slots}, 1), torch::cat({halves[1], torch::zeros_like(slots)}, 1), keyWeights};
}

void EncoderImpl::initialize(std::uint64_t seed) {
    torch::NoGradGuard noGrad;
    for (auto& p : named_parameters()) {
        const auto& name = p.key();
        auto& t = p.value();
        if (endsWith(name, "LayerNorm.weight"))
            t.fill_(1.0);
        else if (name == "key_map.weight")
            continue; // resetKeyMap(), once the token table has its values
        else if (name == "pointer.end") {
            // The slot starts on the sentence's last words (where a fact's answer stands):
            // weights e^2 : e : 1 for the last, second and third last word and the rest.
            t.zero_();
            if (t.size(0) > 1) t[1] = 2.0;
            if (t.size(0) > 2) t[2] = 1.0;
        } else if (name.rfind("mean_head.", 0) == 0 || name.rfind("bag_head.", 0) == 0 || name.rfind("pointer.", 0) == 0 ||
                   name.rfind("key_pointer.", 0) == 0) // the key: a plain mean of the words to start with
            t.zero_(); // starts closed: a model gains it without any change in its latents
        else if (endsWith(name, ".bias"))
            t.zero_();
        else
            fillNormal(t, 0.02, parameterSeed(seed, "encoder." + name));
    }
}

torch::Tensor embeddingWhitening(const torch::Tensor& table) {
    torch::NoGradGuard noGrad;
    const auto e = table.detach().to(torch::kFloat);
    const auto cov = torch::matmul(e.t(), e) / double(e.size(0));
    const auto eye = torch::eye(cov.size(0), cov.options());
    const auto w = torch::linalg_inv(cov + 0.01 * cov.diagonal().mean() * eye);
    const double unit = (torch::matmul(e, w) * e).sum(1).mean().item<double>();
    return w / std::max(unit, 1e-12);
}

void EncoderImpl::resetKeyMap() {
    if (!m_keySlot) return;
    if (!m_tokenTable) throw Error("encoder: key_slot without a token table (setTokenTable)");
    torch::NoGradGuard noGrad;
    // kInitialKeyScale * L^T, L L^T the table's whitening (scaled so an average word w has
    // |L^T w| = 1): words become near-orthonormal, so two sentences' keys overlap by the words
    // they share. Measured on larimar-tb + word slot (300 CounterFact val cases, the key a plain
    // mean of the words): the memory's projection coefficient of a prompt on its fact vs a
    // neighbourhood prompt on it, by key scale s: s 0 (no key) 0.91 vs 0.70 (AUC 0.54);
    // s 10 0.94 vs 0.60 (0.77); s 30 1.00 vs 0.49 (0.93); s 100 1.04 vs 0.43 (0.997). The
    // encoder's own dimensions had |z| ~13 there.
    const auto l = torch::linalg_cholesky(embeddingWhitening(m_tokenTable()));
    m_keyMap.copy_((kInitialKeyScale * l.t()).to(m_keyMap.scalar_type()));
}

} // namespace larimar
