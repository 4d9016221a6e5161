#include "core/train/episodes.h"

#include "core/util/error.h"

#include <algorithm>
#include <numeric>
#include <sstream>

namespace larimar {

EpisodeSampler::EpisodeSampler(const TrainingCorpus& corpus, SamplerOptions options, std::uint64_t seed)
    : m_corpus(corpus), m_options(options), m_rng(seed) {
    if (corpus.cases.size() < static_cast<std::size_t>(options.episodeSize))
        throw UserError("training data has " + std::to_string(corpus.cases.size()) + " edit cases; an episode needs " +
                        std::to_string(options.episodeSize));
    m_caseOrder.resize(corpus.cases.size());
    std::iota(m_caseOrder.begin(), m_caseOrder.end(), 0u);
    std::shuffle(m_caseOrder.begin(), m_caseOrder.end(), m_rng);
    m_plainOrder.resize(corpus.plainText.size());
    std::iota(m_plainOrder.begin(), m_plainOrder.end(), 0u);
    std::shuffle(m_plainOrder.begin(), m_plainOrder.end(), m_rng);
}

std::size_t EpisodeSampler::nextCase() {
    if (m_casePos == m_caseOrder.size()) {
        std::shuffle(m_caseOrder.begin(), m_caseOrder.end(), m_rng);
        m_casePos = 0;
        ++m_caseEpoch;
    }
    return m_caseOrder[m_casePos++];
}

const std::string& EpisodeSampler::nextPlain() {
    if (m_plainPos == m_plainOrder.size()) {
        std::shuffle(m_plainOrder.begin(), m_plainOrder.end(), m_rng);
        m_plainPos = 0;
        ++m_plainEpoch;
    }
    return m_corpus.plainText[m_plainOrder[m_plainPos++]];
}

TrainingStep EpisodeSampler::next() {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    TrainingStep step;
    for (int e = 0; e < m_options.episodesPerStep; ++e) {
        Episode ep;
        for (int i = 0; i < m_options.episodeSize; ++i) {
            const EditCase& c = m_corpus.cases[nextCase()];
            const bool counterfactual = u(m_rng) < m_options.counterfactualProb;
            const std::string& answer = counterfactual ? c.targetNew : c.targetTrue;
            const std::string fact = c.prompt + " " + answer;
            ep.writes.push_back(fact);
            ep.writeSubjects.push_back(c.subject);
            if (u(m_rng) < m_options.selfProb)
                ep.targets.push_back({DecodeTarget::Kind::Self, fact, c.prompt, answer, c.subject});
            else
                ep.targets.push_back({DecodeTarget::Kind::Edit, c.prompt, c.prompt, answer, c.subject});
            if (!c.paraphrasePrompts.empty()) {
                std::uniform_int_distribution<std::size_t> pick(0, c.paraphrasePrompts.size() - 1);
                const std::string& p = c.paraphrasePrompts[pick(m_rng)];
                ep.targets.push_back({DecodeTarget::Kind::Paraphrase, p, p, answer, c.subject});
            }
            if (!c.neighbourhoodPrompts.empty() && u(m_rng) < m_options.neighbourProb) {
                std::uniform_int_distribution<std::size_t> pick(0, c.neighbourhoodPrompts.size() - 1);
                const std::size_t k = pick(m_rng);
                ep.targets.push_back({DecodeTarget::Kind::Neighbour, c.neighbourhoodPrompts[k],
                                      c.neighbourhoodPrompts[k], c.neighbourhoodAnswers[k]});
            }
        }
        step.episodes.push_back(std::move(ep));
    }
    if (!m_corpus.plainText.empty()) {
        for (int e = 0; e < m_options.textEpisodesPerStep; ++e) {
            Episode ep;
            for (int i = 0; i < m_options.episodeSize; ++i) {
                const std::string& text = nextPlain();
                ep.writes.push_back(text);
                ep.writeSubjects.emplace_back();
                // Cut before one of the last three words (never the first): the query is the
                // part before it, the rest is the answer.
                std::vector<std::size_t> spaces;
                for (std::size_t k = 0; k < text.size(); ++k)
                    if (text[k] == ' ') spaces.push_back(k);
                if (spaces.empty()) continue; // one word: written, nothing to cut
                if (u(m_rng) < m_options.selfProb) {
                    const std::size_t cut = spaces.back();
                    ep.targets.push_back({DecodeTarget::Kind::Self, text, text.substr(0, cut), text.substr(cut + 1)});
                } else {
                    const std::size_t choices = std::min<std::size_t>(3, spaces.size());
                    std::uniform_int_distribution<std::size_t> pick(spaces.size() - choices, spaces.size() - 1);
                    const std::size_t cut = spaces[pick(m_rng)];
                    const std::string prefix = text.substr(0, cut);
                    ep.targets.push_back({DecodeTarget::Kind::Edit, prefix, prefix, text.substr(cut + 1)});
                }
            }
            step.episodes.push_back(std::move(ep));
        }
        for (int i = 0; i < m_options.plainPerStep; ++i) step.plainText.push_back(nextPlain());
    }
    return step;
}

std::string EpisodeSampler::state() const {
    std::ostringstream s;
    s << m_rng << ' ' << m_casePos << ' ' << m_plainPos << ' ' << m_caseEpoch << ' ' << m_plainEpoch << ' '
      << m_caseOrder.size() << ' ' << m_plainOrder.size();
    for (auto v : m_caseOrder) s << ' ' << v;
    for (auto v : m_plainOrder) s << ' ' << v;
    return s.str();
}

void EpisodeSampler::restore(const std::string& state) {
    std::istringstream s(state);
    std::size_t nc = 0, np = 0;
    s >> m_rng >> m_casePos >> m_plainPos >> m_caseEpoch >> m_plainEpoch >> nc >> np;
    if (!s || nc != m_caseOrder.size() || np != m_plainOrder.size())
        throw UserError("the checkpoint's data order does not match this training data (changed files or settings?)");
    for (auto& v : m_caseOrder) s >> v;
    for (auto& v : m_plainOrder) s >> v;
    if (!s) throw UserError("the checkpoint's sampler state is truncated");
}

} // namespace larimar
