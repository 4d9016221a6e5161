#include "core/memory/memory_bench.h"

#include "core/memory/episodic_memory.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

namespace larimar {
namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

template <class F>
double timeMs(F&& f) {
    const auto t0 = Clock::now();
    f();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

} // namespace

MemoryBenchResult benchmarkMemory(const MemoryBenchOptions& o, const std::function<void(double)>& progress) {
    auto report = [&](double f) { if (progress) progress(f); };
    std::mt19937_64 rng(o.seed);
    std::normal_distribution<double> g(0.0, 1.0);
    auto randn = [&](Eigen::Index r, Eigen::Index c) {
        Eigen::MatrixXd m(r, c);
        for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = g(rng);
        return m;
    };
    const Eigen::MatrixXd reference = randn(o.slots, o.width) / std::sqrt(double(o.width));
    EpisodicMemory mem(Eigen::MatrixXd::Zero(o.slots, o.width), reference);
    mem.write(randn(std::min(o.prefill, o.slots / 2), o.width));
    report(0.05);

    MemoryBenchResult r;
    const Eigen::MatrixXd facts = randn(o.repetitions, o.width);
    std::vector<double> writes, forgets, reads, readsAfter;
    for (int i = 0; i < o.repetitions; ++i) {
        const Eigen::MatrixXd fact = facts.row(i);
        writes.push_back(timeMs([&] { mem.write(fact); }));
        readsAfter.push_back(timeMs([&] { mem.read(fact); }));
        reads.push_back(timeMs([&] { mem.read(fact); }));
        forgets.push_back(timeMs([&] { mem.forget(fact); }));
        report(0.05 + 0.75 * (i + 1) / o.repetitions);
    }
    r.writeMs = median(writes);
    r.forgetMs = median(forgets);
    r.readMs = median(reads);
    r.readAfterChangeMs = median(readsAfter);

    const Eigen::MatrixXd episode = randn(o.episode, o.width);
    std::vector<double> oneShots;
    for (int i = 0; i < 3; ++i)
        oneShots.push_back(timeMs([&] { EpisodicMemory::oneShotWrite(reference, episode, mem.settings().pinv); }));
    r.oneShotMs = median(oneShots);
    report(0.95);
    r.snapshotMs = timeMs([&] { EpisodicMemory::deserialize(mem.serialize()); });
    report(1.0);
    return r;
}

} // namespace larimar
