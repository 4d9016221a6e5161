// Workspace::verifyChain and the history exports: everything that reads the whole history.
#include "core/store/workspace_impl.h"

#include "core/store/signing.h"
#include "core/util/error.h"
#include "core/util/csv.h"
#include "core/util/sha256.h"

#include <set>

#include <map>
#include <sstream>

namespace larimar {
namespace {

struct FactRow {
    std::string state;
    std::string contentDigest; // as stored
    bool contentOk = true;     // stored digest matches the recomputed one
    std::optional<std::int64_t> createdEdit, forgottenEdit;
    // replayed from the chain
    std::optional<std::int64_t> firstEdit, lastEdit;
    std::string lastState;
    std::optional<std::int64_t> lastForgetEdit;
};

AuditReport fail(AuditReport r, std::optional<std::int64_t> editId,
                 std::optional<std::int64_t> factId, std::string reason) {
    r.ok = false;
    r.head.reset();
    r.editId = editId;
    r.factId = factId;
    r.reason = std::move(reason);
    return r;
}

std::string str(std::int64_t v) { return std::to_string(v); }

} // namespace

AuditReport Workspace::verifyChain(const std::function<void(std::int64_t, std::int64_t)>& progress,
                                   const std::atomic<bool>* cancel) {
    return m_impl->verify(progress, cancel, true);
}

AuditReport Workspace::verifyChain(const ChainHead& expected,
                                   const std::function<void(std::int64_t, std::int64_t)>& progress,
                                   const std::atomic<bool>* cancel) {
    AuditReport r = verifyChain(progress, cancel);
    if (!r.ok) return r;
    const std::int64_t last = r.head ? r.head->editId : 0;
    const std::string recorded = expected.toString();
    if (expected.editId > last)
        return fail(r, last + 1, std::nullopt,
                    "the recorded head is edit " + str(expected.editId) + " (" + recorded +
                        ") but the history ends at edit " + str(last) +
                        ": edits up to the recorded head were removed");
    std::string actual = kGenesisHash;
    if (expected.editId > 0) {
        sqlite::Statement st(m_impl->db, "SELECT hash FROM edits WHERE id = ?");
        st.bind(1, expected.editId);
        if (st.step()) actual = st.text(0);
    }
    if (!expected.matches(actual))
        return fail(r, expected.editId, std::nullopt,
                    "edit " + str(expected.editId) + " has hash " + actual + " but the recorded head is " +
                        recorded + ": the history up to edit " + str(expected.editId) +
                        " was rewritten (edits changed, removed or replaced and the chain recomputed)");
    return r;
}

AuditReport Workspace::Impl::verify(const std::function<void(std::int64_t, std::int64_t)>& progress,
                                    const std::atomic<bool>* cancel, bool snapshots) {
    AuditReport report;

    // Read inside one transaction so that a writer in another process cannot make the facts
    // and the edits come from different moments.
    const bool own = !inTx;
    if (own) db.exec("BEGIN");
    struct EndRead {
        sqlite::Database& db;
        bool own;
        ~EndRead() {
            if (own) db.rollbackQuietly();
        }
    } endRead{db, own};

    std::map<std::int64_t, FactRow> facts;
    {
        sqlite::Statement st(db, "SELECT id, text, subject, relation, target, source, state, "
                                 "write_key, latent, content_digest, created_edit_id, "
                                 "forgotten_edit_id FROM facts ORDER BY id");
        while (st.step()) {
            const auto id = st.int64(0);
            const auto key = st.blob(7);
            const auto latent = st.blob(8);
            FactRow row;
            row.state = st.text(6);
            row.contentDigest = st.text(9);
            const auto recomputed = computeFactContentDigest(
                id, st.text(1), st.text(2), st.text(3), st.text(4), st.text(5),
                {reinterpret_cast<const char*>(key.data()), key.size()},
                {reinterpret_cast<const char*>(latent.data()), latent.size()});
            row.contentOk = recomputed == row.contentDigest;
            row.createdEdit = st.optInt64(10);
            row.forgottenEdit = st.optInt64(11);
            facts.emplace(id, std::move(row));
        }
    }
    report.factsChecked = static_cast<std::int64_t>(facts.size());

    std::int64_t total = 0;
    if (progress) {
        sqlite::Statement st(db, "SELECT count(*) FROM edits");
        if (st.step()) total = st.int64(0);
        progress(0, total);
    }
    std::int64_t expected = 1;
    std::string prev = kGenesisHash;
    std::map<std::int64_t, std::string> afterDigests; // edit id -> memory digest after
    std::map<std::string, std::pair<std::int64_t, std::string>> settings; // key -> (edit, value)
    std::string lastModelId, lastModelHash;
    std::set<std::string> trusted;          // public keys the trust edits so far added
    std::vector<std::string> signers;       // of every validly signed edit, judged at the end
    std::optional<std::int64_t> firstSigned;
    {
        sqlite::Statement st(db, std::string("SELECT id, op, fact_ids, fact_states, facts_digest, actor, "
                                             "reason, timestamp, model_id, model_hash, memory_digest_before, "
                                             "memory_digest_after, payload, prev_hash, hash, ") +
                                     signatureColumns() + " FROM edits ORDER BY id");
        while (st.step()) {
            const auto id = st.int64(0);
            std::string col[17];
            for (int c = 1; c < 17; ++c) col[c] = st.text(c);
            if (id != expected)
                return fail(report, expected, std::nullopt,
                            "edit " + str(expected) + " is missing (the next edit is " + str(id) +
                                "): a row was removed or its id changed");
            if (col[13] != prev)
                return fail(report, id, std::nullopt,
                            "its prev_hash does not match the hash of " +
                                (id == 1 ? std::string("the chain start (64 zeros)")
                                         : "edit " + str(id - 1)) +
                                ": a row was changed, removed or reordered");
            const auto hash = computeEditHash({id, col[1], col[2], col[3], col[4], col[5], col[6],
                                               col[7], col[8], col[9], col[10], col[11], col[12],
                                               col[13]});
            if (hash != col[14])
                return fail(report, id, std::nullopt,
                            "its hash does not match its content: the row was changed after it "
                            "was written");

            // Signatures: a signature must match the hash it signed, whoever the signer, so a
            // rewritten chain fails at the first signed edit it changed. Once the workspace
            // trusts keys, an unsigned edit (or one by an untrusted key) means signatures were
            // removed or replaced: appendEdit never writes one.
            const std::string& signer = col[15];
            const std::string& signature = col[16];
            if (signer.empty() != signature.empty())
                return fail(report, id, std::nullopt,
                            "it has a signer without a signature or a signature without a signer");
            if (!signer.empty()) {
                const bool known = trusted.count(signer) > 0;
                if (!verifySignature(PublicKey{signer}, editSignatureMessage(hash, prev), signature))
                    return fail(report, id, std::nullopt,
                                std::string("its signature by ") + (known ? "trusted" : "untrusted") + " key " +
                                    signer.substr(0, 16) +
                                    " does not match its hash and the previous one: the edit or an earlier "
                                    "one was changed (or the chain rewritten) after it was signed");
                signers.push_back(signer);
                if (!firstSigned) firstSigned = id;
            } else {
                ++report.unsignedEdits;
            }
            if (col[1] == "trust") {
                const auto p = nlohmann::json::parse(col[12], nullptr, false);
                if (!p.is_object() || !p.contains("public_key") || !p["public_key"].is_string() ||
                    p["public_key"].get<std::string>().size() != 64 || col[2] != "[]")
                    return fail(report, id, std::nullopt, "this trust edit is malformed");
                const auto added = p["public_key"].get<std::string>();
                if (signer.empty())
                    return fail(report, id, std::nullopt,
                                "this trust edit is unsigned: trusting a key is always a signed edit");
                if (trusted.empty() && signer != added)
                    return fail(report, id, std::nullopt,
                                "this first trust edit is not signed by the key it trusts");
                if (!report.signaturesRequiredFrom) report.signaturesRequiredFrom = id;
                trusted.insert(added);
            }
            if (report.signaturesRequiredFrom && (signer.empty() || !trusted.count(signer)))
                return fail(report, id, std::nullopt,
                            std::string("it is ") +
                                (signer.empty() ? "unsigned" : "signed by the untrusted key " + signer.substr(0, 16)) +
                                ", but from edit " + str(*report.signaturesRequiredFrom) +
                                " on (its first trust edit) the workspace holds only edits signed by a key "
                                "it trusts: signatures were removed or replaced");

            // The row is as written; now check the facts it recorded against the fact rows.
            if (col[1] == "setting") {
                const auto p = nlohmann::json::parse(col[12], nullptr, false);
                if (!p.is_object() || !p.contains("setting") || !p["setting"].is_string() ||
                    !p.contains("value") || !p["value"].is_string() || col[2] != "[]")
                    return fail(report, id, std::nullopt, "this setting edit is malformed");
                settings[p["setting"].get<std::string>()] = {id, p["value"].get<std::string>()};
            }
            lastModelId = col[8];
            lastModelHash = col[9];
            const auto ids = nlohmann::json::parse(col[2], nullptr, false);
            const auto states = nlohmann::json::parse(col[3], nullptr, false);
            if (!ids.is_array() || !states.is_array() || ids.size() != states.size())
                return fail(report, id, std::nullopt, "its fact_ids / fact_states are malformed");
            FactsDigest digest;
            for (std::size_t i = 0; i < ids.size(); ++i) {
                if (!ids[i].is_number_integer() || !states[i].is_string())
                    return fail(report, id, std::nullopt, "its fact_ids / fact_states are malformed");
                const auto fid = ids[i].get<std::int64_t>();
                const auto state = states[i].get<std::string>();
                const auto it = facts.find(fid);
                if (it == facts.end())
                    return fail(report, id, fid, "fact " + str(fid) + " that this edit recorded is missing");
                auto& f = it->second;
                if (!f.contentOk)
                    return fail(report, id, fid,
                                "fact " + str(fid) + " was changed after this edit wrote it (its "
                                "text, subject, relation, target, source, write key or latent no "
                                "longer matches its digest)");
                digest.add(fid, state, f.contentDigest);
                if (!f.firstEdit) f.firstEdit = id;
                f.lastEdit = id;
                f.lastState = state;
            }
            if (digest.finish() != col[4])
                return fail(report, id, std::nullopt,
                            "the facts it lists no longer match what it recorded (a fact's "
                            "content digest was changed)");
            afterDigests.emplace(id, col[11]);
            prev = col[14];
            ++expected;
            ++report.editsChecked;
            if (report.editsChecked % 1000 == 0) {
                if (cancel && cancel->load()) {
                    report.ok = false;
                    report.cancelled = true;
                    report.reason = "cancelled";
                    return report;
                }
                if (progress) progress(report.editsChecked, total);
            }
        }
    }

    // Removing the newest rows leaves a valid but shorter chain; the recorded head notices.
    if (const auto head = meta("audit.head")) {
        const auto lastId = expected - 1;
        const std::string actual = str(lastId) + " " + (lastId ? prev : std::string());
        if (*head != actual) {
            const auto space = head->find(' ');
            std::int64_t recorded = 0;
            try {
                recorded = std::stoll(head->substr(0, space));
            } catch (...) {
            }
            return fail(report, recorded > lastId ? std::optional<std::int64_t>(lastId + 1)
                                                  : std::optional<std::int64_t>(lastId),
                        std::nullopt,
                        "the workspace records edit " + head->substr(0, space) +
                            " as the newest with another hash, but the history ends at edit " +
                            str(lastId) + ": edits were removed or replaced");
        }
    } else if (expected > 1) {
        return fail(report, expected - 1, std::nullopt,
                    "the record of the newest edit (meta 'audit.head') is missing");
    }

    // Audited settings must hold the value their newest setting edit gave them, and the model
    // binding the model the newest edit was made with.
    for (const auto& [key, set] : settings) {
        const auto now = meta(key);
        if (!now || *now != set.second)
            return fail(report, set.first, std::nullopt,
                        "the workspace setting " + key + " is " + (now ? "'" + *now + "'" : std::string("missing")) +
                            " but edit " + str(set.first) + " set it to '" + set.second +
                            "': it was changed outside the audited history");
    }
    if (!lastModelId.empty()) {
        const auto id = meta("model.id");
        const auto hash = meta("model.hash");
        if (id.value_or("") != lastModelId || hash.value_or("") != lastModelHash)
            return fail(report, expected - 1, std::nullopt,
                        "the workspace is bound to model '" + id.value_or("(none)") + "' (hash " +
                            hash.value_or("(none)") + ") but edit " + str(expected - 1) + " was made with '" +
                            lastModelId + "' (hash " + lastModelHash +
                            "): the model binding was changed outside the audited history");
    }

    // Every fact's state and links must be what the edits that touched it left.
    for (const auto& [fid, f] : facts) {
        if (!f.lastEdit)
            return fail(report, std::nullopt, fid,
                        "fact " + str(fid) + " is not recorded by any edit: it was added outside "
                        "the audited history");
        if (f.state != f.lastState)
            return fail(report, f.lastEdit, fid,
                        "fact " + str(fid) + " is '" + f.state + "' but edit " + str(*f.lastEdit) +
                            " left it '" + f.lastState + "'");
        if (f.createdEdit != f.firstEdit)
            return fail(report, f.firstEdit, fid,
                        "fact " + str(fid) + " names edit " +
                            (f.createdEdit ? str(*f.createdEdit) : std::string("(none)")) +
                            " as the one that wrote it, but it was edit " + str(*f.firstEdit));
        const std::optional<std::int64_t> forgotten =
            f.lastState == "forgotten" ? f.lastEdit : std::nullopt;
        if (f.forgottenEdit != forgotten)
            return fail(report, f.lastEdit, fid,
                        "fact " + str(fid) + "'s forgotten_edit_id does not match the history");
    }

    for (const auto& s : signers) ++(trusted.count(s) ? report.signedTrusted : report.signedUntrusted);
    report.trustedKeys = static_cast<std::int64_t>(trusted.size());
    const std::int64_t prefix = firstSigned ? *firstSigned - 1 : report.editsChecked;
    if (report.unsignedEdits > 0 && report.unsignedEdits == prefix) report.unsignedBefore = prefix + 1;

    if (progress) progress(report.editsChecked, total);
    report.head = ChainHead{expected - 1, expected > 1 ? prev : kGenesisHash};
    // Snapshots restore memory without replay; a wrong one would silently restore wrong memory.
    if (snapshots) {
        sqlite::Statement st(db, "SELECT edit_id, state, digest, state_sha256 FROM snapshots ORDER BY edit_id");
        while (st.step()) {
            const auto eid = st.int64(0);
            const auto bytes = st.blob(1);
            const auto it = afterDigests.find(eid);
            if (it == afterDigests.end())
                return fail(report, eid, std::nullopt, "a memory snapshot refers to edit " + str(eid) + ", which is not in the history");
            if (toHex(sha256(bytes.data(), bytes.size())) != st.text(3))
                return fail(report, eid, std::nullopt, "the memory snapshot of this edit is damaged (checksum mismatch)");
            if (st.text(2) != it->second)
                return fail(report, eid, std::nullopt, "the memory snapshot's digest differs from the edit's memory digest after");
        }
    }
    return report;
}

std::map<std::int64_t, FactState> Workspace::factStatesAfter(std::int64_t editId) {
    edit(editId); // UserError for an unknown id
    std::map<std::int64_t, FactState> states;
    sqlite::Statement st(m_impl->db, "SELECT fact_ids, fact_states FROM edits WHERE id <= ? ORDER BY id");
    st.bind(1, editId);
    while (st.step()) {
        const auto ids = nlohmann::json::parse(st.text(0), nullptr, false);
        const auto sts = nlohmann::json::parse(st.text(1), nullptr, false);
        if (!ids.is_array() || !sts.is_array() || ids.size() != sts.size())
            throw Error("workspace '" + path() + "': the history is damaged (run audit verify)");
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (!ids[i].is_number_integer() || !sts[i].is_string())
                throw Error("workspace '" + path() + "': the history is damaged (run audit verify)");
            states[ids[i].get<std::int64_t>()] =
                sts[i].get<std::string>() == "forgotten" ? FactState::Forgotten : FactState::Written;
        }
    }
    return states;
}

