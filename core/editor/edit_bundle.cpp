#include "core/editor/edit_bundle.h"

#include "core/eval/datasets.h"
#include "core/store/workspace.h"
#include "core/util/error.h"
#include "core/util/sha256.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace larimar {

namespace {

constexpr const char* kFormat = "larimar.bundle";
constexpr int kVersion = 1;

// --- base64 (RFC 4648, padded): the fact vectors, whose bytes the content digest covers ----
const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                           static_cast<unsigned char>(in[i + 2]);
        out += {kB64[(v >> 18) & 63], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], kB64[v & 63]};
    }
    if (i + 1 == in.size()) {
        const unsigned v = static_cast<unsigned char>(in[i]) << 16;
        out += {kB64[(v >> 18) & 63], kB64[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
        out += {kB64[(v >> 18) & 63], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], '='};
    }
    return out;
}

/// Empty optional for anything that is not canonical padded base64.
std::optional<std::string> unbase64(const std::string& in) {
    if (in.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(in.size() / 4 * 3);
    for (std::size_t i = 0; i < in.size(); i += 4) {
        unsigned v = 0;
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = in[i + static_cast<std::size_t>(k)];
            unsigned d = 0;
            if (c == '=' && i + 4 == in.size() && k >= 2) {
                ++pad;
            } else {
                if (pad) return std::nullopt;
                const char* p = c ? std::strchr(kB64, c) : nullptr;
                if (!p) return std::nullopt;
                d = static_cast<unsigned>(p - kB64);
            }
            v = (v << 6) | d;
        }
        out += static_cast<char>((v >> 16) & 255);
        if (pad < 2) out += static_cast<char>((v >> 8) & 255);
        if (pad < 1) out += static_cast<char>(v & 255);
    }
    return out;
}

std::string_view bytesOf(const std::vector<double>& v) {
    return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double)};
}

std::string contentDigest(const Fact& f) {
    return computeFactContentDigest(f.id, f.text, f.subject, f.relation, f.target, f.source, bytesOf(f.writeKey),
                                    bytesOf(f.latent));
}

/// What the exporter's signature covers: a domain tag and the SHA-256 of the bundle without
/// its "exporter" member, serialised compactly (nlohmann's dump sorts keys, so any parse of
/// the file serialises back to the same text).
std::string bundleSignatureMessage(const nlohmann::json& body) {
    return std::string("larimar.bundle.v1\n") + toHex(sha256(body.dump()));
}

/// Reads a member, naming it in the error.
template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& where) {
    if (!j.is_object() || !j.contains(key))
        throw UserError(where + " has no '" + key + "'");
    try {
        return j.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
        throw UserError(where + ": '" + key + "' has the wrong type");
    }
}

/// The edit entry's facts digest and hash, recomputed from its stored columns (the same
/// serialisation as Workspace::appendEdit). Throws UserError naming the mismatch.
void checkBundledEdit(const nlohmann::json& e, const std::string& where) {
    const auto ids = field<std::vector<std::int64_t>>(e, "fact_ids", where);
    const auto states = field<std::vector<std::string>>(e, "fact_states", where);
    const auto digests = field<std::vector<std::string>>(e, "fact_digests", where);
    if (ids.size() != states.size() || ids.size() != digests.size())
        throw UserError(where + ": fact_ids, fact_states and fact_digests differ in length");
    FactsDigest d;
    for (std::size_t i = 0; i < ids.size(); ++i) d.add(ids[i], states[i], digests[i]);
    const auto factsDigest = field<std::string>(e, "facts_digest", where);
    if (d.finish() != factsDigest)
        throw UserError(where + ": its facts do not match the facts digest it records");
    const auto id = field<std::int64_t>(e, "id", where);
    const std::string idsText = nlohmann::json(ids).dump(), statesText = nlohmann::json(states).dump();
    const auto op = field<std::string>(e, "op", where), actor = field<std::string>(e, "actor", where),
               reason = field<std::string>(e, "reason", where), time = field<std::string>(e, "timestamp", where),
               modelId = field<std::string>(e, "model_id", where), modelHash = field<std::string>(e, "model_hash", where),
               before = field<std::string>(e, "memory_digest_before", where),
               after = field<std::string>(e, "memory_digest_after", where),
               payload = field<std::string>(e, "payload", where), prev = field<std::string>(e, "prev_hash", where);
    const auto hash = computeEditHash({id, op, idsText, statesText, factsDigest, actor, reason, time, modelId,
                                       modelHash, before, after, payload, prev});
    if (hash != field<std::string>(e, "hash", where))
        throw UserError(where + ": its hash does not match its content");
    const auto signer = field<std::string>(e, "signer", where), signature = field<std::string>(e, "signature", where);
    if (signer.empty() != signature.empty()) throw UserError(where + ": it has a signer without a signature or back");
    if (!signer.empty() && !verifySignature(PublicKey::fromHex(signer), editSignatureMessage(hash, prev), signature))
        throw UserError(where + ": its signature by key " + signer.substr(0, 16) +
                        " does not match its hash and the previous one");
}

