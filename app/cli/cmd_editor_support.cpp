#include "app/cli/cmd_editor_support.h"

#include "core/model/text_model.h"
#include "core/scope/scope_detectors.h"
#include "core/util/error.h"
#include "core/util/terminal_text.h"

#include <cstdlib>
#include <filesystem>
#include <ostream>

namespace larimar::cli {

std::shared_ptr<TextModel> Context::loadModel() const {
    if (modelFactory) return modelFactory(global);
    return std::shared_ptr<TextModel>(loadTextModel(resolveModelDir(global), global.device));
}

std::string defaultWorkspacePath() {
    namespace fs = std::filesystem;
    fs::path base;
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg && fs::path(xdg).is_absolute())
        base = xdg;
    else if (const char* home = std::getenv("HOME"); home && *home)
        base = fs::path(home) / ".local" / "share";
    else
        throw UserError("no default workspace: neither XDG_DATA_HOME nor HOME is set; pass --workspace FILE");
    return (base / "larimar-workbench" / "default.larimar").string();
}

std::string workspacePath(const GlobalOptions& global) {
    return global.workspace.empty() ? defaultWorkspacePath() : global.workspace;
}

std::shared_ptr<const SigningKey> signingKey(const Context& ctx) {
    std::string name = ctx.global.key;
    if (name.empty())
        if (const char* env = std::getenv("LARIMAR_KEY"); env && *env) name = env;
    if (!name.empty()) return std::make_shared<SigningKey>(KeyStore().load(name));
    // No key asked for: the default one if this actor made it, else unsigned edits.
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    const char* home = std::getenv("HOME");
    if (!(xdg && *xdg) && !(home && *home)) return nullptr;
    KeyStore store;
    if (!store.contains("default")) return nullptr;
    return std::make_shared<SigningKey>(store.load("default"));
}

std::unique_ptr<Editor> openEditor(const Context& ctx, const std::string& actor, bool readOnly) {
    const std::string path = workspacePath(ctx.global);
    if (readOnly && !std::filesystem::exists(path))
        throw UserError("no workspace at " + path + " (a workspace is created by the first write; pass --workspace FILE)");
    auto model = ctx.loadModel();
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!readOnly && !parent.empty() && !std::filesystem::exists(parent))
        std::filesystem::create_directories(parent, ec);
    EditorOptions o;
    o.actor = actor;
    o.workspace.readOnly = readOnly;
    o.workspace.create = !readOnly;
    if (!readOnly) o.workspace.signingKey = signingKey(ctx);
    o.scope = makeScopeDetector(scopeSetup(ctx, model, path));
    if (!ctx.global.backend.empty()) o.backend.kind = ctx.global.backend;
    if (ctx.global.pageFacts > 0) o.backend.pageFacts = ctx.global.pageFacts;
    auto editor = std::make_unique<Editor>(std::move(model), path, o);
    const BackendSettings& b = editor->backendSettings();
    if ((!ctx.global.backend.empty() && b.kind != ctx.global.backend) ||
        (ctx.global.pageFacts > 0 && b.kind == "paged" && b.pageFacts != 0 && b.pageFacts != ctx.global.pageFacts))
        throw UserError("workspace " + path + " already has a " + describe(b) +
                        " memory; --backend and --page-facts choose the memory of a new workspace");
    connectScopeDetector(*o.scope, *editor);
    return editor;
}

ScopeDetectorSetup scopeSetup(const Context& ctx, const std::shared_ptr<TextModel>& model, const std::string& path,
                              const std::string& kind) {
    ScopeDetectorSetup s;
    s.kind = kind;
    s.model = model;
    s.workspacePath = path;
    // The ISD's trained classifier lives beside the model; an injected model (tests) has no
    // directory unless --model names one.
    if (!ctx.modelFactory || !ctx.global.model.empty()) {
        try {
            s.modelDir = resolveModelDir(ctx.global);
        } catch (const UserError&) {
        }
    }
    return s;
}

std::unique_ptr<Workspace> openWorkspace(const Context& ctx, bool readOnly) {
    const std::string path = workspacePath(ctx.global);
    if (!std::filesystem::exists(path))
        throw UserError("no workspace at " + path + " (a workspace is created by the first write; pass --workspace FILE)");
    WorkspaceOptions o;
    o.create = false;
    o.readOnly = readOnly;
    if (!readOnly) o.signingKey = signingKey(ctx);
    return std::make_unique<Workspace>(path, o);
}

namespace {
nlohmann::json optionalId(const std::optional<std::int64_t>& id) { return id ? nlohmann::json(*id) : nlohmann::json(); }
} // namespace

nlohmann::json factJson(const Fact& f) {
    return {{"id", f.id},
            {"text", f.text},
            {"subject", f.subject},
            {"prompt", f.relation},
            {"target", f.target},
            {"source", f.source},
            {"state", toString(f.state)},
            {"created_edit", optionalId(f.createdEdit)},
            {"forgotten_edit", optionalId(f.forgottenEdit)}};
}

