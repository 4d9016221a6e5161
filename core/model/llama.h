#pragma once
/// The Llama-family decoder of pretrained models (Llama 2/3, SmolLM/SmolLM2, Qwen2), as
/// Hugging Face's LlamaForCausalLM / Qwen2ForCausalLM compute it: pre-RMSNorm blocks, rotary
/// positions (HF's rotate_half form: dimension i pairs with i + head_dim/2; theta and the
/// "linear" or "llama3" scaling from the config), grouped-query attention (query head h reads
/// kv head h / (heads / kv_heads)), a SwiGLU MLP (down(silu(gate(x)) * up(x))), a final RMSNorm
/// and an output head that is the token embedding (tied) or lm_head.weight.
///
/// Parameter names are Hugging Face's, so a checkpoint loads by name:
///   model.embed_tokens.weight [V, H]
///   model.layers.N.input_layernorm.weight [H]       model.layers.N.post_attention_layernorm.weight [H]
///   model.layers.N.self_attn.q_proj.weight [heads*hd, H]   (+ .bias with attention_bias / Qwen2)
///   model.layers.N.self_attn.k_proj.weight [kv*hd, H]      (+ .bias)
///   model.layers.N.self_attn.v_proj.weight [kv*hd, H]      (+ .bias)
///   model.layers.N.self_attn.o_proj.weight [H, heads*hd]
///   model.layers.N.mlp.gate_proj.weight [I, H]  up_proj.weight [I, H]  down_proj.weight [H, I]
///   model.norm.weight [H]          lm_head.weight [V, H] (untied models only)
///
/// No latent conditioning yet: hiddenStates/startCache throw UserError for a non-zero latent.
/// Positions count from 0 at the first token (no bos is added here; see generation.h).
///
/// Thread safety: as CausalLm.
#include "core/model/causal_lm.h"

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace larimar {

struct LlamaConfig {
    std::string architecture = "llama"; ///< "llama" or "qwen2" (HF model_type)
    int vocab = 0;
    int hidden = 0;
    int intermediate = 0;
    int layers = 0;
    int heads = 0;
    int kvHeads = 0;
    int headDim = 0;        ///< hidden / heads unless the config says otherwise
    int maxPositions = 0;   ///< max_position_embeddings
    double rmsEps = 1e-6;
    double ropeTheta = 10000.0;
    std::string ropeScaling = "none"; ///< "none", "linear" or "llama3"
    double ropeFactor = 1.0;
    double ropeLowFreqFactor = 1.0;   ///< llama3 only
    double ropeHighFreqFactor = 4.0;  ///< llama3 only
    int ropeOriginalMaxPositions = 8192; ///< llama3 only
    bool tieEmbeddings = false;
    bool attentionBias = false; ///< bias on q/k/v (Qwen2 always; Llama's attention_bias)

    /// Reads a Hugging Face config.json object (LlamaConfig / Qwen2Config fields; rope_theta at
    /// the top level or in rope_parameters; rope_scaling). Throws UserError naming `source` and
    /// the field for a missing, mistyped or out-of-range value (sizes are bounded so a hostile
    /// config cannot ask for absurd allocations).
    static LlamaConfig fromHfConfig(const nlohmann::json& config, const std::string& source);
    /// The same fields back as a Hugging Face config.json object (model_type, architectures...).
    nlohmann::json toHfConfig() const;
    /// Number of parameters the config implies.
    std::int64_t parameterCount() const;
};

struct LlamaLayer; // defined in llama.cpp

class LlamaImpl : public torch::nn::Module, public CausalLm {
public:
    /// Allocates the parameters (zero; load them with loadWeights).
    explicit LlamaImpl(const LlamaConfig& config);

    /// Copies weights by Hugging Face name into the parameters (converted to float32 on the
    /// model's device). Throws UserError naming `source` for a missing tensor, a wrong shape or
    /// a tensor the model does not have (listing up to five); lm_head.weight of a tied model is
    /// accepted when it equals the embedding.
    void loadWeights(const std::map<std::string, torch::Tensor>& weights, const std::string& source);

    torch::Tensor hiddenStates(const torch::Tensor& ids, const torch::Tensor& attentionMask = {},
                               const torch::Tensor& latent = {}) override;
    torch::Tensor logits(const torch::Tensor& hidden) override;
    /// The residual stream after the first `layers` blocks (0: the embeddings), before any norm:
    /// [B, T, H]. Same inputs as hiddenStates; costs layers / config().layers of a forward pass.
    torch::Tensor layerStates(const torch::Tensor& ids, const torch::Tensor& attentionMask, int layers);
    /// logits(hiddenStates(...)): [B, T, V].
    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& attentionMask = {},
                          const torch::Tensor& latent = {}) {
        return logits(hiddenStates(ids, attentionMask, latent));
    }
    DecoderCache startCache(int64_t batch, int64_t capacity, const torch::Tensor& latent = {}) override;
    torch::Tensor step(const torch::Tensor& ids, DecoderCache& cache) override;

    int64_t vocabSize() const override { return m_config.vocab; }
    int64_t maxPositions() const override { return m_config.maxPositions; }
    torch::Device device() const override { return m_embed.device(); }
    const LlamaConfig& config() const { return m_config; }
    /// The output head [V, H] (the embedding when tied).
    const torch::Tensor& outputHead() const { return m_config.tieEmbeddings ? m_embed : m_lmHead; }
    const torch::Tensor& embedding() const { return m_embed; }

private:
    /// cos, sin [T, head_dim] for the given positions [T] (or [B, T] -> [B, T, head_dim]).
    std::pair<torch::Tensor, torch::Tensor> rotary(const torch::Tensor& positions) const;
    void checkNoLatent(const torch::Tensor& latent) const;

    LlamaConfig m_config;
    torch::Tensor m_invFreq; ///< [head_dim / 2] float, on the model's device
    torch::Tensor m_embed, m_norm, m_lmHead;
    std::vector<std::shared_ptr<LlamaLayer>> m_layers;
};
TORCH_MODULE(Llama);

} // namespace larimar