std::string shortHash(const std::string& h) { return h.substr(0, 12); }

} // namespace

BundleExport makeEditBundle(Workspace& ws, const BundleSelection& selection, const BundleExportOptions& options) {
    const AuditReport audit = ws.verifyChain();
    if (!audit.ok)
        throw UserError("cannot make a bundle from '" + ws.path() + "': its audit chain does not verify (" +
                        audit.message() + "); a bundle would carry the changed history. Nothing was written");
    std::vector<std::int64_t> factIds;
    std::set<std::int64_t> seen;
    const auto take = [&](std::int64_t id) {
        if (seen.insert(id).second) factIds.push_back(id);
    };
    for (const auto editId : selection.edits) {
        const Edit e = ws.edit(editId); // UserError for an unknown id
        std::size_t n = 0;
        for (std::size_t i = 0; i < e.factIds.size() && i < e.factStates.size(); ++i)
            if (e.factStates[i] == FactState::Written) {
                take(e.factIds[i]);
                ++n;
            }
        if (n == 0)
            throw UserError("edit " + std::to_string(editId) + " (" + toString(e.op) +
                            ") wrote no fact; a bundle carries written facts (name write, batch or rollback edits)");
    }
    for (const auto id : selection.facts) take(ws.fact(id).id);
    if (selection.edits.empty() && selection.facts.empty()) {
        FactFilter f;
        f.state = FactState::Written;
        for (const auto& fact : ws.facts(f)) take(fact.id);
        if (factIds.empty()) throw UserError("nothing to bundle: no fact is written in '" + ws.path() + "'");
    }

    std::map<std::int64_t, Fact> loaded; // every fact involved, with its vectors
    const auto load = [&](std::int64_t id) -> const Fact& {
        auto it = loaded.find(id);
        if (it == loaded.end()) it = loaded.emplace(id, ws.fact(id)).first;
        return it->second;
    };
    nlohmann::json facts = nlohmann::json::array();
    std::set<std::int64_t> editIds;
    for (const auto id : factIds) {
        const Fact& f = load(id);
        if (!f.createdEdit) throw Error("fact " + std::to_string(id) + " has no edit that wrote it");
        editIds.insert(*f.createdEdit);
        facts.push_back({{"id", f.id},
                         {"text", f.text},
                         {"subject", f.subject},
                         {"relation", f.relation},
                         {"target", f.target},
                         {"source", f.source},
                         {"write_key", base64(bytesOf(f.writeKey))},
                         {"latent", base64(bytesOf(f.latent))},
                         {"edit", *f.createdEdit}});
    }
    std::map<std::string, std::string> trustedNames;
    for (const auto& t : ws.trustedKeys()) trustedNames[t.key.hex] = t.name;
    nlohmann::json edits = nlohmann::json::array();
    for (const auto editId : editIds) {
        const Edit e = ws.edit(editId);
        nlohmann::json states = nlohmann::json::array(), digests = nlohmann::json::array();
        for (std::size_t i = 0; i < e.factIds.size(); ++i) {
            states.push_back(toString(e.factStates.at(i)));
            digests.push_back(contentDigest(load(e.factIds[i])));
        }
        const auto signerName = trustedNames.find(e.signer);
        nlohmann::json j = {
            {"id", e.id},
            {"op", toString(e.op)},
            {"fact_ids", e.factIds},
            {"fact_states", states},
            {"fact_digests", digests},
            {"facts_digest", e.factsDigest},
            {"actor", e.actor},
            {"reason", e.reason},
            {"timestamp", e.timestamp},
            {"model_id", e.modelId},
            {"model_hash", e.modelHash},
            {"memory_digest_before", e.memoryDigestBefore},
            {"memory_digest_after", e.memoryDigestAfter},
            // The stored text, as appendEdit wrote it: the hash covers these exact bytes.
            {"payload", e.payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict)},
            {"prev_hash", e.prevHash},
            {"hash", e.hash},
            {"signer", e.signer},
            {"signature", e.signature},
            {"signer_name", signerName == trustedNames.end() ? std::string() : signerName->second}};
        // The receiver recomputes exactly this; a mismatch here is a bug, not a user's problem.
        try {
            checkBundledEdit(j, "edit " + std::to_string(e.id));
        } catch (const UserError& err) {
            throw Error(std::string("internal: the bundled ") + err.what());
        }
        // Facts the edit listed besides the bundled ones are carried as digests only.
        edits.push_back(std::move(j));
    }
    const ChainHead head = audit.head.value_or(ChainHead{0, kGenesisHash});
    nlohmann::json doc = {
        {"format", kFormat},
        {"version", kVersion},
        {"created_at",
         options.createdAt.empty() ? formatTimestamp(std::chrono::system_clock::now()) : options.createdAt},
        {"created_by", options.actor},
        {"source",
         {{"workspace", ws.path()},
          {"created_at", ws.meta("created_at").value_or("")},
          {"head", head.toString()},
          {"model_id", ws.meta("model.id").value_or("")},
          {"model_hash", ws.meta("model.hash").value_or("")}}},
        {"selection", {{"edits", selection.edits}, {"facts", selection.facts}}},
        {"facts", std::move(facts)},
        {"edits", std::move(edits)}};
    if (options.signingKey) {
        const std::string signature = options.signingKey->sign(bundleSignatureMessage(doc));
        doc["exporter"] = {{"public_key", options.signingKey->publicKey().hex},
                           {"name", options.signingKey->name()},
                           {"signature", signature}};
    }
    BundleExport out;
    out.json = doc.dump(1) + "\n";
    out.facts = static_cast<std::int64_t>(factIds.size());
    out.edits = static_cast<std::int64_t>(editIds.size());
    out.sourceHead = head;
    return out;
}

