#include "core/model/decoder.h"

#include "core/model/encoder.h" // fillNormal, parameterSeed
#include "core/util/error.h"

#include <cmath>
#include <string>

namespace larimar {
namespace {

// A module that only holds parameters (HF's Conv1D, LayerNorm, Embedding, bias-free Linear):
// keeps the Hugging Face module tree, so named_parameters() gives HF names.
std::shared_ptr<torch::nn::Module> paramModule(torch::nn::Module& parent, const std::string& name,
                                               std::vector<int64_t> weightShape, std::vector<int64_t> biasShape,
                                               torch::Tensor* weight, torch::Tensor* bias) {
    auto m = parent.register_module(name, std::make_shared<torch::nn::Module>());
    *weight = m->register_parameter("weight", torch::empty(weightShape));
    if (bias) *bias = m->register_parameter("bias", torch::empty(biasShape));
    return m;
}

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A word the slot holds exactly (copy_map whitened) starts with a bonus of 16 * 1/2 (the gate)
// = 8 nats at a full read: enough for
// the memory's word to be heard at once. Adam moves a scalar only about lr per step, so a scale
// that started at 0 would take tens of thousands of steps to open.
constexpr double kInitialCopyScale = 16.0;
// copy_norm's weight is used times this: the gate's response to |slot|_M (about 0.3 to 0.5) must
// reach several units, and even at slot_lr_factor a scalar moves only ~0.01 per step.
constexpr double kCopyNormScale = 10.0;
constexpr double kMasked = -1e9; // exp(-1e9 - max) is exactly 0 in float; -inf would give NaN rows

} // namespace

struct GptBlock : torch::nn::Module {
    GptBlock(const DecoderConfig& c) : hidden(c.hidden), heads(c.heads), eps(c.layerNormEps) {
        const int64_t h = c.hidden, i = c.intermediate;
        paramModule(*this, "ln_1", {h}, {h}, &ln1W, &ln1B);
        auto attn = register_module("attn", std::make_shared<torch::nn::Module>());
        paramModule(*attn, "c_attn", {h, 3 * h}, {3 * h}, &attnW, &attnB);
        paramModule(*attn, "c_proj", {h, h}, {h}, &attnProjW, &attnProjB);
        paramModule(*this, "ln_2", {h}, {h}, &ln2W, &ln2B);
        auto mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
        paramModule(*mlp, "c_fc", {h, i}, {i}, &fcW, &fcB);
        paramModule(*mlp, "c_proj", {i, h}, {h}, &mlpProjW, &mlpProjB);
    }

    // Conv1D: y = x W + b with W [in, out]. A single row (incremental decoding at batch 1) goes
    // through gemv: OpenBLAS's gemm with one row is 4-5x slower than its gemv.
    static torch::Tensor conv1d(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
        auto sizes = x.sizes().vec();
        sizes.back() = w.size(1);
        if (x.numel() == x.size(-1)) return torch::addmv(b, w.t(), x.reshape({-1})).view(sizes);
        return torch::addmm(b, x.reshape({-1, x.size(-1)}), w).view(sizes);
    }

    // q, k, v of x [B, T, H], each [B, heads, T, head_dim].
    std::vector<torch::Tensor> qkv(const torch::Tensor& x) const {
        const auto b = x.size(0), t = x.size(1);
        const auto y = conv1d(torch::layer_norm(x, {hidden}, ln1W, ln1B, eps), attnW, attnB)
                           .view({b, t, 3, heads, hidden / heads});
        return {y.select(2, 0).transpose(1, 2), y.select(2, 1).transpose(1, 2), y.select(2, 2).transpose(1, 2)};
    }

    // The rest of the block, given the queries and all keys/values they attend to.
    // mask: broadcastable to [B, heads, T, S], true where a key is hidden; or undefined.
    torch::Tensor finish(const torch::Tensor& x, const torch::Tensor& q, const torch::Tensor& k,
                         const torch::Tensor& v, const torch::Tensor& mask) const {
        const auto b = x.size(0), t = x.size(1);
        auto scores = torch::matmul(q, k.transpose(-1, -2)) * (1.0 / std::sqrt(double(hidden / heads)));
        if (mask.defined()) scores = scores.masked_fill(mask, kMasked);
        const auto ctx = torch::matmul(torch::softmax(scores, -1), v).transpose(1, 2).reshape({b, t, hidden});
        const auto a = x + conv1d(ctx, attnProjW, attnProjB);
        const auto f = torch::gelu(conv1d(torch::layer_norm(a, {hidden}, ln2W, ln2B, eps), fcW, fcB), "tanh");
        return a + conv1d(f, mlpProjW, mlpProjB);
    }

