#include "core/scope/sentence_encoder.h"

#include "core/scope/tfjs_graph.h"
#include "core/util/error.h"

#include <algorithm>
#include <filesystem>
#include <numeric>

namespace larimar {
namespace {

constexpr std::size_t kBatchSize = 32;  // sentences per graph run: bounds memory, keeps padding low

} // namespace

struct SentenceEncoder::Impl {
    SentencePieceTokenizer tokenizer;
    tfjs::GraphModel graph;
    int dimension = 0;

    /// One graph run. Rows follow the reference's input: (sentence, position) pairs and ids.
    torch::Tensor run(const std::vector<std::vector<std::int32_t>>& ids) const {
        std::vector<std::int64_t> indices, values;
        for (std::size_t i = 0; i < ids.size(); ++i)
            for (std::size_t j = 0; j < ids[i].size(); ++j) {
                indices.push_back(static_cast<std::int64_t>(i));
                indices.push_back(static_cast<std::int64_t>(j));
                values.push_back(ids[i][j]);
            }
        const auto n = static_cast<std::int64_t>(values.size());
        std::map<std::string, torch::Tensor> feeds{
            {"indices", torch::tensor(indices, torch::kLong).reshape({n, 2})},
            {"values", torch::tensor(values, torch::kLong)},
        };
        auto out = graph.execute(feeds);
        return out.at(0).contiguous();
    }
};

SentenceEncoder::SentenceEncoder(std::shared_ptr<const Impl> impl) : m_impl(std::move(impl)) {}
SentenceEncoder::~SentenceEncoder() = default;
SentenceEncoder::SentenceEncoder(const SentenceEncoder&) = default;
SentenceEncoder& SentenceEncoder::operator=(const SentenceEncoder&) = default;
SentenceEncoder::SentenceEncoder(SentenceEncoder&&) noexcept = default;
SentenceEncoder& SentenceEncoder::operator=(SentenceEncoder&&) noexcept = default;

SentenceEncoder SentenceEncoder::load(const std::string& dir) {
    namespace fs = std::filesystem;
    if (!fs::is_directory(dir))
        throw UserError(dir + ": no sentence encoder here (run models/fetch-assets.sh to fetch it)");
    auto impl = std::make_shared<Impl>(Impl{SentencePieceTokenizer::fromFile((fs::path(dir) / "vocab.json").string()),
                                            tfjs::GraphModel::load((fs::path(dir) / "model.json").string()), 0});
    const auto inputs = impl->graph.inputNames();
    const auto outputs = impl->graph.outputNames();
    const std::string modelFile = (fs::path(dir) / "model.json").string();
    if (std::find(inputs.begin(), inputs.end(), "indices") == inputs.end() ||
        std::find(inputs.begin(), inputs.end(), "values") == inputs.end() || outputs.size() != 1)
        throw UserError(modelFile + ": not Universal Sentence Encoder Lite (expected inputs 'indices' and 'values' and "
                                    "one output)");
    // A probe sentence gives the output width and proves that the graph runs.
    torch::Tensor probe = impl->run({impl->tokenizer.encode("hello")});
    if (probe.dim() != 2 || probe.size(0) != 1)
        throw UserError(modelFile + ": the model's output is not one vector per sentence");
    impl->dimension = static_cast<int>(probe.size(1));
    return SentenceEncoder(std::move(impl));
}

std::vector<std::vector<float>> SentenceEncoder::embed(const std::vector<std::string>& sentences) const {
    const Impl& m = *m_impl;
    std::vector<std::vector<std::int32_t>> tokens;
    tokens.reserve(sentences.size());
    for (const auto& s : sentences) tokens.push_back(m.tokenizer.encode(s));
    // Batches of similar length: every row is padded to the longest in its batch.
    std::vector<std::size_t> order(sentences.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return tokens[a].size() < tokens[b].size(); });
    std::vector<std::vector<float>> result(sentences.size());
    for (std::size_t start = 0; start < sentences.size(); start += kBatchSize) {
        const std::size_t end = std::min(sentences.size(), start + kBatchSize);
        std::vector<std::vector<std::int32_t>> ids;
        for (std::size_t i = start; i < end; ++i) ids.push_back(tokens[order[i]]);
        // The graph sizes its batch by the last row that has a token, so a batch that ends with
        // empty texts gets one more row, whose output is dropped.
        const bool padded = ids.back().empty();
        if (padded) ids.push_back(m.tokenizer.encode("."));
        torch::Tensor out = m.run(ids);
        if (out.size(0) != static_cast<std::int64_t>(ids.size()) || out.size(1) != m.dimension)
            throw Error("sentence encoder: the model returned " + std::to_string(out.size(0)) + " rows for " +
                        std::to_string(ids.size()) + " texts");
        const float* p = out.data_ptr<float>();
        for (std::size_t i = 0; i < end - start; ++i)
            result[order[start + i]].assign(p + i * static_cast<std::size_t>(m.dimension),
                                            p + (i + 1) * static_cast<std::size_t>(m.dimension));
    }
    return result;
}

int SentenceEncoder::dimension() const { return m_impl->dimension; }

const SentencePieceTokenizer& SentenceEncoder::tokenizer() const { return m_impl->tokenizer; }

std::vector<std::string> SentenceEncoder::graphOps() const { return m_impl->graph.ops(); }

} // namespace larimar
