#pragma once
/// Larimar's decoder: a GPT-2 causal LM (pre-LayerNorm, GELU with the tanh approximation,
/// learned positions, lm_head tied to wte) conditioned on a latent z in R^C the way the public
/// Larimar (Optimus) code does it, both at once:
///   1. transformer.linear: Linear(C -> H*L, no bias), split per layer into ONE extra key/value
///      slot (key = value, split into heads like any key) that every token attends to;
///   2. transformer.linear_emb: Linear(C -> H, no bias), added to every token embedding;
///   3. only with decoder.latent_output (ours, not Optimus): transformer.linear_out
///      Linear(C -> H, no bias), added after ln_f through a per-token gate
///      sigmoid(transformer.out_gate(h)) (Linear(H -> 1)). Through the tied lm_head this is a
///      vocabulary bias read straight off the latent, so a small decoder can name the answer the
///      memory holds without carrying it through every layer. Both start at zero.
///   4. only with the model's word_slot (ours): the latent's last H dimensions are words (rows of
///      wte, see ModelConfig::wordSlot), and the projections above see only the first C - H.
///      After ln_f the decoder adds copy_scale * sigmoid(copy_gate(h) + 10 copy_norm |slot|_M) *
///      copy_map(slot), |slot|_M = sqrt(slot . copy_map . slot) (how much of a word was read): through
///      the tied lm_head, each word w gets the bonus w . copy_map . slot, how close it is to what
///      the memory read back. copy_map starts as the whitening of wte (see resetCopyMap).
///
/// No latent: a row whose latent is absent or all zeros behaves exactly as the plain LM. The
/// embedding term is already zero then (no bias), but a zero key/value slot would still take
/// softmax mass (its score is 0, not -inf), so the slot is left out: if no row of the batch has
/// a non-zero latent, the slot is not built at all (the plain GPT-2 code path, bit-for-bit);
/// otherwise it is masked out for the rows whose latent is zero (equal up to float rounding).
/// Positions count from 0 at the first real token with or without a latent (Optimus shifts them
/// by one when a latent is given; we do not, so conditioning never moves the position table).
///
/// Parameter names (relative to this module; the model file prefixes them with "decoder."),
/// exactly as Hugging Face GPT-2 stores them, Conv1D weights as [in, out] (y = x W + b):
///   transformer.wte.weight [V, H]  transformer.wpe.weight [P, H]
///   transformer.h.N.ln_1.{weight,bias} [H]
///   transformer.h.N.attn.c_attn.{weight [H, 3H], bias [3H]}  transformer.h.N.attn.c_proj.{weight [H, H], bias}
///   transformer.h.N.ln_2.*  transformer.h.N.mlp.c_fc.{weight [H, I], bias [I]}
///   transformer.h.N.mlp.c_proj.{weight [I, H], bias [H]}    transformer.ln_f.*
///   transformer.linear.weight [L*H, C]   transformer.linear_emb.weight [H, C]   (torch.nn.Linear layout)
///   with latent_output: transformer.linear_out.weight [H, C], transformer.out_gate.{weight [1, H], bias [1]}
///   with word_slot: transformer.copy_gate.{weight [1, H], bias [1]}, transformer.copy_scale.weight [1],
///                   transformer.copy_map.weight [H, H], transformer.copy_norm.weight [1]
/// lm_head is wte (not stored). A Hugging Face GPT-2 checkpoint maps on by prefixing "decoder."
/// (its attn.bias / attn.masked_bias buffers are unused); the two latent projections then start
/// at zero or random.
///
/// Decoder inputs: every sequence starts with the bos token (the generation and scoring helpers
/// add it), so the first real token has a context.
///
/// Thread safety: the forward calls only read parameters (a cache belongs to one caller), so
/// concurrent calls are fine while nobody trains or loads into the same module.
#include "core/model/causal_lm.h"
#include "core/model/model_config.h"

#include <torch/torch.h>

#include <memory>
#include <vector>

namespace larimar {

struct GptBlock; // defined in decoder.cpp

class DecoderImpl : public torch::nn::Module, public CausalLm {
public:
    /// Allocates the parameters (uninitialised; see initialize()).
    /// latentSize: the latent dimensions the projections read (ModelConfig::featureSize());
    /// wordSlot: the model has a word slot (config.hidden more latent dimensions after those).
    /// keySlot: and a key slot after that (config.hidden more), which the decoder never reads.
    DecoderImpl(const DecoderConfig& config, int latentSize, bool wordSlot = false, bool keySlot = false);