    int64_t hidden, heads;
    double eps;
    torch::Tensor ln1W, ln1B, attnW, attnB, attnProjW, attnProjB, ln2W, ln2B, fcW, fcB, mlpProjW, mlpProjB;
};

DecoderImpl::DecoderImpl(const DecoderConfig& c, int latentSize, bool wordSlot, bool keySlot)
    : m_config(c), m_latentSize(latentSize), m_wordSlot(wordSlot), m_keySlot(keySlot) {
    if (c.heads <= 0 || c.hidden % c.heads != 0)
        throw UserError("decoder.hidden = " + std::to_string(c.hidden) + " is not a multiple of decoder.heads = " +
                        std::to_string(c.heads));
    const int64_t h = c.hidden;
    auto tr = register_module("transformer", std::make_shared<torch::nn::Module>());
    paramModule(*tr, "wte", {c.vocab, h}, {}, &m_wte, nullptr);
    paramModule(*tr, "wpe", {c.maxPositions, h}, {}, &m_wpe, nullptr);
    auto list = tr->register_module("h", torch::nn::ModuleList());
    for (int i = 0; i < c.layers; ++i) {
        m_blocks.push_back(std::make_shared<GptBlock>(c));
        list->push_back(m_blocks.back());
    }
    paramModule(*tr, "ln_f", {h}, {h}, &m_lnfWeight, &m_lnfBias);
    paramModule(*tr, "linear", {h * c.layers, latentSize}, {}, &m_latentKv, nullptr);
    paramModule(*tr, "linear_emb", {h, latentSize}, {}, &m_latentEmb, nullptr);
    if (c.latentOutput) {
        paramModule(*tr, "linear_out", {h, latentSize}, {}, &m_latentOut, nullptr);
        paramModule(*tr, "out_gate", {1, h}, {1}, &m_outGateW, &m_outGateB);
    }
    if (wordSlot) {
        paramModule(*tr, "copy_gate", {1, h}, {1}, &m_copyGateW, &m_copyGateB);
        paramModule(*tr, "copy_scale", {1}, {}, &m_copyScale, nullptr);
        paramModule(*tr, "copy_map", {h, h}, {}, &m_copyMap, nullptr);
        paramModule(*tr, "copy_norm", {1}, {}, &m_copyNorm, nullptr);
    }
}

torch::Tensor DecoderImpl::finalNorm(const torch::Tensor& x, const torch::Tensor& latentOutput,
                                     const torch::Tensor& latentWords) const {
    const auto h = torch::layer_norm(x, {m_config.hidden}, m_lnfWeight, m_lnfBias, m_config.layerNormEps);
    auto out = h;
    // h + sigmoid(gate . h + b) * linear_out(z): the token's own state decides how much of the
    // latent it takes; the tied lm_head then turns that into a bias over the vocabulary.
    if (latentOutput.defined()) out = out + torch::sigmoid(torch::linear(h, m_outGateW, m_outGateB)) * latentOutput;
    if (latentWords.defined()) {
        const auto mapped = torch::linear(latentWords, m_copyMap); // [B, 1, H]
        // How much of a word the memory read back, |slot|_M: a query the fact is about reads
        // more of it than a neighbour does (projection coefficient ~1 vs ~0.5), so the gate can
        // open for the one and stay shut for the other, which a bonus linear in the read cannot.
        const auto held = (mapped * latentWords).sum(-1, true).clamp_min(0).add(1e-12).sqrt();
        const auto gate = torch::sigmoid(torch::linear(h, m_copyGateW, m_copyGateB) + kCopyNormScale * m_copyNorm * held);
        out = out + gate * m_copyScale * mapped;
    }
    return out;
}

DecoderImpl::Latent DecoderImpl::prepareLatent(const torch::Tensor& latentIn, int64_t batch) {
    Latent out;
    if (!latentIn.defined()) return out;
    auto z = latentIn.to(m_wte.device(), m_wte.scalar_type());
    if (z.dim() == 1) z = z.unsqueeze(0);
    const int64_t width = latentSize();
    if (z.dim() != 2 || z.size(1) != width || (z.size(0) != batch && z.size(0) != 1))
        throw UserError("decoder: latent has shape " + std::string(c10::str(z.sizes())) + ", expected [" +
                        std::to_string(batch) + ", " + std::to_string(width) + "]");
    if (z.size(0) != batch) z = z.expand({batch, width});
    const auto has = z.ne(0).any(1); // [B]: rows with a latent
    if (!has.any().item<bool>()) return out; // all zero: the plain LM code path
    if (!has.all().item<bool>()) out.slotMasked = has.logical_not().view({batch, 1, 1, 1});
    if (m_wordSlot) {
        out.words = z.narrow(1, m_latentSize, m_config.hidden).unsqueeze(1);
        z = z.narrow(1, 0, m_latentSize);
    }
    const int64_t heads = m_config.heads, hd = m_config.hidden / heads;
    // Optimus: split(linear(z), H) per layer, then heads split like a key: [B, heads, 1, hd].
    const auto kv = torch::linear(z, m_latentKv).view({batch, m_config.layers, heads, hd});
    for (int64_t l = 0; l < m_config.layers; ++l) out.slots.push_back(kv.select(1, l).unsqueeze(2));
    out.embedding = torch::linear(z, m_latentEmb).unsqueeze(1);
    if (m_config.latentOutput) out.output = torch::linear(z, m_latentOut).unsqueeze(1);
    return out;
}

torch::Tensor DecoderImpl::embed(const torch::Tensor& ids, const torch::Tensor& positions, const Latent& latent) {
    auto x = torch::embedding(m_wte, ids) + torch::embedding(m_wpe, positions);
    if (latent.embedding.defined()) x = x + latent.embedding;
    return x;
}

torch::Tensor DecoderImpl::hiddenStates(const torch::Tensor& idsIn, const torch::Tensor& attentionMask,
                                        const torch::Tensor& latentIn) {
    if (idsIn.dim() != 2 || idsIn.size(1) == 0)
        throw UserError("decoder: token ids must be a non-empty [batch, length] tensor");
    const auto b = idsIn.size(0), t = idsIn.size(1);
    if (t > m_config.maxPositions)
        throw UserError("decoder: " + std::to_string(t) + " tokens exceed decoder.max_positions = " +
                        std::to_string(m_config.maxPositions));
    if (attentionMask.defined() && attentionMask.sizes() != idsIn.sizes())
        throw UserError("decoder: the attention mask must have the shape of the token ids");
    const auto dev = m_wte.device();
    const auto ids = idsIn.to(dev, torch::kLong);
    const auto longOpts = torch::TensorOptions().dtype(torch::kLong).device(dev);
    const auto boolOpts = torch::TensorOptions().dtype(torch::kBool).device(dev);

    const Latent latent = prepareLatent(latentIn, b);
    const int64_t slot = latent.slots.empty() ? 0 : 1;

    torch::Tensor positions, padMask;
    if (attentionMask.defined()) {
        const auto m = attentionMask.to(dev, torch::kLong);
        positions = (m.cumsum(1) - 1).clamp_min(0);
        padMask = m.eq(0); // [B, T]
    } else {
        positions = torch::arange(t, longOpts).unsqueeze(0);
    }
    auto x = embed(ids, positions, latent);

    // mask [B or 1, 1, T, slot + T]: causal over tokens, padding keys, slot of latent-less rows.
    auto mask = torch::ones({t, t}, boolOpts).triu(1);
    if (slot) mask = torch::cat({torch::zeros({t, 1}, boolOpts), mask}, 1);
    mask = mask.view({1, 1, t, slot + t});
    if (padMask.defined()) {
        auto keys = padMask;
        if (slot) keys = torch::cat({torch::zeros({b, 1}, boolOpts), keys}, 1);
        mask = mask.logical_or(keys.view({b, 1, 1, slot + t}));
    }
    if (latent.slotMasked.defined()) {
        auto slotCol = torch::zeros({1, 1, 1, slot + t}, boolOpts);
        slotCol.select(3, 0).fill_(true);
        mask = mask.logical_or(slotCol.logical_and(latent.slotMasked));
    }

    for (size_t l = 0; l < m_blocks.size(); ++l) {
        auto& block = *m_blocks[l];
        auto qkv = block.qkv(x);
        auto k = qkv[1], v = qkv[2];
        if (slot) {
            k = torch::cat({latent.slots[l], k}, 2);
            v = torch::cat({latent.slots[l], v}, 2);
        }
        x = block.finish(x, qkv[0], k, v, mask);
    }
    return finalNorm(x, latent.output, latent.words);
}

torch::Tensor DecoderImpl::forward(const torch::Tensor& ids, const torch::Tensor& attentionMask,
                                   const torch::Tensor& latent) {
    return logits(hiddenStates(ids, attentionMask, latent));
}

torch::Tensor DecoderImpl::latentWordLogits(const torch::Tensor& latent) {
    if (!m_config.latentOutput) throw UserError("decoder: the latent output path needs decoder.latent_output");
    return torch::linear(torch::linear(latent.to(m_wte.device(), m_wte.scalar_type()).narrow(-1, 0, m_latentSize), m_latentOut), m_wte);
}

torch::Tensor DecoderImpl::logits(const torch::Tensor& hidden) {
    // One row: gemv, 2.5x faster than gemm's single-row path for the [V, H] product (see conv1d).
    if (hidden.numel() == hidden.size(-1)) {
        auto sizes = hidden.sizes().vec();
        sizes.back() = m_wte.size(0);
        return torch::mv(m_wte, hidden.reshape({-1})).view(sizes);
    }
    return torch::linear(hidden, m_wte);
}

DecoderCache DecoderImpl::startCache(int64_t batch, int64_t capacity, const torch::Tensor& latentIn) {
    if (batch <= 0) throw UserError("decoder: a cache needs a positive batch size");
    if (capacity <= 0 || capacity > m_config.maxPositions)
        throw UserError("decoder: cache capacity " + std::to_string(capacity) + " must be in 1.." +
                        std::to_string(m_config.maxPositions) + " (decoder.max_positions)");
    const Latent latent = prepareLatent(latentIn, batch);
    DecoderCache cache;
    cache.capacity = capacity;
    cache.slot = latent.slots.empty() ? 0 : 1;
    cache.slotMasked = latent.slotMasked;
    cache.latentEmbedding = latent.embedding;
    cache.latentOutput = latent.output;
    cache.latentWords = latent.words;
    const int64_t heads = m_config.heads, hd = m_config.hidden / heads;
    const auto opts = m_wte.options().requires_grad(false);
    for (int64_t l = 0; l < m_config.layers; ++l) {
        auto k = torch::empty({batch, heads, cache.slot + capacity, hd}, opts);
        auto v = torch::empty({batch, heads, cache.slot + capacity, hd}, opts);
        if (cache.slot) {
            k.narrow(2, 0, 1).copy_(latent.slots[size_t(l)]);
            v.narrow(2, 0, 1).copy_(latent.slots[size_t(l)]);
        }
        cache.keys.push_back(k);
        cache.values.push_back(v);
    }
    return cache;
}

torch::Tensor DecoderImpl::step(const torch::Tensor& idsIn, DecoderCache& cache) {
    if (idsIn.dim() != 2 || idsIn.size(1) == 0)
        throw UserError("decoder: token ids must be a non-empty [batch, length] tensor");
    if (cache.keys.size() != m_blocks.size() || idsIn.size(0) != cache.keys[0].size(0))
        throw UserError("decoder: the cache does not belong to this batch or model");
    const auto t = idsIn.size(1), past = cache.length, slot = cache.slot;
    if (past + t > cache.capacity)
        throw UserError("decoder: " + std::to_string(past + t) + " tokens exceed the cache capacity " +
                        std::to_string(cache.capacity) + " (decoder.max_positions = " +
                        std::to_string(m_config.maxPositions) + ")");
    const auto dev = m_wte.device();
    const auto ids = idsIn.to(dev, torch::kLong);
    const auto positions = torch::arange(past, past + t, torch::TensorOptions().dtype(torch::kLong).device(dev));
    auto x = torch::embedding(m_wte, ids) + torch::embedding(m_wpe, positions);
    if (cache.latentEmbedding.defined()) x = x + cache.latentEmbedding;

    const int64_t total = slot + past + t;
    torch::Tensor mask;
    if (t > 1 || cache.slotMasked.defined()) {
        const auto boolOpts = torch::TensorOptions().dtype(torch::kBool).device(dev);
        // key j (token j - slot) is hidden from query i (token past + i) when j - slot > past + i.
        const auto keyTok = torch::arange(total, torch::TensorOptions().dtype(torch::kLong).device(dev)) - slot;
        const auto queryTok = torch::arange(past, past + t, torch::TensorOptions().dtype(torch::kLong).device(dev));
        mask = keyTok.view({1, total}).gt(queryTok.view({t, 1})).view({1, 1, t, total});
        if (cache.slotMasked.defined()) {
            auto slotCol = torch::zeros({1, 1, 1, total}, boolOpts);
            slotCol.select(3, 0).fill_(true);
            mask = mask.logical_or(slotCol.logical_and(cache.slotMasked));
        }
    }
    for (size_t l = 0; l < m_blocks.size(); ++l) {
        auto& block = *m_blocks[l];
        auto qkv = block.qkv(x);
        cache.keys[l].narrow(2, slot + past, t).copy_(qkv[1]);
        cache.values[l].narrow(2, slot + past, t).copy_(qkv[2]);
        x = block.finish(x, qkv[0], cache.keys[l].narrow(2, 0, total), cache.values[l].narrow(2, 0, total), mask);
    }
    cache.length = past + t;
    return finalNorm(x, cache.latentOutput, cache.latentWords);
}

void DecoderImpl::initialize(std::uint64_t seed) {
    torch::NoGradGuard noGrad;
    const double projStd = 0.02 / std::sqrt(2.0 * m_config.layers);
    for (auto& p : named_parameters()) {
        const auto& name = p.key();
        auto& t = p.value();
        const bool layerNorm = name.find(".ln_") != std::string::npos;
        const bool outputPath = name.find("linear_out.") != std::string::npos || name.find("out_gate.") != std::string::npos;
        if (name.find("copy_map.") != std::string::npos)
            continue; // resetCopyMap() below, once wte has its values
        else if (name.find("copy_scale.") != std::string::npos)
            t.fill_(kInitialCopyScale);
        else if (name.find("copy_gate.") != std::string::npos || name.find("copy_norm.") != std::string::npos)
            t.zero_(); // sigmoid(0) = 1/2 everywhere until training teaches it when to copy
        else if (outputPath) // starts closed: a model gains the path without changing what it does
            t.zero_();
        else if (layerNorm && endsWith(name, ".weight"))
            t.fill_(1.0);
        else if (endsWith(name, ".bias"))
            t.zero_();
        else
            fillNormal(t, endsWith(name, "c_proj.weight") ? projStd : 0.02, parameterSeed(seed, "decoder." + name));
    }
    resetCopyMap();
}

void DecoderImpl::resetCopyMap() {
    if (!m_wordSlot) return;
    torch::NoGradGuard noGrad;
    // A plain dot product barely tells two words of one kind apart (measured on larimar-tb: the
    // new answer's margin over the old one 0.15 of a unit; whitened, 0.65).
    m_copyMap.copy_(embeddingWhitening(m_wte).to(m_copyMap.scalar_type()));
}

torch::Tensor tokenNll(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& weights) {
    if (logits.dim() != 3 || targets.sizes() != logits.sizes().slice(0, 2) || weights.sizes() != targets.sizes())
        throw UserError("tokenNll: expected logits [B, T, V] with targets and weights [B, T]");
    const auto v = logits.size(2);
    namespace F = torch::nn::functional;
    const auto nll = F::cross_entropy(logits.reshape({-1, v}).to(torch::kFloat),
                                      targets.reshape({-1}).to(logits.device(), torch::kLong),
                                      F::CrossEntropyFuncOptions().reduction(torch::kNone));
    return nll.view(targets.sizes()) * weights.to(logits.device(), torch::kFloat);
}

} // namespace larimar
