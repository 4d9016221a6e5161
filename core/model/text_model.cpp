#include "core/model/text_model.h"

#include "core/model/larimar_lm.h"
#include "core/model/larimar_model.h"
#include "core/model/pretrained.h"
#include "core/model/text_model_torch.h"
#include "core/model/tokenizer.h"

#include <torch/torch.h>

namespace larimar {
namespace {

/// TextModel over a LarimarModel; owns it or borrows it (the trainer's live model).
class TorchTextModel : public TextModel {
public:
    explicit TorchTextModel(std::unique_ptr<LarimarModel> owned) : m_owned(std::move(owned)), m_model(*m_owned) {}
    explicit TorchTextModel(LarimarModel& borrowed) : m_model(borrowed) {}

    std::string id() const override { return m_model.config().name + " " + m_model.config().version; }
    std::string weightsHash() const override { return m_model.weightsSha256(); }
    int latentSize() const override { return m_model.config().latentSize; }
    Eigen::MatrixXd memoryPrior() const override { return toEigen(m_model.memoryPrior().detach()); }
    PinvSettings pinv() const override { return m_model.pinvSettings(); }
    Eigen::MatrixXd encode(const std::vector<std::string>& texts) override {
        torch::NoGradGuard ng;
        return toEigen(m_model.encode(texts));
    }
    GeneratedText generate(const std::string& prompt, const std::optional<Eigen::RowVectorXd>& latent,
                           const DecodeSettings& s) override {
        torch::NoGradGuard ng;
        const GenerationOptions o = toGenerationOptions(s);
        const int reserve = std::min(o.maxNewTokens, m_model.config().decoder.maxPositions / 2);
        const GenerationResult r = m_model.generate(fitPrompt(prompt, reserve), toLatent(latent, m_model.device()), o);
        return toGeneratedText(r);
    }
    /// The end of the prompt that fits the decoder with `reserve` tokens left after it: long
    /// prompts (some CounterFact paraphrases) lose their beginning, not the part next to the answer.
    std::string fitPrompt(const std::string& prompt, int reserve) const {
        const int room = m_model.config().decoder.maxPositions - 1 - reserve;
        const Tokenizer& tok = m_model.tokenizer();
        const std::vector<std::int32_t> ids = tok.encode(prompt);
        if (static_cast<int>(ids.size()) <= room) return prompt;
        if (room <= 0) return {};
        return tok.decode(std::vector<std::int32_t>(ids.end() - room, ids.end()));
    }

    std::vector<std::string> tokenTexts(const std::string& text) const override {
        std::vector<std::string> out;
        for (const std::int32_t id : m_model.tokenizer().encode(text)) out.push_back(m_model.tokenizer().tokenText(id));
        return out;
    }
    double score(const std::string& prompt, const std::string& continuation,
                 const std::optional<Eigen::RowVectorXd>& latent) override {
        torch::NoGradGuard ng;
        const int reserve = static_cast<int>(m_model.tokenizer().encode(continuation).size());
        return m_model.score(fitPrompt(prompt, reserve), continuation, toLatent(latent, m_model.device())).meanLogProb;
    }

private:
    std::unique_ptr<LarimarModel> m_owned;
    LarimarModel& m_model;
};

} // namespace

GenerationOptions toGenerationOptions(const DecodeSettings& s) {
    GenerationOptions o;
    o.maxNewTokens = s.maxNewTokens;
    o.greedy = s.temperature <= 0.0;
    if (!o.greedy) o.temperature = s.temperature;
    o.topK = s.topK;
    o.topP = s.topP;
    o.seed = s.seed;
    o.stopStrings = s.stopStrings;
    return o;
}

GeneratedText toGeneratedText(const GenerationResult& r) {
    GeneratedText out;
    out.text = r.text;
    for (const auto& t : r.tokens) {
        TokenChoice c;
        c.text = t.text;
        c.probability = t.probability;
        for (const auto& a : t.alternatives) c.alternatives.emplace_back(a.text, a.probability);
        out.tokens.push_back(std::move(c));
    }
    return out;
}

std::unique_ptr<TextModel> loadTextModel(const std::string& dir, const std::string& device) {
    if (isPretrainedLarimar(dir)) return loadPretrainedLarimarTextModel(dir, device);
    if (isPretrainedModel(dir)) return loadPretrainedTextModel(dir, device);
    return std::make_unique<TorchTextModel>(std::make_unique<LarimarModel>(LarimarModel::load(dir, parseDevice(device))));
}

std::unique_ptr<TextModel> wrapTextModel(LarimarModel& model) { return std::make_unique<TorchTextModel>(model); }

Eigen::MatrixXd toEigen(const torch::Tensor& t) {
    const torch::Tensor d = t.to(torch::kCPU, torch::kDouble).contiguous();
    Eigen::MatrixXd m(d.size(0), d.size(1));
    const double* p = d.data_ptr<double>();
    for (Eigen::Index i = 0; i < m.rows(); ++i)
        for (Eigen::Index j = 0; j < m.cols(); ++j) m(i, j) = p[i * m.cols() + j];
    return m;
}

torch::Tensor toLatent(const std::optional<Eigen::RowVectorXd>& v, torch::Device device) {
    if (!v) return {};
    torch::Tensor t = torch::empty({1, v->size()}, torch::kDouble);
    for (Eigen::Index i = 0; i < v->size(); ++i) t[0][i] = (*v)(i);
    return t.to(device, torch::kFloat);
}

CausalLmText::CausalLmText(CausalLm& lm, const Tokenizer& tokenizer, bool addBos) : m_lm(lm), m_tok(tokenizer) {
    m_decoding.bosId = addBos ? m_tok.bosId() : -1;
    m_decoding.eosId = m_tok.eosId();
    m_decoding.vocabSize = std::int32_t(std::min<std::int64_t>(m_tok.vocabSize(), m_lm.vocabSize()));
    m_decoding.decode = [&tok = m_tok](const std::vector<std::int32_t>& ids) { return tok.decode(ids); };
}

GeneratedText CausalLmText::generate(const std::string& prompt, const torch::Tensor& latent, const DecodeSettings& s) {
    const GenerationOptions o = toGenerationOptions(s);
    const auto ids = fit(m_tok.encode(prompt), std::min<int64_t>(o.maxNewTokens, m_lm.maxPositions() / 2));
    return toGeneratedText(larimar::generate(m_lm, m_decoding, ids, latent, o));
}

double CausalLmText::score(const std::string& prompt, const std::string& continuation, const torch::Tensor& latent) {
    const auto cont = m_tok.encode(continuation);
    const auto ids = fit(m_tok.encode(prompt), int64_t(cont.size()));
    return scoreContinuation(m_lm, m_decoding.bosId, ids, cont, latent).meanLogProb;
}

std::vector<std::string> CausalLmText::tokenTexts(const std::string& text) const {
    std::vector<std::string> out;
    for (const std::int32_t id : m_tok.encode(text)) out.push_back(m_tok.tokenText(id));
    return out;
}

std::vector<std::int32_t> CausalLmText::fit(std::vector<std::int32_t> ids, int64_t reserve) const {
    const int64_t room = m_lm.maxPositions() - (m_decoding.bosId >= 0 ? 1 : 0) - reserve;
    if (int64_t(ids.size()) > room && room > 0) ids.erase(ids.begin(), ids.end() - room);
    return ids;
}

} // namespace larimar
