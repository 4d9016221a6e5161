#pragma once
/// The workspace file (one SQLite database, extension .larimar): facts, the audited edit
/// history, generations and memory snapshots.
///
/// Thread-safety: a Workspace object is one SQLite connection and is NOT thread-safe; use one
/// object per thread (several objects, in one or several processes, may open the same file:
/// WAL lets readers run beside one writer, and a writer waits up to busyTimeout for another).
/// Do not carry an open Workspace across fork(); open a new one in the child.
///
/// Writing history: every call that changes facts or edits needs an open Transaction, and a
/// transaction may only commit once every fact it inserted or changed is listed in an edit
/// appended in it. A typical write:
///
///     auto tx = ws.begin();
///     auto ids = ws.insertFacts(newFacts);                 // thousands: still one transaction
///     auto edit = ws.appendEdit({EditOp::Batch, ids, "alice", "import", ...});
///     ws.putSnapshot(edit.id, memoryBytes, memoryDigest);
///     tx.commit();                                          // or ~Transaction rolls back
///
/// A process killed at any moment leaves either the whole transaction or none of it.
#include "core/store/audit.h"
#include "core/store/records.h"
#include "core/store/signing.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace larimar {

struct FactFilter {
    std::optional<FactState> state;
    std::string textContains;  ///< case-sensitive substring of text; empty: any
    std::optional<std::string> source;
    std::int64_t limit = -1;   ///< -1: no limit
    std::int64_t offset = 0;
    bool withVectors = false;  ///< also load writeKey and latent (costly for long listings)
};

struct EditFilter {
    std::optional<EditOp> op;
    std::optional<std::string> actor;
    std::string since;         ///< ISO-8601 UTC, inclusive; empty: no bound
    std::string until;         ///< ISO-8601 UTC, inclusive; empty: no bound
    std::int64_t limit = -1;
    std::int64_t offset = 0;
    bool newestFirst = false;
};

struct GenerationFilter {
    std::optional<std::int64_t> editId;
    std::int64_t limit = -1;
    std::int64_t offset = 0;
    bool newestFirst = false;
};

/// Returns "now"; tests inject a fixed or stepping clock.
using Clock = std::function<std::chrono::system_clock::time_point()>;
/// "2024-05-01T12:00:00.123Z".
std::string formatTimestamp(std::chrono::system_clock::time_point t);

/// Snapshot pruning (Workspace::putSnapshot): the newest kSnapshotsKeptRecent snapshots are kept,
/// and of the older ones the oldest in each age bucket [0, s), [s, 2s), [2s, 4s), ... counted
/// back from the newest (s = kSnapshotSpacing edits): at most kSnapshotsKeptRecent +
/// log2(edits / s) + 2 snapshots; a replay from the nearest kept one takes at most about as many
/// edits as the target edit is old.
constexpr int kSnapshotsKeptRecent = 4;
constexpr std::int64_t kSnapshotSpacing = 32;
/// The snapshots (their edit ids, any order) that pruning removes from this set. Pure.
std::vector<std::int64_t> snapshotsToDrop(std::vector<std::int64_t> editIds);

struct WorkspaceOptions {
    bool create = true;                        ///< create the file if it does not exist
    /// Open for reading only: nothing is written, not even a schema upgrade (an older schema
    /// is read as it is); begin() and setMeta refuse. For listings, audits and exports, so an
    /// auditor can check an archived copy without changing it.
    bool readOnly = false;
    /// Refuse to start a write transaction while the audit chain fails verification (see
    /// begin()), so that new edits never overwrite the evidence of a change made behind the
    /// program's back. Only tests that build broken histories on purpose turn it off.
    bool verifyBeforeWrite = true;
    /// Who setting edits made through setMeta are recorded as; empty: $USER, else "unknown".
    std::string actor;
    Clock clock;                               ///< empty: the system clock
    std::chrono::milliseconds busyTimeout{5000};
    /// Signs every edit this object appends (appendEdit, setting and trust edits). Empty: edits
    /// are unsigned, which a workspace that trusts keys refuses (see appendEdit).
    std::shared_ptr<const SigningKey> signingKey;
};

/// A key the workspace trusts, as the trust edit that added it recorded it.
struct TrustedKey {
    PublicKey key;
    std::string name;        ///< the label given when it was trusted
    std::int64_t editId = 0; ///< the trust edit
    std::string actor;       ///< who trusted it
};

