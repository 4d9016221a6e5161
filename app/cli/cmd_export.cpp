#include "app/cli/cmd_editor.h"
#include "app/cli/cmd_editor_support.h"

#include "core/util/error.h"
#include "core/util/output_target.h"

#include <ostream>

namespace larimar::cli {

void ExportCommand::setup(CLI::App& app) {
    app.require_subcommand(1);
    m_history = app.add_subcommand("history", "The audited edit history as CSV or JSON");
    m_history->add_option("file", m_file, "Output file")->required();
    m_history->add_option("--format", m_format, "csv or json (default: from the file name, else csv)")
        ->check(CLI::IsMember({"csv", "json"}));
    m_memory = app.add_subcommand("memory", "The memory matrix M (K x C) as float64 .npy");
    m_memory->add_option("file", m_file, "Output .npy file")->required();
}

int ExportCommand::execute(Context& ctx) {
    nlohmann::json j;
    // Before anything is opened or loaded: the target must not be the workspace or a device.
    checkOutputTarget(m_file, workspacePath(ctx.global));
    if (m_history->parsed()) {
        std::string format = m_format;
        if (format.empty()) format = m_file.size() >= 5 && m_file.substr(m_file.size() - 5) == ".json" ? "json" : "csv";
        auto ws = openWorkspace(ctx, true);
        exportHistoryFile(*ws, m_file, format);
        j = {{"exported", "history"}, {"file", m_file}, {"format", format}, {"edits", ws->lastEditId().value_or(0)}};
        if (!ctx.global.json)
            ctx.out << "wrote the history (" << ws->lastEditId().value_or(0) << " edits) to " << m_file << " as "
                    << format << "\n";
    } else if (m_memory->parsed()) {
        auto ed = openEditor(ctx);
        ed->exportMemoryNpy(m_file);
        j = {{"exported", "memory"},
             {"file", m_file},
             {"shape", {ed->slots(), ed->width()}},
             {"memory_digest", ed->memoryDigest()}};
        if (!ctx.global.json)
            ctx.out << "wrote the memory (" << ed->slots() << " x " << ed->width() << ", float64) to " << m_file << "\n";
    } else {
        throw UserError("export: say what, e.g. 'larimar export history FILE'");
    }
    if (ctx.global.json) ctx.out << j.dump(2) << "\n";
    return 0;
}

} // namespace larimar::cli
