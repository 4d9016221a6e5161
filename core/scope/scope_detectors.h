#pragma once
/// The scope detectors the editor plugs in (core/editor/editor.h ScopeDetector), and the one
/// factory that picks between them: makeScopeDetector(). The CLI and the GUI both build their
/// Editor's detector through it, then call connectScopeDetector() once the Editor exists.
///
///  - ESD (external): all-MiniLM-L6-v2 embeddings (core/scope/minilm_encoder.h, the Larimar
///    paper's encoder) of the written facts, kept in the workspace (core/store/fact_embeddings.h,
///    keyed by the encoder's id, so reopening does not re-embed them). Two scores (EsdScore):
///    "esd minilm", the best cosine similarity between any of the query's sentences and its
///    nearest written fact (1-NN, the paper's method); and "esd hybrid" (the default), which also
///    asks the query to name what the fact is about: per sentence, the candidates are the
///    cosine-nearest fact and the kEsdLexicalCandidates facts with the most IDF-weighted word
///    overlap (core/scope/lexical_fact_index.h, IDF over the written facts), each scored
///        kEsdHybridCosineWeight * max(cos, 0) + (1 - kEsdHybridCosineWeight) * lex,
///    in [0, 1], and the query keeps its best. See kEsdThreshold for the measurements and
///    docs/scope-esd-minilm.md for how they were made.
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
enum class EsdScore { Hybrid, Cosine };

/// Share of the MiniLM cosine in the hybrid score (the rest is the IDF-weighted word overlap).
/// Chosen on the first 1,000 cases of CounterFact val only (`larimar eval scope
/// easyedit-val.json --limit 1000 --detector esd-hybrid --cosine-weight W --common-word-weight
/// C`); EER (AUC) by W, C = 0.3: 0.1 -> 9.9% (0.953), 0.2 -> 8.4% (0.959), 0.3 -> 7.2% (0.964),
/// 0.4 -> 6.6% (0.967), 0.45 -> 6.3%, 0.5 -> 6.2% (0.968), 0.55 -> 6.4%, 0.6 -> 6.6% (0.968),
/// 0.8 -> 8.0% (0.962), 1 (MiniLM alone) -> 10.6% (0.944). MiniLM tells a rephrase from a
/// neighbour far better than USE-Lite did (USE-Lite alone: 45.6%; its hybrid needed W = 0.1 and
/// reached 10.2%), so the two halves now share the score; the overlap still carries the
/// subject's rare words, which a sentence encoder barely weighs.
inline constexpr double kEsdHybridCosineWeight = 0.5;
/// The IDF factor of a query word that no written fact contains but that MiniLM's WordPiece
/// vocabulary holds as one whole word (vocab.txt; a common English word, e.g. a rephrase's
/// "aired", "programs"), against 1 for other unseen words (names, rare words: another subject).
/// CounterFact val EER by this factor (W = 0.5): 0 -> 6.3%, 0.15 -> 6.2%, 0.3 -> 6.2%, 0.45 ->
/// 6.6%, 0.6 -> 7.2%, 1 -> 9.1%; 0.3 rather than 0 so a neighbour whose subject is a common
/// word still dilutes the overlap.
inline constexpr double kEsdCommonWordWeight = 0.3;
/// Facts taken per sentence from the word-overlap ranking, besides the cosine-nearest one.
inline constexpr std::size_t kEsdLexicalCandidates = 32;

/// The ESD's default threshold for the hybrid score (the default detector). Measured with 1,000
/// facts written (rephrases against neighbourhood/locality prompts, `larimar eval scope FILE
/// --limit 1000`): on CounterFact val (the tuning data) EER 6.2% at 0.563, AUC 0.968, F1 by
/// threshold 0.50 -> 0.917, 0.52 -> 0.925, 0.54 -> 0.934, 0.55 -> 0.937, 0.56 -> 0.939,
/// 0.58 -> 0.927, 0.60 -> 0.912: 0.56 is the best F1 (precision 0.938, recall 0.940). The
/// USE-Lite hybrid this replaced: EER 10.2%, F1 0.906 at 0.48, AUC 0.949. On the rest of
/// CounterFact val (cases 1,001-1,919, never tuned on; 919 facts): EER 5.9%, F1 0.942, AUC
/// 0.975 (USE-Lite hybrid 8.1%, 0.918, 0.961). On zsRE train-1k (not used for tuning): EER
/// 0.7%, F1 0.984 at 0.56, AUC 1.000 (USE-Lite hybrid 1.3%, 0.978, 0.999). With other cases'
/// facts written (`--control`) 1.6% of the rephrases reach 0.56, AUC 0.303: the score follows
/// the written facts, not the wording. The IDF is learnt from the written facts: in a workspace
/// of a handful of facts every word is rare, and a neighbour that shares a fact's wording can
/// pass. A workspace can set its own threshold ("scope.threshold"). About 5-6 ms per query on 2
/// loaded cores (USE-Lite: 3 ms).
inline constexpr double kEsdThreshold = 0.56;
/// The default threshold of the MiniLM-only score: the public Larimar code's 0.7 (1 - cos <= 0.3,
/// with MiniLM). CounterFact val: EER 10.6% at 0.615, AUC 0.944, F1 0.774 at 0.7 (precision
/// 0.947, recall 0.655; its best F1 is 0.899 at 0.60); zsRE train-1k: EER 0.8%, F1 0.967 at 0.7,
/// AUC 1.000; control run: 0.4% of the rephrases reach 0.7. Kept at the paper's value: this
/// score is there to compare with the paper, the hybrid is what the editor uses.
inline constexpr double kEsdCosineThreshold = 0.7;
/// The ISD's default threshold (distance score or classifier probability).
inline constexpr double kIsdThreshold = 0.5;