class Workspace;

/// RAII write transaction (BEGIN IMMEDIATE). Rolls back in the destructor unless committed.
/// Move-only; must not outlive its Workspace.
class Transaction {
public:
    Transaction(Transaction&& other) noexcept;
    Transaction& operator=(Transaction&&) = delete;
    Transaction(const Transaction&) = delete;
    ~Transaction();
    /// Commits (fsync with synchronous=FULL). Throws larimar::Error, and rolls back, if a fact
    /// inserted or changed in this transaction is not listed in an edit appended in it.
    void commit();
    /// Rolls back now; the destructor then does nothing.
    void rollback();

private:
    friend class Workspace;
    explicit Transaction(Workspace* ws) : m_ws(ws) {}
    Workspace* m_ws;
};

class Workspace {
public:
    /// Current schema version (PRAGMA user_version) and the file's application_id ("LRMW").
    static constexpr int kSchemaVersion = 4;
    static constexpr std::int32_t kApplicationId = 0x4C524D57;

    /// Opens or creates the file and migrates it to kSchemaVersion. Throws UserError naming
    /// the file when it is not an SQLite database, is an SQLite database of another program,
    /// was written by a newer Larimar (higher schema version), or cannot be opened.
    explicit Workspace(const std::string& path, WorkspaceOptions options = {});
    ~Workspace();
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;

    const std::string& path() const;
    /// The schema version found in the file before opening migrated it (0 for a new file).
    int openedSchemaVersion() const;

    // --- meta ------------------------------------------------------------------------
    /// Key/value settings. Well-known keys: "model.id", "model.hash", "created_at",
    /// "scope.threshold", "memory.lambda". Keys "audit.*" are the store's own (setMeta refuses
    /// them). Cheap (one indexed row); setMeta needs no transaction.
    /// Settings that change behaviour (isAuditedSetting) are audited: setMeta records a change
    /// of one as a "setting" edit (recordSetting, actor from the options), except the first
    /// value of memory.lambda on a workspace without edits (the editor's initial choice).
    std::optional<std::string> meta(const std::string& key);
    void setMeta(const std::string& key, const std::string& value);
    /// scope.threshold and memory.lambda. (The model binding is audited through the model
    /// columns every edit carries; verifyChain compares them with meta model.id/model.hash.)
    static bool isAuditedSetting(const std::string& key);
    /// Sets an audited setting as one "setting" edit (in the open transaction, else its own)
    /// and returns it; verifyChain then fails if meta later holds another value. UserError for
    /// a key that is not an audited setting. Like begin(), refused while the audit fails.
    Edit recordSetting(const std::string& key, const std::string& value, const std::string& actor,
                       const std::string& reason = {});
    /// Adds key to the keys the workspace trusts, as one "trust" edit (in the open transaction,
    /// else its own) signed with the signing key. UserError when there is no signing key, the
    /// key is already trusted, or name is empty; while the workspace trusts no key yet, the
    /// first key it trusts must be the signing key's own (so that whoever starts signing holds
    /// that key). From the first trust edit on, every edit must be signed by a trusted key.
    Edit trustKey(const PublicKey& key, const std::string& name, const std::string& actor,
                  const std::string& reason = {});
    /// The keys the trust edits added, oldest first. O(trust edits), indexed.
    std::vector<TrustedKey> trustedKeys();
    /// Replaces the key that signs this object's edits (empty: unsigned).
    void setSigningKey(std::shared_ptr<const SigningKey> key);
    const SigningKey* signingKey() const;
    /// Records the model on first use; afterwards throws UserError naming both models when
    /// modelId/modelHash differ from the ones the workspace was made with.
    void requireModel(const std::string& modelId, const std::string& modelHash);

