#pragma once
/// Timing of the memory operations, shared by `larimar bench memory` and the Google Benchmark
/// target. Runs on the calling thread (one core: Eigen is built without OpenMP here).
#include <functional>

namespace larimar {

struct MemoryBenchOptions {
    int slots = 512;      ///< K
    int width = 768;      ///< C
    int episode = 512;    ///< N for the one-shot write
    int prefill = 256;    ///< facts written before timing single-fact operations
    int repetitions = 200;
    unsigned seed = 42;
};

/// Median wall time per operation, in milliseconds.
struct MemoryBenchResult {
    double writeMs = 0;        ///< sequential write of one fact
    double forgetMs = 0;       ///< forget of one fact
    double readMs = 0;         ///< read of one query, memory unchanged since the last read
    double readAfterChangeMs = 0; ///< first read after a write: includes computing M^+
    double oneShotMs = 0;      ///< one-shot write of N facts into a fresh memory
    double snapshotMs = 0;     ///< serialize + deserialize the whole state
};

/// progress(fraction in [0,1]) is called between phases; may be empty.
MemoryBenchResult benchmarkMemory(const MemoryBenchOptions& options,
                                  const std::function<void(double)>& progress = {});

} // namespace larimar
