#pragma once
/// The rows of a workspace as plain structs: facts, edits, generations, snapshots.
/// Plain values, no connection: safe to copy between threads.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace larimar {

enum class FactState { Written, Forgotten };
enum class EditOp { Write, Forget, Batch, Rollback, Setting, Trust };

/// "written" / "forgotten"; "write" / "forget" / "batch" / "rollback" / "setting" (the strings
/// stored). A "setting" edit lists no facts and leaves the memory as it was; its payload is
/// {"setting": key, "value": new, "previous": old or null} (Workspace::recordSetting). A "trust"
/// edit (stored "trust") adds a public key to the keys the workspace trusts; it lists no facts,
/// its payload is {"public_key": 64 hex digits, "name": label} (Workspace::trustKey).
const char* toString(FactState state);
const char* toString(EditOp op);
/// Parses the stored strings; throws UserError naming the accepted values.
FactState factStateFromString(const std::string& text);
EditOp editOpFromString(const std::string& text);

/// A fact. Everything except state is immutable once inserted (the audit chain covers it).
struct Fact {
    std::int64_t id = 0;            ///< assigned by insertFacts
    std::string text;               ///< the fact as written, verbatim UTF-8
    std::string subject;            ///< may be empty when unknown
    std::string relation;           ///< relation or prompt; may be empty
    std::string target;             ///< may be empty
    std::string source;             ///< where it came from (file name, "cli", ...)
    FactState state = FactState::Written;
    std::vector<double> writeKey;   ///< K values: the fact's write key
    std::vector<double> latent;     ///< C values: its encoding, needed to forget it exactly
    std::optional<std::int64_t> createdEdit;   ///< the edit that wrote it
    std::optional<std::int64_t> forgottenEdit; ///< the edit that last forgot it, while forgotten
};

/// One audited change. The caller fills op, factIds, actor, reason, model and digests and
/// payload; appendEdit assigns id, timestamp, factStates, factsDigest, prevHash and hash.
struct Edit {
    std::int64_t id = 0;
    EditOp op = EditOp::Write;
    std::vector<std::int64_t> factIds;   ///< facts this edit wrote, forgot or restored
    std::string actor;
    std::string reason;
    std::string timestamp;               ///< ISO-8601 UTC with milliseconds, from the clock
    std::string modelId;
    std::string modelHash;
    std::string memoryDigestBefore;      ///< hex digest of the memory before the edit
    std::string memoryDigestAfter;       ///< ... and after it
    nlohmann::json payload = nlohmann::json::object(); ///< op-specific details (rollback target, ...)
    std::vector<FactState> factStates;   ///< state of each fact right after this edit
    std::string factsDigest;             ///< SHA-256 (hex) over the facts as this edit left them
    std::string prevHash;                ///< previous edit's hash, 64 zeros for the first
    std::string hash;                    ///< SHA-256 (hex) of this row, see audit.h
    /// The signer's raw Ed25519 public key (64 hex digits), empty for an unsigned edit. Set by
    /// appendEdit when the workspace has a signing key (WorkspaceOptions::signingKey).
    std::string signer;
    /// Ed25519 signature (128 hex digits) over editSignatureMessage(hash, prevHash); empty
    /// when unsigned. Outside the hash: it signs the hash (core/store/signing.h).
    std::string signature;
};

/// One query answered with and without memory.
struct Generation {
    std::int64_t id = 0;
    std::string prompt;
    std::string outputWithoutMemory;
    std::string outputWithMemory;
    std::optional<double> scopeScore;
    bool inScope = false;
    std::optional<std::int64_t> editId;  ///< the latest edit at the time (set by addGeneration)
    std::string timestamp;               ///< set by addGeneration from the clock
    nlohmann::json details = nlohmann::json::object();
};

/// The serialized memory state right after an edit. The bytes are opaque to the store.
struct Snapshot {
    std::int64_t editId = 0;
    std::vector<std::uint8_t> state;
    std::string digest; ///< the memory digest; equals the edit's memoryDigestAfter
};

} // namespace larimar
