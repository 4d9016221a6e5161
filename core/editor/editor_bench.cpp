#include "core/editor/editor_bench.h"

#include "core/editor/editor.h"
#include "core/util/error.h"
#include "core/util/file_io.h"
#include "core/util/stats.h"

#include <algorithm>
#include <chrono>
#include <filesystem>


namespace larimar {
namespace {

double msSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}


} // namespace

EditorBenchResult benchmarkEditor(std::shared_ptr<TextModel> model, const EditorBenchOptions& o,
                                  const std::function<void(double)>& progress) {
    if (o.batchFacts < 1 || o.repetitions < 1) throw UserError("bench editor: facts and repetitions must be positive");
    ScratchDirectory dir(o.directory, "larimar-bench-editor");
    const std::string path = (dir.path() / "bench.larimar").string();
    EditorBenchResult r;
    r.model = model->id();
    r.repetitions = o.repetitions;
    r.batchFacts = o.batchFacts;
    auto step = [&](double f) {
        if (progress) progress(f);
    };
    EditorOptions eo;
    eo.actor = "bench";
    eo.backend = o.backend;
    if (o.scope) eo.scope = o.scope(path);
    {
        Editor ed(model, path, eo);
        r.slots = ed.slots();
        r.width = ed.width();
        r.backend = describe(ed.backendSettings());
        r.scope = ed.scopeDetector().name();
        // The batch first: every step below runs with N facts written.
        std::vector<FactRecord> batch(static_cast<std::size_t>(o.batchFacts));
        for (std::size_t i = 0; i < batch.size(); ++i)
            batch[i].text = "Batch fact " + std::to_string(i) + ": item " + std::to_string(i * 104729 % 100000) +
                            " is stored in room " + std::to_string(i % 97) + ".";
        const auto b0 = std::chrono::steady_clock::now();
        ed.writeBatch(batch, "bench");
        r.batchMs = msSince(b0);
        r.pages = ed.capacity().pages;
        step(0.4);

        std::vector<double> writes, queries, reads, scores, forgets;
        std::vector<std::int64_t> written;
        for (int i = 0; i < o.repetitions; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            const auto w = ed.write("Benchmark fact number " + std::to_string(i) + " says the sky is colour " +
                                    std::to_string(i * 7919 % 1000) + ".");
            writes.push_back(msSince(t0));
            written.push_back(w.factIds.front());
        }
        r.writeOneMs = median(writes);
        std::vector<double> encodes;
        for (int i = 0; i < o.repetitions; ++i) {
            const auto e0 = std::chrono::steady_clock::now();
            model->encode({"Benchmark fact number " + std::to_string(i) + " says the sky is colour blue."});
            encodes.push_back(msSince(e0));
        }
        r.encodeOneMs = median(encodes);
        r.writeOneMaxMs = *std::max_element(writes.begin(), writes.end());
        step(0.6);

        QueryOptions qo;
        qo.decode.maxNewTokens = r.queryTokens;
        qo.decode.stopStrings.clear(); // every query generates the same number of tokens
        qo.forceScope = true;          // every query reads the memory
        for (int i = 0; i < o.repetitions; ++i) {
            const std::string prompt = "What colour is the sky in benchmark fact number " + std::to_string(i) + "?";
            const auto q0 = std::chrono::steady_clock::now();
            ed.query(prompt, qo);
            queries.push_back(msSince(q0));
            const auto s0 = std::chrono::steady_clock::now();
            const ScopeScore sc = ed.scopeDetector().score(prompt);
            scores.push_back(msSince(s0));
            const Eigen::MatrixXd z = model->encode({prompt});
            // A different fact's page each time, so a page is not always warm.
            const auto r0 = std::chrono::steady_clock::now();
            ed.memoryBackend().read(z, sc.nearestFactId);
            reads.push_back(msSince(r0));
        }
        r.queryMs = median(queries);
        r.readMs = median(reads);
        r.scopeMs = median(scores);
        step(0.8);

        for (int i = 0; i < o.repetitions; ++i) {
            const auto f0 = std::chrono::steady_clock::now();
            ed.forget({written[static_cast<std::size_t>(i)]}, "bench");
            forgets.push_back(msSince(f0));
        }
        r.forgetOneMs = median(forgets);
    }
    const auto t0 = std::chrono::steady_clock::now();
    {
        if (o.scope) eo.scope = o.scope(path); // a fresh detector: what opening costs
        Editor reopened(model, path, eo);
    }
    r.openMs = msSince(t0);
    std::error_code ec;
    r.workspaceBytes = static_cast<std::int64_t>(std::filesystem::file_size(path, ec));
    step(1.0);
    return r;
}

} // namespace larimar
