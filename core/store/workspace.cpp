#include "core/store/workspace.h"

#include "core/util/utf8.h"

#include "core/store/schema.h"
#include "core/store/workspace_impl.h"
#include "core/store/sqlite_db.h"
#include "core/util/error.h"
#include "core/util/os_user.h"
#include "core/util/sha256.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <set>
#include <string_view>

namespace larimar {

static_assert(Workspace::kSchemaVersion == store::kCurrentSchemaVersion);
static_assert(Workspace::kApplicationId == store::kWorkspaceApplicationId);

// ---------------------------------------------------------------------------------------
// strings and small helpers

const char* toString(FactState state) {
    return state == FactState::Written ? "written" : "forgotten";
}

const char* toString(EditOp op) {
    switch (op) {
    case EditOp::Write: return "write";
    case EditOp::Forget: return "forget";
    case EditOp::Batch: return "batch";
    case EditOp::Rollback: return "rollback";
    case EditOp::Setting: return "setting";
    case EditOp::Trust: return "trust";
    }
    return "write";
}

FactState factStateFromString(const std::string& text) {
    if (text == "written") return FactState::Written;
    if (text == "forgotten") return FactState::Forgotten;
    throw UserError("unknown fact state '" + text + "' (expected written or forgotten)");
}

EditOp editOpFromString(const std::string& text) {
    for (auto op : {EditOp::Write, EditOp::Forget, EditOp::Batch, EditOp::Rollback, EditOp::Setting, EditOp::Trust})
        if (text == toString(op)) return op;
    throw UserError("unknown edit operation '" + text +
                    "' (expected write, forget, batch, rollback, setting or trust)");
}

std::string formatTimestamp(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
    auto secs = static_cast<std::time_t>(ms / 1000);
    auto frac = static_cast<int>(ms % 1000);
    if (frac < 0) { // before 1970: floor, not truncate
        frac += 1000;
        --secs;
    }
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[80]; // room for any int the format could print, to keep -Wformat-truncation quiet
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return buf;
}

namespace {

std::string_view bytesOf(const std::vector<double>& v) {
    return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double)};
}

std::vector<double> doublesFrom(const std::vector<std::uint8_t>& blob, std::int64_t factId,
                                const char* what) {
    if (blob.size() % sizeof(double) != 0)
        throw Error("fact " + std::to_string(factId) + ": its " + what + " is damaged (" +
                    std::to_string(blob.size()) + " bytes, not a whole number of float64)");
    std::vector<double> out(blob.size() / sizeof(double));
    if (!blob.empty()) std::memcpy(out.data(), blob.data(), blob.size());
    return out;
}

} // namespace

void checkText(std::string_view text, const char* field) {
    if (const auto problem = findUtf8Problem(text)) {
        if (problem->what == "a NUL byte")
            throw UserError(std::string(field) + " contains a NUL byte at offset " + std::to_string(problem->offset));
        throw UserError(std::string(field) + " is not valid UTF-8 (" + problem->what + " at byte " +
                        std::to_string(problem->offset) + ")");
    }
}

