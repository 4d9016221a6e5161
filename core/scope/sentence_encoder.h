#pragma once
/// The external scope detector's sentence encoder: Universal Sentence Encoder Lite (Google,
/// Apache-2.0; a 2-layer transformer over SentencePiece ids, 512-d L2-normalised output), read
/// from the TF.js files that models/fetch-assets.sh puts in models/assets/use-lite and run with
/// libtorch. Matches the JavaScript reference (@energetic-ai/embeddings 0.2.0) to cosine > 0.999
/// and its token ids exactly (tests/core/test_scope_esd.cpp).
///
/// Thread-safety: immutable after load(); embed() may run from several threads at once. It runs
/// on the calling thread plus libtorch's intra-op thread pool; it starts no threads of its own.
/// Copies are cheap and share the weights.
#include "core/scope/sentencepiece_tokenizer.h"

#include <memory>
#include <string>
#include <vector>

namespace larimar {

class SentenceEncoder {
public:
    /// Loads model.json, its 7 weight shards and vocab.json from dir (about 28 MB; 0.1-0.3 s).
    /// Throws UserError naming the missing or corrupt file, with a hint to run
    /// models/fetch-assets.sh.
    static SentenceEncoder load(const std::string& dir);

    /// The embedding of each sentence (dimension() floats, unit length), in input order. Texts
    /// are embedded in batches; tokens past the 128th of a sentence are ignored (as the model
    /// does), and an empty text gets the model's embedding of no tokens. Costs about 1-2 ms per
    /// short sentence on one CPU core. Throws UserError for invalid UTF-8.
    std::vector<std::vector<float>> embed(const std::vector<std::string>& sentences) const;

    /// Number of floats per embedding (512).
    int dimension() const;

    /// The tokenizer the model was trained with.
    const SentencePieceTokenizer& tokenizer() const;

    /// The ops of the model's graph (for diagnostics).
    std::vector<std::string> graphOps() const;

    ~SentenceEncoder();
    SentenceEncoder(const SentenceEncoder&);
    SentenceEncoder& operator=(const SentenceEncoder&);
    SentenceEncoder(SentenceEncoder&&) noexcept;
    SentenceEncoder& operator=(SentenceEncoder&&) noexcept;

private:
    struct Impl;
    explicit SentenceEncoder(std::shared_ptr<const Impl> impl);
    std::shared_ptr<const Impl> m_impl;
};

} // namespace larimar
