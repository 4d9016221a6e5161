#pragma once
/// A deterministic stand-in for a Larimar language model, without weights or libtorch: the
/// editor's tests (tests/core/fake_text_model.h) and `larimar bench editor` use it until a real
/// model is given. It is NOT a language model; the real one is tested in tests/core/test_model.cpp.
///
///  - encode(text): a unit-variance pseudo-random vector seeded by SHA-256 of the text, so equal
///    texts encode equally and different texts are nearly orthogonal. Every encoded text is
///    remembered (for generate()).
///  - memoryPrior(): a fixed pseudo-random K x C matrix (seeded).
///  - generate(prompt, latent): without a latent (or with a zero one) "plain continuation of
///    <prompt>"; with one, the remembered text (never a prompt given to generate) whose encoding
///    is nearest to the latent by |cosine|, so a memory readout shows which fact it holds and
///    a forget changes the output back.
///  - score(): -(1 - |cos|) between the latent and the encoding of prompt + " " + continuation,
///    -1 without a latent.
///
/// Thread-safety: none (encode() remembers texts).
#include "core/model/text_model.h"

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace larimar {

struct SyntheticModelOptions {
    int slots = 16;  ///< K
    int width = 32;  ///< C
    std::string name = "synthetic-text-model";
    std::string version = "1";
    std::uint64_t seed = 1;
    /// The public code's iterative pseudo-inverse, like the real model's default. (With the
    /// exact one, the ~1e-10 residue a forget leaves in M counts as rank, so reads would still
    /// project onto the forgotten fact's direction.)
    PinvSettings pinv = {PinvMode::Iterative, 5e-4, 15};
};

class SyntheticTextModel : public TextModel {
public:
    explicit SyntheticTextModel(SyntheticModelOptions options = {});

    std::string id() const override;
    std::string weightsHash() const override;
    int latentSize() const override { return m_options.width; }
    Eigen::MatrixXd memoryPrior() const override { return m_prior; }
    PinvSettings pinv() const override { return m_options.pinv; }
    Eigen::MatrixXd encode(const std::vector<std::string>& texts) override;
    GeneratedText generate(const std::string& prompt, const std::optional<Eigen::RowVectorXd>& latent,
                           const DecodeSettings& settings) override;
    double score(const std::string& prompt, const std::string& continuation,
                 const std::optional<Eigen::RowVectorXd>& latent) override;

    /// The encoding of one text (what encode() returns for it), without remembering it.
    Eigen::RowVectorXd encodingOf(const std::string& text) const;
    /// What generate() answers with memory when latent is the readout of this text alone.
    static std::string plainAnswer(const std::string& prompt) { return "plain continuation of " + prompt; }

private:
    SyntheticModelOptions m_options;
    Eigen::MatrixXd m_prior;
    std::vector<std::string> m_texts;  // remembered, in first-seen order (ties: the earliest)
    Eigen::MatrixXd m_unit;            // their unit encodings, one row each (grown by doubling)
    std::unordered_map<std::string, std::size_t> m_index;
    std::unordered_set<std::string> m_prompts;
};

} // namespace larimar
