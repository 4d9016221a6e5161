#include "core/editor/editor.h"

#include "core/util/error.h"
#include "core/util/file_io.h"
#include "core/util/os_user.h"
#include "core/util/output_target.h"
#include "core/util/utf8.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

namespace larimar {

// ---------------------------------------------------------------------------------------
// Scope stand-in

void AnyFactScopeDetector::reset(const std::vector<Fact>& written) {
    m_written = static_cast<std::int64_t>(written.size());
}
void AnyFactScopeDetector::added(const std::vector<Fact>& facts) {
    m_written += static_cast<std::int64_t>(facts.size());
}
void AnyFactScopeDetector::removed(const std::vector<std::int64_t>& factIds) {
    m_written = std::max<std::int64_t>(0, m_written - static_cast<std::int64_t>(factIds.size()));
}
ScopeScore AnyFactScopeDetector::score(const std::string&) {
    ScopeScore s;
    s.score = m_written > 0 ? 1.0 : 0.0;
    return s;
}

// ---------------------------------------------------------------------------------------
// Word diff

const char* toString(DiffSegment::Kind kind) {
    switch (kind) {
    case DiffSegment::Kind::Same: return "same";
    case DiffSegment::Kind::Removed: return "removed";
    case DiffSegment::Kind::Added: return "added";
    }
    return "same";
}

namespace {

std::vector<std::string> splitWords(const std::string& text) {
    std::vector<std::string> words;
    std::istringstream in(text);
    std::string w;
    while (in >> w) words.push_back(w);
    return words;
}

} // namespace

std::vector<DiffSegment> wordDiff(const std::string& before, const std::string& after) {
    const auto a = splitWords(before), b = splitWords(after);
    const std::size_t n = a.size(), m = b.size();
    // lcs[i][j]: LCS length of a[i..] and b[j..].
    std::vector<std::vector<std::uint32_t>> lcs(n + 1, std::vector<std::uint32_t>(m + 1, 0));
    for (std::size_t i = n; i-- > 0;)
        for (std::size_t j = m; j-- > 0;)
            lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    std::vector<DiffSegment> out;
    auto push = [&](DiffSegment::Kind kind, const std::string& word) {
        if (!out.empty() && out.back().kind == kind) {
            out.back().text += ' ';
            out.back().text += word;
        } else {
            out.push_back({kind, word});
        }
    };
    std::size_t i = 0, j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && a[i] == b[j]) {
            push(DiffSegment::Kind::Same, a[i]);
            ++i, ++j;
        } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
            push(DiffSegment::Kind::Removed, a[i++]); // removals before additions, as diff does
        } else {
            push(DiffSegment::Kind::Added, b[j++]);
        }
    }
    return out;
}

std::string defaultActor() { return osUserName(); }

// ---------------------------------------------------------------------------------------
// Editor

namespace {

void checkText(const std::string& text, const std::string& where, const char* what) {
    if (text.find_first_not_of(" \t\r\n\f\v") == std::string::npos)
        throw UserError(where + ": " + what + " is empty");
    if (text.size() > kMaxLineBytes)
        throw UserError(where + ": " + what + " is " + std::to_string(text.size()) + " bytes long, the limit is " +
                        std::to_string(kMaxLineBytes));
    if (const auto p = findUtf8Problem(text))
        throw UserError(where + ": " + what + " has " + p->what + " at byte " + std::to_string(p->offset));
}

void checkOptionalText(const std::string& text, const std::string& where, const char* what) {
    if (const auto p = findUtf8Problem(text))
        throw UserError(where + ": " + what + " has " + p->what + " at byte " + std::to_string(p->offset));
}

std::string formatLambda(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

/// The workspace's memory backend: its meta (memory.backend, memory.page_facts,
/// memory.max_facts); a workspace with edits but none of them was made before backends existed
/// and holds one Larimar memory; a new one takes `defaults` and records them (before its first
/// edit, so they are its initial settings, not audited changes).
BackendSettings backendOf(Workspace& ws, const BackendSettings& defaults, bool readOnly) {
    auto number = [&](const char* key, std::int64_t fallback) -> std::int64_t {
        const auto v = ws.meta(key);
        if (!v) return fallback;
        try {
            std::size_t used = 0;
            const long long n = std::stoll(*v, &used);
            if (used != v->size() || n < 0) throw std::invalid_argument("sign");
            return n;
        } catch (const std::exception&) {
            throw Error("workspace " + ws.path() + " is inconsistent: meta " + key + " is '" + *v +
                        "', not a non-negative whole number");
        }
    };
    BackendSettings b;
    if (const auto kind = ws.meta("memory.backend")) {
        b.kind = *kind;
        b.pageFacts = static_cast<int>(std::min<std::int64_t>(number("memory.page_facts", 0), 1 << 20));
        b.maxFacts = number("memory.max_facts", 0);
        b.cachePages = defaults.cachePages;
        return b;
    }
    if (ws.lastEditId()) {
        b.kind = "larimar";
        return b;
    }
    b = defaults;
    if (!readOnly) {
        ws.setMeta("memory.backend", b.kind);
        if (b.kind != "larimar") {
            ws.setMeta("memory.page_facts", std::to_string(b.pageFacts));
            ws.setMeta("memory.max_facts", std::to_string(b.maxFacts));
        }
    }
    return b;
}

} // namespace

struct Editor::Impl {
    std::shared_ptr<TextModel> model;
    EditorOptions options;
    std::string actor;
    std::string path;
    std::unique_ptr<Workspace> ws;
    std::shared_ptr<ScopeDetector> scope;
    std::string modelId, modelHash;
    Eigen::MatrixXd reference; // the model's prior M0: reference memory for the write keys
    MemorySettings settings;
    BackendSettings backend;               // the workspace's (meta memory.backend, ...)
    std::optional<EpisodicMemory> empty;   // the model's empty memory: every page starts as it
    std::unique_ptr<MemoryBackend> memory;
    int visiblePage = 0;                   // the page inspection shows: the last written or read
    std::string digest;            // memory->digest(), kept current
    std::int64_t lastEdit = 0;     // newest edit this memory reflects; 0: none
    std::int64_t lastSnapshot = 0; // newest snapshot's edit; 0: none
    bool scopeStale = false;       // sync() reloaded the memory; the scope detector is behind