struct EsdOptions {
    std::string workspacePath;   ///< where to keep the embeddings; empty: keep none (eval, tests)
    EsdScore scoring = EsdScore::Hybrid; ///< which score score() and decide() give
    double cosineWeight = kEsdHybridCosineWeight;     ///< hybrid: share of the cosine (tuning)
    double commonWordWeight = kEsdCommonWordWeight;   ///< hybrid: unseen common word's IDF factor
    /// Threshold of score(); empty: kEsdThreshold (hybrid) or kEsdCosineThreshold (cosine).
    std::optional<double> threshold;
    int batch = 64;              ///< sentences per embed() call
    /// Called while reset() embeds facts that have no stored embedding: (done, total).
    std::function<void(std::int64_t, std::int64_t)> progress;
};

/// The external scope detector. Cost: reset() loads the stored embeddings (about 1.5 KB per
/// fact) and embeds only the facts without one (2-5 ms each, less in batches); added() embeds
/// the new facts; a query embeds its sentences (2-5 ms each) and scans the index (about 38 M
/// multiply-adds per 100,000 facts); the hybrid score adds the posting lists of the query's words and, after a write or
/// forget, one pass over the stored facts' words (both O(facts); with 100,000 synthetic facts
/// about 1.5 ms per query and 10 ms per refresh, on a loaded 2-core machine).
class EsdScopeDetector : public ScopeDetector {
public:
    EsdScopeDetector(std::shared_ptr<const SentenceEncoder> encoder, EsdOptions options = {});
    ~EsdScopeDetector() override;

    void reset(const std::vector<Fact>& written) override;
    void added(const std::vector<Fact>& facts) override;
    /// Embeds the texts (progress as on open) and keeps the vectors for added(), which then
    /// embeds nothing; added() drops what it did not use.
    void prepare(const std::vector<std::string>& texts) override;
    void removed(const std::vector<std::int64_t>& factIds) override;
    ScopeScore score(const std::string& prompt) override;
    double defaultThreshold() const override;
    std::string name() const override;
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
    void addEmbedded(const Fact& fact, const std::vector<float>& vector);
    void storeVectors(const std::vector<std::pair<std::int64_t, std::vector<float>>>& rows);
    FactEmbeddingCache* cache();

    std::shared_ptr<const SentenceEncoder> m_encoder;
    EsdOptions m_options;
    ScopeDecision decideHybrid(const std::string& prompt, double threshold) const;

    NearestFactIndex m_index;
    LexicalFactIndex m_lexical;
    std::unordered_map<std::int64_t, std::string> m_texts;
    std::unordered_map<std::string, std::vector<float>> m_prepared; ///< text -> its embedding
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
    /// "auto" (ESD when the MiniLM assets are found, else ISD), "esd" (the hybrid score),
    /// "esd-hybrid", "esd-minilm" (cosine only), "isd"; UserError otherwise (the retired
    /// "esd-use-lite" included, naming its replacement), or an ESD kind without the assets.
    std::string kind = "auto";
    std::shared_ptr<TextModel> model;   ///< ISD: the Editor's model (required for ISD)
    std::string modelDir;               ///< ISD: looks for kScopeClassifierFile there; empty: none
    std::string workspacePath;          ///< ESD: embedding cache; empty: none
    std::string assetDir;               ///< ESD: MiniLM files; empty: findAssetDir("minilm")
    std::optional<double> esdCosineWeight, esdCommonWordWeight; ///< hybrid tuning (eval scope)
    std::function<void(std::int64_t, std::int64_t)> progress; ///< ESD: embedding facts on open
};

/// Builds the detector an Editor should use: pass it as EditorOptions::scope, construct the
/// Editor, then call connectScopeDetector(detector, editor). Loading MiniLM costs 0.2-0.5 s.
/// The sentence encoder is loaded once per process and shared by every detector made here.
/// Throws UserError for an unknown kind, "esd" without its assets, "isd" without a model, or a
/// corrupt classifier file.
std::shared_ptr<ScopeDetector> makeScopeDetector(const ScopeDetectorSetup& setup);

/// Gives a detector that reads the memory (the ISD) the Editor's memory. A no-op for the
/// others. The Editor must outlive the detector's use.
void connectScopeDetector(ScopeDetector& detector, const Editor& editor);

/// The shared MiniLM encoder from dir (empty: findAssetDir("minilm")); nullptr when there
/// are no assets. Loaded once per directory and process.
std::shared_ptr<const SentenceEncoder> sharedSentenceEncoder(const std::string& dir = {});

} // namespace larimar