nlohmann::json editJson(const Edit& e) {
    nlohmann::json states = nlohmann::json::array();
    for (auto s : e.factStates) states.push_back(toString(s));
    return {{"id", e.id},
            {"op", toString(e.op)},
            {"fact_ids", e.factIds},
            {"fact_states", states},
            {"actor", e.actor},
            {"reason", e.reason},
            {"timestamp", e.timestamp},
            {"model_id", e.modelId},
            {"model_hash", e.modelHash},
            {"memory_digest_before", e.memoryDigestBefore},
            {"memory_digest_after", e.memoryDigestAfter},
            {"payload", e.payload},
            {"hash", e.hash},
            {"signer", e.signer}};
}

nlohmann::json editResultJson(const EditResult& r) {
    nlohmann::json j = {{"edit_id", r.editId},
                        {"hash", r.hash},
                        {"head", std::to_string(r.editId) + ":" + r.hash},
                        {"op", toString(r.op)},
                        {"fact_ids", r.factIds},
                        {"memory_digest_before", r.memoryDigestBefore},
                        {"memory_digest_after", r.memoryDigestAfter},
                        {"snapshot", r.snapshot}};
    if (r.op == EditOp::Rollback) {
        j["target_edit"] = r.targetEdit;
        j["restored"] = r.restored;
        j["forgotten"] = r.forgotten;
    }
    return j;
}

nlohmann::json auditJson(const AuditReport& r) {
    nlohmann::json head;
    if (r.head) head = {{"edit_id", r.head->editId}, {"hash", r.head->hash}, {"head", r.head->toString()}};
    return {{"ok", r.ok},
            {"head", head},
            {"edits_checked", r.editsChecked},
            {"facts_checked", r.factsChecked},
            {"edit_id", optionalId(r.editId)},
            {"fact_id", optionalId(r.factId)},
            {"reason", r.reason},
            {"signatures",
             {{"trusted", r.signedTrusted},
              {"untrusted", r.signedUntrusted},
              {"unsigned", r.unsignedEdits},
              {"unsigned_before", optionalId(r.unsignedBefore)},
              {"required_from", optionalId(r.signaturesRequiredFrom)},
              {"trusted_keys", r.trustedKeys}}},
            {"message", r.message()}};
}

nlohmann::json generatedJson(const GeneratedText& g) {
    nlohmann::json tokens = nlohmann::json::array();
    for (const auto& t : g.tokens) tokens.push_back({{"text", t.text}, {"probability", t.probability}});
    return {{"text", g.text}, {"tokens", tokens}};
}

nlohmann::json queryJson(const QueryResult& q) {
    nlohmann::json nearest;
    if (q.scope.nearestFactId) nearest = {{"id", *q.scope.nearestFactId}, {"text", q.scope.nearestText}};
    return {{"prompt", q.prompt},
            {"in_scope", q.inScope},
            {"scope_score", q.scope.score},
            {"threshold", q.threshold},
            {"detector", q.detector},
            {"nearest_fact", nearest},
            {"with_memory", generatedJson(q.withMemory)},
            {"without_memory", generatedJson(q.withoutMemory)},
            {"generation_id", optionalId(q.generationId)}};
}

nlohmann::json vectorJson(const Eigen::VectorXd& v) {
    return nlohmann::json(std::vector<double>(v.data(), v.data() + v.size()));
}

std::string shortDigest(const std::string& digest) { return digest.substr(0, 12); }

std::string shown(const std::string& text) { return escapeForTerminal(text); }

void printChainHead(std::ostream& out, std::int64_t editId, const std::string& hash) {
    out << "audit head " << editId << ":" << hash << "\n";
}

void printEditResult(std::ostream& out, const EditResult& r) {
    out << "edit " << r.editId << " (" << toString(r.op) << ")";
    if (r.op == EditOp::Rollback) {
        out << ": back to the state after " << (r.targetEdit == 0 ? std::string("no edit (empty)")
                                                                   : "edit " + std::to_string(r.targetEdit))
            << "; " << r.restored.size() << " fact(s) written again, " << r.forgotten.size() << " forgotten";
    } else if (r.factIds.size() == 1) {
        out << ": fact " << r.factIds.front();
    } else if (!r.factIds.empty()) {
        out << ": " << r.factIds.size() << " facts (" << r.factIds.front() << " .. " << r.factIds.back() << ")";
    }
    out << "\n  memory " << shortDigest(r.memoryDigestBefore) << " -> " << shortDigest(r.memoryDigestAfter)
        << (r.snapshot ? " (snapshot stored)" : "") << "\n";
    if (!r.hash.empty()) {
        out << "  ";
        printChainHead(out, r.editId, r.hash);
    }
}

std::int64_t parseId(const std::string& text, const char* what) {
    std::size_t used = 0;
    long long v = -1;
    try {
        v = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty() || v < 0)
        throw UserError(std::string(what) + " must be a non-negative whole number, not '" + text + "'");
    return v;
}

} // namespace larimar::cli
