#pragma once
/// `larimar bench editor`: end-to-end editor timings on a scratch workspace in the temp
/// directory: one fact written (encode + memory + commit with fsync), one batch of N facts, a
/// query (scope + read + two generations), a forget, and reopening the workspace (snapshot
/// restore + replay). Runs with any TextModel; with SyntheticTextModel the model costs about
/// nothing, so the numbers are the editor's own (memory + database).
#include "core/model/text_model.h"

#include <functional>
#include <string>

namespace larimar {

struct EditorBenchOptions {
    int batchFacts = 1000;  ///< N, facts in the timed batch
    int repetitions = 20;   ///< single writes, queries and forgets timed (medians)
    std::string directory;  ///< scratch directory; empty: the system temp directory
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
    int queryTokens = 8;        ///< tokens per generation (no stop string; eos may stop earlier)
    double forgetOneMs = 0;     ///< median
    double openMs = 0;          ///< reopening the workspace: restore + replay + digest check
    std::int64_t workspaceBytes = 0;
};

/// Runs the benchmark; progress(fraction) between steps. The scratch workspace is removed.
EditorBenchResult benchmarkEditor(std::shared_ptr<TextModel> model, const EditorBenchOptions& options,
                                  const std::function<void(double)>& progress = {});

} // namespace larimar
