#include "app/cli/cmd_editor.h"
#include "app/cli/cmd_editor_support.h"

#include <algorithm>
#include <iomanip>
#include <ostream>

namespace larimar::cli {

void HistoryCommand::setup(CLI::App& app) {
    app.add_option("--limit", m_limit, "Only the last N edits")->check(CLI::NonNegativeNumber);
    app.add_option("--op", m_op, "Only edits of this kind")
        ->check(CLI::IsMember({"write", "forget", "batch", "rollback", "setting"}));
}

int HistoryCommand::execute(Context& ctx) {
    auto ws = openWorkspace(ctx, true);
    EditFilter f;
    if (!m_op.empty()) f.op = editOpFromString(m_op);
    f.limit = m_limit;
    f.newestFirst = true; // the last N ...
    auto edits = ws->edits(f);
    std::reverse(edits.begin(), edits.end()); // ... shown oldest first
    if (ctx.global.json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& e : edits) list.push_back(editJson(e));
        ctx.out << nlohmann::json{{"edits", list}, {"count", edits.size()}}.dump(2) << "\n";
        return 0;
    }
    if (edits.empty()) {
        ctx.out << "no edits\n";
        return 0;
    }
    const auto trusted = ws->trustedKeys();
    const auto signerOf = [&](const Edit& e) -> std::string {
        if (e.signer.empty()) return "[unsigned]";
        for (const auto& t : trusted)
            if (t.key.hex == e.signer) return "signed by " + shown(t.name);
        return "[untrusted signer " + e.signer.substr(0, 16) + "]";
    };
    for (const auto& e : edits) {
        ctx.out << std::setw(5) << e.id << "  " << e.timestamp << "  " << std::left << std::setw(8) << toString(e.op)
                << std::right << "  " << shown(e.actor) << "  " << e.factIds.size() << " fact(s)";
        if (e.op == EditOp::Rollback && e.payload.contains("target_edit"))
            ctx.out << " -> state after edit " << shown(e.payload["target_edit"].dump());
        if (e.op == EditOp::Setting && e.payload.is_object())
            ctx.out << "  " << shown(e.payload.value("setting", std::string())) << " = "
                    << shown(e.payload.value("value", std::string()));
        if (e.op == EditOp::Trust && e.payload.is_object())
            ctx.out << "  " << shown(e.payload.value("name", std::string())) << " = "
                    << shown(e.payload.value("public_key", std::string()).substr(0, 16));
        if (!e.reason.empty()) ctx.out << "  \"" << shown(e.reason) << "\"";
        ctx.out << "  " << signerOf(e) << "\n";
    }
    return 0;
}

} // namespace larimar::cli
