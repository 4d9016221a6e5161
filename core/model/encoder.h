#pragma once
/// Larimar's encoder: a BERT-style transformer (Hugging Face BertModel: post-LayerNorm, exact
/// GELU, word + position + token-type embeddings) whose pooled output (tanh dense on the first
/// token) goes through Linear(H, 2C, no bias) and is split into (mean, log-variance).
///
/// Parameter names (relative to this module; the model file prefixes them with "encoder."):
///   embeddings.word_embeddings.weight [V, H]      embeddings.position_embeddings.weight [P, H]
///   embeddings.token_type_embeddings.weight [T, H] embeddings.LayerNorm.{weight,bias} [H]
///   encoder.layer.N.attention.self.{query,key,value}.{weight [H, H], bias [H]}
///   encoder.layer.N.attention.output.dense.{weight,bias}  encoder.layer.N.attention.output.LayerNorm.*
///   encoder.layer.N.intermediate.dense.{weight [I, H], bias}
///   encoder.layer.N.output.dense.{weight [H, I], bias}     encoder.layer.N.output.LayerNorm.*
///   pooler.dense.{weight,bias}
///   latent_head.weight [2C, H]   (the Larimar head; Optimus calls it "linear", no bias)
///   mean_head.weight [2C, H]     (only with encoder.mean_pool: ours, not Larimar's; it maps the
///                                 mean of the last hidden states over real tokens and is added)
///   bag_head.weight [2C, Hd]     (only with encoder.token_bag: ours; it maps the mean of the
///                                 tokens' rows of the decoder's embedding table, see
///                                 setTokenTable, and is added)
///   pointer.score [1, H], pointer.end [P]  (only with the model's word_slot: the weights of the
///                                 words in the slot, softmax over the sentence's tokens but bos
///                                 and eos of score . h_t + end[distance from the last token])
///   key_pointer.score [1, H], key_pointer.end [P], key_map.weight [Hd, Hd]  (only with key_slot)
/// With word_slot, forward() returns latents of C + Hd dimensions: the heads' C, then the slot
/// (the weighted mean of the tokens' rows of the decoder's embedding table; log-variance 0);
/// with key_slot too, Hd more: key_map(another weighted mean of those rows).
/// Linear weights are [out, in] as in torch.nn.Linear, so a Hugging Face BERT checkpoint maps on
/// by prefixing "encoder." (drop "bert." if present; its embeddings.position_ids buffer is unused).
///
/// Thread safety: forward() only reads parameters; concurrent calls are fine as long as nobody
/// trains or loads into the same module meanwhile.
#include "core/model/model_config.h"

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace larimar {

struct BertLayer; // defined in encoder.cpp

/// The encoder's output for a batch: both [B, C] float tensors.
struct LatentDistribution {
    torch::Tensor mean;   ///< z, what the memory stores
    torch::Tensor logvar; ///< log-variance, used by the trainer's KL term
    torch::Tensor keyWeights; ///< key_slot models: each token's weight in the key [B, T]; else undefined
};

class EncoderImpl : public torch::nn::Module {
public:
    /// Allocates the parameters (uninitialised; see initialize()).
    /// tokenBagWidth: the decoder's hidden size (token_bag models; ignored otherwise).
    /// wordSlot: add the word slot (tokenBagWidth dimensions) after the heads' latentSize.
    /// keySlot: and the key slot after it (tokenBagWidth more dimensions).
    /// keyGain: the key slot's multiplier (ModelConfig::keyGain).
    EncoderImpl(const EncoderConfig& config, int latentSize, int tokenBagWidth = 0, bool wordSlot = false,
                bool keySlot = false, double keyGain = 1.0);

    /// ids: [B, T] integer token ids (first token is the one pooled, i.e. bos);
    /// mask: [B, T] 1 for real tokens, 0 for padding, or undefined (no padding). Padding may be
    /// anywhere after the first token; positions count from 0 on every row.
    /// Cost: about 2 * params * B * T flops. Throws UserError on a too long T or bad shapes.
    LatentDistribution forward(const torch::Tensor& ids, const torch::Tensor& mask = {});

    /// The last hidden states [B, T, H] (before pooling).
    torch::Tensor hiddenStates(const torch::Tensor& ids, const torch::Tensor& mask = {});
    /// tanh(dense(hidden[:, 0])) : [B, H].
    torch::Tensor pooled(const torch::Tensor& hidden);

    /// BERT's initialisation: normal(0, 0.02) weights, zero biases, LayerNorm (1, 0), drawn
    /// from a portable generator (see core/model/larimar_model.h) so a seed gives the same
    /// weights with every libtorch.
    void initialize(std::uint64_t seed);

    const EncoderConfig& config() const { return m_config; }
    /// Dimensions of the latents forward() returns (the word slot included).
    int latentSize() const { return m_latentSize + m_wordSlot + m_keySlot; }

    /// token_bag models: where the token table [V, Hd] comes from (the decoder's wte, owned by
    /// the same LarimarNet; not a parameter of this module, so it is saved once, as the decoder's).
    void setTokenTable(std::function<torch::Tensor()> table) { m_tokenTable = std::move(table); }

    /// word_slot models: each token's weight in the slot [B, T] (rows sum to 1; 0 on padding,
    /// bos and eos). hidden: hiddenStates(ids, mask).
    /// key: the key slot's weights instead (key_slot models).
    torch::Tensor wordWeights(const torch::Tensor& hidden, const torch::Tensor& mask, bool key = false);

    /// key_slot models: key_map := scale * L^T, L L^T the whitening of the token table (see
    /// DecoderImpl::resetCopyMap). Call once the token table holds its values (randomInit does).
    void resetKeyMap();

private:
    EncoderConfig m_config;
    int m_latentSize;
    int m_wordSlot = 0; ///< dimensions of the word slot (0: none)
    int m_keySlot = 0;  ///< dimensions of the key slot (0: none)
    double m_keyGain = 1.0;
    torch::Tensor m_keyScore, m_keyEnd, m_keyMap; ///< key_slot models only
    torch::nn::Embedding m_wordEmbeddings{nullptr};
    torch::nn::Embedding m_positionEmbeddings{nullptr};
    torch::nn::Embedding m_tokenTypeEmbeddings{nullptr};
    torch::nn::LayerNorm m_embeddingsNorm{nullptr};
    std::vector<std::shared_ptr<BertLayer>> m_layers;
    torch::nn::Linear m_poolerDense{nullptr};
    torch::nn::Linear m_latentHead{nullptr};
    torch::Tensor m_meanHead; ///< [2C, H], mean_pool models only
    torch::Tensor m_bagHead;  ///< [2C, Hd], token_bag models only
    torch::Tensor m_pointerScore, m_pointerEnd; ///< [1, H], [P]: token_pointer models only
    std::function<torch::Tensor()> m_tokenTable;
};
TORCH_MODULE(Encoder);

/// Fills t with normal(0, std) values from a portable generator seeded with seed (the same
/// numbers on every platform and libtorch version). Cost O(numel). Used by initialize().
void fillNormal(torch::Tensor t, double std, std::uint64_t seed);
/// The whitening of an embedding table [V, H] (rows are words): (E^T E / V + ridge)^-1, the ridge
/// 1% of the mean diagonal, scaled so an average row w has w . W . w = 1. [H, H] float32.
/// Trained embeddings are far from isotropic (two words of one kind have cosine ~0.5); after
/// it, words are near-orthonormal. Used to start the copy map and the key map. Cost O(V H^2).
torch::Tensor embeddingWhitening(const torch::Tensor& table);
/// The seed fillNormal gets for the parameter with this (model file) name: independent of the
/// order in which parameters are created.
std::uint64_t parameterSeed(std::uint64_t seed, const std::string& name);

} // namespace larimar
