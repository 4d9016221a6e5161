#include "app/cli/cmd_editor.h"
#include "app/cli/cmd_editor_support.h"

#include <iomanip>
#include <ostream>

namespace larimar::cli {

void FactsCommand::setup(CLI::App& app) {
    app.add_option("--state", m_state, "Only facts in this state")->check(CLI::IsMember({"written", "forgotten"}));
    app.add_option("--search", m_search, "Only facts whose text contains this (case-sensitive)");
    app.add_option("--limit", m_limit, "At most this many")->check(CLI::NonNegativeNumber);
}

int FactsCommand::execute(Context& ctx) {
    auto ws = openWorkspace(ctx, true);
    FactFilter f;
    if (!m_state.empty()) f.state = factStateFromString(m_state);
    f.textContains = m_search;
    f.limit = m_limit;
    const auto facts = ws->facts(f);
    if (ctx.global.json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& fact : facts) list.push_back(factJson(fact));
        ctx.out << nlohmann::json{{"facts", list}, {"count", facts.size()}}.dump(2) << "\n";
        return 0;
    }
    if (facts.empty()) {
        ctx.out << "no facts\n";
        return 0;
    }
    for (const auto& fact : facts)
        ctx.out << std::setw(6) << fact.id << "  " << std::left << std::setw(9) << toString(fact.state) << std::right
                << "  " << shown(fact.text) << "\n";
    ctx.out << facts.size() << " fact(s)\n";
    return 0;
}

} // namespace larimar::cli
