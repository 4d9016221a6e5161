#pragma once
/// A BERT encoder read from a Hugging Face directory and run with libtorch, as
/// transformers' modeling_bert.py BertModel does it (absolute positions, post-LN layers, GELU
/// with erf), plus the sentence-transformers head of all-MiniLM-L6-v2: mean of the last hidden
/// states over the real tokens, then L2 normalisation. Matches sentence-transformers to cosine
/// > 0.9999 (tests/core/test_bert.cpp).
///
/// The directory holds config.json, model.safetensors (F32, F16 or BF16; names with or without
/// the "bert." prefix; a pooler, if any, is not used), vocab.txt and optionally
/// sentence_bert_config.json (max_seq_length, default 512) and tokenizer_config.json
/// (do_lower_case, default true).
///
/// Thread-safety: immutable after load(); embed() and forward() may run from several threads at
/// once (on the caller's thread plus libtorch's intra-op pool). Copies are cheap and share the
/// weights.
#include "core/model/wordpiece.h"

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace larimar {

/// The parts of config.json a BertModel needs.
struct BertConfig {
    std::int64_t vocabSize = 30522;
    std::int64_t hiddenSize = 768;
    std::int64_t layers = 12;
    std::int64_t heads = 12;
    std::int64_t intermediateSize = 3072;
    std::int64_t maxPositions = 512;
    std::int64_t typeVocabSize = 2;
    double layerNormEps = 1e-12;

    /// Reads and checks config.json (model_type "bert" or absent, hidden_act "gelu",
    /// position_embedding_type "absolute", hidden_size divisible by the heads). UserError naming
    /// the file and the field otherwise.
    static BertConfig fromFile(const std::string& path);
};

/// Token ids of a batch, padded on the right, and which of them are real (1) or padding (0).
struct BertBatch {
    torch::Tensor ids;  ///< [B, T] int64
    torch::Tensor mask; ///< [B, T] int64
};

class BertEncoder {
public:
    /// Loads dir (see the top of this file) onto device. Every tensor's shape is checked against
    /// config.json and the vocabulary size against vocab.txt; UserError naming the file and the
    /// tensor otherwise, or naming a missing file with a hint to run models/fetch-assets.sh.
    /// About 0.2 s for all-MiniLM-L6-v2 (90 MB).
    static BertEncoder load(const std::string& dir, torch::Device device = torch::kCPU);

    /// The sentence embedding of each text (dimension() floats, unit length), in input order:
    /// tokens past maxSequenceLength() are dropped (as sentence-transformers does). Texts are run
    /// in batches of similar length. About 2-5 ms per short sentence on 2 cores. UserError for
    /// invalid UTF-8.
    std::vector<std::vector<float>> embed(const std::vector<std::string>& sentences) const;

    /// [CLS] pieces [SEP] of each text (truncated to maxSequenceLength()), padded into a batch.
    BertBatch encodeBatch(const std::vector<std::string>& sentences) const;
    /// The last hidden states [B, T, hidden] (float32, on the device) for a batch; padding rows
    /// hold numbers that mean nothing. UserError for ids outside the vocabulary or a batch longer
    /// than the position table.
    torch::Tensor forward(const BertBatch& batch) const;
    /// Mean of hidden [B, T, H] over mask's real tokens, L2-normalised: [B, H].
    static torch::Tensor meanPoolNormalize(const torch::Tensor& hidden, const torch::Tensor& mask);

    int dimension() const;
    int maxSequenceLength() const;
    const BertConfig& config() const;
    const WordPieceTokenizer& tokenizer() const;
    torch::Device device() const;

    ~BertEncoder();
    BertEncoder(const BertEncoder&);
    BertEncoder& operator=(const BertEncoder&);
    BertEncoder(BertEncoder&&) noexcept;
    BertEncoder& operator=(BertEncoder&&) noexcept;

private:
    struct Impl;
    explicit BertEncoder(std::shared_ptr<const Impl> impl);
    std::shared_ptr<const Impl> m_impl;
};

} // namespace larimar