    /// The stored vectors of facts, for backends that build pages on demand.
    FactVectorLoader loader() {
        return [this](const std::vector<std::int64_t>& ids, Eigen::MatrixXd& keys, Eigen::MatrixXd& z) {
            vectorsOf(loadFacts(ids), keys, z);
        };
    }

    /// The model's empty memory, made once (it computes M_ref^+).
    const EpisodicMemory& emptyMemory() {
        if (!empty)
            empty.emplace(Eigen::MatrixXd::Zero(reference.rows(), reference.cols()), reference, settings);
        return *empty;
    }

    std::unique_ptr<MemoryBackend> fresh() { return makeMemoryBackend(backend, emptyMemory(), loader()); }

    static std::vector<std::int64_t> idsAt(const std::vector<std::int64_t>& ids, const std::vector<Eigen::Index>& rows) {
        std::vector<std::int64_t> out;
        for (const auto r : rows) out.push_back(ids[static_cast<std::size_t>(r)]);
        return out;
    }

    [[noreturn]] void inconsistent(const std::string& what) const {
        throw Error("workspace " + path + " is inconsistent: " + what +
                    " (restore a backup, or roll back to an earlier edit)");
    }

    /// Keys (N x K) and latents (N x C) of stored facts, in the order given.
    void vectorsOf(const std::vector<Fact>& facts, Eigen::MatrixXd& keys, Eigen::MatrixXd& z) const {
        const auto k = reference.rows(), c = reference.cols();
        keys.resize(static_cast<Eigen::Index>(facts.size()), k);
        z.resize(static_cast<Eigen::Index>(facts.size()), c);
        for (std::size_t i = 0; i < facts.size(); ++i) {
            const Fact& f = facts[i];
            if (static_cast<Eigen::Index>(f.writeKey.size()) != k || static_cast<Eigen::Index>(f.latent.size()) != c)
                inconsistent("fact " + std::to_string(f.id) + " has a key of " + std::to_string(f.writeKey.size()) +
                             " and a latent of " + std::to_string(f.latent.size()) + " values, the memory is " +
                             std::to_string(k) + " x " + std::to_string(c));
            const auto row = static_cast<Eigen::Index>(i);
            for (Eigen::Index j = 0; j < k; ++j) keys(row, j) = f.writeKey[static_cast<std::size_t>(j)];
            for (Eigen::Index j = 0; j < c; ++j) z(row, j) = f.latent[static_cast<std::size_t>(j)];
        }
    }

    std::vector<Fact> loadFacts(const std::vector<std::int64_t>& ids) {
        std::vector<Fact> out;
        out.reserve(ids.size());
        for (const auto id : ids) out.push_back(ws->fact(id));
        return out;
    }

    /// Rows of a write edit's facts that it recorded as forgotten (the facts a replace forgot).
    static std::vector<Eigen::Index> forgottenRows(const Edit& e) {
        std::vector<Eigen::Index> rows;
        for (std::size_t i = 0; i < e.factStates.size() && i < e.factIds.size(); ++i)
            if (e.factStates[i] == FactState::Forgotten) rows.push_back(static_cast<Eigen::Index>(i));
        return rows;
    }

    /// The facts, each of which must be written now (UserError naming the first that is not).
    std::vector<Fact> requireWritten(const std::vector<std::int64_t>& ids) {
        std::vector<Fact> facts;
        for (const auto id : ids) {
            Fact f;
            try {
                f = ws->fact(id);
            } catch (const UserError&) {
                throw UserError("fact " + std::to_string(id) + " is not written (there is no fact " +
                                std::to_string(id) + ")");
            }
            if (f.state != FactState::Written)
                throw UserError("fact " + std::to_string(id) + " is not written (forgotten" +
                                (f.forgottenEdit ? " by edit " + std::to_string(*f.forgottenEdit) : std::string()) +
                                ")");
            facts.push_back(std::move(f));
        }
        return facts;
    }