    // --- writing history (needs an open Transaction) ---------------------------------
    /// Starts a write transaction; throws Error if one is already open on this object.
    /// Waits up to busyTimeout for another connection's write to finish.
    /// Unless the options turned it off, first makes sure the audit chain verifies (hashes,
    /// links, facts; not the snapshot checksums) and throws UserError naming the first problem
    /// when it does not. Cost: one verifyChain (about 0.1 s per 10,000 facts) on the first
    /// write of this object and again only after another connection committed (PRAGMA
    /// data_version); this object's own commits keep the chain valid by construction. The walk
    /// runs before the write lock is taken, and again under it only if a commit came between.
    Transaction begin();
    bool inTransaction() const;
    /// Inserts facts (ids ignored, state written, createdEdit empty until appendEdit) and
    /// returns their ids in order. O(n) with one prepared statement.
    std::vector<std::int64_t> insertFacts(const std::vector<Fact>& facts);
    std::int64_t insertFact(const Fact& fact) { return insertFacts({fact}).front(); }
    /// Sets the state of facts (forget, or restore on rollback). UserError for an unknown id.
    void setFactState(const std::vector<std::int64_t>& ids, FactState state);
    /// Appends an edit to the audit chain: reads the listed facts as they are now, records
    /// their states and digest, links them (createdEdit, forgottenEdit), stamps the time and
    /// hashes the row, and signs it when the workspace has a signing key. Returns the stored
    /// edit. UserError for an unknown fact id, and, once the workspace trusts keys, for an edit
    /// that would be unsigned or signed by a key it does not trust. O(facts).
    Edit appendEdit(const Edit& edit);
    /// Stores the serialized memory right after editId (replaces an existing one). digest must
    /// equal that edit's memoryDigestAfter (Error otherwise); UserError for an unknown edit.
    /// Then prunes the older snapshots to the bounded set snapshotsToDrop leaves (a rollback or
    /// an open replays from the nearest kept one, still bit-exact and checked by the digests).
    /// Needs no transaction; inside one it commits or rolls back with it. O(bytes) for the
    /// checksum.
    void putSnapshot(std::int64_t editId, const std::vector<std::uint8_t>& state,
                     const std::string& digest);

    // --- generations (no transaction needed) -----------------------------------------
    /// Records a generation; fills id, timestamp and (unless set) editId with the latest edit.
    Generation addGeneration(const Generation& generation);

    // --- queries (cheap, indexed unless noted) ---------------------------------------
    /// UserError "no fact with id 17" for an unknown id.
    Fact fact(std::int64_t id);
    /// Ordered by id. A text filter scans the table.
    std::vector<Fact> facts(const FactFilter& filter = {});
    std::int64_t factCount(std::optional<FactState> state = std::nullopt);
    /// UserError "no edit with id 17" for an unknown id.
    Edit edit(std::int64_t id);
    std::vector<Edit> edits(const EditFilter& filter = {});
    /// Id of the newest edit, empty for a workspace without history.
    std::optional<std::int64_t> lastEditId();
    /// The newest edit's id and hash as stored (id 0 and kGenesisHash without history). Not
    /// verified: audit with verifyChain before giving it to someone as an anchor. Cheap.
    ChainHead chainHead();
    /// Each fact's state right after editId, replayed from the states the edits recorded
    /// (facts written later are absent): what a rollback to editId restores. O(edits up to
    /// editId). UserError for an unknown edit.
    std::map<std::int64_t, FactState> factStatesAfter(std::int64_t editId);
    std::vector<Generation> generations(const GenerationFilter& filter = {});
    /// The newest snapshot taken at or before editId (all edits: no bound). Throws Error if
    /// its bytes no longer match the checksum stored with them.
    std::optional<Snapshot> latestSnapshot(std::optional<std::int64_t> atOrBefore = std::nullopt);

    // --- audit and export ------------------------------------------------------------
    /// Walks every edit in id order and checks hashes, links, fact digests and fact states;
    /// reports the first mismatch. O(edits + facts); reads the whole history (about 0.1 s per
    /// 10,000 facts). progress (optional) is called every 1,000 edits with (done, total);
    /// when *cancel becomes true it stops and returns a report with cancelled set.
    AuditReport verifyChain(const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                            const std::atomic<bool>* cancel = nullptr);
    /// verifyChain, then checks that the chain holds edit expected.editId with that hash (or
    /// hash prefix). Fails when edits up to it were changed or removed, even if the whole
    /// chain was rewritten consistently, since no rewritten history ends in the same hash.
    AuditReport verifyChain(const ChainHead& expected,
                            const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                            const std::atomic<bool>* cancel = nullptr);
    /// The edit history as CSV (RFC 4180, header row) / as one JSON document.
    std::string exportHistoryCsv();
    std::string exportHistoryJson();

private:
    friend class Transaction;
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace larimar
