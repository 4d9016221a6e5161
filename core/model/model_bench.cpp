#include "core/model/model_bench.h"

#include "core/model/generation.h"
#include "core/model/larimar_model.h"
#include "core/util/error.h"
#include "core/util/stats.h"

#include <algorithm>
#include <chrono>
#include <random>

namespace larimar {
namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void sync(torch::Device device) {
    // A CUDA timing must wait for the queued kernels; reading a value back does that with the
    // stable API (torch::cuda::synchronize is not in libtorch 1.13).
    if (device.is_cuda()) torch::zeros({1}, torch::TensorOptions().device(device)).cpu();
}

// Restores libtorch's intra-op thread count when the benchmark ends.
class ThreadScope {
public:
    explicit ThreadScope(int threads) : m_previous(torch::get_num_threads()) {
        if (threads > 0) torch::set_num_threads(threads);
    }
    ~ThreadScope() { torch::set_num_threads(m_previous); }

private:
    int m_previous;
};

} // namespace

ModelBenchResult benchmarkModel(LarimarModel& model, const ModelBenchOptions& o,
                                const std::function<void(double)>& progress) {
    if (o.sentenceTokens < 1 || o.encoderRuns < 1 || o.promptTokens < 0 || o.decodeTokens < 1 || o.decoderRuns < 1)
        throw UserError("bench model: token counts and runs must be positive");
    ThreadScope threads(o.threads);
    const ModelConfig& cfg = model.config();
    const auto device = model.device();
    ModelBenchResult r;
    r.device = device.str();
    r.threads = torch::get_num_threads();
    r.parameters = cfg.parameterCount();
    model.net()->eval();

    std::mt19937_64 rng(o.seed);
    // Ids >= 256 are merged tokens in a byte-level BPE; any id in range exercises the same work.
    const int64_t encLen = std::min(o.sentenceTokens, cfg.encoder.maxPositions);
    std::vector<int64_t> encIds(static_cast<size_t>(encLen));
    for (auto& id : encIds) id = int64_t(rng() % std::uint64_t(cfg.encoder.vocab));
    const auto ids = torch::tensor(encIds, torch::kLong).view({1, encLen}).to(device);
    const auto mask = torch::ones({1, encLen}, torch::TensorOptions().dtype(torch::kLong).device(device));
    {
        c10::InferenceMode inference;
        std::vector<double> times;
        for (int i = 0; i < 10 + o.encoderRuns; ++i) {
            const auto start = Clock::now();
            // Same work as LarimarModel::encode minus tokenising: forward, mean to the CPU.
            const auto z = model.encoder()->forward(ids, mask).mean.to(torch::kCPU);
            (void)z;
            if (i >= 10) times.push_back(msSince(start));
        }
        r.encoderMsPerSentence = median(times);
        r.encoderSentencesPerSecond = r.encoderMsPerSentence > 0 ? 1000.0 / r.encoderMsPerSentence : 0.0;
    }
    if (progress) progress(0.3);

    const int prompt = std::max(0, std::min(o.promptTokens, cfg.decoder.maxPositions - 2));
    r.decodeTokens = std::max(1, std::min(o.decodeTokens, cfg.decoder.maxPositions - 1 - prompt));
    std::vector<std::int32_t> promptIds(static_cast<size_t>(prompt));
    for (auto& id : promptIds) id = std::int32_t(rng() % std::uint64_t(cfg.decoder.vocab));
    TokenDecoding tokens; // ids only: the benchmark must not depend on a tokenizer
    tokens.bosId = 0;
    tokens.eosId = -1;
    GenerationOptions gen;
    gen.maxNewTokens = r.decodeTokens;
    gen.greedy = true;
    gen.stopAtEos = false;
    gen.alternatives = 5;
    std::vector<double> times;
    for (int i = 0; i < 1 + o.decoderRuns; ++i) {
        sync(device);
        const auto start = Clock::now();
        const auto result = generate(*model.decoder(), tokens, promptIds, torch::Tensor(), gen);
        sync(device);
        if (i >= 1) times.push_back(msSince(start) / double(result.tokens.size()));
        if (progress) progress(0.3 + 0.7 * double(i + 1) / double(1 + o.decoderRuns));
    }
    r.decoderMsPerToken = median(times);
    r.decoderTokensPerSecond = r.decoderMsPerToken > 0 ? 1000.0 / r.decoderMsPerToken : 0.0;
    return r;
}

ModelBenchResult benchmarkModel(const ModelConfig& config, const ModelBenchOptions& o,
                                const std::function<void(double)>& progress) {
    auto model = LarimarModel::randomInit(config, o.seed, std::nullopt, parseDevice(o.device));
    return benchmarkModel(model, o, progress);
}

} // namespace larimar
