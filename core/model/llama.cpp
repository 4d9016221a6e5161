#include "core/model/llama.h"

#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>
#include <string>

namespace larimar {
namespace {

constexpr double kMasked = -1e9; // exp(-1e9 - max) is exactly 0 in float; -inf would give NaN rows

std::shared_ptr<torch::nn::Module> child(torch::nn::Module& parent, const std::string& name) {
    return parent.register_module(name, std::make_shared<torch::nn::Module>());
}
torch::Tensor param(torch::nn::Module& m, const std::string& name, std::vector<int64_t> shape) {
    return m.register_parameter(name, torch::zeros(shape), /*requires_grad=*/false);
}

/// y = x W^T (+ b), W [out, in]. A single row goes through gemv: OpenBLAS's gemm with one row
/// is several times slower than its gemv, and decoding runs one row at a time.
torch::Tensor project(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b = {}) {
    if (x.numel() == x.size(-1)) {
        auto sizes = x.sizes().vec();
        sizes.back() = w.size(0);
        auto y = b.defined() ? torch::addmv(b, w, x.reshape({-1})) : torch::mv(w, x.reshape({-1}));
        return y.view(sizes);
    }
    return b.defined() ? torch::linear(x, w, b) : torch::linear(x, w);
}

torch::Tensor rotateHalf(const torch::Tensor& x) {
    const int64_t half = x.size(-1) / 2;
    return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// Config readers: a field's absence gives the default only where HF has one.
const nlohmann::json* field(const nlohmann::json& j, const char* name) {
    auto it = j.find(name);
    return it == j.end() || it->is_null() ? nullptr : &*it;
}
int intField(const nlohmann::json& j, const char* name, const std::string& source, std::int64_t lo, std::int64_t hi,
             const int* fallback = nullptr) {
    const auto* v = field(j, name);
    if (!v) {
        if (fallback) return *fallback;
        throw UserError(source + ": config field \"" + name + "\" is missing");
    }
    if (!v->is_number_integer()) throw UserError(source + ": config field \"" + name + "\" must be an integer, not " + v->dump());
    const auto x = v->get<std::int64_t>();
    if (x < lo || x > hi)
        throw UserError(source + ": config field \"" + name + "\" = " + std::to_string(x) + " is outside " +
                        std::to_string(lo) + ".." + std::to_string(hi));
    return int(x);
}
double numberField(const nlohmann::json& j, const char* name, const std::string& source, double fallback, double lo,
                   double hi) {
    const auto* v = field(j, name);
    if (!v) return fallback;
    if (!v->is_number()) throw UserError(source + ": config field \"" + name + "\" must be a number, not " + v->dump());
    const double x = v->get<double>();
    if (!(x >= lo && x <= hi))
        throw UserError(source + ": config field \"" + name + "\" = " + v->dump() + " is outside the sensible range");
    return x;
}
bool boolField(const nlohmann::json& j, const char* name, const std::string& source, bool fallback) {
    const auto* v = field(j, name);
    if (!v) return fallback;
    if (!v->is_boolean()) throw UserError(source + ": config field \"" + name + "\" must be true or false, not " + v->dump());
    return v->get<bool>();
}

} // namespace

LlamaConfig LlamaConfig::fromHfConfig(const nlohmann::json& j, const std::string& source) {
    if (!j.is_object()) throw UserError(source + ": config.json is not a JSON object");
    LlamaConfig c;
    const auto* type = field(j, "model_type");
    if (!type || !type->is_string()) throw UserError(source + ": config field \"model_type\" is missing");
    c.architecture = type->get<std::string>();
    if (c.architecture != "llama" && c.architecture != "qwen2")
        throw UserError(source + ": model_type \"" + c.architecture + "\" is not a Llama-family model (llama, qwen2)");
    c.vocab = intField(j, "vocab_size", source, 1, 1 << 22);
    c.hidden = intField(j, "hidden_size", source, 1, 1 << 16);
    c.intermediate = intField(j, "intermediate_size", source, 1, 1 << 18);
    c.layers = intField(j, "num_hidden_layers", source, 1, 1024);
    c.heads = intField(j, "num_attention_heads", source, 1, 1024);
    c.kvHeads = intField(j, "num_key_value_heads", source, 1, 1024, &c.heads);
    if (c.heads % c.kvHeads != 0)
        throw UserError(source + ": num_attention_heads = " + std::to_string(c.heads) +
                        " is not a multiple of num_key_value_heads = " + std::to_string(c.kvHeads));
    const int defaultHeadDim = c.hidden / c.heads;
    c.headDim = intField(j, "head_dim", source, 2, 1 << 12, &defaultHeadDim);
    if (c.headDim % 2 != 0 || (!field(j, "head_dim") && c.hidden % c.heads != 0))
        throw UserError(source + ": the head size (hidden_size / num_attention_heads or head_dim) must be even and whole");
    const int defaultPositions = 2048;
    c.maxPositions = intField(j, "max_position_embeddings", source, 1, 1 << 24, &defaultPositions);
    c.rmsEps = numberField(j, "rms_norm_eps", source, 1e-6, 0.0, 1.0);
    double theta = 10000.0;
    if (const auto* rp = field(j, "rope_parameters"); rp && rp->is_object())
        theta = numberField(*rp, "rope_theta", source, theta, 1.0, 1e12);
    c.ropeTheta = numberField(j, "rope_theta", source, theta, 1.0, 1e12);
    const nlohmann::json* scaling = field(j, "rope_scaling");
    if (!scaling) {
        // transformers 5 keeps the scaling in rope_parameters.
        if (const auto* rp = field(j, "rope_parameters"); rp && rp->is_object()) scaling = rp;
    }
    if (scaling) {
        if (!scaling->is_object()) throw UserError(source + ": config field \"rope_scaling\" must be an object");
        std::string kind = "default";
        for (const char* key : {"rope_type", "type"})
            if (const auto* t = field(*scaling, key); t && t->is_string()) kind = t->get<std::string>();
        if (kind == "linear") {
            c.ropeScaling = "linear";
            c.ropeFactor = numberField(*scaling, "factor", source, 1.0, 1e-3, 1e6);
        } else if (kind == "llama3") {
            c.ropeScaling = "llama3";
            c.ropeFactor = numberField(*scaling, "factor", source, 1.0, 1e-3, 1e6);
            c.ropeLowFreqFactor = numberField(*scaling, "low_freq_factor", source, 1.0, 1e-6, 1e6);
            c.ropeHighFreqFactor = numberField(*scaling, "high_freq_factor", source, 4.0, 1e-6, 1e6);
            const int defaultOriginal = 8192;
            c.ropeOriginalMaxPositions =
                intField(*scaling, "original_max_position_embeddings", source, 1, 1 << 24, &defaultOriginal);
            if (!(c.ropeHighFreqFactor > c.ropeLowFreqFactor))
                throw UserError(source + ": rope_scaling high_freq_factor must exceed low_freq_factor");
        } else if (kind != "default") {
            throw UserError(source + ": rope scaling \"" + kind + "\" is not supported (default, linear, llama3 are)");
        }
    }
    c.tieEmbeddings = boolField(j, "tie_word_embeddings", source, false);
    c.attentionBias = c.architecture == "qwen2" ? true : boolField(j, "attention_bias", source, false);
    if (c.architecture == "llama" && boolField(j, "mlp_bias", source, false))
        throw UserError(source + ": mlp_bias = true is not supported");
    if (c.architecture == "qwen2" && boolField(j, "use_sliding_window", source, false))
        throw UserError(source + ": Qwen2's sliding-window attention is not supported");
    if (const auto* act = field(j, "hidden_act"); act && act->is_string() && act->get<std::string>() != "silu")
        throw UserError(source + ": hidden_act \"" + act->get<std::string>() + "\" is not supported (silu is)");
    return c;
}

nlohmann::json LlamaConfig::toHfConfig() const {
    nlohmann::json j;
    j["model_type"] = architecture;
    j["architectures"] = {architecture == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"};
    j["vocab_size"] = vocab;
    j["hidden_size"] = hidden;
    j["intermediate_size"] = intermediate;
    j["num_hidden_layers"] = layers;
    j["num_attention_heads"] = heads;
    j["num_key_value_heads"] = kvHeads;
    j["head_dim"] = headDim;
    j["max_position_embeddings"] = maxPositions;
    j["rms_norm_eps"] = rmsEps;
    j["rope_theta"] = ropeTheta;
    if (ropeScaling == "linear") {
        j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", ropeFactor}};
    } else if (ropeScaling == "llama3") {
        j["rope_scaling"] = {{"rope_type", "llama3"},
                             {"factor", ropeFactor},
                             {"low_freq_factor", ropeLowFreqFactor},
                             {"high_freq_factor", ropeHighFreqFactor},
                             {"original_max_position_embeddings", ropeOriginalMaxPositions}};
    }
    j["tie_word_embeddings"] = tieEmbeddings;
    if (architecture == "llama") j["attention_bias"] = attentionBias;
    j["hidden_act"] = "silu";
    j["torch_dtype"] = "float32";
    return j;
}

std::int64_t LlamaConfig::parameterCount() const {
    const std::int64_t h = hidden, q = std::int64_t(heads) * headDim, kv = std::int64_t(kvHeads) * headDim;
    std::int64_t perLayer = 2 * h + h * q + 2 * h * kv + q * h + 3 * h * intermediate;
    if (attentionBias) perLayer += q + 2 * kv;
    return std::int64_t(vocab) * h * (tieEmbeddings ? 1 : 2) + h + perLayer * layers;
}

struct LlamaLayer : torch::nn::Module {
    explicit LlamaLayer(const LlamaConfig& c)
        : heads(c.heads), kvHeads(c.kvHeads), headDim(c.headDim), eps(c.rmsEps) {
        const int64_t h = c.hidden, q = int64_t(c.heads) * c.headDim, kv = int64_t(c.kvHeads) * c.headDim;
        inputNorm = param(*child(*this, "input_layernorm"), "weight", {h});
        auto attn = child(*this, "self_attn");
        auto qp = child(*attn, "q_proj"), kp = child(*attn, "k_proj"), vp = child(*attn, "v_proj");
        qW = param(*qp, "weight", {q, h});
        kW = param(*kp, "weight", {kv, h});
        vW = param(*vp, "weight", {kv, h});
        if (c.attentionBias) {
            qB = param(*qp, "bias", {q});
            kB = param(*kp, "bias", {kv});
            vB = param(*vp, "bias", {kv});
        }
        oW = param(*child(*attn, "o_proj"), "weight", {h, q});
        postNorm = param(*child(*this, "post_attention_layernorm"), "weight", {h});
        auto mlp = child(*this, "mlp");
        gateW = param(*child(*mlp, "gate_proj"), "weight", {c.intermediate, h});
        upW = param(*child(*mlp, "up_proj"), "weight", {c.intermediate, h});
        downW = param(*child(*mlp, "down_proj"), "weight", {h, c.intermediate});
    }

    torch::Tensor rmsNorm(const torch::Tensor& x, const torch::Tensor& w) const {
        return x * torch::rsqrt(x.pow(2).mean(-1, true) + eps) * w;
    }

    /// q [B, heads, T, hd], k and v [B, kv, T, hd] of x [B, T, H], rotated with cos/sin
    /// ([T, hd] or [B, T, hd]).
    std::vector<torch::Tensor> qkv(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) const {
        const auto b = x.size(0), t = x.size(1);
        const auto n = rmsNorm(x, inputNorm);
        auto q = project(n, qW, qB).view({b, t, heads, headDim}).transpose(1, 2);
        auto k = project(n, kW, kB).view({b, t, kvHeads, headDim}).transpose(1, 2);
        auto v = project(n, vW, vB).view({b, t, kvHeads, headDim}).transpose(1, 2);
        const auto c = cos.dim() == 2 ? cos.view({1, 1, t, headDim}) : cos.unsqueeze(1);
        const auto s = sin.dim() == 2 ? sin.view({1, 1, t, headDim}) : sin.unsqueeze(1);
        q = q * c + rotateHalf(q) * s;
        k = k * c + rotateHalf(k) * s;
        return {q, k, v};
    }

    /// The rest of the block given queries [B, heads, T, hd] and the keys/values [B, kv, S, hd]
    /// they attend to; mask broadcastable to [B, 1, 1, T, S] (true: hidden) or undefined.
    torch::Tensor finish(const torch::Tensor& x, const torch::Tensor& q, const torch::Tensor& k,
                         const torch::Tensor& v, const torch::Tensor& mask) const {
        const auto b = x.size(0), t = x.size(1), s = k.size(2);
        const int64_t groups = heads / kvHeads;
        // Query heads of one kv head side by side: [B, kv, groups * T, hd] against [B, kv, S, hd].
        const auto qg = q.reshape({b, kvHeads, groups * t, headDim});
        auto scores = torch::matmul(qg, k.transpose(-1, -2)) * (1.0 / std::sqrt(double(headDim)));
        if (mask.defined()) scores = scores.view({b, kvHeads, groups, t, s}).masked_fill(mask, kMasked).view({b, kvHeads, groups * t, s});
        const auto ctx = torch::matmul(torch::softmax(scores, -1), v) // [B, kv, groups * T, hd]
                             .view({b, heads, t, headDim})
                             .transpose(1, 2)
                             .reshape({b, t, heads * headDim});
        const auto a = x + project(ctx, oW);
        const auto n = rmsNorm(a, postNorm);
        return a + project(torch::silu(project(n, gateW)) * project(n, upW), downW);
    }

    int64_t heads, kvHeads, headDim;
    double eps;
    torch::Tensor inputNorm, qW, kW, vW, qB, kB, vB, oW, postNorm, gateW, upW, downW;
};

LlamaImpl::LlamaImpl(const LlamaConfig& c) : m_config(c) {
    if (c.vocab <= 0 || c.hidden <= 0 || c.layers <= 0 || c.heads <= 0 || c.kvHeads <= 0 || c.heads % c.kvHeads != 0 ||
        c.headDim <= 0 || c.headDim % 2 != 0 || c.intermediate <= 0 || c.maxPositions <= 0)
        throw UserError("llama: invalid config (sizes must be positive, heads a multiple of kv heads, head_dim even)");
    auto model = child(*this, "model");
    m_embed = param(*child(*model, "embed_tokens"), "weight", {c.vocab, c.hidden});
    auto list = model->register_module("layers", torch::nn::ModuleList());
    for (int i = 0; i < c.layers; ++i) {
        m_layers.push_back(std::make_shared<LlamaLayer>(c));
        list->push_back(m_layers.back());
    }
    m_norm = param(*child(*model, "norm"), "weight", {c.hidden});
    if (!c.tieEmbeddings) m_lmHead = param(*child(*this, "lm_head"), "weight", {c.vocab, c.hidden});

    // inv_freq, as transformers' ROPE_INIT_FUNCTIONS compute it (in double, then float).
    const int64_t half = c.headDim / 2;
    std::vector<float> inv(static_cast<std::size_t>(half));
    for (int64_t i = 0; i < half; ++i) {
        double f = 1.0 / std::pow(c.ropeTheta, double(2 * i) / double(c.headDim));
        if (c.ropeScaling == "linear") {
            f /= c.ropeFactor;
        } else if (c.ropeScaling == "llama3") {
            const double lowWavelen = c.ropeOriginalMaxPositions / c.ropeLowFreqFactor;
            const double highWavelen = c.ropeOriginalMaxPositions / c.ropeHighFreqFactor;
            const double wavelen = 2.0 * M_PI / f;
            if (wavelen > lowWavelen) {
                f /= c.ropeFactor;
            } else if (wavelen >= highWavelen) {
                const double smooth = (c.ropeOriginalMaxPositions / wavelen - c.ropeLowFreqFactor) /
                                      (c.ropeHighFreqFactor - c.ropeLowFreqFactor);
                f = (1.0 - smooth) * f / c.ropeFactor + smooth * f;
            }
        }
        inv[std::size_t(i)] = float(f);
    }
    m_invFreq = register_buffer("inv_freq", torch::tensor(inv));
}

void LlamaImpl::loadWeights(const std::map<std::string, torch::Tensor>& weights, const std::string& source) {
    torch::NoGradGuard ng;
    auto params = named_parameters(/*recurse=*/true);
    std::set<std::string> seen;
    std::vector<std::string> unexpected;
    for (const auto& [name, t] : weights) {
        auto* p = params.find(name);
        if (!p) {
            // A tied model's checkpoint may still carry lm_head.weight (a copy of the embedding).
            if (name == "lm_head.weight" && m_config.tieEmbeddings) continue;
            unexpected.push_back(name);
            continue;
        }
        if (t.sizes() != p->sizes())
            throw UserError(source + ": tensor " + name + " has shape " + c10::str(t.sizes()) + ", the config implies " +
                            c10::str(p->sizes()));
        if (!t.is_floating_point()) throw UserError(source + ": tensor " + name + " is not a floating-point tensor");
        p->copy_(t.to(p->device(), p->scalar_type()));
        seen.insert(name);
    }
    if (!unexpected.empty()) {
        std::string list;
        for (std::size_t i = 0; i < unexpected.size() && i < 5; ++i) list += (i ? ", " : "") + unexpected[i];
        if (unexpected.size() > 5) list += ", ... (" + std::to_string(unexpected.size()) + " in all)";
        throw UserError(source + ": tensors the " + m_config.architecture + " model does not have: " + list);
    }
    std::vector<std::string> missing;
    for (const auto& item : params)
        if (!seen.count(item.key())) missing.push_back(item.key());
    if (!missing.empty()) {
        std::string list;
        for (std::size_t i = 0; i < missing.size() && i < 5; ++i) list += (i ? ", " : "") + missing[i];
        if (missing.size() > 5) list += ", ... (" + std::to_string(missing.size()) + " in all)";
        throw UserError(source + ": missing tensors: " + list);
    }
}

std::pair<torch::Tensor, torch::Tensor> LlamaImpl::rotary(const torch::Tensor& positions) const {
    const auto freqs = positions.to(torch::kFloat).unsqueeze(-1) * m_invFreq; // [..., hd/2]
    const auto emb = torch::cat({freqs, freqs}, -1);
    return {emb.cos(), emb.sin()};
}

void LlamaImpl::checkNoLatent(const torch::Tensor& latent) const {
    if (latent.defined() && latent.numel() > 0 && latent.ne(0).any().item<bool>())
        throw UserError("this " + m_config.architecture +
                        " model is a plain language model: it has no memory conditioning to read a latent");
}

torch::Tensor LlamaImpl::hiddenStates(const torch::Tensor& idsIn, const torch::Tensor& attentionMask,
                                      const torch::Tensor& latent) {
    checkNoLatent(latent);
    return m_layers.front()->rmsNorm(layerStates(idsIn, attentionMask, m_config.layers), m_norm);
}

torch::Tensor LlamaImpl::layerStates(const torch::Tensor& idsIn, const torch::Tensor& attentionMask, int layers) {
    if (layers < 0 || layers > m_config.layers)
        throw Error("decoder: layerStates of " + std::to_string(layers) + " layers, the model has " +
                    std::to_string(m_config.layers));
    if (idsIn.dim() != 2 || idsIn.size(1) == 0)
        throw UserError("decoder: token ids must be a non-empty [batch, length] tensor");
    const auto b = idsIn.size(0), t = idsIn.size(1);
    if (t > m_config.maxPositions)
        throw UserError("decoder: " + std::to_string(t) + " tokens exceed max_position_embeddings = " +
                        std::to_string(m_config.maxPositions));
    if (attentionMask.defined() && attentionMask.sizes() != idsIn.sizes())
        throw UserError("decoder: the attention mask must have the shape of the token ids");
    const auto dev = device();
    const auto ids = idsIn.to(dev, torch::kLong);
    const auto boolOpts = torch::TensorOptions().dtype(torch::kBool).device(dev);
    torch::Tensor positions, padMask;
    if (attentionMask.defined()) {
        const auto m = attentionMask.to(dev, torch::kLong);
        positions = (m.cumsum(1) - 1).clamp_min(0); // [B, T]
        padMask = m.eq(0);
    } else {
        positions = torch::arange(t, torch::TensorOptions().dtype(torch::kLong).device(dev));
    }
    const auto [cos, sin] = rotary(positions);
    auto mask = torch::ones({t, t}, boolOpts).triu(1).view({1, 1, 1, t, t});
    if (padMask.defined()) mask = mask.logical_or(padMask.view({b, 1, 1, 1, t}));

    auto x = torch::embedding(m_embed, ids);
    for (int l = 0; l < layers; ++l) {
        const auto& layer = m_layers[size_t(l)];
        const auto qkv = layer->qkv(x, cos, sin);
        x = layer->finish(x, qkv[0], qkv[1], qkv[2], mask);
    }
    return x;
}

torch::Tensor LlamaImpl::logits(const torch::Tensor& hidden) { return project(hidden, outputHead()); }

DecoderCache LlamaImpl::startCache(int64_t batch, int64_t capacity, const torch::Tensor& latent) {
    checkNoLatent(latent);
    if (batch <= 0) throw UserError("decoder: a cache needs a positive batch size");
    if (capacity <= 0 || capacity > m_config.maxPositions)
        throw UserError("decoder: cache capacity " + std::to_string(capacity) + " must be in 1.." +
                        std::to_string(m_config.maxPositions) + " (max_position_embeddings)");
    DecoderCache cache;
    cache.capacity = capacity;
    const auto opts = m_embed.options().requires_grad(false);
    for (int64_t l = 0; l < m_config.layers; ++l) {
        cache.keys.push_back(torch::empty({batch, m_config.kvHeads, capacity, m_config.headDim}, opts));
        cache.values.push_back(torch::empty({batch, m_config.kvHeads, capacity, m_config.headDim}, opts));
    }
    return cache;
}

torch::Tensor LlamaImpl::step(const torch::Tensor& idsIn, DecoderCache& cache) {
    if (idsIn.dim() != 2 || idsIn.size(1) == 0)
        throw UserError("decoder: token ids must be a non-empty [batch, length] tensor");
    if (cache.keys.size() != m_layers.size() || idsIn.size(0) != cache.keys[0].size(0) || cache.slot != 0)
        throw UserError("decoder: the cache does not belong to this batch or model");
    const auto t = idsIn.size(1), past = cache.length;
    if (past + t > cache.capacity)
        throw UserError("decoder: " + std::to_string(past + t) + " tokens exceed the cache capacity " +
                        std::to_string(cache.capacity));
    const auto dev = device();
    const auto ids = idsIn.to(dev, torch::kLong);
    const auto longOpts = torch::TensorOptions().dtype(torch::kLong).device(dev);
    const auto [cos, sin] = rotary(torch::arange(past, past + t, longOpts));
    const int64_t total = past + t;
    torch::Tensor mask;
    if (t > 1) {
        const auto keyPos = torch::arange(total, longOpts).view({1, total});
        const auto queryPos = torch::arange(past, past + t, longOpts).view({t, 1});
        mask = keyPos.gt(queryPos).view({1, 1, 1, t, total});
    }
    auto x = torch::embedding(m_embed, ids);
    for (size_t l = 0; l < m_layers.size(); ++l) {
        auto& layer = *m_layers[l];
        const auto qkv = layer.qkv(x, cos, sin);
        cache.keys[l].narrow(2, past, t).copy_(qkv[1]);
        cache.values[l].narrow(2, past, t).copy_(qkv[2]);
        x = layer.finish(x, qkv[0], cache.keys[l].narrow(2, 0, total), cache.values[l].narrow(2, 0, total), mask);
    }
    cache.length = total;
    return m_layers.front()->rmsNorm(x, m_norm);
}

} // namespace larimar
