#pragma once
// A scripted TextModel for the evaluation tests: every number a metric sees is set by the test,
// so each metric can be checked by hand.
//  - encode(text): one-hot (C = K = 16) of the first registered subject the text contains, or
//    zero. With the identity prior as reference, a memory holding an edit sentence reads back
//    that subject's one-hot for any prompt naming the subject, and zero for other prompts.
//  - "active": the latent has norm > 0.5, i.e. the memory holds a fact about the prompt's subject.
//  - score(prompt, continuation, latent): the log-probability set with setScore for (prompt,
//    continuation, active); -5 when none is set.
//  - generate(prompt, latent): the text set with setGen for (prompt, active), else " plain"; cut
//    to maxNewTokens words, each word one token (with its leading space).
#include "core/eval/edit_eval.h"
#include "core/model/text_model.h"

#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace larimar::test {

class ScriptedModel : public TextModel {
public:
    static constexpr int kWidth = 16;

    std::string id() const override { return "scripted 1"; }
    std::string weightsHash() const override { return "scripted"; }
    int latentSize() const override { return kWidth; }
    Eigen::MatrixXd memoryPrior() const override { return Eigen::MatrixXd::Identity(kWidth, kWidth); }
    PinvSettings pinv() const override { return {}; }

    void addSubject(const std::string& s) { m_subjects.push_back(s); }
    void setScore(const std::string& prompt, const std::string& continuation, bool active, double logProb) {
        m_scores[{prompt, continuation, active}] = logProb;
    }
    void setGen(const std::string& prompt, bool active, const std::string& text) { m_gens[{prompt, active}] = text; }

    Eigen::MatrixXd encode(const std::vector<std::string>& texts) override {
        Eigen::MatrixXd z = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(texts.size()), kWidth);
        for (std::size_t i = 0; i < texts.size(); ++i) {
            ++encodeCalls;
            for (std::size_t s = 0; s < m_subjects.size(); ++s)
                if (texts[i].find(m_subjects[s]) != std::string::npos) {
                    z(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(s % kWidth)) = 1.0;
                    break;
                }
        }
        return z;
    }
    GeneratedText generate(const std::string& prompt, const std::optional<Eigen::RowVectorXd>& latent,
                           const DecodeSettings& settings) override {
        ++generateCalls;
        const auto it = m_gens.find({prompt, active(latent)});
        const std::string text = it == m_gens.end() ? " plain" : it->second;
        GeneratedText out;
        for (const auto& w : splitWords(text)) {
            if (static_cast<int>(out.tokens.size()) >= settings.maxNewTokens) break;
            TokenChoice t;
            t.text = w;
            t.probability = 1;
            out.tokens.push_back(t);
            out.text += w;
        }
        return out;
    }
    double score(const std::string& prompt, const std::string& continuation,
                 const std::optional<Eigen::RowVectorXd>& latent) override {
        const auto it = m_scores.find({prompt, continuation, active(latent)});
        return it == m_scores.end() ? -5.0 : it->second;
    }

    static bool active(const std::optional<Eigen::RowVectorXd>& latent) { return latent && latent->norm() > 0.5; }

    int encodeCalls = 0, generateCalls = 0;

private:
    std::vector<std::string> m_subjects;
    std::map<std::tuple<std::string, std::string, bool>, double> m_scores;
    std::map<std::pair<std::string, bool>, std::string> m_gens;
};

} // namespace larimar::test
