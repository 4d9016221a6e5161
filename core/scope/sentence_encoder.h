#pragma once
/// The external scope detector's sentence encoder: what the ESD (scope_detectors.h) needs from
/// one. The implementation is all-MiniLM-L6-v2 (core/scope/minilm_encoder.h, the Larimar paper's
/// choice); tests may supply their own.
///
/// Thread-safety: implementations are immutable after loading; every const call may run from
/// several threads at once. No libtorch in this header.
#include <string>
#include <vector>

namespace larimar {

class SentenceEncoder {
public:
    virtual ~SentenceEncoder() = default;

    /// The embedding of each sentence (dimension() floats, unit length), in input order. Throws
    /// UserError for invalid UTF-8.
    virtual std::vector<std::vector<float>> embed(const std::vector<std::string>& sentences) const = 0;
    /// Number of floats per embedding.
    virtual int dimension() const = 0;
    /// The key of its embeddings in a workspace's cache (core/store/fact_embeddings.h), e.g.
    /// "minilm-l6-v2": vectors of another encoder are never mixed with these.
    virtual std::string id() const = 0;
    /// Whether word (as lexicalWords() gives it: lowercased NFKC) is a common word of the
    /// language, by the encoder's vocabulary holding it as one whole token; a name the encoder
    /// splits into pieces is not. The hybrid score weighs an unseen common word less.
    virtual bool isCommonWord(const std::string& word) const = 0;
};

} // namespace larimar