    /// Applies one stored edit to mem: the same update, with the same rows in the same order,
    /// as when it was made, so the result is bit-identical.
    void apply(std::unique_ptr<MemoryBackend>& mem, const Edit& e) {
        switch (e.op) {
        case EditOp::Write:
        case EditOp::Batch:
        case EditOp::Forget: {
            Eigen::MatrixXd keys, z;
            vectorsOf(loadFacts(e.factIds), keys, z);
            try {
                if (e.op == EditOp::Forget) {
                    mem->forget(e.factIds, keys, z);
                } else if (const auto old = forgottenRows(e); !old.empty()) {
                    // A replace: the facts it recorded as forgotten first, then the new ones,
                    // as commitWrite did.
                    std::vector<Eigen::Index> fresh;
                    for (Eigen::Index i = 0; i < keys.rows(); ++i)
                        if (std::find(old.begin(), old.end(), i) == old.end()) fresh.push_back(i);
                    mem->forget(idsAt(e.factIds, old), keys(old, Eigen::placeholders::all),
                                z(old, Eigen::placeholders::all));
                    mem->write(idsAt(e.factIds, fresh), keys(fresh, Eigen::placeholders::all),
                               z(fresh, Eigen::placeholders::all));
                } else {
                    mem->write(e.factIds, keys, z);
                }
            } catch (const UserError& ex) {
                inconsistent("replaying edit " + std::to_string(e.id) + ": " + ex.what());
            }
            break;
        }
        case EditOp::Setting:
        case EditOp::Trust: break; // settings and trusted keys do not change the memory
        case EditOp::Rollback: {
            const auto target = e.payload.value("target_edit", std::int64_t(-1));
            if (target < 0 || target >= e.id)
                inconsistent("rollback edit " + std::to_string(e.id) + " names no earlier target edit");
            mem = memoryAfter(target, nullptr);
            break;
        }
        }
    }

    /// The memory right after editId (0: empty), from the newest snapshot at or before it plus
    /// replay; checked against the edit's recorded digest. snapshotUsed: the snapshot's edit.
    std::unique_ptr<MemoryBackend> memoryAfter(std::int64_t editId, std::int64_t* snapshotUsed,
                                               std::string* digestOut = nullptr) {
        if (snapshotUsed) *snapshotUsed = 0;
        if (editId == 0) {
            auto m = fresh();
            if (digestOut) *digestOut = m->digest();
            return m;
        }
        const Edit target = ws->edit(editId);
        std::unique_ptr<MemoryBackend> mem;
        std::int64_t start = 0;
        if (auto snap = ws->latestSnapshot(editId)) {
            try {
                mem = deserializeMemoryBackend(backend, emptyMemory(), loader(), snap->state);
            } catch (const Error& ex) {
                inconsistent("the snapshot at edit " + std::to_string(snap->editId) + ": " + ex.what());
            }
            if (snap->editId < editId && mem->digest() != snap->digest) // else checked below
                inconsistent("the snapshot at edit " + std::to_string(snap->editId) + " does not match its digest");
            start = snap->editId;
            if (snapshotUsed) *snapshotUsed = start;
        } else {
            mem = fresh();
        }
        if (editId > start) {
            // Edit ids are consecutive (the store appends last + 1), so an offset selects them.
            EditFilter f;
            f.offset = start;
            f.limit = editId - start;
            const auto later = ws->edits(f);
            std::int64_t expect = start + 1;
            for (const Edit& e : later) {
                if (e.id != expect) inconsistent("edit " + std::to_string(expect) + " is missing");
                apply(mem, e);
                ++expect;
            }
            if (expect != editId + 1) inconsistent("edit " + std::to_string(expect) + " is missing");
        }
        const std::string got = mem->digest();
        // A setting edit before the first memory edit carries no digest (the store cannot know
        // the empty memory's); every other edit must match.
        const bool unrecorded =
            (target.op == EditOp::Setting || target.op == EditOp::Trust) && target.memoryDigestAfter.empty();
        if (!unrecorded && got != target.memoryDigestAfter)
            inconsistent("the memory rebuilt for edit " + std::to_string(editId) + " has digest " + got +
                         ", the edit recorded " + target.memoryDigestAfter);
        if (digestOut) *digestOut = got;
        return mem;
    }

    /// withScope false (inside a write transaction): the scope detector is brought up to date
    /// later, by refreshScope(); see sync().
    void loadMemory(bool withScope = true) {
        // Locals first: a workspace found inconsistent leaves this object as it was.
        const std::int64_t last = ws->lastEditId().value_or(0);
        std::int64_t snapshot = 0;
        std::string newDigest;
        // The newest snapshot at or before the last edit is the newest one there is.
        auto restored = memoryAfter(last, &snapshot, &newDigest);
        memory = std::move(restored);
        visiblePage = std::max(0, memory->capacity().pages - 1);
        lastEdit = last;
        lastSnapshot = snapshot;
        digest = std::move(newDigest);
        if (withScope)
            resetScope();
        else
            scopeStale = true;
    }

    void resetScope() {
        FactFilter f;
        f.state = FactState::Written;
        scope->reset(ws->facts(f));
        scopeStale = false;
    }

    /// Inside a write transaction: catch up with edits another process appended. Only the
    /// memory: the scope detector waits for the commit (its embedding cache has a connection of
    /// its own, which would wait the busy timeout for this transaction's lock, issue 20).
    void sync() {
        if (ws->lastEditId().value_or(0) != lastEdit) loadMemory(false);
    }

    /// Outside transactions, before the scope detector is asked: catch up if sync() left it behind.
    void refreshScope() {
        if (scopeStale) resetScope();
    }

    bool snapshotDue(std::int64_t editId) const {
        return editId - lastSnapshot >= std::max(1, options.snapshotInterval);
    }

    Eigen::MatrixXd encodeChecked(const std::vector<std::string>& texts) {
        Eigen::MatrixXd z = model->encode(texts);
        if (z.rows() != static_cast<Eigen::Index>(texts.size()) || z.cols() != reference.cols())
            throw Error("the model encoded " + std::to_string(texts.size()) + " texts as a " +
                        std::to_string(z.rows()) + " x " + std::to_string(z.cols()) + " matrix, expected " +
                        std::to_string(texts.size()) + " x " + std::to_string(reference.cols()));
        if (!z.allFinite()) throw Error("the model's encoding is not finite (NaN or infinity)");
        return z;
    }

