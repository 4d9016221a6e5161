#pragma once
/// A Larimar model: encoder, latent-conditioned decoder, learned memory prior and tokenizer, as
/// one object that loads from and saves to a model directory:
///   config.json        ModelConfig (core/model/model_config.h)
///   model.safetensors  every parameter (float32, or float16/bfloat16 as save() can store them;
///                      they load as float32), named as named_parameters() of module():
///                        encoder.*         BERT names, see core/model/encoder.h
///                        decoder.*         GPT-2 names, see core/model/decoder.h
///                        memory.prior      M0 [K, C], initialised to the K x C identity
///   vocab.json + merges.txt (or encoder.json + vocab.bpe)   the tokenizer
///   MODEL_CARD.md      model card (save() writes a stub only when there is none; an older
///                      directory's README.md counts as one)
/// Loading reads data only: no pickle, no TorchScript, so a model file never runs code.
///
/// Input conventions (the trainer uses the same helpers): the encoder sees bos + text + eos
/// (eos left out when the model has none), cut to encoder.max_positions; the decoder sees
/// bos + text (see core/model/generation.h).
///
/// Thread safety: the const-like calls (encode, generate, score) only read the weights and may
/// run concurrently; load/save/setTokenizer and training need exclusive access.
#include "core/memory/episodic_memory.h" // PinvSettings
#include "core/model/decoder.h"
#include "core/model/encoder.h"
#include "core/model/generation.h"
#include "core/model/model_config.h"
#include "core/model/tokenizer.h"

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace larimar {

/// "cpu", "cuda" or "cuda:N" -> a device. Throws UserError for an unknown name, or for cuda when
/// this libtorch has no CUDA or no GPU is visible (torch::cuda::is_available() is false).
torch::Device parseDevice(const std::string& name);

/// The module that owns every parameter: children "encoder", "decoder" and "memory" (with the
/// parameter "prior"), so named_parameters() gives the names used in model.safetensors.
class LarimarNetImpl : public torch::nn::Module {
public:
    explicit LarimarNetImpl(const ModelConfig& config);
    Encoder encoder{nullptr};
    Decoder decoder{nullptr};
    torch::Tensor memoryPrior; ///< [K, C]
};
TORCH_MODULE(LarimarNet);

class LarimarModel {
public:
    /// Loads a model directory onto device. Checks that every expected tensor is present with
    /// the right shape (float16/bfloat16/float64 are converted to float32; tensors the model
    /// does not use are ignored) and that the tokenizer fits the vocabulary sizes. Throws
    /// UserError naming the directory, file and problem ("tensor 'decoder.transformer.wpe.weight'
    /// has shape [64, 32], expected [128, 32]"). Cost: reads the weights file once (SHA-256
    /// included) and holds it in memory twice at peak.
    static LarimarModel load(const std::string& dir, torch::Device device = torch::kCPU);

    /// Fresh weights from seed (BERT/GPT-2 initialisation, portable: the same seed gives the same
    /// weights with every libtorch), memory prior = identity. The tokenizer is optional: without
    /// one, only the id-level calls work and save() writes no tokenizer files.
    /// Throws UserError on an invalid config or a tokenizer larger than the vocabulary.
    static LarimarModel randomInit(const ModelConfig& config, std::uint64_t seed,
                                   std::optional<Tokenizer> tokenizer = std::nullopt,
                                   torch::Device device = torch::kCPU);

    /// Writes config.json, model.safetensors (atomically), the tokenizer files and a MODEL_CARD.md
    /// stub if the directory has no card; creates dir if needed. Updates weightsSha256().
    /// storage: how the weights are stored (kFloat, kHalf for half the size, kBFloat16); load()
    /// widens them to float32. Throws UserError when a weight is beyond the storage type's range,
    /// Error on I/O failure.
    void save(const std::string& dir, torch::ScalarType storage = torch::kFloat);

    /// The model card in dir (MODEL_CARD.md, or an older directory's README.md); empty if none.
    static std::string findCard(const std::string& dir);

    LarimarModel(LarimarModel&&) noexcept = default;
    LarimarModel& operator=(LarimarModel&&) noexcept = default;
    LarimarModel(const LarimarModel&) = delete;
    LarimarModel& operator=(const LarimarModel&) = delete;

    const ModelConfig& config() const { return m_config; }
    torch::Device device() const { return m_device; }
    /// Moves every parameter to device.
    void to(torch::Device device);

    bool hasTokenizer() const { return m_tokenizer.has_value(); }
    /// Throws UserError when the model has no tokenizer.
    const Tokenizer& tokenizer() const;
    /// Throws UserError if the tokenizer has more ids than the encoder or decoder vocabulary,
    /// or lacks a bos token.
    void setTokenizer(Tokenizer tokenizer);

    /// The parameters (for the trainer's optimizer, train()/eval()) and their parts.
    LarimarNet& net() { return m_net; }
    Encoder& encoder() { return m_net->encoder; }
    Decoder& decoder() { return m_net->decoder; }
    /// M0 [K, C] float on device(); the parameter itself (the memory engine copies it to double).
    torch::Tensor memoryPrior() const { return m_net->memoryPrior; }
    /// The pseudo-inverse settings the model was trained with (config.json "memory").
    PinvSettings pinvSettings() const;
    /// Every parameter by its model-file name, on device().
    std::map<std::string, torch::Tensor> stateDict() const;
    /// Lower-case hex SHA-256 of model.safetensors as last loaded or saved; "" if neither.
    const std::string& weightsSha256() const { return m_weightsSha256; }

    /// Encoder input ids for one text: bos + tokens + eos, cut to encoder.max_positions. Closing
    /// full stops and spaces are left out ("Paris." encodes as "Paris").
    std::vector<std::int32_t> encoderTokens(const std::string& text) const;
    /// Right-padded batch for the encoder: ids [N, T] int64 and mask [N, T] int64 on device().
    std::pair<torch::Tensor, torch::Tensor> encoderBatch(const std::vector<std::string>& texts) const;

    /// Latent means z of texts: [N, C] float on the CPU (batches of 64, inference mode).
    /// Cost: one encoder pass per batch; a 12-token sentence takes well under 2 ms on the CPU.
    torch::Tensor encode(const std::vector<std::string>& texts);

    /// Continues prompt (tokenised, bos prepended). latent: [C] or [1, C], or an undefined
    /// tensor / zeros for the plain LM. See core/model/generation.h for options and costs.
    GenerationResult generate(const std::string& prompt, const torch::Tensor& latent,
                              const GenerationOptions& options, const TokenCallback& onToken = {});

    /// Mean token log-probability of continuation after prompt. The two are tokenised
    /// separately, so put the separating space at the start of the continuation (" Paris").
    ScoreResult score(const std::string& prompt, const std::string& continuation, const torch::Tensor& latent);

    /// What generation needs from the tokenizer (throws UserError when there is none).
    TokenDecoding tokenDecoding() const;

private:
    LarimarModel(ModelConfig config, torch::Device device);
    void checkTokenizer(const Tokenizer& tokenizer) const;

    ModelConfig m_config;
    torch::Device m_device;
    LarimarNet m_net{nullptr};
    std::optional<Tokenizer> m_tokenizer;
    std::string m_weightsSha256;
};

} // namespace larimar