namespace {

const char* const kFactColumns =
    "id, text, subject, relation, target, source, state, created_edit_id, forgotten_edit_id";
const char* const kFactVectorColumns = ", write_key, latent";

Fact readFact(sqlite::Statement& st, bool withVectors) {
    Fact f;
    f.id = st.int64(0);
    f.text = st.text(1);
    f.subject = st.text(2);
    f.relation = st.text(3);
    f.target = st.text(4);
    f.source = st.text(5);
    f.state = factStateFromString(st.text(6));
    f.createdEdit = st.optInt64(7);
    f.forgottenEdit = st.optInt64(8);
    if (withVectors) {
        f.writeKey = doublesFrom(st.blob(9), f.id, "write key");
        f.latent = doublesFrom(st.blob(10), f.id, "latent");
    }
    return f;
}

const char* const kEditColumns =
    "id, op, fact_ids, fact_states, facts_digest, actor, reason, timestamp, model_id, model_hash, "
    "memory_digest_before, memory_digest_after, payload, prev_hash, hash, "; // + signatureColumns()

Edit readEdit(sqlite::Statement& st) {
    Edit e;
    e.id = st.int64(0);
    e.op = editOpFromString(st.text(1));
    const auto ids = nlohmann::json::parse(st.text(2), nullptr, false);
    if (ids.is_array())
        for (const auto& v : ids)
            if (v.is_number_integer()) e.factIds.push_back(v.get<std::int64_t>());
    // Tolerant on purpose: listing a damaged history must still work; verifyChain reports it.
    const auto states = nlohmann::json::parse(st.text(3), nullptr, false);
    if (states.is_array())
        for (const auto& v : states)
            if (v.is_string())
                e.factStates.push_back(v.get<std::string>() == "forgotten" ? FactState::Forgotten
                                                                          : FactState::Written);
    e.factsDigest = st.text(4);
    e.actor = st.text(5);
    e.reason = st.text(6);
    e.timestamp = st.text(7);
    e.modelId = st.text(8);
    e.modelHash = st.text(9);
    e.memoryDigestBefore = st.text(10);
    e.memoryDigestAfter = st.text(11);
    // A damaged payload is still shown (as a string) rather than hiding the whole edit;
    // verifyChain is what reports the damage.
    e.payload = nlohmann::json::parse(st.text(12), nullptr, false);
    if (e.payload.is_discarded()) e.payload = st.text(12);
    e.prevHash = st.text(13);
    e.hash = st.text(14);
    e.signer = st.text(15);
    e.signature = st.text(16);
    return e;
}

const char* const kGenerationColumns =
    "id, prompt, output_without_memory, output_with_memory, scope_score, in_scope, edit_id, "
    "timestamp, details";

Generation readGeneration(sqlite::Statement& st) {
    Generation g;
    g.id = st.int64(0);
    g.prompt = st.text(1);
    g.outputWithoutMemory = st.text(2);
    g.outputWithMemory = st.text(3);
    if (!st.isNull(4)) g.scopeScore = st.real(4);
    g.inScope = st.int64(5) != 0;
    g.editId = st.optInt64(6);
    g.timestamp = st.text(7);
    g.details = nlohmann::json::parse(st.text(8), nullptr, false);
    if (g.details.is_discarded()) g.details = st.text(8);
    return g;
}

// Appends " LIMIT ? OFFSET ?" and remembers the values; SQLite wants LIMIT before OFFSET.
void appendPaging(std::string& sql, std::vector<std::int64_t>& ints, std::int64_t limit,
                  std::int64_t offset) {
    sql += " LIMIT ? OFFSET ?";
    ints.push_back(limit < 0 ? -1 : limit);
    ints.push_back(offset < 0 ? 0 : offset);
}

} // namespace

// ---------------------------------------------------------------------------------------
// Impl

// ---------------------------------------------------------------------------------------
// Transaction

Transaction::Transaction(Transaction&& other) noexcept : m_ws(other.m_ws) { other.m_ws = nullptr; }

Transaction::~Transaction() {
    if (m_ws) rollback();
}

void Transaction::commit() {
    if (!m_ws) throw Error("Transaction::commit: the transaction has already ended");
    auto& impl = *m_ws->m_impl;
    if (!impl.pending.empty()) {
        const auto id = *impl.pending.begin();
        rollback();
        throw Error("fact " + std::to_string(id) +
                    " was inserted or changed without an edit that lists it; nothing was written");
    }
    try {
        impl.db.exec("COMMIT");
    } catch (...) {
        rollback();
        throw;
    }
    impl.endTransaction();
    m_ws = nullptr;
}

void Transaction::rollback() {
    if (!m_ws) return;
    m_ws->m_impl->db.rollbackQuietly();
    m_ws->m_impl->endTransaction();
    m_ws = nullptr;
}

// ---------------------------------------------------------------------------------------
// Workspace: open, meta

Workspace::Workspace(const std::string& path, WorkspaceOptions options) {
    if ((!options.create || options.readOnly) && !std::filesystem::exists(path))
        throw UserError("no workspace at '" + path + "'");
    sqlite::requireRegularFile(path);
    m_impl = std::make_unique<Impl>(path, options.create, options.readOnly,
                                    options.readOnly && sqlite::needsImmutableOpen(path));
    m_impl->clock = std::move(options.clock);
    m_impl->verifyBeforeWrite = options.verifyBeforeWrite;
    m_impl->actor = options.actor;
    m_impl->signingKey = std::move(options.signingKey);
    // Before the first read: another process may hold the write lock while it migrates.
    m_impl->db.exec("PRAGMA busy_timeout=" + std::to_string(options.busyTimeout.count()));
    m_impl->openedVersion = store::openSchema(m_impl->db, options.readOnly);
    if (!options.readOnly && !m_impl->meta("created_at")) {
        // Not through begin(): bookkeeping outside the chain must not need a valid chain, or
        // a damaged workspace could not even be opened for reading.
        m_impl->db.exec("BEGIN IMMEDIATE");
        try {
            m_impl->setMeta("created_at", m_impl->now());
            m_impl->setMeta("created_with", std::string("Larimar Workbench ") + LARIMAR_VERSION);
            m_impl->db.exec("COMMIT");
        } catch (...) {
            m_impl->db.rollbackQuietly();
            throw;
        }
    }
}

