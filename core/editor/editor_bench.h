#pragma once
/// `larimar bench editor`: end-to-end editor timings on a scratch workspace in the temp
/// directory: first a batch of N facts (so every later step runs with N facts written), then
/// one fact written (encode + memory + commit with fsync), a query (scope + read + two
/// generations) with its memory read (routing + read) and scope score timed apart, a forget,
/// and reopening the workspace (snapshot restore + replay). Runs with any TextModel; with SyntheticTextModel the model costs about
/// nothing, so the numbers are the editor's own (memory + database).
#include "core/editor/editor.h"
#include "core/model/text_model.h"

#include <functional>
#include <string>

namespace larimar {

struct EditorBenchOptions {
    int batchFacts = 1000;  ///< N, facts in the timed batch
    int repetitions = 20;   ///< single writes, queries and forgets timed (medians)
    std::string directory;  ///< scratch directory; empty: the system temp directory
    BackendSettings backend = EditorOptions::defaultBackend();
    /// The scope detector for the scratch workspace at this path (so a detector with a
    /// workspace cache, the ESD's embeddings, uses it as the product does); empty:
    /// AnyFactScopeDetector, which names no nearest fact.
    std::function<std::shared_ptr<ScopeDetector>(const std::string& workspacePath)> scope;
};

struct EditorBenchResult {
    std::string model;
    int slots = 0, width = 0;
    int repetitions = 0, batchFacts = 0;
    double encodeOneMs = 0;     ///< median: the model's encoding of one fact alone (part of a write)
    double writeOneMs = 0;      ///< median
    double writeOneMaxMs = 0;   ///< the slowest (one with a snapshot)
    double batchMs = 0;         ///< the whole batch, one transaction with a snapshot
    double queryMs = 0;         ///< median, in scope: 2 greedy generations of queryTokens tokens
    double readMs = 0;          ///< median: the memory read of a query (routing + read), encoded
    double scopeMs = 0;         ///< median: the scope detector's score of a query
    std::string backend;        ///< describe(BackendSettings)
    std::string scope;          ///< the scope detector's name
    int pages = 1;              ///< memory pages after the batch
    int queryTokens = 8;        ///< tokens per generation (no stop string; eos may stop earlier)
    double forgetOneMs = 0;     ///< median
    double openMs = 0;          ///< reopening the workspace: restore + replay + digest check
    std::int64_t workspaceBytes = 0;
};

/// Runs the benchmark; progress(fraction) between steps. The scratch workspace is removed.
EditorBenchResult benchmarkEditor(std::shared_ptr<TextModel> model, const EditorBenchOptions& options,
                                  const std::function<void(double)>& progress = {});

} // namespace larimar