    /// Writes facts (text and meta filled) with their encodings as one edit.
    EditResult commitWrite(std::vector<Fact> facts, const Eigen::MatrixXd& z, EditOp op, const std::string& reason,
                           nlohmann::json payload, bool forceSnapshot, const std::atomic<bool>* cancel,
                           const std::vector<std::int64_t>& replaces = {}) {
        const Eigen::MatrixXd keys = memory->keys(z); // depends on the fixed reference only
        for (std::size_t i = 0; i < facts.size(); ++i) {
            const auto row = static_cast<Eigen::Index>(i);
            facts[i].writeKey.resize(static_cast<std::size_t>(keys.cols()));
            for (Eigen::Index j = 0; j < keys.cols(); ++j) facts[i].writeKey[static_cast<std::size_t>(j)] = keys(row, j);
            facts[i].latent.resize(static_cast<std::size_t>(z.cols()));
            for (Eigen::Index j = 0; j < z.cols(); ++j) facts[i].latent[static_cast<std::size_t>(j)] = z(row, j);
            facts[i].state = FactState::Written;
        }
        // Replay reads the keys back from their blobs: round-trip exactly what we apply now.
        Eigen::MatrixXd storedKeys, storedZ;
        vectorsOf(facts, storedKeys, storedZ);

        auto tx = ws->begin();
        sync();
        const std::vector<Fact> old = requireWritten(replaces);
        Eigen::MatrixXd oldKeys, oldZ;
        vectorsOf(old, oldKeys, oldZ);
        memory->checkRoom(static_cast<std::int64_t>(facts.size()) - static_cast<std::int64_t>(old.size()));
        auto backup = memory->clone();
        const std::string before = digest;
        EditResult r;
        try {
            // The facts first: the memory names them by id. A replace forgets first, then
            // writes: replay (apply) does the same, in this order.
            const auto ids = ws->insertFacts(facts);
            if (!old.empty()) memory->forget(replaces, oldKeys, oldZ);
            memory->write(ids, storedKeys, storedZ);
            if (!ids.empty()) visiblePage = std::max(0, memory->pageOf(ids.back()));
            const std::string after = memory->digest();
            if (!replaces.empty()) ws->setFactState(replaces, FactState::Forgotten);
            Edit e;
            e.op = op;
            e.factIds = ids;
            e.factIds.insert(e.factIds.end(), replaces.begin(), replaces.end());
            e.actor = actor;
            e.reason = reason;
            e.modelId = modelId;
            e.modelHash = modelHash;
            e.memoryDigestBefore = before;
            e.memoryDigestAfter = after;
            e.payload = std::move(payload);
            const Edit stored = ws->appendEdit(e);
            r.snapshot = forceSnapshot || snapshotDue(stored.id);
            if (r.snapshot) ws->putSnapshot(stored.id, memory->serialize(), after);
            if (cancel && cancel->load()) throw EditCancelled();
            tx.commit();
            r.editId = stored.id;
            r.hash = stored.hash;
            r.op = op;
            r.factIds = ids;
            r.forgotten = replaces;
            r.memoryDigestBefore = before;
            r.memoryDigestAfter = after;
            for (std::size_t i = 0; i < facts.size(); ++i) facts[i].id = ids[i];
        } catch (...) {
            memory = std::move(backup);
            throw; // tx rolls back
        }
        lastEdit = r.editId;
        digest = r.memoryDigestAfter;
        if (r.snapshot) lastSnapshot = r.editId;
        // Behind other writers (scopeStale): their facts come with the next refreshScope(),
        // which is lazy because a process that only writes never needs them, and right after
        // another's commit their vectors may not be in the cache yet (embedding them all here
        // cost a write 15 s); this edit's are stored in the cache now by added().
        if (!scopeStale && !replaces.empty()) scope->removed(replaces);
        scope->added(facts);
        return r;
    }

