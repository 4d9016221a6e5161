#pragma once
/// The knowledge editor: the one facade the CLI and the GUI talk to. It ties a language model
/// (through the torch-free TextModel interface), the episodic memory and the workspace file
/// together: write, batch write, forget, rollback and undo facts; query with and without memory;
/// inspect and export the memory and the history.
///
/// The memory. Prior M0 = 0 (K x C), reference memory M_ref = the model's learned prior
/// (TextModel::memoryPrior(), it makes the write keys w = z M_ref^+), pseudo-inverse = the one
/// the model was trained with. With the zero prior and a small lambda the memory equals the
/// paper's one-shot least-squares write of the facts currently written; an empty memory reads
/// out zero, i.e. the plain language model.
///
/// Durability. Every change is ONE workspace transaction holding the facts (with their write
/// keys and latents), the audited edit (memory digests before and after, model id and hash)
/// and, when due, a memory snapshot. Opening restores the memory from the latest snapshot and
/// replays the later edits from the stored keys and latents (bit-exact: the same updates in the
/// same order), then checks the result against the last edit's memoryDigestAfter. A process
/// killed at any moment leaves the last committed state; a failed or cancelled call leaves the
/// workspace untouched and the memory as it was before the call.
///
/// Several processes may open one workspace: a change first checks, inside its transaction,
/// that nobody appended an edit since this Editor last looked, and reloads the memory if so.
///
/// Thread-safety: none. An Editor is used from one thread at a time (the GUI owns it on its
/// worker thread and talks to it through queued signals). Long calls take a progress callback
/// and a cancel flag instead of starting threads.
#include "core/eval/datasets.h"
#include "core/memory/episodic_memory.h"
#include "core/memory/memory_backend.h"
#include "core/model/text_model.h"
#include "core/store/workspace.h"
#include "core/util/error.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace larimar {

/// What a scope detector says about a prompt.
struct ScopeScore {
    double score = 0;                         ///< higher: more likely about a written fact
    std::optional<std::int64_t> nearestFactId;
    std::string nearestText;                  ///< the nearest fact's text, empty if none
};

/// Decides whether a query is about the written facts (then the memory conditions the answer).
/// The editor keeps it informed of the written facts: reset() on open and after a rollback,
/// added()/removed() after each write and forget. Implementations: the external (sentence
/// encoder) and internal detectors of core/scope plug in here.
class ScopeDetector {
public:
    virtual ~ScopeDetector() = default;
    /// The facts written now (all of them; after opening, a rollback, or another process's
    /// edits). Their writeKey and latent are left empty here (loading them for every fact
    /// would make opening O(facts * (K + C))); added() gets them filled.
    virtual void reset(const std::vector<Fact>& written) = 0;
    virtual void added(const std::vector<Fact>& facts) = 0;
    /// Texts about to be written, before the write commits (their ids are not known yet). A
    /// detector with slow work per fact (the ESD embeds each one) does it here, so that a batch
    /// cancelled meanwhile writes nothing and added() after the commit is cheap; what it keeps
    /// must depend on the text alone (a prepared text may never be written). Default: nothing.
    virtual void prepare(const std::vector<std::string>& texts) { (void)texts; }
    virtual void removed(const std::vector<std::int64_t>& factIds) = 0;
    virtual ScopeScore score(const std::string& prompt) = 0;
    /// In scope when score >= threshold; this one unless the query or the workspace
    /// ("scope.threshold") says otherwise.
    virtual double defaultThreshold() const = 0;
    /// Shown to users and recorded with generations, e.g. "esd use-lite".
    virtual std::string name() const = 0;
};

/// The stand-in until a real detector is plugged in: in scope whenever at least one fact is
/// written (score 1.0), out of scope otherwise (score 0.0), as the issue specifies. It names no
/// nearest fact. Cost: O(1) per query.
class AnyFactScopeDetector : public ScopeDetector {
public:
    void reset(const std::vector<Fact>& written) override;
    void added(const std::vector<Fact>& facts) override;
    void removed(const std::vector<std::int64_t>& factIds) override;
    ScopeScore score(const std::string& prompt) override;
    double defaultThreshold() const override { return 0.5; }
    std::string name() const override { return "any-fact (in scope whenever a fact is written)"; }

private:
    std::int64_t m_written = 0;
};

