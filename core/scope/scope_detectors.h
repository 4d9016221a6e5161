#pragma once
/// The scope detectors the editor plugs in (core/editor/editor.h ScopeDetector), and the one
/// factory that picks between them: makeScopeDetector(). The CLI and the GUI both build their
/// Editor's detector through it, then call connectScopeDetector() once the Editor exists.
///
///  - ESD (external): Universal Sentence Encoder Lite embeddings of the written facts, kept in the
///    workspace (core/store/fact_embeddings.h) so reopening does not re-embed them; a query's
///    score is the best cosine similarity between any of its sentences and its nearest written
///    fact (1-NN). Default threshold kEsdThreshold (see there why it is not the public 0.7).
///  - ISD (internal): Larimar's own encoder and the editor's current memory. Without a trained
///    classifier the score is 1 - ||read(z) - z|| / ||z|| (the public code's internal distance,
///    standardised by the query's norm: 1 for a query the memory reproduces exactly, 0 for one
///    it reads out as nothing); with the classifier of `larimar train-scope` (the paper's ISD,
///    core/scope/scope_classifier.h) saved in the model directory, the classifier's probability.
///
/// Every detector is out of scope for every query while no fact is written (score -1 for ESD,
/// 0 for ISD, below any threshold it accepts).
///
/// Thread-safety: none; the Editor's thread owns its detector (like the Editor itself).
/// No libtorch in this header.
#include "core/editor/editor.h"
#include "core/scope/nearest_fact_index.h"
#include "core/scope/scope_decision.h"
#include "core/scope/sentence_encoder.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace larimar {

class FactEmbeddingCache;
struct ScopeClassifier;

/// The ESD's default threshold on the cosine similarity: the public Larimar code's 0.7 (1 - cos
/// <= 0.3, with MiniLM). Kept for USE-Lite because its measured equal-error point is close to it:
/// on CounterFact val with 1,000 facts written (rephrases against neighbourhood prompts,
/// `larimar eval scope easyedit-val.json --limit 1000`) the EER point is at 0.686 (EER 45.6%,
/// F1 0.514 at 0.7, AUC 0.56; with 100 facts: 0.638, EER 36%). CounterFact's neighbourhood
/// prompts share the written fact's relation wording, which a sentence encoder barely tells
/// apart, so no threshold separates them well; a workspace can set its own ("scope.threshold").
inline constexpr double kEsdThreshold = 0.7;
/// The ISD's default threshold (distance score or classifier probability).
inline constexpr double kIsdThreshold = 0.5;

struct EsdOptions {
    std::string workspacePath;   ///< where to keep the embeddings; empty: keep none (eval, tests)
    std::string encoderId = "use-lite"; ///< cache key of the embeddings
    int batch = 64;              ///< sentences per embed() call
    /// Called while reset() embeds facts that have no stored embedding: (done, total).
    std::function<void(std::int64_t, std::int64_t)> progress;
};

/// The external scope detector. Cost: reset() loads the stored embeddings (about 2 KB per fact)
/// and embeds only the facts without one (1-2 ms each); added() embeds the new facts; a query
/// embeds its sentences (1-2 ms each) and scans the index (about 50 M multiply-adds per 100,000
/// facts).
class EsdScopeDetector : public ScopeDetector {
public:
    EsdScopeDetector(std::shared_ptr<const SentenceEncoder> encoder, EsdOptions options = {});
    ~EsdScopeDetector() override;

    void reset(const std::vector<Fact>& written) override;
    void added(const std::vector<Fact>& facts) override;
    void removed(const std::vector<std::int64_t>& factIds) override;
    ScopeScore score(const std::string& prompt) override;
    double defaultThreshold() const override { return kEsdThreshold; }
    std::string name() const override { return "esd use-lite"; }

    /// The full decision for a prompt (which sentence matched). Throws like decideScope.
    ScopeDecision decide(const std::string& prompt, double threshold) const;
    /// Adds precomputed embeddings (tests and benchmarks that fill the index without texts).
    void addEmbeddings(const std::vector<std::int64_t>& ids, const std::vector<std::vector<float>>& vectors);
    const NearestFactIndex& index() const { return m_index; }
    const SentenceEncoder& encoder() const { return *m_encoder; }
    /// The text of a fact in the index ("" if unknown).
    std::string factText(std::int64_t id) const;

private:
    void embedAndAdd(const std::vector<Fact>& facts, bool store);
    FactEmbeddingCache* cache();

