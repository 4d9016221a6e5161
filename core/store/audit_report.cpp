#include "core/store/audit_report.h"

#include "core/store/workspace.h"
#include "core/util/error.h"
#include "core/util/terminal_text.h"

#include <chrono>
#include <map>
#include <sstream>

namespace larimar {

std::string htmlEscape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

namespace {

/// Workspace text for the page: visible controls (as the CLI prints it), then escaped.
std::string text(const std::string& stored) { return htmlEscape(escapeForTerminal(stored)); }

const char* kStyle =
    "body{font-family:sans-serif;font-size:10pt;margin:1.5em;color:#111}"
    "h1{font-size:16pt}h2{font-size:13pt;margin-top:1.2em}"
    "table{border-collapse:collapse;margin:0.4em 0}"
    "td,th{border:1px solid #999;padding:3px 5px;vertical-align:top;text-align:left}"
    "th{background:#e8e8e8}"
    ".mono{font-family:monospace;font-size:8pt}"
    ".ok{color:#0a5d00;font-weight:bold}.fail{color:#b00000;font-weight:bold}"
    ".trusted{color:#0a5d00}.untrusted{color:#b06000}.unsigned{color:#666}.unverified{color:#b00000}"
    ".added{color:#0a5d00}.removed{color:#b00000}";

struct FactInfo {
    std::string text, source;
    FactState state = FactState::Written;
    std::optional<std::int64_t> createdEdit;
};

std::string factLine(std::int64_t id, const std::map<std::int64_t, FactInfo>& facts) {
    const auto it = facts.find(id);
    std::string line = "fact " + std::to_string(id);
    if (it == facts.end()) return line + " <i>(not in the workspace)</i>";
    return line + ": &ldquo;" + text(it->second.text) + "&rdquo;";
}

void factList(std::ostringstream& h, const char* cls, const char* label, const std::vector<std::int64_t>& ids,
              const std::map<std::int64_t, FactInfo>& facts, std::int64_t max) {
    if (ids.empty()) return;
    h << "<div class=\"" << cls << "\"><b>" << label << " (" << ids.size() << "):</b><br>";
    std::size_t shown = 0;
    for (const auto id : ids) {
        if (max > 0 && shown == static_cast<std::size_t>(max)) break;
        h << factLine(id, facts) << "<br>";
        ++shown;
    }
    if (shown < ids.size()) h << "<i>and " << ids.size() - shown << " more (larimar facts lists them)</i><br>";
    h << "</div>";
}

std::string jsonText(const nlohmann::json& j) {
    if (j.is_null()) return "(none)";
    if (j.is_string()) return j.get<std::string>();
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

AuditReportDocument makeAuditReport(Workspace& ws, const AuditReportOptions& options,
                                    const std::function<void(std::int64_t, std::int64_t)>& progress,
                                    const std::atomic<bool>* cancel) {
    AuditReportDocument doc;
    doc.verification = ws.verifyChain(progress, cancel);
    if (doc.verification.cancelled) throw UserError("audit report cancelled; nothing was written");
    const AuditReport& r = doc.verification;

    std::vector<Edit> edits;
    std::string readProblem;
    std::map<std::int64_t, FactInfo> facts;
    std::map<std::string, std::string> trustedNames; // public key hex -> name
    try {
        edits = ws.edits();
        for (const auto& f : ws.facts()) facts[f.id] = {f.text, f.source, f.state, f.createdEdit};
        for (const auto& t : ws.trustedKeys()) trustedNames[t.key.hex] = t.name;
    } catch (const std::exception& e) {
        readProblem = e.what(); // a tampered row may not even parse: say so, show what was read
    }
    doc.edits = static_cast<std::int64_t>(edits.size());
    const std::string generatedAt =
        options.generatedAt.empty() ? formatTimestamp(std::chrono::system_clock::now()) : options.generatedAt;

    std::ostringstream h;
    h << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
      << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
      << "<title>Audit report: " << text(ws.path()) << "</title>\n<style>" << kStyle << "</style></head>\n<body>\n"
      << "<h1>Larimar audit report</h1>\n<table>\n";
    const auto row = [&](const char* name, const std::string& valueHtml) {
        h << "<tr><th>" << name << "</th><td>" << valueHtml << "</td></tr>\n";
    };
    row("Workspace", text(ws.path()));
    row("Created", text(ws.meta("created_at").value_or("(unknown)")));
    const int schema = ws.openedSchemaVersion(); // 0: made by this open, at the current version
    row("Schema version", std::to_string(schema == 0 ? Workspace::kSchemaVersion : schema));
    row("Model id", text(ws.meta("model.id").value_or("(none yet)")));
    row("Model hash", "<span class=\"mono\">" + text(ws.meta("model.hash").value_or("(none yet)")) + "</span>");
    row("Report made", text(generatedAt) + (options.generatedBy.empty() ? "" : " by " + text(options.generatedBy)) +
                           " with " + text(options.generator));
    h << "</table>\n";

    h << "<h2>Verification</h2>\n<p class=\"" << (r.ok ? "ok\">PASSED" : "fail\">FAILED") << "</p>\n<p>"
      << text(r.message()) << "</p>\n";
    if (r.ok && r.head) {
        h << "<p>Head (verified when this report was made): <span class=\"mono\">" << text(r.head->toString())
          << "</span><br>Record it elsewhere; <span class=\"mono\">larimar audit verify --expect-head "
          << text(r.head->toString()) << "</span> later proves that edits 1 to " << r.head->editId
          << " are the ones listed here.</p>\n";
    } else {
        h << "<p>There is no trustworthy head: the history was changed after it was written. The stored head is "
          << "<span class=\"mono\">" << text(ws.chainHead().toString()) << "</span>. The edits below are shown as "
          << "stored; those from the first one that does not match on are marked <span class=\"unverified\">not "
             "verified</span>.</p>\n";
    }
    h << "<p>" << text(r.signatureSummary()) << ". A badge names the key that signed each edit: "
      << "<span class=\"trusted\">trusted</span> (a key this workspace trusts, by the name it trusts it as), "
      << "<span class=\"untrusted\">untrusted</span>, or <span class=\"unsigned\">unsigned</span>.</p>\n";
    if (!readProblem.empty())
        h << "<p class=\"fail\">The history could not be read completely: " << text(readProblem) << "</p>\n";

    if (!trustedNames.empty()) {
        h << "<h2>Trusted keys (" << trustedNames.size() << ")</h2>\n<table><tr><th>Name</th><th>Public key</th></tr>\n";
        for (const auto& [hex, name] : trustedNames)
            h << "<tr><td>" << text(name) << "</td><td class=\"mono\">" << text(hex) << "</td></tr>\n";
        h << "</table>\n";
    }

    h << "<h2>Edits (" << edits.size() << ")</h2>\n<table>\n<tr><th>Edit</th><th>Time (UTC)</th><th>Op</th>"
      << "<th>Actor</th><th>Signer</th><th>Reason</th><th>Changes</th><th>Hash</th></tr>\n";
    std::map<std::int64_t, FactState> states; // replayed: each fact's state before the edit
    // Edits from the first one that does not match on are shown as stored, not as verified.
    const std::int64_t firstBad = r.ok ? -1 : r.editId.value_or(0);
    for (const auto& e : edits) {
        std::vector<std::int64_t> added, removed;
        for (std::size_t i = 0; i < e.factIds.size() && i < e.factStates.size(); ++i) {
            const auto id = e.factIds[i];
            const auto it = states.find(id);
            const bool wasWritten = it != states.end() && it->second == FactState::Written;
            if (e.factStates[i] == FactState::Written && !wasWritten) added.push_back(id);
            if (e.factStates[i] == FactState::Forgotten && wasWritten) removed.push_back(id);
            states[id] = e.factStates[i];
        }
        std::string signer;
        if (e.signer.empty()) {
            signer = "<span class=\"unsigned\">unsigned</span>";
        } else if (const auto t = trustedNames.find(e.signer); t != trustedNames.end()) {
            signer = "<span class=\"trusted\">trusted</span>: " + text(t->second) + "<br><span class=\"mono\">" +
                     text(e.signer.substr(0, 16)) + "</span>";
        } else {
            signer = "<span class=\"untrusted\">untrusted</span><br><span class=\"mono\">" +
                     text(e.signer.substr(0, 16)) + "</span>";
        }
        if (firstBad >= 0 && e.id >= firstBad) signer += "<br><span class=\"unverified\">not verified</span>";
        h << "<tr><td>" << e.id << "</td><td>" << text(e.timestamp) << "</td><td>" << toString(e.op) << "</td><td>"
          << text(e.actor) << "</td><td>" << signer << "</td><td>" << text(e.reason) << "</td><td>";
        if (e.op == EditOp::Setting) {
            h << "setting <b>" << text(jsonText(e.payload.value("setting", nlohmann::json()))) << "</b>: "
              << text(jsonText(e.payload.value("previous", nlohmann::json()))) << " &rarr; "
              << text(jsonText(e.payload.value("value", nlohmann::json())));
        } else if (e.op == EditOp::Trust) {
            h << "trusts the key <span class=\"mono\">"
              << text(jsonText(e.payload.value("public_key", nlohmann::json()))) << "</span> as "
              << text(jsonText(e.payload.value("name", nlohmann::json())));
        } else {
            if (e.op == EditOp::Rollback && e.payload.contains("target_edit"))
                h << "back to the state after edit " << text(jsonText(e.payload["target_edit"])) << "<br>";
            factList(h, "added", "added", added, facts, options.maxFactsPerEdit);
            factList(h, "removed", "removed", removed, facts, options.maxFactsPerEdit);
            if (added.empty() && removed.empty()) h << "no fact changed";
        }
        h << "</td><td class=\"mono\">" << text(e.hash.substr(0, 16)) << "</td></tr>\n";
    }
    h << "</table>\n";

    std::vector<std::int64_t> written, forgotten;
    for (const auto& [id, f] : facts) (f.state == FactState::Written ? written : forgotten).push_back(id);
    h << "<h2>Facts at the head</h2>\n<p>" << written.size() << " written, " << forgotten.size()
      << " forgotten.</p>\n";
    if (!written.empty()) {
        h << "<table><tr><th>Fact</th><th>Text</th><th>Source</th><th>Written by edit</th></tr>\n";
        std::size_t shown = 0;
        for (const auto id : written) {
            if (options.maxFactsPerEdit > 0 && shown == static_cast<std::size_t>(options.maxFactsPerEdit)) break;
            const auto& f = facts.at(id);
            h << "<tr><td>" << id << "</td><td>" << text(f.text) << "</td><td>" << text(f.source) << "</td><td>"
              << (f.createdEdit ? std::to_string(*f.createdEdit) : std::string("-")) << "</td></tr>\n";
            ++shown;
        }
        h << "</table>\n";
        if (shown < written.size()) h << "<p><i>and " << written.size() - shown << " more written facts</i></p>\n";
    }
    h << "</body></html>\n";
    doc.html = h.str();
    return doc;
}

} // namespace larimar