struct EditorOptions {
    std::string actor;                  ///< empty: defaultActor()
    WorkspaceOptions workspace;         ///< clock (tests), busy timeout, create
    double lambda = 1e-3;               ///< memory prior strength (see episodic_memory.h) of a
                                        ///< new workspace; an existing one keeps its own
                                        ///< (meta "memory.lambda"), or replay would differ
    int snapshotInterval = 25;          ///< snapshot at least every this many edits (and at
                                        ///< every batch and rollback)
    int encodeChunk = 64;               ///< texts per encode() call in a batch
    std::shared_ptr<ScopeDetector> scope; ///< empty: AnyFactScopeDetector
    /// The memory of a NEW workspace (an existing one keeps its own: meta memory.backend; one
    /// made before backends existed holds one "larimar" memory). Default: paged, K facts a page.
    BackendSettings backend = defaultBackend();
    static BackendSettings defaultBackend() {
        BackendSettings b;
        b.kind = "paged";
        return b;
    }
};

/// Optional details of a single fact.
struct FactMeta {
    std::string subject;
    std::string prompt;  ///< stored as the fact's relation
    std::string target;
    std::string source;  ///< empty: "editor"
};

/// What a write, forget, batch or rollback did.
struct EditResult {
    std::int64_t editId = 0;
    std::string hash;                        ///< the edit's hash: the new head of the audit chain
    EditOp op = EditOp::Write;
    std::vector<std::int64_t> factIds;       ///< facts written / forgotten / changed
    std::string memoryDigestBefore;
    std::string memoryDigestAfter;
    bool snapshot = false;                   ///< a snapshot was stored with this edit
    // rollback / undo (and `forgotten` for a replace):
    std::int64_t targetEdit = 0;             ///< 0: back to the empty workspace
    std::vector<std::int64_t> restored;      ///< facts written again
    std::vector<std::int64_t> forgotten;     ///< facts forgotten by the rollback or a replace
};

/// Thrown by writeBatch when the cancel flag was raised; nothing was written.
class EditCancelled : public UserError {
public:
    EditCancelled() : UserError("cancelled; nothing was written") {}
};

struct QueryOptions {
    DecodeSettings decode;
    std::optional<double> threshold;   ///< empty: workspace "scope.threshold", else the detector's
    std::optional<bool> forceScope;    ///< set: skip the detector (true = use the memory)
    bool record = true;                ///< store the generation in the workspace
};

struct QueryResult {
    std::string prompt;
    bool inScope = false;
    ScopeScore scope;
    double threshold = 0;
    std::string detector;
    GeneratedText withMemory;      ///< equals withoutMemory when out of scope
    GeneratedText withoutMemory;
    Eigen::RowVectorXd readWeights; ///< 1 x K read weights (empty when out of scope)
    int memoryPage = 0;             ///< the memory page the readout came from (in scope)
    std::optional<std::int64_t> generationId;
};

/// Why writing a sentence conflicts with a written fact.
enum class ConflictKind {
    Duplicate,   ///< the same text (case, spacing and end punctuation aside)
    OtherAnswer, ///< the same text up to its last word(s), or the same prompt: another answer
    SameSubject, ///< the same subject and relation (prompt) given with the write
    Similar,     ///< the scope detector's nearest fact, with a score of at least kConflictScore
};
const char* toString(ConflictKind kind);
/// A detector score at or above this makes the nearest fact a conflict candidate (ESD hybrid
/// scores are in [0, 1]; a rephrase of a written fact scores about 0.6-0.9).
inline constexpr double kConflictScore = 0.8;

struct FactConflict {
    ConflictKind kind = ConflictKind::Duplicate;
    Fact fact;       ///< the written fact (without its vectors)
    double score = 0; ///< Similar: the detector's score
};

/// "fact 1 ('The Eiffel Tower is located in Rome.'): the same prompt with another answer".
std::string describe(const FactConflict& conflict);

