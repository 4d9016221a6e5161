#pragma once
/// Edit bundles: a set of facts carried from one workspace to another in one JSON file, with
/// what the receiver needs to check them without the source workspace.
///
/// A bundle (format "larimar.bundle", version 1) holds each fact's stored columns (text,
/// subject, relation, target, source, and the write key and latent as base64 float64, which its
/// content digest covers) and, for each edit that wrote one of them, the stored columns that
/// edit's hash covers, the content digests of the other facts it listed, its signer's public
/// key and its signature. readEditBundle recomputes every fact's content digest, each edit's
/// facts digest and hash (core/store/audit.h), and checks each signature against the key the
/// edit names; the optional exporter signature covers the whole bundle (source workspace, head,
/// selection). What it cannot prove: that an unsigned edit was not rewritten consistently (as
/// for a workspace, audit chain without signatures), and that the source head named is the
/// source's real one (the edits in between are not carried; compare it with an anchor).
///
/// Applying writes the facts as ONE audited batch edit whose reason names the source
/// workspace, its head and the bundle's SHA-256. Facts are text, so they are always encoded
/// anew with the target's model; when the bundle was made with another model the reason says
/// so (their stored vectors are used only to verify the digests).
#include "core/editor/editor.h"
#include "core/store/audit.h"
#include "core/store/signing.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace larimar {

class Workspace;

/// What to bundle. Both empty: every fact written now.
struct BundleSelection {
    std::vector<std::int64_t> edits; ///< the facts these edits wrote
    std::vector<std::int64_t> facts; ///< these facts
};

struct BundleExportOptions {
    std::string actor;                      ///< who made the bundle (shown to the receiver)
    const SigningKey* signingKey = nullptr; ///< signs the whole bundle; null: unsigned bundle
    std::string createdAt;                  ///< empty: now
};

struct BundleExport {
    std::string json; ///< the bundle file's bytes
    std::int64_t facts = 0, edits = 0;
    ChainHead sourceHead;
};

/// Builds a bundle from ws (read-only use). UserError when the chain does not verify (a bundle
/// from a changed history would carry its changes), for an unknown fact or edit, an edit that
/// wrote no fact, or an empty selection. Cost: one verifyChain plus reading the facts of the
/// edits involved with their vectors.
BundleExport makeEditBundle(Workspace& ws, const BundleSelection& selection, const BundleExportOptions& options = {});

struct BundledFact {
    std::int64_t id = 0; ///< in the source workspace
    std::string text, subject, relation, target, source;
    std::int64_t editId = 0; ///< the source edit that wrote it
};

struct BundledEdit {
    std::int64_t id = 0;
    std::string op, actor, reason, timestamp, modelId, modelHash, hash;
    std::string signer;     ///< public key hex; empty: unsigned
    std::string signerName; ///< the name the source workspace trusted it as (informational)
};

/// A bundle whose digests, hashes and signatures all checked out.
struct VerifiedBundle {
    std::string sha256; ///< of the file's bytes: how the applying edit names the bundle
    std::string sourceWorkspace, sourceCreatedAt, sourceModelId, sourceModelHash;
    ChainHead sourceHead;
    std::string createdAt, createdBy;
    std::string exporterKey; ///< public key hex that signed the whole bundle; empty: not signed
    std::vector<BundledFact> facts;
    std::vector<BundledEdit> edits;
    std::int64_t signedEdits = 0, unsignedEdits = 0;
};

/// Parses and verifies a bundle; what names it in messages (a file name). UserError saying
/// what does not match ("edit 3's hash does not match its content: the bundle was changed
/// after it was made") for a tampered or malformed bundle. O(bytes).
VerifiedBundle readEditBundle(const std::string& bytes, const std::string& what);
/// readEditBundle of a file (UserError when it cannot be read or is over 2 GiB).
VerifiedBundle readEditBundleFile(const std::string& path);

struct BundleApplyOptions {
    std::string reason;          ///< the user's reason; the bundle's description is appended
    bool allowDuplicates = false; ///< write facts whose text is already written here
    /// Refuse unless every edit of the bundle is signed by a key the target workspace trusts.
    bool requireTrusted = false;
    std::function<void(std::int64_t, std::int64_t)> progress;
    const std::atomic<bool>* cancel = nullptr;
};

struct BundleApplyResult {
    EditResult edit;
    std::string reason;      ///< as recorded in the edit
    bool reEncoded = false;  ///< the bundle was made with another model than the target's
    std::int64_t trustedEdits = 0; ///< bundle edits signed by a key the target trusts
};

/// Writes the bundle's facts to the editor's workspace as one batch edit (Editor::writeBatch).
/// UserError, writing nothing, when a fact's text is already written there (unless
/// allowDuplicates) or requireTrusted fails.
BundleApplyResult applyEditBundle(Editor& editor, const VerifiedBundle& bundle, const BundleApplyOptions& options = {});

} // namespace larimar
