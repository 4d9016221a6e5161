#pragma once
/// Measuring a scope detector the way the Larimar paper does: write the facts of CounterFact-style
/// cases ("prompt + target_new") into a fresh index/memory, then score positives (the rephrase
/// prompts of the written facts) and negatives (the neighbourhood/locality prompts: nearby but
/// different facts). Reports the equal error rate, F1 at a threshold and the ROC curve (AUC).
/// Paper, ESD with MiniLM: EER 2.9%, F1 0.974.
///
/// Thread-safety: none needed (pure functions, or the caller's detector on the caller's thread).
#include "core/eval/datasets.h"
#include "core/eval/edit_eval.h"
#include "core/scope/scope_detectors.h"

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace larimar {

struct RocPoint {
    double threshold = 0; ///< in scope when score >= threshold
    double fpr = 0;       ///< negatives in scope / negatives
    double tpr = 0;       ///< positives in scope / positives
};

struct ScopeMetrics {
    std::int64_t positives = 0, negatives = 0;
    double auc = 0;           ///< area under the ROC curve (ties count half)
    double eer = 0;           ///< equal error rate: (FPR + FNR) / 2 where they are closest
    double eerThreshold = 0;  ///< the score threshold at that point
    double threshold = 0;     ///< the threshold F1 and accuracy are measured at
    double precision = 0, recall = 0, f1 = 0, accuracy = 0;
    std::vector<RocPoint> roc; ///< from threshold +inf (0, 0) down to the lowest score (1, 1)
};

/// Metrics of scores (higher = more in scope) at threshold. The ROC has one point per distinct
/// score; the EER is taken at the distinct score where |FPR - FNR| is smallest (ties: the
/// higher threshold). UserError when either list is empty. O((p + n) log(p + n)).
ScopeMetrics scopeMetrics(const std::vector<double>& positives, const std::vector<double>& negatives,
                          double threshold);

/// The scores of an evaluation run.
struct ScopeScores {
    std::vector<double> positives, negatives;
    std::int64_t facts = 0;
    double secondsPerQuery = 0;
};

/// Writes the edit texts of cases (first `limit`, 0: all) into detector (reset, then added with
/// ids 1..n) and, when writeMemory is given, through it (the ISD's memory), then scores every
/// paraphrase prompt (positive) and neighbourhood prompt (negative). progress(done, total)
/// counts facts written and queries scored; cancel is checked between queries (UserError
/// "cancelled").
ScopeScores collectScopeScores(ScopeDetector& detector, const std::vector<EditCase>& cases, int limit,
                               const std::function<void(const std::vector<std::string>&)>& writeMemory = {},
                               const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                               const std::atomic<bool>* cancel = nullptr);

/// The knowledge-editing evaluation's scope gate (core/eval/edit_eval.h EditScope) over one of
/// the editor's scope detectors, deciding exactly as Editor::query does: in scope when
/// detector.score(prompt) >= the threshold (the given one, else the detector's default).
/// `larimar eval counterfact|zsre` builds the detector the editor builds (makeScopeDetector with
/// the CLI's scopeSetup, kind "auto": ESD hybrid on MiniLM when its assets are there, threshold
/// 0.56), without a workspace embedding cache. reset() empties the detector and gives an ISD
/// the evaluation's memory; added() passes the edit texts as facts with ids 1, 2, ... since the
/// last reset. Cost per query: the detector's score (ESD: about 5 ms on 2 cores); per write: the
/// detector's added() (ESD: one embedding per fact).
class DetectorEditScope : public EditScope {
public:
    /// UserError for a threshold that is not a finite number.
    explicit DetectorEditScope(std::shared_ptr<ScopeDetector> detector, std::optional<double> threshold = {});
    DetectorEditScope(const DetectorEditScope&) = delete; // an ISD holds a pointer to this
    DetectorEditScope& operator=(const DetectorEditScope&) = delete;
    void reset(MemoryBackend& memory) override;
    void added(const std::vector<std::string>& facts) override;
    bool inScope(const std::string& prompt) override;
    /// "<detector name>, threshold <t>", e.g. "esd hybrid, threshold 0.56".
    std::string description() const override;
    double threshold() const { return m_threshold; }
    const ScopeDetector& detector() const { return *m_detector; }

private:
    std::shared_ptr<ScopeDetector> m_detector;
    double m_threshold = 0;
    MemoryBackend* m_memory = nullptr;
    std::int64_t m_nextId = 1;
};

/// The ROC curve as a chart (core/util/plot.h), with the chance diagonal; title names the detector.
/// Written by writeChart(path, ...) as PNG or SVG.
void writeRocChart(const std::string& path, const ScopeMetrics& metrics, const std::string& title);

} // namespace larimar