    EditResult rollback(std::optional<std::int64_t> requested, const std::string& reason,
                        const nlohmann::json& marker = nlohmann::json::object()) {
        auto tx = ws->begin();
        sync();
        if (lastEdit == 0)
            throw UserError(requested ? "nothing to roll back: the workspace has no edits"
                                      : "nothing to undo: the workspace has no edits");
        const std::int64_t target = requested ? *requested : lastEdit - 1;
        if (target < 0 || target > lastEdit)
            throw UserError("no edit with id " + std::to_string(target) + " (the last edit is " +
                            std::to_string(lastEdit) + ")");
        if (target == lastEdit)
            throw UserError("edit " + std::to_string(target) + " is the latest edit; there is nothing to roll back");

        const std::map<std::int64_t, FactState> then =
            target == 0 ? std::map<std::int64_t, FactState>{} : ws->factStatesAfter(target);
        EditResult r;
        for (const Fact& f : ws->facts()) {
            const auto it = then.find(f.id);
            const bool writtenThen = it != then.end() && it->second == FactState::Written;
            if (f.state == FactState::Written && !writtenThen) r.forgotten.push_back(f.id);
            if (f.state == FactState::Forgotten && writtenThen) r.restored.push_back(f.id);
        }
        std::string after;
        auto restoredMemory = memoryAfter(target, nullptr, &after);

        auto backup = std::move(memory);
        const std::string before = digest;
        try {
            memory = std::move(restoredMemory);
            if (!r.restored.empty()) ws->setFactState(r.restored, FactState::Written);
            if (!r.forgotten.empty()) ws->setFactState(r.forgotten, FactState::Forgotten);
            Edit e;
            e.op = EditOp::Rollback;
            e.factIds = r.restored;
            e.factIds.insert(e.factIds.end(), r.forgotten.begin(), r.forgotten.end());
            std::sort(e.factIds.begin(), e.factIds.end());
            e.actor = actor;
            e.reason = reason;
            e.modelId = modelId;
            e.modelHash = modelHash;
            e.memoryDigestBefore = before;
            e.memoryDigestAfter = after;
            e.payload = {{"target_edit", target}, {"undo", !requested.has_value()},
                         {"restored", r.restored}, {"forgotten", r.forgotten}};
            e.payload.update(marker);
            const Edit stored = ws->appendEdit(e);
            ws->putSnapshot(stored.id, memory->serialize(), after);
            tx.commit();
            r.editId = stored.id;
            r.hash = stored.hash;
            r.op = EditOp::Rollback;
            r.factIds = e.factIds;
            r.memoryDigestBefore = before;
            r.memoryDigestAfter = after;
            r.snapshot = true;
            r.targetEdit = target;
        } catch (...) {
            memory = std::move(backup);
            throw;
        }
        visiblePage = std::min(visiblePage, memory->capacity().pages - 1);
        lastEdit = r.editId;
        lastSnapshot = r.editId;
        digest = r.memoryDigestAfter;
        resetScope();
        return r;
    }
};

Editor::Editor(std::shared_ptr<TextModel> model, const std::string& workspacePath, EditorOptions options)
    : m_impl(std::make_unique<Impl>()) {
    auto& d = *m_impl;
    if (!model) throw Error("Editor: no model");
    d.model = std::move(model);
    d.options = std::move(options);
    d.actor = d.options.actor.empty() ? defaultActor() : d.options.actor;
    checkText(d.actor, "actor", "name");
    d.path = workspacePath;
    d.scope = d.options.scope ? d.options.scope : std::make_shared<AnyFactScopeDetector>();
    d.modelId = d.model->id();
    d.modelHash = d.model->weightsHash();
    d.reference = d.model->memoryPrior();
    if (d.reference.cols() != d.model->latentSize() || d.reference.rows() < 1)
        throw Error("model " + d.modelId + ": memory prior is " + std::to_string(d.reference.rows()) + " x " +
                    std::to_string(d.reference.cols()) + " but the latent size is " +
                    std::to_string(d.model->latentSize()));

    if (d.options.workspace.actor.empty()) d.options.workspace.actor = d.actor; // for setting edits
    d.ws = std::make_unique<Workspace>(workspacePath, d.options.workspace);
    d.ws->requireModel(d.modelId, d.modelHash);
    // The memory's regulariser is part of the workspace: replay must use the one it was made with.
    d.settings.pinv = d.model->pinv();
    if (const auto stored = d.ws->meta("memory.lambda")) {
        try {
            d.settings.lambda = std::stod(*stored);
        } catch (const std::exception&) {
            d.inconsistent("meta memory.lambda is '" + *stored + "', not a number");
        }
    } else {
        d.settings.lambda = d.options.lambda;
        d.ws->setMeta("memory.lambda", formatLambda(d.settings.lambda));
    }
    d.backend = backendOf(*d.ws, d.options.backend, d.options.workspace.readOnly);
    // So is how the memory's updates are computed (episodic_memory.h, "Arithmetic"): edits
    // replay bit-exactly only with the arithmetic they were made with. A workspace with edits
    // and no record was made before the portable kernels, with Eigen's.
    if (const auto stored = d.ws->meta("memory.arithmetic")) {
        if (*stored == "portable") d.settings.arithmetic = MemoryArithmetic::Portable;
        else if (*stored == "eigen-blocked") d.settings.arithmetic = MemoryArithmetic::EigenBlocked;
        else d.inconsistent("meta memory.arithmetic is '" + *stored + "', which this build does not know");
    } else if (d.ws->lastEditId()) {
        d.settings.arithmetic = MemoryArithmetic::EigenBlocked;
    } else {
        d.settings.arithmetic = MemoryArithmetic::Portable;
        if (!d.options.workspace.readOnly) d.ws->setMeta("memory.arithmetic", "portable");
    }
    d.loadMemory();
}

Editor::~Editor() = default;

namespace {
Fact checkedFact(const std::string& text, const FactMeta& meta, const std::string& reason) {
    checkText(text, "fact", "text");
    checkOptionalText(meta.subject, "fact", "subject");
    checkOptionalText(meta.prompt, "fact", "prompt");
    checkOptionalText(meta.target, "fact", "target");
    checkOptionalText(meta.source, "fact", "source");
    checkOptionalText(reason, "edit", "reason");
    Fact f;
    f.text = text;
    f.subject = meta.subject;
    f.relation = meta.prompt;
    f.target = meta.target;
    f.source = meta.source.empty() ? "editor" : meta.source;
    return f;
}
} // namespace

EditResult Editor::write(const std::string& text, const FactMeta& meta, const std::string& reason) {
    auto& d = *m_impl;
    Fact f = checkedFact(text, meta, reason);
    d.memory->checkRoom(1); // before the encoding; checked again in the transaction
    const Eigen::MatrixXd z = d.encodeChecked({text});
    d.scope->prepare({text});
    return d.commitWrite({f}, z, EditOp::Write, reason, nlohmann::json::object(), false, nullptr);
}

EditResult Editor::replace(const std::vector<std::int64_t>& replaced, const std::string& text, const FactMeta& meta,
                           const std::string& reason) {
    auto& d = *m_impl;
    Fact f = checkedFact(text, meta, reason);
    std::vector<std::int64_t> ids;
    std::set<std::int64_t> seen;
    for (const auto id : replaced)
        if (seen.insert(id).second) ids.push_back(id);
    if (ids.empty()) throw UserError("name at least one fact to replace");
    const Eigen::MatrixXd z = d.encodeChecked({text});
    d.scope->prepare({text});
    return d.commitWrite({f}, z, EditOp::Write, reason, nlohmann::json{{"replaces", ids}}, false, nullptr, ids);
}

std::vector<FactConflict> Editor::conflicts(const std::string& text, const FactMeta& meta) {
    auto& d = *m_impl;
    checkText(text, "fact", "text");
    FactFilter filter;
    filter.state = FactState::Written;
    const auto written = d.ws->facts(filter);
    auto out = textConflicts(written, text, meta);
    d.refreshScope();
    const ScopeScore s = d.scope->score(text);
    if (s.nearestFactId && s.score >= kConflictScore &&
        std::none_of(out.begin(), out.end(), [&](const FactConflict& c) { return c.fact.id == *s.nearestFactId; })) {
        const auto it =
            std::find_if(written.begin(), written.end(), [&](const Fact& f) { return f.id == *s.nearestFactId; });
        if (it != written.end()) out.push_back({ConflictKind::Similar, *it, s.score});
    }
    return out;
}

EditResult Editor::writeBatch(const std::vector<FactRecord>& records, const std::string& reason,
                              const std::function<void(std::int64_t, std::int64_t)>& progress,
                              const std::atomic<bool>* cancel) {
    auto& d = *m_impl;
    if (records.empty()) throw UserError("nothing to write: the batch is empty");
    checkOptionalText(reason, "edit", "reason");
    d.memory->checkRoom(static_cast<std::int64_t>(records.size())); // before hours of encoding
    std::vector<Fact> facts;
    facts.reserve(records.size());
    std::vector<std::string> texts;
    texts.reserve(records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
        const FactRecord& rec = records[i];
        const std::string where = rec.source.empty() ? "record " + std::to_string(i + 1) : rec.source;
        checkText(rec.text, where, "text");
        checkOptionalText(rec.subject, where, "subject");
        checkOptionalText(rec.prompt, where, "prompt");
        checkOptionalText(rec.target, where, "target");
        checkOptionalText(rec.source, where, "source");
        Fact f;
        f.text = rec.text;
        f.subject = rec.subject;
        f.relation = rec.prompt;
        f.target = rec.target;
        f.source = rec.source.empty() ? "batch" : rec.source;
        facts.push_back(std::move(f));
        texts.push_back(rec.text);
    }
    const auto total = static_cast<std::int64_t>(texts.size());
    const std::size_t chunk = static_cast<std::size_t>(std::max(1, d.options.encodeChunk));
    Eigen::MatrixXd z(total, d.reference.cols());
    for (std::size_t start = 0; start < texts.size(); start += chunk) {
        if (cancel && cancel->load()) throw EditCancelled();
        const std::size_t end = std::min(texts.size(), start + chunk);
        const std::vector<std::string> piece(texts.begin() + static_cast<std::ptrdiff_t>(start),
                                             texts.begin() + static_cast<std::ptrdiff_t>(end));
        const Eigen::MatrixXd part = d.encodeChecked(piece);
        z.middleRows(static_cast<Eigen::Index>(start), part.rows()) = part;
        // The detector's work happens here, where a cancel still writes nothing (after the
        // commit it could only be reported, not undone).
        d.scope->prepare(piece);
        if (progress) progress(static_cast<std::int64_t>(end), total);
    }
    if (cancel && cancel->load()) throw EditCancelled();
    nlohmann::json payload = {{"count", total}};
    return d.commitWrite(std::move(facts), z, EditOp::Batch, reason, std::move(payload), true, cancel);
}

EditResult Editor::forget(const std::vector<std::int64_t>& factIds, const std::string& reason) {
    auto& d = *m_impl;
    checkOptionalText(reason, "edit", "reason");
    std::vector<std::int64_t> ids;
    std::set<std::int64_t> seen;
    for (const auto id : factIds)
        if (seen.insert(id).second) ids.push_back(id);
    if (ids.empty()) throw UserError("name at least one fact to forget");

    auto tx = d.ws->begin();
    d.sync();
    const std::vector<Fact> facts = d.requireWritten(ids);
    Eigen::MatrixXd keys, z;
    d.vectorsOf(facts, keys, z);

    auto backup = d.memory->clone();
    const std::string before = d.digest;
    EditResult r;
    try {
        d.memory->forget(ids, keys, z);
        const std::string after = d.memory->digest();
        d.ws->setFactState(ids, FactState::Forgotten);
        Edit e;
        e.op = EditOp::Forget;
        e.factIds = ids;
        e.actor = d.actor;
        e.reason = reason;
        e.modelId = d.modelId;
        e.modelHash = d.modelHash;
        e.memoryDigestBefore = before;
        e.memoryDigestAfter = after;
        const Edit stored = d.ws->appendEdit(e);
        r.snapshot = d.snapshotDue(stored.id);
        if (r.snapshot) d.ws->putSnapshot(stored.id, d.memory->serialize(), after);
        tx.commit();
        r.editId = stored.id;
        r.hash = stored.hash;
        r.op = EditOp::Forget;
        r.factIds = ids;
        r.memoryDigestBefore = before;
        r.memoryDigestAfter = after;
    } catch (...) {
        d.memory = std::move(backup);
        throw;
    }
    d.lastEdit = r.editId;
    d.digest = r.memoryDigestAfter;
    if (r.snapshot) d.lastSnapshot = r.editId;
    if (!d.scopeStale) d.scope->removed(ids); // else refreshScope() catches up
    return r;
}

EditResult Editor::rollback(std::int64_t editId, const std::string& reason) {
    checkOptionalText(reason, "edit", "reason");
    return m_impl->rollback(editId, reason);
}

EditResult Editor::undoLast(const std::string& reason) {
    checkOptionalText(reason, "edit", "reason");
    return m_impl->rollback(std::nullopt, reason);
}

UndoHistory undoHistory(const std::vector<Edit>& edits) {
    UndoHistory h;
    std::int64_t state = 0; // the last fact-changing edit seen
    for (const Edit& e : edits) {
        if (e.op == EditOp::Setting || e.op == EditOp::Trust) continue;
        const auto undoOf = e.op == EditOp::Rollback ? e.payload.value("undo_of", std::int64_t(0)) : 0;
        const auto redoOf = e.op == EditOp::Rollback ? e.payload.value("redo_of", std::int64_t(0)) : 0;
        if (undoOf != 0 && !h.undo.empty() && h.undo.back().edit.id == undoOf) {
            h.redo.push_back(std::move(h.undo.back()));
            h.undo.pop_back();
        } else if (redoOf != 0 && !h.redo.empty() && h.redo.back().edit.id == redoOf) {
            h.undo.push_back(std::move(h.redo.back()));
            h.redo.pop_back();
        } else {
            // A change of its own (or an undo/redo that does not match the stacks, which only a
            // hand-made history has): a new step; what was undone can no longer be redone.
            h.undo.push_back(UndoStep{e, state});
            h.redo.clear();
        }
        state = e.id;
    }
    return h;
}

UndoHistory Editor::undoHistory() { return larimar::undoHistory(m_impl->ws->edits()); }

EditResult Editor::undo(const std::string& reason) {
    checkOptionalText(reason, "edit", "reason");
    const UndoHistory h = undoHistory();
    if (h.undo.empty()) throw UserError("nothing to undo: the workspace has no edits to take back");
    const UndoStep& step = h.undo.back();
    return m_impl->rollback(step.stateBefore, reason, {{"undo", true}, {"undo_of", step.edit.id}});
}

EditResult Editor::redo(const std::string& reason) {
    checkOptionalText(reason, "edit", "reason");
    const UndoHistory h = undoHistory();
    if (h.redo.empty()) throw UserError("nothing to redo: no edit was undone since the last change");
    const UndoStep& step = h.redo.back();
    return m_impl->rollback(step.edit.id, reason, {{"redo_of", step.edit.id}});
}

QueryResult Editor::query(const std::string& prompt, const QueryOptions& options) {
    auto& d = *m_impl;
    checkText(prompt, "query", "prompt");
    QueryResult r;
    r.prompt = prompt;
    d.refreshScope();
    r.detector = d.scope->name();
    if (options.forceScope) {
        r.inScope = *options.forceScope;
        r.scope.score = r.inScope ? 1.0 : 0.0;
        r.detector = "forced";
    } else {
        r.scope = d.scope->score(prompt);
        if (options.threshold) {
            r.threshold = *options.threshold;
        } else if (const auto t = d.ws->meta("scope.threshold")) {
            try {
                r.threshold = std::stod(*t);
            } catch (const std::exception&) {
                throw UserError("workspace setting scope.threshold is '" + *t + "', not a number");
            }
        } else {
            r.threshold = d.scope->defaultThreshold();
        }
        r.inScope = r.scope.score >= r.threshold;
    }
    r.withoutMemory = d.model->generate(prompt, std::nullopt, options.decode);
    if (r.inScope) {
        const Eigen::MatrixXd z = d.encodeChecked({prompt});
        const MemoryRead read = d.memory->read(z, r.scope.nearestFactId);
        r.readWeights = read.weights.row(0);
        r.memoryPage = read.pages.at(0);
        d.visiblePage = r.memoryPage;
        r.withMemory = d.model->generate(prompt, Eigen::RowVectorXd(read.readout.row(0)), options.decode);
    } else {
        r.withMemory = r.withoutMemory;
    }
    if (options.record) {
        auto tokens = [](const GeneratedText& g) {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& t : g.tokens) a.push_back({{"text", t.text}, {"probability", t.probability}});
            return a;
        };
        Generation g;
        g.prompt = prompt;
        g.outputWithoutMemory = r.withoutMemory.text;
        g.outputWithMemory = r.withMemory.text;
        g.scopeScore = r.scope.score;
        g.inScope = r.inScope;
        g.details = {{"detector", r.detector},
                     {"threshold", r.threshold},
                     {"nearest_fact_id", r.scope.nearestFactId ? nlohmann::json(*r.scope.nearestFactId) : nlohmann::json()},
                     {"memory_digest", d.digest},
                     {"memory_page", r.inScope ? nlohmann::json(r.memoryPage) : nlohmann::json()},
                     {"decode",
                      {{"max_new_tokens", options.decode.maxNewTokens},
                       {"temperature", options.decode.temperature},
                       {"top_k", options.decode.topK},
                       {"top_p", options.decode.topP},
                       {"seed", options.decode.seed}}},
                     {"tokens_with_memory", tokens(r.withMemory)},
                     {"tokens_without_memory", tokens(r.withoutMemory)}};
        if (d.lastEdit > 0) g.editId = d.lastEdit;
        r.generationId = d.ws->addGeneration(g).id;
    }
    return r;
}

