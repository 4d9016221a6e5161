#pragma once
/// The libtorch side of core/model/text_model.h: what the TextModel adapters share.
#include "core/model/causal_lm.h"
#include "core/model/generation.h"
#include "core/model/text_model.h"

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

namespace larimar {

class Tokenizer;

/// [N, C] tensor (any dtype/device) -> N x C doubles.
Eigen::MatrixXd toEigen(const torch::Tensor& t);
/// A latent row as the decoders take it: [1, C] float on device; undefined when absent.
torch::Tensor toLatent(const std::optional<Eigen::RowVectorXd>& v, torch::Device device);

/// Generation and scoring from text for a causal LM with a Hugging Face style tokenizer (bos
/// only when addBos), as the adapters of pretrained models (plain or with Larimar's memory) do
/// them. Long prompts lose their beginning, never the part next to the answer. lm and tokenizer
/// must outlive this object.
class CausalLmText {
public:
    CausalLmText(CausalLm& lm, const Tokenizer& tokenizer, bool addBos);
    GeneratedText generate(const std::string& prompt, const torch::Tensor& latent, const DecodeSettings& settings);
    double score(const std::string& prompt, const std::string& continuation, const torch::Tensor& latent);
    /// TextModel::tokenTexts with this tokenizer.
    std::vector<std::string> tokenTexts(const std::string& text) const;
    const TokenDecoding& decoding() const { return m_decoding; }

private:
    /// The end of ids that leaves `reserve` positions free.
    std::vector<std::int32_t> fit(std::vector<std::int32_t> ids, int64_t reserve) const;
    CausalLm& m_lm;
    const Tokenizer& m_tok;
    TokenDecoding m_decoding;
};

} // namespace larimar
