#pragma once
/// Timing of the neural model, for `larimar bench model`: encoder sentences/s and decoder
/// tokens/s at batch 1, the way the workbench uses them. Torch-free header.
///
/// Runs on the calling thread plus libtorch's intra-op pool (threads option). Not reentrant
/// with other libtorch work that changes the thread count.
#include "core/model/model_config.h"

#include <functional>
#include <string>

namespace larimar {

class LarimarModel;

struct ModelBenchOptions {
    int sentenceTokens = 12;   ///< encoder input length (bos and eos included)
    int encoderRuns = 200;     ///< timed encoder calls (after 10 untimed)
    int promptTokens = 8;      ///< decoder prompt length before generation
    int decodeTokens = 100;    ///< generated per run (cut to fit decoder.max_positions)
    int decoderRuns = 5;       ///< timed generations (after one untimed)
    /// torch::set_num_threads for the run (restored after); 0: leave as is. Default 1: batch-1
    /// inference is a chain of small gemv calls bound by memory bandwidth, and on the 2-core
    /// development VM two OpenMP threads made decoding 4x slower (114 vs 510 tokens/s).
    int threads = 1;
    std::string device = "cpu";
    std::uint64_t seed = 42;   ///< weights (random-weight run) and token ids
};

struct ModelBenchResult {
    std::string device;
    int threads = 0;                 ///< libtorch intra-op threads used
    long long parameters = 0;
    double encoderMsPerSentence = 0; ///< median of encoderRuns
    double encoderSentencesPerSecond = 0;
    int decodeTokens = 0;            ///< tokens generated per run
    double decoderMsPerToken = 0;    ///< median run time / tokens (prompt pass included)
    double decoderTokensPerSecond = 0;
};

/// Benchmarks a model with random weights built from config (what `larimar bench model` does
/// before a trained model exists). Cost: a few seconds. progress(fraction) between phases.
ModelBenchResult benchmarkModel(const ModelConfig& config, const ModelBenchOptions& options = {},
                                const std::function<void(double)>& progress = {});

/// Benchmarks a loaded model (its device; options.device is ignored). Greedy, cached decoding
/// with the per-token probabilities and top-5 alternatives the GUI shows.
ModelBenchResult benchmarkModel(LarimarModel& model, const ModelBenchOptions& options = {},
                                const std::function<void(double)>& progress = {});

} // namespace larimar
