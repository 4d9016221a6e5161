#include "app/cli/cmd_editor.h"
#include "app/cli/cmd_editor_support.h"

#include "core/util/error.h"

#include <cmath>
#include <iomanip>
#include <ostream>

namespace larimar::cli {

void QueryCommand::setup(CLI::App& app) {
    app.add_option("prompt", m_prompt, "The prompt to continue")->required();
    app.add_option("--max-tokens", m_maxTokens, "Tokens to generate")->check(CLI::Range(1, 4096));
    app.add_option("--temperature", m_temperature, "0: greedy")->check(CLI::Range(0.0, 100.0));
    app.add_option("--seed", m_seed, "Sampling seed");
    app.add_option("--threshold", m_threshold, "Scope threshold (default: the workspace's, else the detector's)");
}

int QueryCommand::execute(Context& ctx) {
    // NaN compares false with every score: it would be ignored without a word.
    if (!std::isfinite(m_threshold))
        throw UserError("--threshold must be a finite number (scores run from -1 to 1), not " +
                        std::string(std::isnan(m_threshold) ? "nan" : "infinity"));
    auto ed = openEditor(ctx);
    QueryOptions o;
    o.decode.maxNewTokens = m_maxTokens;
    o.decode.temperature = m_temperature;
    o.decode.seed = m_seed;
    if (m_threshold > -1e299) o.threshold = m_threshold;
    CompareResult c;
    if (m_compare)
        c = ed->compare(m_prompt, o);
    else
        c.query = ed->query(m_prompt, o);
    const QueryResult& q = c.query;
    if (ctx.global.json) {
        nlohmann::json j = queryJson(q);
        if (m_compare) {
            nlohmann::json diff = nlohmann::json::array();
            for (const auto& s : c.diff) diff.push_back({{"op", toString(s.kind)}, {"text", s.text}});
            j["diff"] = diff;
            j["differs"] = c.differs;
        }
        ctx.out << j.dump(2) << "\n";
        return 0;
    }
    ctx.out << "prompt:          " << shown(q.prompt) << "\n"
            << "scope:           " << (q.inScope ? "in" : "out") << " (score " << std::fixed << std::setprecision(3)
            << q.scope.score << (q.inScope ? " >= " : " < ") << q.threshold << ", " << shown(q.detector) << ")\n";
    if (q.scope.nearestFactId)
        ctx.out << "nearest fact:    " << *q.scope.nearestFactId << " " << shown(q.scope.nearestText) << "\n";
    ctx.out << "with memory:     " << shown(q.withMemory.text) << "\n"
            << "without memory:  " << shown(q.withoutMemory.text) << "\n";
    if (m_compare) {
        ctx.out << "difference:      ";
        if (!c.differs) {
            ctx.out << "none\n";
        } else {
            // wdiff notation: [-only without memory-] {+only with memory+}
            for (std::size_t i = 0; i < c.diff.size(); ++i) {
                const auto& s = c.diff[i];
                if (i) ctx.out << ' ';
                if (s.kind == DiffSegment::Kind::Removed) ctx.out << "[-" << shown(s.text) << "-]";
                else if (s.kind == DiffSegment::Kind::Added) ctx.out << "{+" << shown(s.text) << "+}";
                else ctx.out << shown(s.text);
            }
            ctx.out << "\n";
        }
    }
    return 0;
}

} // namespace larimar::cli