    std::shared_ptr<const SentenceEncoder> m_encoder;
    EsdOptions m_options;
    NearestFactIndex m_index;
    std::unordered_map<std::int64_t, std::string> m_texts;
    std::unique_ptr<FactEmbeddingCache> m_cache;
};

/// Where the ISD gets the current memory from (the Editor's, or the evaluation's own).
using MemorySource = std::function<const EpisodicMemory*()>;

/// What the ISD measured for a prompt (the best sentence).
struct IsdDetails {
    double distance = 1;                ///< ||read(z) - z|| / ||z||
    std::optional<double> probability;  ///< classifier probability, when a classifier is loaded
    double score = 0;                   ///< the probability if any, else 1 - distance
};

/// The internal scope detector. Cost per query: one encode per sentence, one memory read.
class InternalScopeDetector : public ScopeDetector {
public:
    /// classifier: the trained ISD (empty: the distance score).
    explicit InternalScopeDetector(std::shared_ptr<TextModel> model,
                                   std::shared_ptr<const ScopeClassifier> classifier = nullptr);
    ~InternalScopeDetector() override;
    /// Must be set before score() (connectScopeDetector does it for an Editor's detector).
    void setMemory(MemorySource memory) { m_memory = std::move(memory); }

    void reset(const std::vector<Fact>& written) override { m_written = static_cast<std::int64_t>(written.size()); }
    void added(const std::vector<Fact>& facts) override { m_written += static_cast<std::int64_t>(facts.size()); }
    void removed(const std::vector<std::int64_t>& factIds) override {
        m_written -= static_cast<std::int64_t>(factIds.size());
    }
    ScopeScore score(const std::string& prompt) override;
    double defaultThreshold() const override { return kIsdThreshold; }
    std::string name() const override { return m_classifier ? "isd classifier" : "isd distance"; }

    /// Distance and probability of the prompt's best-scoring sentence. Error when no memory
    /// source is set.
    IsdDetails details(const std::string& prompt);
    const ScopeClassifier* classifier() const { return m_classifier.get(); }

private:
    std::shared_ptr<TextModel> m_model;
    std::shared_ptr<const ScopeClassifier> m_classifier;
    MemorySource m_memory;
    std::int64_t m_written = 0;
};

/// What makeScopeDetector needs. Only what the chosen detector uses must be set.
struct ScopeDetectorSetup {
    /// "auto" (ESD when the USE-Lite assets are found, else ISD), "esd", "isd"; UserError
    /// otherwise, or "esd" without the assets.
    std::string kind = "auto";
    std::shared_ptr<TextModel> model;   ///< ISD: the Editor's model (required for ISD)
    std::string modelDir;               ///< ISD: looks for kScopeClassifierFile there; empty: none
    std::string workspacePath;          ///< ESD: embedding cache; empty: none
    std::string assetDir;               ///< ESD: USE-Lite files; empty: findAssetDir("use-lite")
    std::function<void(std::int64_t, std::int64_t)> progress; ///< ESD: embedding facts on open
};

/// Builds the detector an Editor should use: pass it as EditorOptions::scope, construct the
/// Editor, then call connectScopeDetector(detector, editor). Loading USE-Lite costs 0.1-0.3 s.
/// The sentence encoder is loaded once per process and shared by every detector made here.
/// Throws UserError for an unknown kind, "esd" without its assets, "isd" without a model, or a
/// corrupt classifier file.
std::shared_ptr<ScopeDetector> makeScopeDetector(const ScopeDetectorSetup& setup);

/// Gives a detector that reads the memory (the ISD) the Editor's memory. A no-op for the
/// others. The Editor must outlive the detector's use.
void connectScopeDetector(ScopeDetector& detector, const Editor& editor);

/// The shared USE-Lite encoder from dir (empty: findAssetDir("use-lite")); nullptr when there
/// are no assets. Loaded once per directory and process.
std::shared_ptr<const SentenceEncoder> sharedSentenceEncoder(const std::string& dir = {});

} // namespace larimar