CompareResult Editor::compare(const std::string& prompt, const QueryOptions& options) {
    CompareResult c;
    c.query = query(prompt, options);
    c.diff = wordDiff(c.query.withoutMemory.text, c.query.withMemory.text);
    c.differs = std::any_of(c.diff.begin(), c.diff.end(),
                            [](const DiffSegment& s) { return s.kind != DiffSegment::Kind::Same; });
    return c;
}

const EpisodicMemory& Editor::memory() const { return m_impl->memory->page(m_impl->visiblePage); }
const Eigen::MatrixXd& Editor::memoryMatrix() const { return memory().matrix(); }
int Editor::slots() const { return m_impl->memory->slots(); }
int Editor::width() const { return m_impl->memory->width(); }
std::string Editor::memoryDigest() const { return m_impl->digest; }
Eigen::VectorXd Editor::singularValues() const { return memory().singularValues(); }
MemoryBackend& Editor::memoryBackend() { return *m_impl->memory; }
const BackendSettings& Editor::backendSettings() const { return m_impl->memory->settings(); }
MemoryCapacity Editor::capacity() const { return m_impl->memory->capacity(); }
int Editor::visiblePage() const { return m_impl->visiblePage; }
void Editor::showPage(int page) {
    const int pages = m_impl->memory->capacity().pages;
    if (page < 0 || page >= pages)
        throw UserError("no memory page " + std::to_string(page + 1) + " (the memory has " + std::to_string(pages) +
                        (pages == 1 ? " page)" : " pages)"));
    m_impl->visiblePage = page;
}

