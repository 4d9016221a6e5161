#include "core/scope/minilm_encoder.h"

#include "core/model/bert.h"
#include "core/util/error.h"

#include <algorithm>
#include <filesystem>

namespace larimar {

MiniLmSentenceEncoder::MiniLmSentenceEncoder(std::shared_ptr<const BertEncoder> bert, std::size_t batch)
    : m_bert(std::move(bert)), m_batch(std::max<std::size_t>(batch, 1)) {
    if (!m_bert) throw Error("MiniLmSentenceEncoder: no encoder");
}

MiniLmSentenceEncoder::~MiniLmSentenceEncoder() = default;

bool MiniLmSentenceEncoder::present(const std::string& dir) {
    namespace fs = std::filesystem;
    if (dir.empty()) return false;
    const fs::path d(dir);
    return fs::exists(d / "config.json") && fs::exists(d / "model.safetensors") && fs::exists(d / "vocab.txt");
}

std::shared_ptr<const MiniLmSentenceEncoder> MiniLmSentenceEncoder::load(const std::string& dir, std::size_t batch) {
    // BertEncoder::load names a missing file and says to run models/fetch-assets.sh.
    auto bert = std::make_shared<const BertEncoder>(BertEncoder::load(dir, torch::kCPU));
    return std::make_shared<const MiniLmSentenceEncoder>(std::move(bert), batch);
}

std::vector<std::vector<float>> MiniLmSentenceEncoder::embed(const std::vector<std::string>& sentences) const {
    if (sentences.size() <= m_batch) return m_bert->embed(sentences);
    std::vector<std::vector<float>> out;
    out.reserve(sentences.size());
    for (std::size_t begin = 0; begin < sentences.size(); begin += m_batch) {
        const std::size_t end = std::min(sentences.size(), begin + m_batch);
        auto part = m_bert->embed(std::vector<std::string>(sentences.begin() + static_cast<std::ptrdiff_t>(begin),
                                                           sentences.begin() + static_cast<std::ptrdiff_t>(end)));
        for (auto& v : part) out.push_back(std::move(v));
    }
    return out;
}

int MiniLmSentenceEncoder::dimension() const { return m_bert->dimension(); }

const WordPieceTokenizer& MiniLmSentenceEncoder::tokenizer() const { return m_bert->tokenizer(); }

bool MiniLmSentenceEncoder::isCommonWord(const std::string& word) const {
    // The tokenizer's own normalisation (accents dropped, punctuation split) decides what the
    // word is to the model; one whole vocabulary token means a word the model knows.
    const auto words = m_bert->tokenizer().words(word);
    return words.size() == 1 && m_bert->tokenizer().isWholeToken(words[0]);
}

} // namespace larimar
