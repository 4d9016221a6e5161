#pragma once
/// The scope detectors the editor plugs in (core/editor/editor.h ScopeDetector), and the one
/// factory that picks between them: makeScopeDetector(). The CLI and the GUI both build their
/// Editor's detector through it, then call connectScopeDetector() once the Editor exists.
///
///  - ESD (external): Universal Sentence Encoder Lite embeddings of the written facts, kept in the
///    workspace (core/store/fact_embeddings.h) so reopening does not re-embed them. Two scores
///    (EsdScore): "esd use-lite", the best cosine similarity between any of the query's sentences
///    and its nearest written fact (1-NN); and "esd hybrid" (the default), which also asks the
///    query to name what the fact is about: per sentence, the candidates are the cosine-nearest
///    fact and the kEsdLexicalCandidates facts with the most IDF-weighted word overlap
///    (core/scope/lexical_fact_index.h, IDF over the written facts), each scored
///        kEsdHybridCosineWeight * max(cos, 0) + (1 - kEsdHybridCosineWeight) * lex,
///    in [0, 1], and the query keeps its best. See kEsdThreshold for the measurements.
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
#include "core/scope/lexical_fact_index.h"
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

/// Which score the ESD gives (see the top of this file).
enum class EsdScore { Hybrid, UseLite };

/// Share of the USE-Lite cosine in the hybrid score (the rest is the IDF-weighted word overlap).
/// The hybrid's constants were chosen on the first 1,000 cases of CounterFact val only (`larimar
/// eval scope easyedit-val.json --limit 1000`), with an earlier IDF (ln((N+1)/(df+1))); EER by
/// cosine weight, unseen common words at full weight: 0 -> 18.0%, 0.1 -> 17.9%, 0.2 -> 18.8%,
/// 0.3 -> 19.8%, 0.5 -> 23.4%, 1 (USE-Lite only) -> 45.6%; with kEsdCommonWordWeight 0.3:
/// 0.05 -> 11.8%, 0.1 -> 12.0%, 0.15 -> 12.6%, 0.2 -> 12.8%. The IDF of lexical_fact_index.h
/// (ln((N+1)/df), which also lets a single written fact count) then gave 10.2% at 0.1. The
/// encoder is a tie-breaker between facts that share the same words; a rephrase that shares no
/// word with its fact stays out of scope (it scores at most 0.1).
inline constexpr double kEsdHybridCosineWeight = 0.1;
/// The IDF factor of a query word that no written fact contains but that USE-Lite's vocabulary
/// holds as one whole piece (a common English word, e.g. a rephrase's "aired", "programs"),
/// against 1 for other unseen words (names, rare words: another subject). CounterFact val EER
/// (cosine weight 0.2, earlier IDF) by this factor: 1 -> 18.8%, 0.7 -> 14.8%, 0.5 -> 13.3%,
/// 0.3 -> 12.8%, 0 -> 12.3%; 0.3 rather than 0 so a neighbour whose subject is a common word
/// still dilutes the overlap.
inline constexpr double kEsdCommonWordWeight = 0.3;
/// Facts taken per sentence from the word-overlap ranking, besides the cosine-nearest one.
inline constexpr std::size_t kEsdLexicalCandidates = 32;

