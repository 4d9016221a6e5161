#pragma once
/// Timing of the memory operations, shared by `larimar bench memory` and the Google Benchmark
/// target. Runs on the calling thread (one core: Eigen is built without OpenMP here).
///
/// Each single-fact operation is timed with cold caches by default (a 64 MB buffer is read
/// before it, twice the L3 of the project's machine), as in the editor, where the model's
/// encoding runs between two memory operations; each figure comes with its floor: the bytes the
/// operation has to move to and from DRAM divided by the DRAM bandwidth this bench measures
/// (a streaming read and an in-place update of a 256 MB buffer, best of 5).
#include <functional>
#include <string>

namespace larimar {

struct MemoryBenchOptions {
    int slots = 512;      ///< K
    int width = 768;      ///< C
    int episode = 512;    ///< N for the one-shot write
    int prefill = 256;    ///< facts written before timing single-fact operations
    int repetitions = 200;
    unsigned seed = 42;
    bool coldCaches = true; ///< evict the caches before each timed single-fact operation
};

/// Median time per operation, in milliseconds of the calling thread's CPU time (the time
/// slices of other jobs on a shared machine do not count; page faults do), each with its floor.
struct MemoryBenchResult {
    std::string kernels;          ///< the kernel build in use (episodic_memory_kernels.h)
    double readBandwidthGBs = 0;  ///< measured: streaming read
    double updateBandwidthGBs = 0; ///< measured: in-place read-modify-write, GB of the array per s

    double writeMs = 0;        ///< sequential write of one fact (portable arithmetic)
    double forgetMs = 0;       ///< forget of one fact
    double readMs = 0;         ///< read of one query, memory unchanged since the last read
    double readAfterChangeMs = 0; ///< first read after a write: includes computing M^+
    double oneShotMs = 0;      ///< one-shot write of N facts, M_ref^+ cached (EpisodicMemory::oneShotWrite(z))
    double oneShotOneMs = 0;   ///< the same for N = 1
    double oneShotUncachedMs = 0; ///< the static one-shot write, which computes M_ref^+ each time
    double snapshotMs = 0;     ///< serialize + deserialize the whole state

    double writeEigenBlockedMs = 0;  ///< the same write with the earlier arithmetic (MemoryArithmetic::EigenBlocked)
    double forgetEigenBlockedMs = 0;
    double referenceKalmanMs = 0;    ///< the public code's Kalman update, float32, key operator cached

    // Floors (ms): bytes that must move / measured bandwidth.
    double writeFloorMs = 0;   ///< M_ref^+ read, M and the factor's lower triangle updated, C's queued share
    double readFloorMs = 0;    ///< M^+ and M read
    double oneShotFloorMs = 0; ///< M_ref^+ and Z read, keys and M written (the solve is compute-bound)
    double oneShotOneFloorMs = 0;
    double issueFloorMs = 0;   ///< the issue's: M and a K x K float64 matrix updated once
    double referenceKalmanFloorMs = 0; ///< float32: key operator read, M and U updated once
    double oneShotGflops = 0;  ///< arithmetic rate of the cached N-fact one-shot write
};

/// progress(fraction in [0,1]) is called between phases; may be empty.
MemoryBenchResult benchmarkMemory(const MemoryBenchOptions& options,
                                  const std::function<void(double)>& progress = {});

} // namespace larimar
