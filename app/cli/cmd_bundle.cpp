#include "app/cli/cmd_bundle.h"
#include "app/cli/cmd_editor_support.h"

#include "core/editor/edit_bundle.h"
#include "core/util/error.h"

#include <ostream>
#include <set>

namespace larimar::cli {

std::vector<std::int64_t> parseIdList(const std::string& text, const char* what) {
    std::vector<std::int64_t> ids;
    std::set<std::int64_t> seen;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto comma = text.find(',', start);
        const std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const auto dash = part.find('-');
        const std::int64_t first = parseId(part.substr(0, dash), what);
        const std::int64_t last = dash == std::string::npos ? first : parseId(part.substr(dash + 1), what);
        if (last < first || last - first > 10'000'000)
            throw UserError(std::string(what) + ": '" + part + "' is not a range of ids (FIRST-LAST)");
        for (auto id = first; id <= last; ++id)
            if (seen.insert(id).second) ids.push_back(id);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return ids;
}

void ImportCommand::setup(CLI::App& app) {
    app.require_subcommand(1);
    m_bundle = app.add_subcommand("bundle", "Verify an edit bundle and write its facts here as one audited edit");
    m_bundle->add_option("file", m_file, "The bundle ('larimar export bundle')")->required()->check(CLI::ExistingFile);
    m_bundle->add_option("--reason", m_reason, "Why (kept in the audited history, before the bundle's description)");
    m_bundle->add_option("--actor", m_actor, "Who (default: $USER)");
    m_bundle->add_flag("--allow-duplicate", m_allowDuplicate, "Write facts whose text is already written here");
    m_bundle->add_flag("--require-trusted", m_requireTrusted,
                       "Refuse unless every edit in the bundle is signed by a key this workspace trusts");
}

int ImportCommand::execute(Context& ctx) {
    if (!m_bundle->parsed()) throw UserError("import: say what, e.g. 'larimar import bundle FILE'");
    // Verified before the model is loaded or the workspace opened: a tampered bundle touches nothing.
    const VerifiedBundle b = readEditBundleFile(m_file);
    auto ed = openEditor(ctx, m_actor);
    BundleApplyOptions o;
    o.reason = m_reason;
    o.allowDuplicates = m_allowDuplicate;
    o.requireTrusted = m_requireTrusted;
    auto bar = ctx.progress("import");
    o.progress = [&](std::int64_t done, std::int64_t total) {
        if (bar && total > 0) bar(static_cast<double>(done) / static_cast<double>(total));
    };
    const auto r = applyEditBundle(*ed, b, o);
    ctx.endProgress();
    if (ctx.global.json) {
        auto j = editResultJson(r.edit);
        j["bundle"] = {{"file", m_file},
                       {"sha256", b.sha256},
                       {"source_workspace", b.sourceWorkspace},
                       {"source_head", b.sourceHead.toString()},
                       {"signed_edits", b.signedEdits},
                       {"unsigned_edits", b.unsignedEdits},
                       {"trusted_edits", r.trustedEdits},
                       {"signed_by", b.exporterKey},
                       {"re_encoded", r.reEncoded}};
        j["reason"] = r.reason;
        ctx.out << j.dump(2) << "\n";
        return 0;
    }
    ctx.out << "verified bundle " << m_file << " (sha256 " << b.sha256 << "): " << b.facts.size()
            << " fact(s) from " << shown(b.sourceWorkspace) << ", " << b.signedEdits << " signed edit(s), "
            << b.unsignedEdits << " unsigned, " << r.trustedEdits << " by keys this workspace trusts\n";
    if (r.reEncoded)
        ctx.out << "the bundle was made with model " << shown(b.sourceModelId)
                << "; its facts were encoded anew with this workspace's model (they are text)\n";
    ctx.out << "wrote " << r.edit.factIds.size() << " fact(s) as one edit\n";
    printEditResult(ctx.out, r.edit);
    return 0;
}

} // namespace larimar::cli