/// The ESD's default threshold for the hybrid score (the default detector). Measured with 1,000
/// facts written (rephrases against neighbourhood/locality prompts, `larimar eval scope FILE
/// --limit 1000`): on CounterFact val (the tuning data) EER 10.2% at 0.497, AUC 0.949, F1 by
/// threshold 0.42 -> 0.871, 0.45 -> 0.895, 0.48 -> 0.906, 0.50 -> 0.897, 0.55 -> 0.858: 0.48
/// is the best F1 (precision 0.892, recall 0.920). On zsRE train-1k (not used for tuning): EER
/// 1.3%, F1 0.978 at 0.48, AUC 0.999. USE-Lite alone on the same data: EER 45.6%, F1 0.514 at
/// 0.7, AUC 0.560 on CounterFact (its neighbourhood prompts reuse the fact's relation wording
/// with another subject, which a sentence encoder barely tells apart, while the subject's rare
/// words do); EER 5.0%, F1 0.951, AUC 0.987 on zsRE. With other cases' facts written
/// (`--control`) only 2.8% of the rephrases reach 0.48 (USE-Lite: 19.7% reach 0.7), AUC 0.315:
/// the score follows the written facts, not the wording. The IDF is learnt from the written
/// facts: in a workspace of a handful of facts every word is rare, and a neighbour that shares
/// a fact's wording can pass. A workspace can set its own threshold ("scope.threshold").
inline constexpr double kEsdThreshold = 0.48;
/// The default threshold of the USE-Lite-only score: the public Larimar code's 0.7 (1 - cos <=
/// 0.3, with MiniLM); USE-Lite's equal-error point on CounterFact val is close to it (0.686).
inline constexpr double kEsdUseLiteThreshold = 0.7;
/// The ISD's default threshold (distance score or classifier probability).
inline constexpr double kIsdThreshold = 0.5;

struct EsdOptions {
    std::string workspacePath;   ///< where to keep the embeddings; empty: keep none (eval, tests)
    std::string encoderId = "use-lite"; ///< cache key of the embeddings
    EsdScore scoring = EsdScore::Hybrid; ///< which score score() and decide() give
    int batch = 64;              ///< sentences per embed() call
    /// Called while reset() embeds facts that have no stored embedding: (done, total).
    std::function<void(std::int64_t, std::int64_t)> progress;
};

/// The external scope detector. Cost: reset() loads the stored embeddings (about 2 KB per fact)
/// and embeds only the facts without one (1-2 ms each); added() embeds the new facts; a query
/// embeds its sentences (1-2 ms each) and scans the index (about 50 M multiply-adds per 100,000
/// facts); the hybrid score adds the posting lists of the query's words and, after a write or
/// forget, one pass over the stored facts' words (both O(facts); with 100,000 synthetic facts
/// about 1.5 ms per query and 10 ms per refresh, on a loaded 2-core machine).
class EsdScopeDetector : public ScopeDetector {
public:
    EsdScopeDetector(std::shared_ptr<const SentenceEncoder> encoder, EsdOptions options = {});
    ~EsdScopeDetector() override;

    void reset(const std::vector<Fact>& written) override;
    void added(const std::vector<Fact>& facts) override;
    void removed(const std::vector<std::int64_t>& factIds) override;
    ScopeScore score(const std::string& prompt) override;
    double defaultThreshold() const override {
        return m_options.scoring == EsdScore::Hybrid ? kEsdThreshold : kEsdUseLiteThreshold;
    }
    std::string name() const override { return m_options.scoring == EsdScore::Hybrid ? "esd hybrid" : "esd use-lite"; }
    EsdScore scoring() const { return m_options.scoring; }

    /// The full decision for a prompt with the detector's score (which sentence matched, the
    /// fact behind the score). Throws like decideScope.
    ScopeDecision decide(const std::string& prompt, double threshold) const;
    /// Adds precomputed embeddings (tests and benchmarks that fill the index without texts; such
    /// facts have no words for the hybrid score's overlap).
    void addEmbeddings(const std::vector<std::int64_t>& ids, const std::vector<std::vector<float>>& vectors);
    const NearestFactIndex& index() const { return m_index; }
    const LexicalFactIndex& lexicalIndex() const { return m_lexical; }
    const SentenceEncoder& encoder() const { return *m_encoder; }
    /// The text of a fact in the index ("" if unknown).
    std::string factText(std::int64_t id) const;

private:
    void embedAndAdd(const std::vector<Fact>& facts, bool store);
    FactEmbeddingCache* cache();

    std::shared_ptr<const SentenceEncoder> m_encoder;
    EsdOptions m_options;
    ScopeDecision decideHybrid(const std::string& prompt, double threshold) const;

    NearestFactIndex m_index;
    LexicalFactIndex m_lexical;
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
    /// "auto" (ESD when the USE-Lite assets are found, else ISD), "esd" (the hybrid score),
    /// "esd-hybrid", "esd-use-lite" (cosine only), "isd"; UserError otherwise, or an ESD kind
    /// without the assets.
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
