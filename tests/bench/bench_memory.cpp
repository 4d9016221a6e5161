// Google Benchmark for the memory engine at the paper's size (K = 512, C = 768), warm caches.
// `larimar bench memory` times the same operations cold, each beside its DRAM floor.
#include "core/memory/episodic_memory.h"

#include <benchmark/benchmark.h>

#include <random>

namespace {

Eigen::MatrixXd randn(std::mt19937_64& rng, Eigen::Index r, Eigen::Index c) {
    std::normal_distribution<double> g(0.0, 1.0);
    Eigen::MatrixXd m(r, c);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = g(rng);
    return m;
}

larimar::EpisodicMemory makeMemory(std::mt19937_64& rng, int k, int c, int prefill) {
    const Eigen::MatrixXd ref = randn(rng, k, c) / std::sqrt(double(c));
    larimar::EpisodicMemory mem(Eigen::MatrixXd::Zero(k, c), ref);
    mem.write(randn(rng, prefill, c));
    return mem;
}

void BM_WriteAndForgetOneFact(benchmark::State& state) {
    std::mt19937_64 rng(1);
    const int k = static_cast<int>(state.range(0)), c = static_cast<int>(state.range(1));
    auto mem = makeMemory(rng, k, c, k / 2);
    const Eigen::MatrixXd fact = randn(rng, 1, c);
    for (auto _ : state) {
        mem.write(fact);
        mem.forget(fact);
    }
    state.SetLabel("one write + one forget");
}
BENCHMARK(BM_WriteAndForgetOneFact)->Args({512, 768})->Args({2048, 1024})->Unit(benchmark::kMillisecond);

void BM_ReadOneQuery(benchmark::State& state) {
    std::mt19937_64 rng(2);
    auto mem = makeMemory(rng, 512, 768, 256);
    const Eigen::MatrixXd q = randn(rng, 1, 768);
    mem.read(q); // fills the M^+ cache
    for (auto _ : state) benchmark::DoNotOptimize(mem.read(q).readout.data());
}
BENCHMARK(BM_ReadOneQuery)->Unit(benchmark::kMillisecond);

void BM_PseudoInverseOfMemory(benchmark::State& state) {
    std::mt19937_64 rng(3);
    const Eigen::MatrixXd m = randn(rng, 512, 768);
    larimar::PinvSettings s;
    s.mode = state.range(0) == 0 ? larimar::PinvMode::Exact : larimar::PinvMode::Iterative;
    for (auto _ : state) benchmark::DoNotOptimize(larimar::pseudoInverse(m, s).data());
    state.SetLabel(state.range(0) == 0 ? "exact" : "iterative 15 steps");
}
BENCHMARK(BM_PseudoInverseOfMemory)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_OneShotWrite512(benchmark::State& state) {
    // The static form: M_ref^+ is recomputed by the rank-revealing decomposition every call.
    std::mt19937_64 rng(4);
    const Eigen::MatrixXd ref = randn(rng, 512, 768) / std::sqrt(768.0);
    const Eigen::MatrixXd z = randn(rng, 512, 768);
    for (auto _ : state) benchmark::DoNotOptimize(larimar::EpisodicMemory::oneShotWrite(ref, z, {}).memory.data());
}
BENCHMARK(BM_OneShotWrite512)->Unit(benchmark::kMillisecond);

void BM_OneShotWriteCached(benchmark::State& state) {
    // M_ref^+ cached by the memory: O(N K C). Target: N = 1 <= 1 ms, N = 512 <= 30 ms.
    std::mt19937_64 rng(5);
    const Eigen::MatrixXd ref = randn(rng, 512, 768) / std::sqrt(768.0);
    const larimar::EpisodicMemory mem(Eigen::MatrixXd::Zero(512, 768), ref);
    const Eigen::MatrixXd z = randn(rng, static_cast<Eigen::Index>(state.range(0)), 768);
    for (auto _ : state) benchmark::DoNotOptimize(mem.oneShotWrite(z).memory.data());
}
BENCHMARK(BM_OneShotWriteCached)->Arg(1)->Arg(512)->Unit(benchmark::kMillisecond);

} // namespace