VerifiedBundle readEditBundle(const std::string& bytes, const std::string& what) {
    const std::string tampered = ": the bundle was changed after it was made (or damaged); nothing was written";
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(bytes);
    } catch (const nlohmann::json::exception& e) {
        throw UserError(what + " is not a Larimar bundle (not JSON: " + e.what() + ")");
    }
    if (!doc.is_object() || doc.value("format", std::string()) != kFormat)
        throw UserError(what + " is not a Larimar bundle (no \"format\": \"larimar.bundle\")");
    if (doc.value("version", 0) != kVersion)
        throw UserError(what + " is a bundle of version " + doc.value("version", nlohmann::json()).dump() +
                        "; this Larimar reads version " + std::to_string(kVersion));
    VerifiedBundle b;
    b.sha256 = toHex(sha256(bytes));
    try {
        if (doc.contains("exporter")) {
            const auto& x = doc["exporter"];
            b.exporterKey = PublicKey::fromHex(field<std::string>(x, "public_key", "the exporter")).hex;
            nlohmann::json body = doc;
            body.erase("exporter");
            if (!verifySignature(PublicKey{b.exporterKey}, bundleSignatureMessage(body),
                                 field<std::string>(x, "signature", "the exporter")))
                throw UserError("the bundle's signature by key " + b.exporterKey.substr(0, 16) +
                                " does not match its content");
        }
        const auto& src = doc.at("source");
        b.sourceWorkspace = field<std::string>(src, "workspace", "source");
        b.sourceCreatedAt = field<std::string>(src, "created_at", "source");
        b.sourceHead = ChainHead::parse(field<std::string>(src, "head", "source"));
        b.sourceModelId = field<std::string>(src, "model_id", "source");
        b.sourceModelHash = field<std::string>(src, "model_hash", "source");
        b.createdAt = field<std::string>(doc, "created_at", "the bundle");
        b.createdBy = field<std::string>(doc, "created_by", "the bundle");

        // edit id -> (fact id -> (state, digest)) as the edit recorded them
        std::map<std::int64_t, std::map<std::int64_t, std::pair<std::string, std::string>>> listed;
        for (const auto& e : field<nlohmann::json>(doc, "edits", "the bundle")) {
            const auto id = field<std::int64_t>(e, "id", "an edit");
            const std::string where = "edit " + std::to_string(id);
            if (listed.count(id)) throw UserError(where + " is in the bundle twice");
            checkBundledEdit(e, where);
            auto& m = listed[id];
            const auto ids = e["fact_ids"].get<std::vector<std::int64_t>>();
            for (std::size_t i = 0; i < ids.size(); ++i)
                m[ids[i]] = {e["fact_states"][i].get<std::string>(), e["fact_digests"][i].get<std::string>()};
            BundledEdit be;
            be.id = id;
            be.op = e["op"].get<std::string>();
            be.actor = e["actor"].get<std::string>();
            be.reason = e["reason"].get<std::string>();
            be.timestamp = e["timestamp"].get<std::string>();
            be.modelId = e["model_id"].get<std::string>();
            be.modelHash = e["model_hash"].get<std::string>();
            be.hash = e["hash"].get<std::string>();
            be.signer = e["signer"].get<std::string>();
            be.signerName = e.value("signer_name", std::string());
            (be.signer.empty() ? b.unsignedEdits : b.signedEdits)++;
            b.edits.push_back(std::move(be));
        }
        std::set<std::int64_t> seen;
        for (const auto& f : field<nlohmann::json>(doc, "facts", "the bundle")) {
            Fact fact;
            fact.id = field<std::int64_t>(f, "id", "a fact");
            const std::string where = "fact " + std::to_string(fact.id);
            if (!seen.insert(fact.id).second) throw UserError(where + " is in the bundle twice");
            fact.text = field<std::string>(f, "text", where);
            fact.subject = field<std::string>(f, "subject", where);
            fact.relation = field<std::string>(f, "relation", where);
            fact.target = field<std::string>(f, "target", where);
            fact.source = field<std::string>(f, "source", where);
            const auto key = unbase64(field<std::string>(f, "write_key", where));
            const auto latent = unbase64(field<std::string>(f, "latent", where));
            if (!key || !latent) throw UserError(where + ": its write key or latent is not base64");
            const auto editId = field<std::int64_t>(f, "edit", where);
            const auto e = listed.find(editId);
            const auto entry = e == listed.end() ? nullptr : &e->second;
            if (!entry || !entry->count(fact.id))
                throw UserError(where + " names edit " + std::to_string(editId) +
                                " as the one that wrote it, and the bundle has no such edit listing it");
            const auto& [state, digest] = entry->at(fact.id);
            if (state != "written") throw UserError(where + " is not written by edit " + std::to_string(editId));
            if (computeFactContentDigest(fact.id, fact.text, fact.subject, fact.relation, fact.target, fact.source,
                                         *key, *latent) != digest)
                throw UserError(where + ": its content does not match the digest edit " + std::to_string(editId) +
                                " recorded");
            b.facts.push_back({fact.id, fact.text, fact.subject, fact.relation, fact.target, fact.source, editId});
        }
        if (b.facts.empty()) throw UserError("it carries no fact");
    } catch (const UserError& e) {
        throw UserError(what + ": " + e.what() + tampered);
    } catch (const nlohmann::json::exception& e) {
        throw UserError(what + ": malformed (" + e.what() + ")" + tampered);
    }
    return b;
}