Workspace::~Workspace() = default;

const std::string& Workspace::path() const { return m_impl->db.path(); }
int Workspace::openedSchemaVersion() const { return m_impl->openedVersion; }

std::optional<std::string> Workspace::meta(const std::string& key) { return m_impl->meta(key); }
void Workspace::setMeta(const std::string& key, const std::string& value) {
    // audit.* is the store's own bookkeeping (the chain head); letting callers write it would
    // let a bug hide removed history.
    if (key.rfind("audit.", 0) == 0)
        throw UserError("meta key '" + key + "' is reserved for the audit chain");
    if (m_impl->readOnly) throw UserError("workspace '" + path() + "' is open for reading only");
    if (isAuditedSetting(key)) {
        const auto current = m_impl->meta(key);
        if (current && *current == value) return;
        if (!(key == "memory.lambda" && !current && !m_impl->lastEditId())) {
            checkText(value, "meta value");
            recordSetting(key, value, m_impl->actor);
            return;
        }
    }
    m_impl->setMeta(key, value);
}

bool Workspace::isAuditedSetting(const std::string& key) {
    return key == "scope.threshold" || key == "memory.lambda";
}

Edit Workspace::recordSetting(const std::string& key, const std::string& value, const std::string& actor,
                              const std::string& reason) {
    if (!isAuditedSetting(key))
        throw UserError("'" + key + "' is not a setting the audit chain records (those are scope.threshold and "
                        "memory.lambda)");
    checkText(value, "setting value");
    std::optional<Transaction> tx;
    if (!m_impl->inTx) tx.emplace(begin());
    const auto previous = m_impl->meta(key);
    Edit e;
    e.op = EditOp::Setting;
    if (!actor.empty()) {
        e.actor = actor;
    } else {
        e.actor = osUserName();
    }
    e.reason = reason;
    e.payload = {{"setting", key}, {"value", value},
                 {"previous", previous ? nlohmann::json(*previous) : nlohmann::json(nullptr)}};
    // The memory does not change: carry the newest edit's digest (none before the first edit).
    auto& st = m_impl->db.cached("SELECT memory_digest_after FROM edits ORDER BY id DESC LIMIT 1");
    if (st.step()) e.memoryDigestBefore = e.memoryDigestAfter = st.text(0);
    st.reset();
    const Edit stored = appendEdit(e);
    m_impl->setMeta(key, value);
    if (tx) tx->commit();
    return stored;
}

std::vector<TrustedKey> Workspace::Impl::trustedKeys() {
    std::vector<TrustedKey> out;
    auto& st = db.cached("SELECT id, actor, payload FROM edits WHERE op = 'trust' ORDER BY id");
    while (st.step()) {
        const auto p = nlohmann::json::parse(st.text(2), nullptr, false);
        // A malformed trust edit trusts nothing; verifyChain reports it.
        if (!p.is_object() || !p.contains("public_key") || !p["public_key"].is_string()) continue;
        TrustedKey t;
        t.key.hex = p["public_key"].get<std::string>();
        t.name = p.value("name", std::string());
        t.editId = st.int64(0);
        t.actor = st.text(1);
        out.push_back(std::move(t));
    }
    st.reset();
    return out;
}

std::vector<TrustedKey> Workspace::trustedKeys() { return m_impl->trustedKeys(); }

void Workspace::setSigningKey(std::shared_ptr<const SigningKey> key) { m_impl->signingKey = std::move(key); }
const SigningKey* Workspace::signingKey() const { return m_impl->signingKey.get(); }