    /// Batched forward for training and scoring.
    /// ids [B, T] token ids; attentionMask [B, T] 1 real / 0 padding or undefined (padding may be
    /// on either side: positions are counted over real tokens); latent [B, C], [C] or undefined.
    /// Returns logits [B, T, V] (float). Padded positions get finite, meaningless logits.
    /// Cost: ~2 * params * B * T flops plus attention; memory B * T * V floats for the logits.
    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& attentionMask = {},
                          const torch::Tensor& latent = {});

    /// As forward(), but the final hidden states [B, T, H] after ln_f (apply logits() to the rows
    /// you need; saves the B * T * V product when only some positions matter).
    torch::Tensor hiddenStates(const torch::Tensor& ids, const torch::Tensor& attentionMask = {},
                               const torch::Tensor& latent = {}) override;

    /// hidden [..., H] -> logits [..., V] with the tied embedding.
    torch::Tensor logits(const torch::Tensor& hidden) override;

    /// The latent output path alone: lm_head(linear_out(z)), latent [B, C] -> logits [B, V], what
    /// the readout adds to every position's logits when the gate is fully open (the trainer's
    /// bag-of-words term). Throws UserError unless decoder.latent_output is on.
    torch::Tensor latentWordLogits(const torch::Tensor& latent);

    /// An empty cache for batch rows (capacity tokens, at most max positions), with the latent
    /// slot built from latent ([B, C], [C] or undefined) as forward() would.
    DecoderCache startCache(int64_t batch, int64_t capacity, const torch::Tensor& latent = {}) override;

    /// Appends ids [B, T] (no padding) to the cache and returns their hidden states [B, T, H]
    /// after ln_f. Cost per token: ~2 * params flops + attention over the cache.
    /// Throws UserError when the cache would overflow.
    torch::Tensor step(const torch::Tensor& ids, DecoderCache& cache) override;

    /// GPT-2's initialisation: normal(0, 0.02), c_proj weights scaled by 1/sqrt(2 L), zero biases,
    /// LayerNorm (1, 0), latent projections normal(0, 0.02) but the latent output path zero;
    /// portable (see fillNormal).
    void initialize(std::uint64_t seed);

    /// word_slot models: copy_map := the whitening of the current wte, (E^T E / V + ridge)^-1,
    /// scaled so an average word w has w . copy_map . w = 1. initialize() calls it; call it
    /// again after loading a new wte into a fresh copy_map. No-op without a word slot.
    void resetCopyMap();

    const DecoderConfig& config() const { return m_config; }
    int64_t vocabSize() const override { return m_config.vocab; }
    int64_t maxPositions() const override { return m_config.maxPositions; }
    torch::Device device() const override { return m_wte.device(); }
    /// Dimensions of the latents it takes (the word slot included).
    int latentSize() const { return m_latentSize + (m_wordSlot ? m_config.hidden : 0) + (m_keySlot ? m_config.hidden : 0); }
    /// The token embedding (= lm_head) [V, H].
    const torch::Tensor& wte() const { return m_wte; }

private:
    struct Latent {
        std::vector<torch::Tensor> slots; ///< per layer [B, heads, 1, head_dim]; empty: no slot
        torch::Tensor slotMasked;         ///< [B, 1, 1, 1] bool or undefined (all rows have one)
        torch::Tensor embedding;          ///< [B, 1, H] or undefined
        torch::Tensor output;             ///< [B, 1, H] or undefined (no latent_output)
        torch::Tensor words;              ///< [B, 1, H] or undefined (no word slot)
    };
    Latent prepareLatent(const torch::Tensor& latent, int64_t batch);
    torch::Tensor embed(const torch::Tensor& ids, const torch::Tensor& positions, const Latent& latent);
    /// ln_f, plus the gated latent output when there is one.
    torch::Tensor finalNorm(const torch::Tensor& x, const torch::Tensor& latentOutput,
                            const torch::Tensor& latentWords) const;

    DecoderConfig m_config;
    int m_latentSize;
    bool m_wordSlot = false, m_keySlot = false;
    torch::Tensor m_copyGateW, m_copyGateB, m_copyScale, m_copyMap, m_copyNorm; ///< word_slot only
    torch::Tensor m_wte, m_wpe, m_lnfWeight, m_lnfBias, m_latentKv, m_latentEmb;
    torch::Tensor m_latentOut, m_outGateW, m_outGateB; ///< latent_output only
    std::vector<std::shared_ptr<GptBlock>> m_blocks;
};
TORCH_MODULE(Decoder);

/// Per-token negative log-likelihood for training and scoring: logits [B, T, V] predict
/// targets [B, T] (usually ids shifted left by one); weights [B, T] (0 for padding and for
/// tokens not scored) multiply the result. Returns [B, T] float; sum it, or divide the sum by
/// weights.sum() for the mean. Differentiable.
torch::Tensor tokenNll(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& weights);

} // namespace larimar
