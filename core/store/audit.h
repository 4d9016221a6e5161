#pragma once
/// The audit chain: how edit rows and fact rows are hashed, and the report verifyChain gives.
///
/// Canonical serialisation (version 1). A hash is SHA-256 over a domain tag line followed by
/// fields in a fixed order, each written as `name=<byte length>:<bytes>\n`. Lengths make the
/// encoding unambiguous whatever the bytes (quotes, newlines, '=' in a reason), and every
/// value is the exact text or blob stored in the database, so changing any stored byte
/// changes the hash.
///
///  - fact content digest ("larimar.fact.v1"): id, text, subject, relation, target, source,
///    write_key, latent. These never change after insertion.
///  - facts digest of an edit ("larimar.facts.v1"): for each listed fact in order: id, its
///    state right after the edit, its content digest.
///  - edit hash ("larimar.edit.v1"): id, op, fact_ids, fact_states, facts_digest, actor,
///    reason, timestamp, model_id, model_hash, memory_digest_before, memory_digest_after,
///    payload, prev_hash. The first edit's prev_hash is 64 zeros.
///
/// verifyChain therefore detects a change to any history-relevant byte: an edit row's columns
/// (through its hash and the next row's prev_hash), a fact's immutable columns (through the
/// content digest and the facts digest of the edit that wrote it), and a fact's state or edit
/// links (replayed from the states the edits recorded). All functions here are pure and
/// thread-safe.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace larimar {

/// A point of the audit chain: an edit id and that edit's hash. An auditor who records the
/// head elsewhere (a ticket, a signed mail) can later prove that no edit up to it was changed
/// or removed, even by someone who rewrote the whole chain consistently: every hash covers the
/// previous one, so a rewritten history cannot end in the recorded hash.
struct ChainHead {
    std::int64_t editId = 0; ///< 0: the empty history (hash = kGenesisHash)
    std::string hash;        ///< 64 hex digits (a parsed head may hold a prefix of >= 12)
    /// "12:3f2a..." (the full hash): the form `larimar audit head` prints.
    std::string toString() const;
    /// Parses "ID:HASH", HASH being 64 hex digits or a prefix of at least 12 (case-insensitive,
    /// stored lower-case). UserError naming the expected form otherwise.
    static ChainHead parse(std::string_view text);
    /// True when hash is this head's hash or a prefix of it, as parse() accepts.
    bool matches(std::string_view fullHash) const;
};

/// What verifyChain found. ok, or the first problem in chain order.
struct AuditReport {
    bool ok = true;
    bool cancelled = false;             ///< stopped on request; ok is false, nothing was judged
    std::int64_t editsChecked = 0;
    std::int64_t factsChecked = 0;
    std::optional<std::int64_t> editId; ///< the first edit that does not match, if any
    std::optional<std::int64_t> factId; ///< the fact involved, when the problem is a fact row
    std::string reason;                 ///< what does not match, for a person
    std::optional<ChainHead> head;      ///< when ok: the newest edit checked (id 0: no history)
    // Signatures (core/store/signing.h), counted over the edits checked. "Trusted" is judged
    // against the keys the workspace trusts at the end of the chain.
    std::int64_t signedTrusted = 0;     ///< valid signature by a key the workspace trusts
    std::int64_t signedUntrusted = 0;   ///< valid signature by a key it does not trust
    std::int64_t unsignedEdits = 0;     ///< no signature (older workspaces, actors without a key)
    std::int64_t trustedKeys = 0;       ///< keys the workspace trusts
    /// When the unsigned edits are exactly edits 1..N-1 (as in a workspace made before edits
    /// were signed): N.
    std::optional<std::int64_t> unsignedBefore;
    /// The first "trust" edit: from it on, every edit must be signed by a trusted key.
    std::optional<std::int64_t> signaturesRequiredFrom;
    /// "signatures: 3 by trusted keys, 0 by untrusted keys, 12 unsigned (unsigned before edit 13)".
    std::string signatureSummary() const;
    /// One line: "audit ok: 12 edits, 40 facts; signatures: ..." or "audit FAILED at edit 3: ...".
    std::string message() const;
};

/// prev_hash of the first edit.
inline const std::string kGenesisHash(64, '0');

/// The stored text of the columns an edit hash covers, in hashing order.
struct EditHashInput {
    std::int64_t id = 0;
    std::string_view op, factIds, factStates, factsDigest, actor, reason, timestamp, modelId,
        modelHash, memoryDigestBefore, memoryDigestAfter, payload, prevHash;
};
/// Hex SHA-256 of an edit row.
std::string computeEditHash(const EditHashInput& row);

/// Hex SHA-256 of a fact's immutable columns (blobs as stored: little-endian float64).
std::string computeFactContentDigest(std::int64_t id, std::string_view text,
                                     std::string_view subject, std::string_view relation,
                                     std::string_view target, std::string_view source,
                                     std::string_view writeKey, std::string_view latent);

/// Incremental facts digest of one edit: add() each listed fact in order, then finish().
class FactsDigest {
public:
    FactsDigest();
    ~FactsDigest();
    FactsDigest(const FactsDigest&) = delete;
    FactsDigest& operator=(const FactsDigest&) = delete;
    void add(std::int64_t factId, std::string_view state, std::string_view contentDigest);
    std::string finish();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace larimar
