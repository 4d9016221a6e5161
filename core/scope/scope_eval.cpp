#include "core/scope/scope_eval.h"

#include "core/util/error.h"
#include "core/util/plot.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

namespace larimar {

ScopeMetrics scopeMetrics(const std::vector<double>& positives, const std::vector<double>& negatives,
                          double threshold) {
    if (positives.empty() || negatives.empty())
        throw UserError("scope metrics need at least one positive and one negative score");
    ScopeMetrics m;
    m.positives = static_cast<std::int64_t>(positives.size());
    m.negatives = static_cast<std::int64_t>(negatives.size());
    m.threshold = threshold;
    const double p = static_cast<double>(m.positives), n = static_cast<double>(m.negatives);

    // (score, is positive), highest first; sweep the threshold down through each distinct score.
    std::vector<std::pair<double, bool>> all;
    all.reserve(positives.size() + negatives.size());
    for (double s : positives) all.emplace_back(s, true);
    for (double s : negatives) all.emplace_back(s, false);
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    m.roc.push_back({std::numeric_limits<double>::infinity(), 0.0, 0.0});
    double tp = 0, fp = 0, auc = 0;
    double bestGap = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < all.size();) {
        const double t = all[i].first;
        for (; i < all.size() && all[i].first == t; ++i) (all[i].second ? tp : fp) += 1;
        const RocPoint prev = m.roc.back();
        const RocPoint pt{t, fp / n, tp / p};
        auc += (pt.fpr - prev.fpr) * (pt.tpr + prev.tpr) / 2; // trapezoid: ties count half
        m.roc.push_back(pt);
        const double fnr = 1.0 - pt.tpr;
        const double gap = std::abs(pt.fpr - fnr);
        if (gap < bestGap) {
            bestGap = gap;
            m.eer = (pt.fpr + fnr) / 2;
            m.eerThreshold = t;
        }
    }
    m.auc = auc;

    double tpAt = 0, fpAt = 0;
    for (double s : positives) tpAt += s >= threshold ? 1 : 0;
    for (double s : negatives) fpAt += s >= threshold ? 1 : 0;
    m.precision = tpAt + fpAt > 0 ? tpAt / (tpAt + fpAt) : 0.0;
    m.recall = tpAt / p;
    m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
    m.accuracy = (tpAt + (n - fpAt)) / (p + n);
    return m;
}

ScopeScores collectScopeScores(ScopeDetector& detector, const std::vector<EditCase>& cases, int limit,
                               const std::function<void(const std::vector<std::string>&)>& writeMemory,
                               const std::function<void(std::int64_t, std::int64_t)>& progress,
                               const std::atomic<bool>* cancel) {
    std::size_t count = cases.size();
    if (limit > 0) count = std::min(count, static_cast<std::size_t>(limit));
    std::vector<Fact> facts;
    std::vector<std::string> texts;
    std::int64_t queries = 0;
    for (std::size_t i = 0; i < count; ++i) {
        Fact f;
        f.id = static_cast<std::int64_t>(i) + 1;
        f.text = cases[i].editText();
        texts.push_back(f.text);
        facts.push_back(std::move(f));
        queries += static_cast<std::int64_t>(cases[i].paraphrasePrompts.size() + cases[i].neighbourhoodPrompts.size());
    }
    const std::int64_t total = static_cast<std::int64_t>(count) + queries;
    ScopeScores out;
    out.facts = static_cast<std::int64_t>(count);
    if (writeMemory) writeMemory(texts);
    detector.reset({});
    // In chunks, so progress moves while a thousand facts are embedded.
    constexpr std::size_t kChunk = 64;
    for (std::size_t b = 0; b < facts.size(); b += kChunk) {
        if (cancel && cancel->load()) throw UserError("cancelled");
        const std::size_t e = std::min(facts.size(), b + kChunk);
        detector.added(std::vector<Fact>(facts.begin() + b, facts.begin() + e));
        if (progress) progress(static_cast<std::int64_t>(e), total);
    }
    std::int64_t done = static_cast<std::int64_t>(count);
    const auto start = std::chrono::steady_clock::now();
    auto scoreAll = [&](const std::vector<std::string>& prompts, std::vector<double>& into) {
        for (const auto& q : prompts) {
            if (cancel && cancel->load()) throw UserError("cancelled");
            into.push_back(detector.score(q).score);
            ++done;
            if (progress && (done % 50 == 0 || done == total)) progress(done, total);
        }
    };
    for (std::size_t i = 0; i < count; ++i) {
        scoreAll(cases[i].paraphrasePrompts, out.positives);
        scoreAll(cases[i].neighbourhoodPrompts, out.negatives);
    }
    if (queries > 0)
        out.secondsPerQuery =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / static_cast<double>(queries);
    return out;
}

DetectorEditScope::DetectorEditScope(std::shared_ptr<ScopeDetector> detector, std::optional<double> threshold)
    : m_detector(std::move(detector)) {
    if (!m_detector) throw Error("DetectorEditScope: no scope detector");
    m_threshold = threshold ? *threshold : m_detector->defaultThreshold();
    if (!std::isfinite(m_threshold)) throw UserError("the scope threshold must be a number");
    // An ISD reads the memory the evaluation wrote, not an editor's.
    if (auto* isd = dynamic_cast<InternalScopeDetector*>(m_detector.get()))
        // (A paged memory shows it its first page only: ISD scores one K x C memory.)
        isd->setMemory([this]() -> const EpisodicMemory* { return m_memory ? &m_memory->page(0) : nullptr; });
}

void DetectorEditScope::reset(MemoryBackend& memory) {
    m_memory = &memory;
    m_nextId = 1;
    m_detector->reset({});
}

void DetectorEditScope::added(const std::vector<std::string>& facts) {
    std::vector<Fact> written;
    written.reserve(facts.size());
    for (const auto& text : facts) {
        Fact f;
        f.id = m_nextId++;
        f.text = text;
        written.push_back(std::move(f));
    }
    m_detector->added(written);
}

bool DetectorEditScope::inScope(const std::string& prompt) { return m_detector->score(prompt).score >= m_threshold; }

std::string DetectorEditScope::description() const {
    std::ostringstream s;
    s << m_detector->name() << ", threshold " << m_threshold;
    return s.str();
}

void writeRocChart(const std::string& path, const ScopeMetrics& metrics, const std::string& title) {
    Chart c;
    c.title = title;
    c.xLabel = "false positive rate";
    c.yLabel = "true positive rate";
    c.xRange = std::make_pair(0.0, 1.0);
    c.yRange = std::make_pair(0.0, 1.0);
    c.width = 640;
    c.height = 560;
    Series roc;
    char label[96];
    std::snprintf(label, sizeof label, "ROC (AUC %.3f, EER %.1f%%)", metrics.auc, 100 * metrics.eer);
    roc.label = label;
    for (const auto& pt : metrics.roc) {
        roc.x.push_back(pt.fpr);
        roc.y.push_back(pt.tpr);
    }
    Series chance;
    chance.label = "chance";
    chance.x = {0.0, 1.0};
    chance.y = {0.0, 1.0};
    Series eer;
    std::snprintf(label, sizeof label, "EER point (threshold %.3f)", metrics.eerThreshold);
    eer.label = label;
    eer.style = Series::Style::Points;
    eer.x = {metrics.eer};
    eer.y = {1.0 - metrics.eer};
    c.series = {roc, chance, eer};
    writeChart(path, c);
}

} // namespace larimar
