#pragma once
/// What the editor subcommands share: the default workspace, opening the editor or the bare
/// workspace, and the JSON shapes of facts, edits and edit results (one place, so every
/// command prints them alike).
#include "app/cli/command.h"
#include "core/editor/editor.h"
#include "core/scope/scope_detectors.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace larimar::cli {

/// $XDG_DATA_HOME/larimar-workbench/default.larimar, else ~/.local/share/larimar-workbench/...
/// UserError when neither XDG_DATA_HOME nor HOME is set.
std::string defaultWorkspacePath();
/// --workspace or the default.
std::string workspacePath(const GlobalOptions& global);

/// The key that signs this command's edits: --key NAME, else $LARIMAR_KEY, else the key named
/// "default" when the key directory has one; null when none applies. UserError for a named
/// key that does not exist or whose file others can read (KeyStore::load).
std::shared_ptr<const SigningKey> signingKey(const Context& ctx);

/// Loads the model and opens (creating on first use) the workspace with it. readOnly: the
/// workspace must exist (UserError before the model is loaded) and is opened for reading only
/// (info, export memory: they work on an archived copy and never create a file).
std::unique_ptr<Editor> openEditor(const Context& ctx, const std::string& actor = {}, bool readOnly = false);
/// How the CLI builds scope detectors (core/scope makeScopeDetector): the model, the
/// workspace's embedding cache, the model directory's ISD classifier. kind: auto, esd, isd.
ScopeDetectorSetup scopeSetup(const Context& ctx, const std::shared_ptr<TextModel>& model, const std::string& path,
                              const std::string& kind = "auto");
/// Opens an existing workspace without a model (listings, audit, history export).
/// UserError "no workspace at ..." when the file does not exist. readOnly: changes nothing in
/// the file, not even a schema upgrade (listings, audit and export use it).
std::unique_ptr<Workspace> openWorkspace(const Context& ctx, bool readOnly = false);

nlohmann::json factJson(const Fact& f);
nlohmann::json editJson(const Edit& e);
nlohmann::json editResultJson(const EditResult& r);
nlohmann::json auditJson(const AuditReport& r);
nlohmann::json generatedJson(const GeneratedText& g);
nlohmann::json queryJson(const QueryResult& q);
nlohmann::json vectorJson(const Eigen::VectorXd& v);

/// "3f2a9c1e0b7d" (the first 12 hex digits), for text output.
std::string shortDigest(const std::string& digest);
/// Stored text for human (not --json) output: control, C1 and bidi characters made visible
/// (core/util/terminal_text.h), so a fact cannot rewrite what the listing around it shows.
std::string shown(const std::string& text);
/// One line per edit result: "edit 5 (write): fact 3; memory 3f2a.. -> 9c1e..", ending with
/// the new head of the audit chain ("audit head 5:<hash>") for the user to record elsewhere.
void printEditResult(std::ostream& out, const EditResult& r);
/// "audit head 5:<full hash>" for an auditor to record; `larimar audit verify --expect-head`
/// takes the part after "audit head ".
void printChainHead(std::ostream& out, std::int64_t editId, const std::string& hash);

/// Parses a fact or edit id argument ("17"); UserError naming what for anything else.
std::int64_t parseId(const std::string& text, const char* what);

} // namespace larimar::cli
