#include "core/store/audit.h"

#include "core/util/error.h"
#include "core/util/sha256.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace larimar {
namespace {

// `name=<len>:<bytes>\n`: the length prefix makes the encoding injective.
void field(Sha256& h, std::string_view name, std::string_view value) {
    h.update(name);
    h.update("=");
    h.update(std::to_string(value.size()));
    h.update(":");
    h.update(value);
    h.update("\n");
}

void field(Sha256& h, std::string_view name, std::int64_t value) {
    field(h, name, std::to_string(value));
}

} // namespace

std::string AuditReport::message() const {
    if (cancelled) return "audit cancelled after " + std::to_string(editsChecked) + " edits";
    if (ok)
        return "audit ok: " + std::to_string(editsChecked) + " edits, " +
               std::to_string(factsChecked) + " facts; " + signatureSummary();
    std::string where;
    if (editId) where = "edit " + std::to_string(*editId);
    if (factId) where += (where.empty() ? "" : ", ") + std::string("fact ") + std::to_string(*factId);
    return "audit FAILED" + (where.empty() ? std::string() : " at " + where) + ": " + reason;
}

std::string AuditReport::signatureSummary() const {
    std::string s = "signatures: " + std::to_string(signedTrusted) + " by trusted keys, " +
                    std::to_string(signedUntrusted) + " by untrusted keys, " + std::to_string(unsignedEdits) +
                    " unsigned";
    if (unsignedBefore) s += " (unsigned before edit " + std::to_string(*unsignedBefore) + ")";
    s += "; " + std::to_string(trustedKeys) + (trustedKeys == 1 ? " trusted key" : " trusted keys");
    return s;
}

std::string ChainHead::toString() const { return std::to_string(editId) + ":" + hash; }

ChainHead ChainHead::parse(std::string_view text) {
    const auto bad = [&](const std::string& why) {
        return UserError("a chain head is written ID:HASH (as 'larimar audit head' prints it, e.g. "
                         "12:3f2a9c1e0b7d...), not '" + std::string(text) + "': " + why);
    };
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) throw bad("there is no ':'");
    const auto idText = text.substr(0, colon);
    const auto hashText = text.substr(colon + 1);
    if (idText.empty() || idText.size() > 18 ||
        !std::all_of(idText.begin(), idText.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw bad("the edit id must be a non-negative whole number");
    ChainHead h;
    h.editId = std::stoll(std::string(idText));
    if (hashText.size() < 12 || hashText.size() > 64)
        throw bad("the hash must be 64 hex digits (at least the first 12)");
    for (const char c : hashText) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) throw bad("the hash must be hex digits");
        h.hash += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return h;
}

bool ChainHead::matches(std::string_view fullHash) const {
    return !hash.empty() && fullHash.size() >= hash.size() && fullHash.substr(0, hash.size()) == hash;
}

std::string computeEditHash(const EditHashInput& r) {
    Sha256 h;
    h.update("larimar.edit.v1\n");
    field(h, "id", r.id);
    field(h, "op", r.op);
    field(h, "fact_ids", r.factIds);
    field(h, "fact_states", r.factStates);
    field(h, "facts_digest", r.factsDigest);
    field(h, "actor", r.actor);
    field(h, "reason", r.reason);
    field(h, "timestamp", r.timestamp);
    field(h, "model_id", r.modelId);
    field(h, "model_hash", r.modelHash);
    field(h, "memory_digest_before", r.memoryDigestBefore);
    field(h, "memory_digest_after", r.memoryDigestAfter);
    field(h, "payload", r.payload);
    field(h, "prev_hash", r.prevHash);
    return toHex(h.finish());
}

std::string computeFactContentDigest(std::int64_t id, std::string_view text,
                                     std::string_view subject, std::string_view relation,
                                     std::string_view target, std::string_view source,
                                     std::string_view writeKey, std::string_view latent) {
    Sha256 h;
    h.update("larimar.fact.v1\n");
    field(h, "id", id);
    field(h, "text", text);
    field(h, "subject", subject);
    field(h, "relation", relation);
    field(h, "target", target);
    field(h, "source", source);
    field(h, "write_key", writeKey);
    field(h, "latent", latent);
    return toHex(h.finish());
}

struct FactsDigest::Impl {
    Sha256 h;
};

FactsDigest::FactsDigest() : m_impl(std::make_unique<Impl>()) { m_impl->h.update("larimar.facts.v1\n"); }
FactsDigest::~FactsDigest() = default;

void FactsDigest::add(std::int64_t factId, std::string_view state, std::string_view contentDigest) {
    field(m_impl->h, "id", factId);
    field(m_impl->h, "state", state);
    field(m_impl->h, "digest", contentDigest);
}

std::string FactsDigest::finish() { return toHex(m_impl->h.finish()); }

} // namespace larimar
