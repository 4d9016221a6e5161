#pragma once
/// Builds the training episodes of the Larimar objective from a TrainingCorpus. Torch-free and
/// deterministic: the sampler's whole state is a string, saved in checkpoints for exact resume.
///
/// An episode writes N facts into a fresh memory; each fact is "prompt answer" with the
/// counterfactual answer (target_new) at least `counterfactualProb` of the time, so the decoder
/// must take the answer from the memory, not from what it memorised. Queries read the memory
/// and must decode a target:
///   Edit        query = the fact's prompt,        target = the written fact
///   Paraphrase  query = a paraphrase prompt,      target = paraphrase + written answer
///   Self        query = the written fact itself,  target = the written fact (the paper's term)
///   Neighbour   query = a prompt about another subject (same relation), target = its TRUE
///               answer: the decoder must ignore a memory that is about something else.
///
/// Text episodes (textEpisodesPerStep > 0) do the same with plain sentences instead of facts:
/// each written sentence is read either with itself (Self) or with its first words (Edit: the
/// rest is the answer). The facts alone are a few thousand sentences, too few for the encoder to
/// learn to carry arbitrary words to the decoder; plain text is what the paper's autoencoder
/// was trained on.
#include "core/train/corpus.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace larimar {

struct DecodeTarget {
    enum class Kind { Edit, Paraphrase, Self, Neighbour };
    Kind kind;
    std::string query;  ///< encoded to read the memory
    std::string prefix; ///< the target's text before the answer (teacher-forced, weight 1)
    std::string answer; ///< the answer, decoded after prefix + " " (weighted higher)
    std::string subject; ///< what the query is about, when the data names it ("" otherwise)
    std::string text() const { return prefix + " " + answer; }
};

struct Episode {
    std::vector<std::string> writes;   ///< facts written into the episode's memory
    std::vector<std::string> writeSubjects; ///< per write: its subject when the data names it, else ""
    std::vector<DecodeTarget> targets; ///< each decoded from a read of that memory
};

struct TrainingStep {
    std::vector<Episode> episodes;
    std::vector<std::string> plainText; ///< decoded with no latent (language-model term)
};

struct SamplerOptions {
    int episodesPerStep = 8;
    int episodeSize = 4;          ///< N facts written per episode
    double counterfactualProb = 0.6;
    double neighbourProb = 0.3;   ///< chance that a fact also gets a Neighbour query
    double selfProb = 0.25;       ///< chance of a Self query in place of an Edit query
    int plainPerStep = 8;
    int textEpisodesPerStep = 0;  ///< extra episodes of plain sentences (see above)
};

class EpisodeSampler {
public:
    /// Throws UserError if the corpus has fewer cases than an episode needs.
    EpisodeSampler(const TrainingCorpus& corpus, SamplerOptions options, std::uint64_t seed);
    TrainingStep next();
    /// Everything needed to continue exactly where this sampler is.
    std::string state() const;
    void restore(const std::string& state);

private:
    std::size_t nextCase();
    const std::string& nextPlain();

    const TrainingCorpus& m_corpus;
    SamplerOptions m_options;
    std::mt19937_64 m_rng;
    std::vector<std::uint32_t> m_caseOrder, m_plainOrder;
    std::size_t m_casePos = 0, m_plainPos = 0;
    std::uint64_t m_caseEpoch = 0, m_plainEpoch = 0;
};

} // namespace larimar