Eigen::RowVectorXd Editor::readWeights(const std::string& prompt) {
    checkText(prompt, "query", "prompt");
    const Eigen::MatrixXd z = m_impl->encodeChecked({prompt});
    auto& d = *m_impl;
    d.refreshScope();
    const MemoryRead read = d.memory->read(z, d.scope->score(prompt).nearestFactId);
    d.visiblePage = read.pages.at(0);
    return read.weights.row(0);
}

std::vector<double> Editor::writeKey(std::int64_t factId) { return m_impl->ws->fact(factId).writeKey; }

std::vector<SlotFacts> Editor::slotFacts(int topN) {
    if (topN < 1) throw UserError("top must be at least 1");
    FactFilter f;
    f.state = FactState::Written;
    f.withVectors = true;
    const auto facts = m_impl->ws->facts(f);
    std::vector<SlotFacts> out(static_cast<std::size_t>(slots()));
    for (int k = 0; k < slots(); ++k) {
        auto& s = out[static_cast<std::size_t>(k)];
        s.slot = k;
        for (const Fact& fact : facts)
            if (static_cast<int>(fact.writeKey.size()) > k && m_impl->memory->pageOf(fact.id) == m_impl->visiblePage)
                s.facts.emplace_back(fact.id, fact.writeKey[static_cast<std::size_t>(k)]);
        const auto n = std::min<std::size_t>(static_cast<std::size_t>(topN), s.facts.size());
        std::partial_sort(s.facts.begin(), s.facts.begin() + static_cast<std::ptrdiff_t>(n), s.facts.end(),
                          [](const auto& a, const auto& b) {
                              if (std::abs(a.second) != std::abs(b.second)) return std::abs(a.second) > std::abs(b.second);
                              return a.first < b.first;
                          });
        s.facts.resize(n);
    }
    return out;
}