std::string Workspace::exportHistoryCsv() {
    std::ostringstream out;
    out << "id,op,fact_ids,fact_states,facts_digest,actor,reason,timestamp,model_id,model_hash,"
           "memory_digest_before,memory_digest_after,payload,prev_hash,hash,signer,signature\r\n";
    sqlite::Statement st(m_impl->db, std::string("SELECT id, op, fact_ids, fact_states, facts_digest, actor, "
                                                 "reason, timestamp, model_id, model_hash, "
                                                 "memory_digest_before, memory_digest_after, payload, "
                                                 "prev_hash, hash, ") +
                                         m_impl->signatureColumns() + " FROM edits ORDER BY id");
    while (st.step()) {
        out << st.int64(0);
        // The stored text verbatim, so that an exported row can be re-hashed by anyone.
        for (int c = 1; c < 17; ++c) out << ',' << csvField(st.text(c));
        out << "\r\n";
    }
    return out.str();
}

std::string Workspace::exportHistoryJson() {
    nlohmann::json doc;
    doc["format"] = "larimar-history";
    doc["version"] = 1;
    nlohmann::json meta = nlohmann::json::object();
    {
        sqlite::Statement st(m_impl->db, "SELECT key, value FROM meta ORDER BY key");
        while (st.step()) meta[st.text(0)] = st.text(1);
    }
    doc["meta"] = meta;
    nlohmann::json edits = nlohmann::json::array();
    for (const auto& e : this->edits()) {
        nlohmann::json j;
        j["id"] = e.id;
        j["op"] = toString(e.op);
        j["fact_ids"] = e.factIds;
        nlohmann::json states = nlohmann::json::array();
        for (const auto s : e.factStates) states.push_back(toString(s));
        j["fact_states"] = states;
        j["facts_digest"] = e.factsDigest;
        j["actor"] = e.actor;
        j["reason"] = e.reason;
        j["timestamp"] = e.timestamp;
        j["model_id"] = e.modelId;
        j["model_hash"] = e.modelHash;
        j["memory_digest_before"] = e.memoryDigestBefore;
        j["memory_digest_after"] = e.memoryDigestAfter;
        j["payload"] = e.payload;
        j["prev_hash"] = e.prevHash;
        j["hash"] = e.hash;
        j["signer"] = e.signer;
        j["signature"] = e.signature;
        edits.push_back(std::move(j));
    }
    doc["edits"] = std::move(edits);
    return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace larimar