Edit Workspace::trustKey(const PublicKey& key, const std::string& name, const std::string& actor,
                         const std::string& reason) {
    const PublicKey checked = PublicKey::fromHex(key.hex);
    if (name.empty()) throw UserError("a trusted key needs a name (who holds it)");
    checkText(name, "key name");
    const SigningKey* signer = m_impl->signingKey.get();
    if (!signer)
        throw UserError("trusting a key is a signed edit, and no signing key is in use: create one with "
                        "'larimar key create' (or pass --key NAME)");
    std::optional<Transaction> tx;
    if (!m_impl->inTx) tx.emplace(begin());
    const auto trusted = m_impl->trustedKeys();
    for (const auto& t : trusted)
        if (t.key == checked)
            throw UserError("the workspace already trusts key " + checked.shortId() + " (as '" + t.name +
                            "', edit " + std::to_string(t.editId) + ")");
    const auto holds = [&](const PublicKey& k) {
        return std::any_of(trusted.begin(), trusted.end(), [&](const TrustedKey& t) { return t.key == k; });
    };
    if (trusted.empty() && !(checked == signer->publicKey()))
        throw UserError("workspace '" + path() + "' trusts no key yet, so the first key it trusts must be the "
                        "signing key's own ('" + signer->name() + "', " + signer->publicKey().shortId() +
                        "); trust yours first, then others with it");
    if (!trusted.empty() && !holds(signer->publicKey()))
        throw UserError("only a trusted key can trust another, and the signing key '" + signer->name() + "' (" +
                        signer->publicKey().shortId() + ") is not trusted by workspace '" + path() + "'");
    Edit e;
    e.op = EditOp::Trust;
    if (!actor.empty()) {
        e.actor = actor;
    } else {
        e.actor = osUserName();
    }
    e.reason = reason;
    e.payload = {{"public_key", checked.hex}, {"name", name}};
    // The memory does not change: carry the newest edit's digest, as a setting edit does.
    auto& st = m_impl->db.cached("SELECT memory_digest_after FROM edits ORDER BY id DESC LIMIT 1");
    if (st.step()) e.memoryDigestBefore = e.memoryDigestAfter = st.text(0);
    st.reset();
    const Edit stored = appendEdit(e);
    if (tx) tx->commit();
    return stored;
}

void Workspace::requireModel(const std::string& modelId, const std::string& modelHash) {
    const auto id = m_impl->meta("model.id");
    const auto hash = m_impl->meta("model.hash");
    if (!id && !hash) {
        // Both keys or neither: a half-recorded model would make the next check meaningless.
        const bool own = !m_impl->inTx;
        std::optional<Transaction> tx;
        if (own) tx.emplace(begin());
        m_impl->setMeta("model.id", modelId);
        m_impl->setMeta("model.hash", modelHash);
        if (tx) tx->commit();
        return;
    }
    if (id.value_or("") == modelId && hash.value_or("") == modelHash) return;
    // A workspace with no edits and no facts holds nothing the old model made: it takes the
    // model it is opened with (trying another model must not lock a new, empty workspace).
    if (!lastEditId() && factCount() == 0) {
        const bool own = !m_impl->inTx;
        std::optional<Transaction> tx;
        if (own) tx.emplace(begin());
        m_impl->setMeta("model.id", modelId);
        m_impl->setMeta("model.hash", modelHash);
        if (tx) tx->commit();
        return;
    }
    if (id.value_or("") != modelId || hash.value_or("") != modelHash)
        throw UserError("workspace '" + path() + "' was made with model '" + id.value_or("?") +
                        "' (hash " + hash.value_or("?") + ") but the model in use is '" + modelId +
                        "' (hash " + modelHash +
                        "); open it with that model or start a new workspace");
}

// ---------------------------------------------------------------------------------------
// writing

Transaction Workspace::begin() {
    auto& d = *m_impl;
    if (d.inTx) throw Error("Workspace::begin: a transaction is already open on this workspace");
    if (d.readOnly) throw UserError("workspace '" + path() + "' is open for reading only");
    // The long walk, if one is due, runs before the write lock so other writers are not held up.
    if (d.verifyBeforeWrite) d.requireVerifiedChain();
    // IMMEDIATE takes the write lock now, so a transaction never fails half-way with BUSY
    // when it first writes (a deferred one cannot upgrade while another writer is active).
    d.db.exec("BEGIN IMMEDIATE");
    d.inTx = true;
    d.pending.clear();
    Transaction tx(this);
    // A commit between the walk and the lock: check again, now that nobody can write.
    if (d.verifyBeforeWrite) d.requireVerifiedChain(); // on failure ~Transaction rolls back
    return tx;
}

void Workspace::Impl::requireVerifiedChain() {
    const std::int64_t version = dataVersion();
    if (verifiedDataVersion && *verifiedDataVersion == version) return;
    const AuditReport r = verify({}, nullptr, false);
    if (!r.ok)
        throw UserError("refusing to write to workspace '" + db.path() +
                        "': its audit chain does not verify (" + r.message() +
                        "); nothing was written. Inspect it with 'larimar audit verify'; reading "
                        "and exporting still work, and a backup restores writing");
    verifiedDataVersion = version;
}

