#include "app/cli/cmd_editor.h"
#include "app/cli/cmd_editor_support.h"
#include "app/cli/cmd_bundle.h"

#include "core/editor/edit_bundle.h"
#include "core/util/error.h"
#include "core/util/file_io.h"
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
    m_bundle = app.add_subcommand("bundle", "Facts with their edits, provenance and signatures in one JSON file, "
                                            "for 'larimar import bundle' in another workspace");
    m_bundle->add_option("file", m_file, "Output bundle file (.json)")->required();
    auto* edits = m_bundle->add_option("--edits", m_edits, "The facts these edits wrote, e.g. 3,5-7");
    m_bundle->add_option("--facts", m_facts, "These facts, e.g. 1,4-9 (default: every written fact)")->excludes(edits);
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
        auto ed = openEditor(ctx, {}, true);
        ed->exportMemoryNpy(m_file);
        j = {{"exported", "memory"},
             {"file", m_file},
             {"shape", {ed->slots(), ed->width()}},
             {"memory_digest", ed->memoryDigest()}};
        if (!ctx.global.json)
            ctx.out << "wrote the memory (" << ed->slots() << " x " << ed->width() << ", float64) to " << m_file << "\n";
    } else if (m_bundle->parsed()) {
        BundleSelection selection;
        if (!m_edits.empty()) selection.edits = parseIdList(m_edits, "--edits");
        if (!m_facts.empty()) selection.facts = parseIdList(m_facts, "--facts");
        const auto key = signingKey(ctx); // the exporter signs the whole bundle when it has a key
        auto ws = openWorkspace(ctx, true);
        BundleExportOptions o;
        o.actor = defaultActor();
        o.signingKey = key.get();
        const auto b = makeEditBundle(*ws, selection, o);
        writeFileAtomically(m_file, b.json);
        j = {{"exported", "bundle"},
             {"file", m_file},
             {"facts", b.facts},
             {"edits", b.edits},
             {"source_head", b.sourceHead.toString()},
             {"signed_by", key ? key->publicKey().hex : ""}};
        if (!ctx.global.json) {
            ctx.out << "wrote a bundle of " << b.facts << " fact(s) from " << b.edits << " edit(s) to " << m_file
                    << (key ? " (signed by key '" + key->name() + "')" : std::string(" (unsigned: no key)")) << "\n";
            printChainHead(ctx.out, b.sourceHead.editId, b.sourceHead.hash);
        }
    } else {
        throw UserError("export: say what, e.g. 'larimar export history FILE' or 'larimar export bundle FILE'");
    }
    if (ctx.global.json) ctx.out << j.dump(2) << "\n";
    return 0;
}

} // namespace larimar::cli