/// The text rules of Editor::conflicts, on the facts given (no detector). O(facts * words).
std::vector<FactConflict> textConflicts(const std::vector<Fact>& written, const std::string& text,
                                        const FactMeta& meta = {});

/// One edit the workspace's undo history can take back (Editor::undo) or bring back (redo).
struct UndoStep {
    Edit edit;                    ///< the edit undone by undo() / restored by redo()
    std::int64_t stateBefore = 0; ///< the fact-changing edit whose state came before it (0: empty)
};

/// The undo and redo stacks, newest last. Computed from the audited history, so they survive
/// reopening: every write, forget, batch and rollback pushes onto undo and clears redo; an
/// undo (a rollback whose payload has "undo_of") moves its step to redo, a redo ("redo_of")
/// moves it back. Setting and trust edits change no facts and are not steps. O(edits).
struct UndoHistory {
    std::vector<UndoStep> undo;
    std::vector<UndoStep> redo;
};
UndoHistory undoHistory(const std::vector<Edit>& edits);

/// One run of words in a word-level diff of two outputs.
struct DiffSegment {
    enum class Kind { Same, Removed, Added } kind = Kind::Same; ///< Removed: only without memory
    std::string text; ///< the words, joined by single spaces
};
const char* toString(DiffSegment::Kind kind);

struct CompareResult {
    QueryResult query;
    std::vector<DiffSegment> diff; ///< withoutMemory -> withMemory
    bool differs = false;
};

/// Word-level diff (longest common subsequence over whitespace-separated words). O(a * b).
std::vector<DiffSegment> wordDiff(const std::string& before, const std::string& after);

/// The facts that weigh most in one memory slot.
struct SlotFacts {
    int slot = 0;
    std::vector<std::pair<std::int64_t, double>> facts; ///< (fact id, key[slot]) by |key| desc
};

class Editor {
public:
    /// Opens or creates the workspace, checks it was made with this model (UserError naming
    /// both otherwise), restores the memory (latest snapshot + replay) and checks its digest
    /// against the last edit (Error "workspace ... is inconsistent" otherwise).
    /// Cost: deserialising one snapshot plus O(K (K + C)) per replayed fact.
    Editor(std::shared_ptr<TextModel> model, const std::string& workspacePath, EditorOptions options = {});
    ~Editor();
    Editor(const Editor&) = delete;
    Editor& operator=(const Editor&) = delete;

    // --- changes (each one audited edit in one transaction) -------------------------------
    /// Writes one fact. Validates the text (non-empty, UTF-8, at most 1 MiB), encodes it and
    /// writes its key. Cost: one encode + O(K (K + C)) + one commit (fsync).
    EditResult write(const std::string& text, const FactMeta& meta = {}, const std::string& reason = {});
    /// Writes facts all-or-nothing as one "batch" edit (always with a snapshot). Validates
    /// every record first (UserError naming its source), encodes in chunks, then updates the
    /// memory and commits. Each chunk is encoded and prepared for the scope detector
    /// (ScopeDetector::prepare) before anything commits; progress(done, total) after each
    /// chunk; cancel is checked between chunks and before the commit (EditCancelled).
    EditResult writeBatch(const std::vector<FactRecord>& facts, const std::string& reason = {},
                          const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                          const std::atomic<bool>* cancel = nullptr);
    /// Written facts that writing text would repeat or contradict: textConflicts() plus the
    /// scope detector's nearest fact when it scores at least kConflictScore. Duplicates first.
    /// Cost: one pass over the written facts and one detector score.
    std::vector<FactConflict> conflicts(const std::string& text, const FactMeta& meta = {});
    /// A correction: forgets the written facts `replaced` and writes text, as ONE audited
    /// "write" edit (its facts: the new one written, the old ones forgotten; payload
    /// {"replaces": ids}; EditResult::forgotten names them). UserError as write() and forget().
    EditResult replace(const std::vector<std::int64_t>& replaced, const std::string& text, const FactMeta& meta = {},
                       const std::string& reason = {});
    /// Forgets written facts (UserError "fact 17 is not written" for unknown or forgotten ids).
    EditResult forget(const std::vector<std::int64_t>& factIds, const std::string& reason = {});
    /// Memory and fact states exactly as right after editId (0: before any edit): facts
    /// written later become forgotten, facts forgotten later become written again. Itself an
    /// audited "rollback" edit with a snapshot. UserError for an unknown edit or the last one.
    EditResult rollback(std::int64_t editId, const std::string& reason = {});
    /// Rollback to the edit before the last one (undoing an undo therefore redoes).
    /// UserError when there is nothing to undo.
    EditResult undoLast(const std::string& reason = {});
    /// Takes back the newest step of undoHistory(): a rollback to its stateBefore, audited with
    /// payload {"undo_of": id}. Repeated, it walks back edit by edit. UserError when the undo
    /// stack is empty. Cost: as rollback().
    EditResult undo(const std::string& reason = {});
    /// Brings back the step the last undo took back: a rollback to that edit, payload
    /// {"redo_of": id}. UserError when nothing was undone since the last change.
    EditResult redo(const std::string& reason = {});
    /// The undo/redo stacks of this workspace (see UndoHistory). Reads the edit list.
    UndoHistory undoHistory();

