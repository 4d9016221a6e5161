#pragma once
/// all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0; 6-layer BERT, 384-d mean-pooled,
/// L2-normalised) as the ESD's sentence encoder: an adapter over core/model/bert.h's
/// BertEncoder, reading the Hugging Face directory models/fetch-assets.sh puts in
/// models/assets/minilm. Matches sentence-transformers to cosine > 0.9999
/// (tests/core/test_scope_esd.cpp, tests/core/test_bert.cpp).
///
/// Thread-safety: immutable after load(); embed() may run from several threads at once, on the
/// calling thread plus libtorch's intra-op pool (it starts no threads of its own). No libtorch
/// in this header.
#include "core/scope/sentence_encoder.h"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace larimar {

class BertEncoder;
class WordPieceTokenizer;

/// Cache key of MiniLM embeddings in a workspace.
inline constexpr const char* kMiniLmEncoderId = "minilm-l6-v2";
/// The asset directory name (models/assets/<name>, core/util/model_paths.h findAssetDir).
inline constexpr const char* kMiniLmAssetName = "minilm";

class MiniLmSentenceEncoder final : public SentenceEncoder {
public:
    /// Loads config.json, model.safetensors and vocab.txt from dir onto the CPU (about 90 MB,
    /// 0.2-0.5 s). batch: sentences per forward pass handed to the encoder at once (bounds
    /// memory; BertEncoder pads each run to its longest sentence). Throws UserError naming the
    /// missing or corrupt file, with a hint to run models/fetch-assets.sh.
    static std::shared_ptr<const MiniLmSentenceEncoder> load(const std::string& dir, std::size_t batch = 64);
    /// Whether dir looks like the MiniLM assets (config.json, model.safetensors, vocab.txt).
    static bool present(const std::string& dir);

    /// See SentenceEncoder. About 2-5 ms per short sentence on 2 cores (less in batches).
    std::vector<std::vector<float>> embed(const std::vector<std::string>& sentences) const override;
    int dimension() const override;
    std::string id() const override { return kMiniLmEncoderId; }
    /// A whole word of vocab.txt (not a "##" piece, not a special token).
    bool isCommonWord(const std::string& word) const override;

    const BertEncoder& bert() const { return *m_bert; }
    const WordPieceTokenizer& tokenizer() const;

    explicit MiniLmSentenceEncoder(std::shared_ptr<const BertEncoder> bert, std::size_t batch);
    ~MiniLmSentenceEncoder() override;

private:
    std::shared_ptr<const BertEncoder> m_bert;
    std::size_t m_batch;
};

} // namespace larimar
