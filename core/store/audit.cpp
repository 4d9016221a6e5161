#include "core/store/audit.h"

#include "core/util/sha256.h"

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
               std::to_string(factsChecked) + " facts";
    std::string where;
    if (editId) where = "edit " + std::to_string(*editId);
    if (factId) where += (where.empty() ? "" : ", ") + std::string("fact ") + std::to_string(*factId);
    return "audit FAILED" + (where.empty() ? std::string() : " at " + where) + ": " + reason;
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