bool Workspace::inTransaction() const { return m_impl->inTx; }

std::vector<std::int64_t> Workspace::insertFacts(const std::vector<Fact>& facts) {
    m_impl->requireTransaction("insertFacts");
    auto& db = m_impl->db;
    // Validate everything first so that a bad fact in a batch writes nothing.
    for (std::size_t i = 0; i < facts.size(); ++i) {
        const auto& f = facts[i];
        const std::string where = facts.size() == 1 ? "fact" : "fact " + std::to_string(i + 1) + " of the batch";
        if (f.text.empty()) throw UserError(where + ": text is empty");
        checkText(f.text, (where + ": text").c_str());
        checkText(f.subject, (where + ": subject").c_str());
        checkText(f.relation, (where + ": relation").c_str());
        checkText(f.target, (where + ": target").c_str());
        checkText(f.source, (where + ": source").c_str());
    }
    // Ids are chosen here rather than by SQLite because the content digest covers the id.
    auto& maxSt = db.cached("SELECT coalesce(max(id), 0) FROM facts");
    maxSt.step();
    std::int64_t next = maxSt.int64(0) + 1;
    maxSt.reset();

    std::vector<std::int64_t> ids;
    ids.reserve(facts.size());
    for (const auto& f : facts) {
        const std::int64_t id = next++;
        const auto key = bytesOf(f.writeKey);
        const auto latent = bytesOf(f.latent);
        const auto digest = computeFactContentDigest(id, f.text, f.subject, f.relation, f.target,
                                                     f.source, key, latent);
        db.cached("INSERT INTO facts (id, text, subject, relation, target, source, state, "
                  "write_key, latent, content_digest) VALUES (?, ?, ?, ?, ?, ?, 'written', ?, ?, ?)")
            .bind(1, id)
            .bind(2, f.text)
            .bind(3, f.subject)
            .bind(4, f.relation)
            .bind(5, f.target)
            .bind(6, f.source)
            .bindBlob(7, key.data(), key.size())
            .bindBlob(8, latent.data(), latent.size())
            .bind(9, digest)
            .run();
        ids.push_back(id);
        m_impl->pending.insert(id);
    }
    return ids;
}

void Workspace::setFactState(const std::vector<std::int64_t>& ids, FactState state) {
    m_impl->requireTransaction("setFactState");
    auto& db = m_impl->db;
    for (const auto id : ids) {
        db.cached("UPDATE facts SET state = ? WHERE id = ?").bind(1, toString(state)).bind(2, id).run();
        if (db.changes() == 0) throw UserError("no fact with id " + std::to_string(id));
        m_impl->pending.insert(id);
    }
}

