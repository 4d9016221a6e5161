#include "app/cli/cmd_editor.h"
#include "app/cli/cmd_editor_support.h"

#include <ostream>

namespace larimar::cli {

void InfoCommand::setup(CLI::App&) {}

int InfoCommand::execute(Context& ctx) {
    auto ed = openEditor(ctx, {}, true); // a mistyped path must not become a new workspace
    Workspace& ws = ed->workspace();
    const auto written = ws.factCount(FactState::Written);
    const auto forgotten = ws.factCount(FactState::Forgotten);
    const auto last = ws.lastEditId();
    const auto snapshot = ws.latestSnapshot();
    const auto generations = ws.generations({}).size();
    // Where the model came from (not known for a model a test injects through modelFactory).
    const std::string modelDir = ctx.modelFactory ? std::string() : resolveModelDir(ctx.global);
    if (ctx.global.json) {
        ctx.out << nlohmann::json{{"workspace", ws.path()},
                                  {"schema_version", Workspace::kSchemaVersion},
                                  {"created_at", ws.meta("created_at").value_or("")},
                                  {"model", {{"id", ed->model().id()}, {"hash", ed->model().weightsHash()}, {"dir", modelDir}}},
                                  {"slots", ed->slots()},
                                  {"width", ed->width()},
                                  {"facts", {{"written", written}, {"forgotten", forgotten}}},
                                  {"edits", last.value_or(0)},
                                  {"last_edit", last ? nlohmann::json(*last) : nlohmann::json()},
                                  {"last_snapshot", snapshot ? nlohmann::json(snapshot->editId) : nlohmann::json()},
                                  {"generations", generations},
                                  {"memory_digest", ed->memoryDigest()},
                                  {"backend",
                                   {{"kind", ed->backendSettings().kind},
                                    {"description", describe(ed->backendSettings())},
                                    {"pages", ed->capacity().pages},
                                    {"max_facts", ed->capacity().maximum}}},
                                  {"scope_detector", ed->scopeDetector().name()}}
                       .dump(2)
                << "\n";
        return 0;
    }
    ctx.out << "workspace  " << ws.path() << "\n"
            << "model      " << ed->model().id() << " (" << ed->model().weightsHash().substr(0, 12) << ")"
            << (modelDir.empty() ? "" : " from " + modelDir) << "\n"
            << "memory     K = " << ed->slots() << " slots, C = " << ed->width() << ", digest "
            << shortDigest(ed->memoryDigest()) << "\n"
            << "backend    " << describe(ed->backendSettings()) << ": " << ed->capacity().pages
            << (ed->capacity().pages == 1 ? " page" : " pages") << ", at most " << ed->capacity().maximum << " facts\n"
            << "facts      " << written << " written, " << forgotten << " forgotten\n"
            << "edits      " << last.value_or(0);
    if (snapshot) ctx.out << " (last snapshot at edit " << snapshot->editId << ")";
    ctx.out << "\n"
            << "queries    " << generations << " recorded\n"
            << "scope      " << ed->scopeDetector().name() << "\n";
    return 0;
}

} // namespace larimar::cli
