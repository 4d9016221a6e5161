#pragma once
/// What generation and scoring (core/model/generation.h) need from a causal language model, so
/// the same code drives Larimar's GPT-2 decoder (core/model/decoder.h) and the Llama-family
/// decoder of pretrained models (core/model/llama.h). Each implementation is also a
/// torch::nn::Module; this interface is not.
///
/// Thread safety: the calls only read parameters (a cache belongs to one caller), so concurrent
/// calls are fine while nobody trains or loads into the same model.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace larimar {

/// Key/value cache of one batch of sequences for incremental decoding. Created by
/// CausalLm::startCache, filled by CausalLm::step; owned by one caller at a time. The latent
/// fields are used by Larimar's decoder only.
struct DecoderCache {
    std::vector<torch::Tensor> keys;   ///< per layer [B, kv heads, capacity, head_dim]
    std::vector<torch::Tensor> values; ///< same
    int64_t length = 0;                ///< tokens cached (the latent slot not counted)
    int64_t capacity = 0;              ///< tokens the buffers hold (max positions at most)
    int64_t slot = 0;                  ///< 1 when index 0 of every buffer holds the latent slot
    torch::Tensor slotMasked;          ///< [B, 1, 1, 1] bool, true for rows without a latent, or undefined
    torch::Tensor latentEmbedding;     ///< [B, 1, H] linear_emb(z), or undefined
    torch::Tensor latentOutput;        ///< [B, 1, H] linear_out(z) (latent_output models), or undefined
    torch::Tensor latentWords;         ///< [B, 1, H] the word slot (word_slot models), or undefined
};

class CausalLm {
public:
    virtual ~CausalLm() = default;

    /// Rows of the output layer (token ids at or above it are never produced).
    virtual int64_t vocabSize() const = 0;
    /// The longest sequence the model takes (its position table or RoPE range).
    virtual int64_t maxPositions() const = 0;
    /// Where the parameters live; inputs are moved there.
    virtual torch::Device device() const = 0;

    /// Batched forward: ids [B, T]; attentionMask [B, T] 1 real / 0 padding or undefined
    /// (padding on either side: positions count real tokens); latent [B, C], [C] or undefined
    /// (a model without latent conditioning throws UserError for a non-zero latent).
    /// Returns the final hidden states [B, T, H] after the last norm.
    virtual torch::Tensor hiddenStates(const torch::Tensor& ids, const torch::Tensor& attentionMask = {},
                                       const torch::Tensor& latent = {}) = 0;
    /// hidden [..., H] -> logits [..., V].
    virtual torch::Tensor logits(const torch::Tensor& hidden) = 0;

    /// An empty cache for batch rows holding capacity tokens (at most maxPositions()).
    virtual DecoderCache startCache(int64_t batch, int64_t capacity, const torch::Tensor& latent = {}) = 0;
    /// Appends ids [B, T] (no padding) to the cache; returns their hidden states [B, T, H].
    /// Throws UserError when the cache would overflow.
    virtual torch::Tensor step(const torch::Tensor& ids, DecoderCache& cache) = 0;
};

} // namespace larimar
