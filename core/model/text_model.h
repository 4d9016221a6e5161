#pragma once
/// What the editor needs from a Larimar language model, without libtorch in the header, so the
/// editor, the CLI and the GUI compile without tensors. The libtorch implementation wraps
/// larimar::LarimarModel (core/model/text_model.cpp); tests may use the same adapter over a small
/// random-weight model.
///
/// Thread-safety: one thread at a time (the editor serialises all calls).
#include "core/memory/episodic_memory.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace larimar {

/// Decoding settings (see core/model generation for their meaning).
struct DecodeSettings {
    int maxNewTokens = 24;
    double temperature = 0.0; ///< 0: greedy
    int topK = 0;             ///< 0: off
    double topP = 1.0;        ///< 1: off
    std::uint64_t seed = 0;
    std::vector<std::string> stopStrings = {"\n"};
};

/// One generated token with its probability and the top alternatives (the GUI shows them).
struct TokenChoice {
    std::string text;
    double probability = 0;
    std::vector<std::pair<std::string, double>> alternatives;
};

struct GeneratedText {
    std::string text; ///< the continuation only (without the prompt)
    std::vector<TokenChoice> tokens;
};

/// A named run of latent dimensions [begin, begin + size): parts of a latent whose scales differ
/// by orders of magnitude (the workbench's Memory tab scales and labels each on its own).
struct LatentBlock {
    std::string name;
    int begin = 0;
    int size = 0;
};

class TextModel {
public:
    virtual ~TextModel() = default;
    /// "name version", shown to users and stored with every edit.
    virtual std::string id() const = 0;
    /// SHA-256 (hex) of the weights file: a workspace refuses another model.
    virtual std::string weightsHash() const = 0;
    virtual int latentSize() const = 0;
    /// The learned memory prior M0 (K x C), used as the reference memory for write keys.
    virtual Eigen::MatrixXd memoryPrior() const = 0;
    /// The pseudo-inverse the model was trained with: the memory's default.
    virtual PinvSettings pinv() const = 0;
    /// Encodings (latent means) of N texts: N x C. Cost: one encoder pass per batch.
    virtual Eigen::MatrixXd encode(const std::vector<std::string>& texts) = 0;
    /// Continues the prompt; latent (1 x C) conditions the decoder, none = plain LM.
    virtual GeneratedText generate(const std::string& prompt, const std::optional<Eigen::RowVectorXd>& latent,
                                   const DecodeSettings& settings) = 0;
    /// The text as the model's tokens, each token's own text (zsRE's token accuracy counts
    /// these); empty when the model has no tokenizer to split with (then callers use words).
    virtual std::vector<std::string> tokenTexts(const std::string& text) const {
        (void)text;
        return {};
    }
    /// Mean log-probability per token of `continuation` after `prompt` (the evaluation's score).
    virtual double score(const std::string& prompt, const std::string& continuation,
                         const std::optional<Eigen::RowVectorXd>& latent) = 0;
    /// The latent's parts in order, covering [0, latentSize()); default: one block "latent".
    virtual std::vector<LatentBlock> latentBlocks() const { return {{"latent", 0, latentSize()}}; }
};

struct GenerationOptions;
struct GenerationResult;
/// The generation options a DecodeSettings stands for (temperature 0: greedy).
GenerationOptions toGenerationOptions(const DecodeSettings& settings);
/// A generation result as the editor shows it: text, tokens with probabilities and alternatives.
GeneratedText toGeneratedText(const GenerationResult& result);

/// Loads a model directory (config.json, model.safetensors, tokenizer files) on "cpu" or
/// "cuda". Throws UserError naming the directory and what is missing or wrong.
std::unique_ptr<TextModel> loadTextModel(const std::string& dir, const std::string& device = "cpu");

class LarimarModel;
/// A TextModel view of a model owned elsewhere (the trainer's model while it trains).
std::unique_ptr<TextModel> wrapTextModel(LarimarModel& model);

} // namespace larimar