std::vector<Fact> Editor::facts(const FactFilter& filter) { return m_impl->ws->facts(filter); }
Fact Editor::fact(std::int64_t id) { return m_impl->ws->fact(id); }
std::vector<Edit> Editor::edits(const EditFilter& filter) { return m_impl->ws->edits(filter); }
std::vector<Generation> Editor::generations(const GenerationFilter& filter) {
    return m_impl->ws->generations(filter);
}
std::optional<std::int64_t> Editor::lastEditId() { return m_impl->ws->lastEditId(); }
AuditReport Editor::verify(const std::function<void(std::int64_t, std::int64_t)>& progress,
                           const std::atomic<bool>* cancel) {
    return m_impl->ws->verifyChain(progress, cancel);
}

void exportHistoryFile(Workspace& workspace, const std::string& path, const std::string& format) {
    if (format != "csv" && format != "json")
        throw UserError("history format must be csv or json, not '" + format + "'");
    const auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir))
        throw UserError("cannot write " + path + ": there is no directory " + dir.string());
    checkOutputTarget(path, workspace.path());
    writeFileAtomically(path, format == "csv" ? workspace.exportHistoryCsv() : workspace.exportHistoryJson());
}

void Editor::exportHistory(const std::string& path, const std::string& format) {
    exportHistoryFile(*m_impl->ws, path, format);
}

void Editor::exportMemoryNpy(const std::string& path) const {
    checkOutputTarget(path, m_impl->path);
    memory().exportMatrixNpy(path);
}

void Editor::exportReadWeightsNpy(const std::string& prompt, const std::string& path) {
    checkOutputTarget(path, m_impl->path);
    const Eigen::RowVectorXd w = readWeights(prompt);
    exportNpy(path, Eigen::MatrixXd(w));
}

Workspace& Editor::workspace() { return *m_impl->ws; }
TextModel& Editor::model() { return *m_impl->model; }
const std::string& Editor::actor() const { return m_impl->actor; }
ScopeDetector& Editor::scopeDetector() {
    m_impl->refreshScope(); // up to date with the facts, as query() sees it
    return *m_impl->scope;
}
std::unique_ptr<MemoryBackend> Editor::memoryAfter(std::int64_t editId) {
    if (editId < 0) throw UserError("no edit with id " + std::to_string(editId));
    return m_impl->memoryAfter(editId, nullptr);
}

} // namespace larimar
