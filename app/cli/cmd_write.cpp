#include "app/cli/cmd_editor.h"
#include "app/cli/cmd_editor_support.h"

#include "core/eval/datasets.h"
#include "core/util/error.h"

#include <filesystem>
#include <ostream>

namespace larimar::cli {

namespace {
constexpr std::uintmax_t kMaxFactFileBytes = 1ull << 30; // 1 GiB: millions of facts
} // namespace

void WriteCommand::setup(CLI::App& app) {
    app.add_option("text", m_text, "The fact to write (or use --file)");
    app.add_option("--file", m_file, "Write every fact of this file as one batch")->check(CLI::ExistingFile);
    app.add_option("--format", m_format, "File format (default: detected)")
        ->check(CLI::IsMember({"auto", "text", "csv", "jsonl", "counterfact", "easyedit", "zsre"}));
    app.add_option("--reason", m_reason, "Why (kept in the audited history)");
    app.add_option("--actor", m_actor, "Who (default: $USER)");
    app.add_option("--subject", m_subject, "The fact's subject (single fact)");
    app.add_option("--prompt", m_prompt, "The text before the answer (single fact)");
    app.add_option("--target", m_target, "The answer (single fact)");
    app.add_flag("--replace", m_replace,
                 "Forget the written facts this one repeats or contradicts and write it, as one edit");
    app.add_flag("--allow-duplicate", m_allowDuplicate,
                 "Write it even when it repeats or contradicts a written fact (both stay written)");
}

int WriteCommand::execute(Context& ctx) {
    if (m_text.empty() == m_file.empty())
        throw UserError(m_file.empty() ? "write needs a fact TEXT or --file FILE"
                                       : "write takes a fact TEXT or --file FILE, not both");
    if (m_replace && m_allowDuplicate) throw UserError("--replace and --allow-duplicate exclude each other");
    EditResult r;
    std::size_t count = 1;
    std::vector<FactConflict> conflicts;
    if (!m_file.empty()) {
        if (!m_subject.empty() || !m_prompt.empty() || !m_target.empty())
            throw UserError("--subject, --prompt and --target are for a single fact; a file brings its own");
        if (m_replace || m_allowDuplicate) throw UserError("--replace and --allow-duplicate are for a single fact");
        // A device or FIFO (write --file /dev/zero) would be read until memory runs out.
        std::error_code ec;
        if (!std::filesystem::is_regular_file(m_file, ec))
            throw UserError(m_file + " is not a regular file (a device, FIFO or directory); --file reads a file of facts");
        if (const auto size = std::filesystem::file_size(m_file, ec); !ec && size > kMaxFactFileBytes)
            throw UserError(m_file + " is " + std::to_string(size) + " bytes; one batch reads at most " +
                            std::to_string(kMaxFactFileBytes) + " bytes (split the file)");
        // The whole file is validated before the workspace is even opened: a bad file writes nothing.
        const auto records = loadFacts(m_file, formatFromName(m_format));
        count = records.size();
        auto ed = openEditor(ctx, m_actor);
        auto bar = ctx.progress("write");
        r = ed->writeBatch(records, m_reason, [&](std::int64_t done, std::int64_t total) {
            if (bar) bar(static_cast<double>(done) / static_cast<double>(total));
        });
        ctx.endProgress();
    } else {
        auto ed = openEditor(ctx, m_actor);
        FactMeta meta;
        meta.subject = m_subject;
        meta.prompt = m_prompt;
        meta.target = m_target;
        meta.source = "cli";
        // A correction written beside the fact it corrects leaves the old answer standing: say so.
        conflicts = ed->conflicts(m_text, meta);
        std::string list;
        std::vector<std::int64_t> ids;
        for (const auto& c : conflicts) {
            list += (list.empty() ? "" : "; ") + describe(c);
            ids.push_back(c.fact.id);
        }
        if (m_replace) {
            if (conflicts.empty())
                throw UserError("--replace: this fact repeats or contradicts no written fact; nothing was written");
            std::string reason = m_reason;
            if (reason.empty()) {
                reason = "replaces fact";
                for (std::size_t i = 0; i < ids.size(); ++i) reason += (i ? ", " : " ") + std::to_string(ids[i]);
            }
            r = ed->replace(ids, m_text, meta, reason);
        } else if (!conflicts.empty() && !m_allowDuplicate) {
            throw UserError(shown("this fact conflicts with " + list) +
                            "; nothing was written. --replace forgets " + (ids.size() == 1 ? "it" : "them") +
                            " and writes this one as one edit; --allow-duplicate writes both");
        } else {
            if (!conflicts.empty()) ctx.err << "warning: written beside " << shown(list) << "\n";
            r = ed->write(m_text, meta, m_reason);
        }
    }
    if (ctx.global.json) {
        auto j = editResultJson(r);
        j["count"] = count;
        if (!m_file.empty()) j["file"] = m_file;
        if (!r.forgotten.empty()) j["replaced"] = r.forgotten;
        nlohmann::json cs = nlohmann::json::array();
        for (const auto& c : conflicts)
            cs.push_back({{"kind", toString(c.kind)}, {"fact_id", c.fact.id}, {"text", c.fact.text}, {"score", c.score}});
        if (!conflicts.empty()) j["conflicts"] = cs;
        ctx.out << j.dump(2) << "\n";
        return 0;
    }
    if (!m_file.empty())
        ctx.out << "wrote " << count << " fact(s) from " << m_file << "\n";
    else {
        ctx.out << "wrote fact " << r.factIds.front();
        for (std::size_t i = 0; i < r.forgotten.size(); ++i)
            ctx.out << (i ? ", " : ", replacing (forgetting) fact ") << r.forgotten[i];
        ctx.out << "\n";
    }
    printEditResult(ctx.out, r);
    return 0;
}

} // namespace larimar::cli