VerifiedBundle readEditBundleFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError("cannot read the bundle '" + path + "'");
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::uint64_t>(in.tellg());
    if (size > kMaxFileBytes) throw UserError("'" + path + "' is over 2 GiB; not a bundle this Larimar reads");
    in.seekg(0);
    std::string bytes(size, '\0');
    if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) throw UserError("cannot read '" + path + "'");
    return readEditBundle(bytes, "bundle '" + path + "'");
}

BundleApplyResult applyEditBundle(Editor& editor, const VerifiedBundle& b, const BundleApplyOptions& options) {
    BundleApplyResult out;
    Workspace& ws = editor.workspace();
    std::set<std::string> trusted;
    for (const auto& t : ws.trustedKeys()) trusted.insert(t.key.hex);
    for (const auto& e : b.edits)
        if (trusted.count(e.signer)) ++out.trustedEdits;
    if (options.requireTrusted && out.trustedEdits != static_cast<std::int64_t>(b.edits.size()))
        throw UserError("--require-trusted: " + std::to_string(b.edits.size() - out.trustedEdits) + " of the " +
                        std::to_string(b.edits.size()) +
                        " edits in the bundle are not signed by a key this workspace trusts "
                        "('larimar key list'); nothing was written");
    if (!options.allowDuplicates) {
        FactFilter f;
        f.state = FactState::Written;
        std::map<std::string, std::int64_t> written;
        for (const auto& fact : ws.facts(f)) written.emplace(fact.text, fact.id);
        std::string dup;
        std::size_t count = 0;
        for (const auto& fact : b.facts)
            if (const auto it = written.find(fact.text); it != written.end() && count++ < 3)
                dup += (dup.empty() ? "" : ", ") + std::string("bundle fact ") + std::to_string(fact.id) +
                       " (written here as fact " + std::to_string(it->second) + ")";
        if (count)
            throw UserError(std::to_string(count) + " fact(s) of the bundle are already written here: " + dup +
                            (count > 3 ? ", ..." : "") +
                            "; nothing was written (allow duplicates to write them again)");
    }
    const std::string modelId = editor.model().id(), modelHash = editor.model().weightsHash();
    out.reEncoded = !b.sourceModelHash.empty() && b.sourceModelHash != modelHash;
    for (const auto& e : b.edits) out.reEncoded = out.reEncoded || (!e.modelHash.empty() && e.modelHash != modelHash);

    std::vector<FactRecord> records;
    const std::string tag = "bundle " + shortHash(b.sha256);
    for (const auto& f : b.facts) {
        FactRecord r;
        r.text = f.text;
        r.subject = f.subject;
        r.prompt = f.relation;
        r.target = f.target;
        r.source = tag + ": fact " + std::to_string(f.id) + " of " + b.sourceWorkspace +
                   (f.source.empty() ? "" : " (" + f.source + ")");
        records.push_back(std::move(r));
    }
    std::ostringstream reason;
    if (!options.reason.empty()) reason << options.reason << "; ";
    reason << "applied bundle sha256:" << b.sha256 << " from workspace " << b.sourceWorkspace << " (head "
           << b.sourceHead.toString() << "): " << b.facts.size() << " fact(s) written there by edit(s)";
    for (std::size_t i = 0; i < b.edits.size(); ++i) reason << (i ? ", " : " ") << b.edits[i].id;
    reason << "; verified: " << b.signedEdits << " signed edit(s), " << b.unsignedEdits << " unsigned, "
           << out.trustedEdits << " by keys this workspace trusts; bundle "
           << (b.exporterKey.empty() ? std::string("unsigned") : "signed by key " + b.exporterKey.substr(0, 16));
    if (out.reEncoded)
        reason << "; made with model " << b.sourceModelId << " (" << shortHash(b.sourceModelHash)
               << "), re-encoded from the text with this workspace's model " << modelId << " (" << shortHash(modelHash)
               << ")";
    else
        reason << "; same model " << modelId << ", encoded anew from the text";
    out.reason = reason.str();
    out.edit = editor.writeBatch(records, out.reason, options.progress, options.cancel);
    return out;
}

} // namespace larimar