    // --- queries ----------------------------------------------------------------------
    /// Scope decision, then generation with the memory readout (in scope) and always without
    /// memory; both are recorded as one generation. Cost: one encode, one read, up to two
    /// generations.
    QueryResult query(const std::string& prompt, const QueryOptions& options = {});
    /// query() plus a word-level diff of the two outputs.
    CompareResult compare(const std::string& prompt, const QueryOptions& options = {});

    // --- inspection -------------------------------------------------------------------
    /// The memory page inspection shows (visiblePage()): the page of the last fact written or
    /// of the last in-scope read; for a "larimar" workspace its one memory.
    const EpisodicMemory& memory() const;
    const Eigen::MatrixXd& memoryMatrix() const;       ///< M, K x C of that page
    MemoryBackend& memoryBackend();
    const BackendSettings& backendSettings() const;
    MemoryCapacity capacity() const;                   ///< facts written, the limit, pages
    int visiblePage() const;
    /// Shows another page (UserError for one that does not exist).
    void showPage(int page);
    int slots() const;
    int width() const;
    std::string memoryDigest() const;
    Eigen::VectorXd singularValues() const;            ///< O(K^2 C)
    /// Read weights of a prompt over the K slots (one encode + one read).
    Eigen::RowVectorXd readWeights(const std::string& prompt);
    /// The stored write key of a fact (UserError for an unknown id).
    std::vector<double> writeKey(std::int64_t factId);
    /// For every slot the top n written facts by |key[slot]|. O(facts * K).
    std::vector<SlotFacts> slotFacts(int topN = 3);
    std::vector<Fact> facts(const FactFilter& filter = {});
    Fact fact(std::int64_t id);
    std::vector<Edit> edits(const EditFilter& filter = {});
    std::vector<Generation> generations(const GenerationFilter& filter = {});
    std::optional<std::int64_t> lastEditId();
    AuditReport verify(const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                       const std::atomic<bool>* cancel = nullptr);

    // --- export -----------------------------------------------------------------------
    /// format "csv" or "json" (UserError otherwise).
    void exportHistory(const std::string& path, const std::string& format);
    void exportMemoryNpy(const std::string& path) const;
    void exportReadWeightsNpy(const std::string& prompt, const std::string& path);

    // --- context ----------------------------------------------------------------------
    Workspace& workspace();
    TextModel& model();
    const std::string& actor() const;
    ScopeDetector& scopeDetector();
    /// Rebuilds the memory right after editId (0: empty) from snapshots and stored facts,
    /// without changing anything. Used by rollback and by tests.
    std::unique_ptr<MemoryBackend> memoryAfter(std::int64_t editId);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

/// $USER, else the OS account (getpwuid), as osUserName() in core/util/os_user.h.
std::string defaultActor();

/// Writes the workspace's history to path (atomically) as "csv" or "json" (UserError for
/// another format or a missing directory). Needs no model: the CLI's export uses it directly.
void exportHistoryFile(Workspace& workspace, const std::string& path, const std::string& format);

} // namespace larimar
