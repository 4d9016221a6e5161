#pragma once
/// The Evaluation tab's run: loads a CounterFact or zsRE file and runs core/eval/edit_eval.h
/// (evaluateEdits, sweepBatchSizes, evaluateSequential) on the model the workbench loaded, the
/// code `larimar eval counterfact|zsre` runs. Called on the engine's worker thread (it holds the
/// model); synchronous, with progress and a cancel flag like the core calls.
#include "ui/evaluation_types.h"

#include <atomic>
#include <functional>

namespace larimar {
class TextModel;
}

namespace larimar::ui {

/// Runs `request` on `model`. progress(done, total) counts cases (edits in sequential mode, cases
/// over all sizes in a sweep). A raised *cancel stops early: the outcome covers the work done and
/// says it was cancelled. Throws larimar::UserError for a file that is not a valid CounterFact
/// or zsRE file (the message names the file, the record and the field).
EvalOutcomePtr runEvaluation(TextModel& model, const EvalRequest& request,
                             const std::function<void(int done, int total)>& progress = {},
                             const std::atomic<bool>* cancel = nullptr);

/// The batch sizes of a sweep up to n: 1, 2, 4, ... below n, then n.
QVector<int> sweepSizes(int n);

} // namespace larimar::ui