Edit Workspace::appendEdit(const Edit& in) {
    m_impl->requireTransaction("appendEdit");
    auto& db = m_impl->db;
    const SigningKey* key = m_impl->signingKey.get();
    if (in.op != EditOp::Trust) { // trustKey checks its own edit
        const auto trusted = m_impl->trustedKeys();
        if (!trusted.empty()) {
            const bool ok = key && std::any_of(trusted.begin(), trusted.end(), [&](const TrustedKey& t) {
                                return t.key == key->publicKey();
                            });
            if (!ok)
                throw UserError(
                    "workspace '" + path() + "' accepts only edits signed by a key it trusts (" +
                    std::to_string(trusted.size()) + " trusted, see 'larimar key list'), and this edit would be " +
                    (key ? "signed by the untrusted key '" + key->name() + "' (" + key->publicKey().shortId() + ")"
                         : std::string("unsigned")) +
                    "; sign with a trusted key (--key NAME) or have an actor with one trust yours "
                    "('larimar key trust'); nothing was written");
        }
    }
    for (const auto* s : {&in.actor, &in.reason, &in.modelId, &in.modelHash,
                          &in.memoryDigestBefore, &in.memoryDigestAfter})
        checkText(*s, "edit field");

    Edit e = in;
    {
        auto& st = db.cached("SELECT id, hash FROM edits ORDER BY id DESC LIMIT 1");
        if (st.step()) {
            e.id = st.int64(0) + 1;
            e.prevHash = st.text(1);
        } else {
            e.id = 1;
            e.prevHash = kGenesisHash;
        }
        st.reset();
    }
    if (e.modelId.empty()) e.modelId = m_impl->meta("model.id").value_or("");
    if (e.modelHash.empty()) e.modelHash = m_impl->meta("model.hash").value_or("");
    if (e.payload.is_null()) e.payload = nlohmann::json::object();

    // Read the listed facts as they are now: their states and digests go into the hash.
    e.factStates.clear();
    std::set<std::int64_t> seen;
    FactsDigest digest;
    nlohmann::json idsJson = nlohmann::json::array();
    nlohmann::json statesJson = nlohmann::json::array();
    for (const auto id : e.factIds) {
        if (!seen.insert(id).second)
            throw UserError("fact " + std::to_string(id) + " is listed twice in one edit");
        auto& st = db.cached("SELECT state, content_digest FROM facts WHERE id = ?");
        st.bind(1, id);
        if (!st.step()) {
            st.reset();
            throw UserError("no fact with id " + std::to_string(id));
        }
        const std::string state = st.text(0);
        const std::string contentDigest = st.text(1);
        st.reset();
        digest.add(id, state, contentDigest);
        e.factStates.push_back(factStateFromString(state));
        idsJson.push_back(id);
        statesJson.push_back(state);
    }
    e.factsDigest = digest.finish();
    e.timestamp = m_impl->now();

    const std::string idsText = idsJson.dump();
    const std::string statesText = statesJson.dump();
    // ensure_ascii=false keeps UTF-8 verbatim; the hash covers this exact text.
    const std::string payloadText = e.payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    const std::string opText = toString(e.op);
    e.hash = computeEditHash({e.id, opText, idsText, statesText, e.factsDigest, e.actor, e.reason,
                              e.timestamp, e.modelId, e.modelHash, e.memoryDigestBefore,
                              e.memoryDigestAfter, payloadText, e.prevHash});
    e.signer.clear();
    e.signature.clear();
    if (key) {
        e.signer = key->publicKey().hex;
        e.signature = key->sign(editSignatureMessage(e.hash, e.prevHash));
    }

    db.cached("INSERT INTO edits (id, op, fact_ids, fact_states, facts_digest, actor, reason, "
              "timestamp, model_id, model_hash, memory_digest_before, memory_digest_after, payload, "
              "prev_hash, hash, signer, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, e.id)
        .bind(2, opText)
        .bind(3, idsText)
        .bind(4, statesText)
        .bind(5, e.factsDigest)
        .bind(6, e.actor)
        .bind(7, e.reason)
        .bind(8, e.timestamp)
        .bind(9, e.modelId)
        .bind(10, e.modelHash)
        .bind(11, e.memoryDigestBefore)
        .bind(12, e.memoryDigestAfter)
        .bind(13, payloadText)
        .bind(14, e.prevHash)
        .bind(15, e.hash)
        .bind(16, e.signer)
        .bind(17, e.signature)
        .run();

    // Link the facts: verifyChain replays the same rule from the recorded states.
    for (const auto id : e.factIds) {
        db.cached("UPDATE facts SET created_edit_id = coalesce(created_edit_id, ?1), "
                  "forgotten_edit_id = CASE state WHEN 'forgotten' THEN ?1 ELSE NULL END "
                  "WHERE id = ?2")
            .bind(1, e.id)
            .bind(2, id)
            .run();
        m_impl->pending.erase(id);
    }
    // The newest edit, recorded apart from the chain, so that removing the last rows of the
    // history (which leaves a valid shorter chain) is noticed too.
    m_impl->setMeta("audit.head", std::to_string(e.id) + " " + e.hash);
    return e;
}

void Workspace::putSnapshot(std::int64_t editId, const std::vector<std::uint8_t>& state,
                            const std::string& digest) {
    auto& db = m_impl->db;
    auto& st = db.cached("SELECT memory_digest_after FROM edits WHERE id = ?");
    st.bind(1, editId);
    if (!st.step()) {
        st.reset();
        throw UserError("no edit with id " + std::to_string(editId));
    }
    const std::string after = st.text(0);
    st.reset();
    if (after != digest)
        throw Error("snapshot for edit " + std::to_string(editId) + ": memory digest " + digest +
                    " differs from the edit's memory digest after (" + after + ")");
    const auto sum = toHex(sha256(state.data(), state.size()));
    db.cached("INSERT OR REPLACE INTO snapshots (edit_id, state, digest, state_sha256) "
              "VALUES (?, ?, ?, ?)")
        .bind(1, editId)
        .bindBlob(2, state.data(), state.size())
        .bind(3, digest)
        .bind(4, sum)
        .run();
    // A bounded set: snapshots only shorten replays, and the edits' digests check every replay.
    std::vector<std::int64_t> ids;
    {
        auto& list = db.cached("SELECT edit_id FROM snapshots ORDER BY edit_id DESC");
        while (list.step()) ids.push_back(list.int64(0));
        list.reset();
    }
    auto& drop = db.cached("DELETE FROM snapshots WHERE edit_id = ?");
    for (const auto id : snapshotsToDrop(ids)) {
        drop.bind(1, id).run();
        drop.reset();
    }
}

std::vector<std::int64_t> snapshotsToDrop(std::vector<std::int64_t> editIds) {
    std::sort(editIds.begin(), editIds.end(), std::greater<>());
    editIds.erase(std::unique(editIds.begin(), editIds.end()), editIds.end());
    if (editIds.size() <= static_cast<std::size_t>(kSnapshotsKeptRecent)) return {};
    std::set<std::int64_t> keep(editIds.begin(), editIds.begin() + kSnapshotsKeptRecent);
    // Older ones by age bucket: [0, s), [s, 2s), [2s, 4s), ... (s = kSnapshotSpacing); the oldest
    // of each bucket is kept, so a kept snapshot stays kept until a still older one shares its
    // bucket (the very first snapshot is never dropped).
    const std::int64_t newest = editIds.front();
    std::map<int, std::int64_t> oldestInBucket;
    for (auto it = editIds.begin() + kSnapshotsKeptRecent; it != editIds.end(); ++it) {
        const std::int64_t age = newest - *it;
        int bucket = 0;
        for (std::int64_t span = kSnapshotSpacing; age >= span; span *= 2) ++bucket;
        oldestInBucket[bucket] = *it; // descending ids: the last one seen is the oldest
    }
    for (const auto& [bucket, id] : oldestInBucket) keep.insert(id);
    std::vector<std::int64_t> drop;
    for (const auto id : editIds)
        if (!keep.count(id)) drop.push_back(id);
    return drop;
}

Generation Workspace::addGeneration(const Generation& in) {
    checkText(in.prompt, "prompt");
    checkText(in.outputWithoutMemory, "output without memory");
    checkText(in.outputWithMemory, "output with memory");
    Generation g = in;
    if (!g.editId) g.editId = m_impl->lastEditId();
    g.timestamp = m_impl->now();
    if (g.details.is_null()) g.details = nlohmann::json::object();
    auto& st = m_impl->db.cached(
        "INSERT INTO generations (prompt, output_without_memory, output_with_memory, scope_score, "
        "in_scope, edit_id, timestamp, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    st.bind(1, g.prompt).bind(2, g.outputWithoutMemory).bind(3, g.outputWithMemory);
    if (g.scopeScore) st.bind(4, *g.scopeScore);
    else st.bindNull(4);
    st.bind(5, g.inScope ? 1 : 0).bind(6, g.editId).bind(7, g.timestamp);
    st.bind(8, g.details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    st.run();
    g.id = m_impl->db.lastInsertRowid();
    return g;
}

// ---------------------------------------------------------------------------------------
// queries

Fact Workspace::fact(std::int64_t id) {
    const std::string sql = std::string("SELECT ") + kFactColumns + kFactVectorColumns +
                            " FROM facts WHERE id = ?";
    sqlite::Statement st(m_impl->db, sql);
    st.bind(1, id);
    if (!st.step()) throw UserError("no fact with id " + std::to_string(id));
    return readFact(st, true);
}

std::vector<Fact> Workspace::facts(const FactFilter& filter) {
    std::string sql = std::string("SELECT ") + kFactColumns +
                      (filter.withVectors ? kFactVectorColumns : "") + " FROM facts WHERE 1";
    std::vector<std::string> texts;
    if (filter.state) {
        sql += " AND state = ?";
        texts.emplace_back(toString(*filter.state));
    }
    if (!filter.textContains.empty()) {
        // instr, not LIKE: no wildcard characters to escape, and case-sensitive as documented.
        sql += " AND instr(text, ?) > 0";
        texts.push_back(filter.textContains);
    }
    if (filter.source) {
        sql += " AND source = ?";
        texts.push_back(*filter.source);
    }
    sql += " ORDER BY id";
    std::vector<std::int64_t> ints;
    appendPaging(sql, ints, filter.limit, filter.offset);
    sqlite::Statement st(m_impl->db, sql);
    int i = 1;
    for (const auto& t : texts) st.bind(i++, t);
    for (const auto v : ints) st.bind(i++, v);
    std::vector<Fact> out;
    while (st.step()) out.push_back(readFact(st, filter.withVectors));
    return out;
}

std::int64_t Workspace::factCount(std::optional<FactState> state) {
    auto& st = state ? m_impl->db.cached("SELECT count(*) FROM facts WHERE state = ?")
                     : m_impl->db.cached("SELECT count(*) FROM facts");
    if (state) st.bind(1, toString(*state));
    st.step();
    const auto n = st.int64(0);
    st.reset();
    return n;
}

Edit Workspace::edit(std::int64_t id) {
    sqlite::Statement st(m_impl->db, std::string("SELECT ") + kEditColumns + m_impl->signatureColumns() +
                                         " FROM edits WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) throw UserError("no edit with id " + std::to_string(id));
    return readEdit(st);
}

std::vector<Edit> Workspace::edits(const EditFilter& filter) {
    std::string sql = std::string("SELECT ") + kEditColumns + m_impl->signatureColumns() + " FROM edits WHERE 1";
    std::vector<std::string> texts;
    if (filter.op) {
        sql += " AND op = ?";
        texts.emplace_back(toString(*filter.op));
    }
    if (filter.actor) {
        sql += " AND actor = ?";
        texts.push_back(*filter.actor);
    }
    // Timestamps are fixed-width ISO-8601 UTC, so text order is time order. A bare date as
    // `until` ("2024-05-01") should include that whole day: compare against its prefix.
    if (!filter.since.empty()) {
        sql += " AND timestamp >= ?";
        texts.push_back(filter.since);
    }
    if (!filter.until.empty()) {
        sql += " AND substr(timestamp, 1, length(?)) <= ?";
        texts.push_back(filter.until);
        texts.push_back(filter.until);
    }
    sql += filter.newestFirst ? " ORDER BY id DESC" : " ORDER BY id";
    std::vector<std::int64_t> ints;
    appendPaging(sql, ints, filter.limit, filter.offset);
    sqlite::Statement st(m_impl->db, sql);
    int idx = 1;
    for (const auto& t : texts) st.bind(idx++, t);
    for (const auto v : ints) st.bind(idx++, v);
    std::vector<Edit> out;
    while (st.step()) out.push_back(readEdit(st));
    return out;
}

std::optional<std::int64_t> Workspace::lastEditId() { return m_impl->lastEditId(); }

ChainHead Workspace::chainHead() {
    auto& st = m_impl->db.cached("SELECT id, hash FROM edits ORDER BY id DESC LIMIT 1");
    ChainHead h{0, kGenesisHash};
    if (st.step()) h = {st.int64(0), st.text(1)};
    st.reset();
    return h;
}

std::vector<Generation> Workspace::generations(const GenerationFilter& filter) {
    std::string sql = std::string("SELECT ") + kGenerationColumns + " FROM generations WHERE 1";
    if (filter.editId) sql += " AND edit_id = ?";
    sql += filter.newestFirst ? " ORDER BY id DESC" : " ORDER BY id";
    std::vector<std::int64_t> ints;
    if (filter.editId) ints.push_back(*filter.editId);
    appendPaging(sql, ints, filter.limit, filter.offset);
    sqlite::Statement st(m_impl->db, sql);
    int idx = 1;
    for (const auto v : ints) st.bind(idx++, v);
    std::vector<Generation> out;
    while (st.step()) out.push_back(readGeneration(st));
    return out;
}

std::optional<Snapshot> Workspace::latestSnapshot(std::optional<std::int64_t> atOrBefore) {
    sqlite::Statement st(m_impl->db,
                         "SELECT edit_id, state, digest, state_sha256 FROM snapshots "
                         "WHERE ?1 IS NULL OR edit_id <= ?1 ORDER BY edit_id DESC LIMIT 1");
    st.bind(1, atOrBefore);
    if (!st.step()) return std::nullopt;
    Snapshot s;
    s.editId = st.int64(0);
    s.state = st.blob(1);
    s.digest = st.text(2);
    if (toHex(sha256(s.state.data(), s.state.size())) != st.text(3))
        throw Error("workspace '" + path() + "': the memory snapshot of edit " +
                    std::to_string(s.editId) + " is damaged (checksum mismatch)");
    return s;
}

} // namespace larimar
