#include "app/cli/cmd_editor.h"
#include "app/cli/cmd_editor_support.h"

#include "core/util/error.h"

#include <algorithm>
#include <iomanip>
#include <numeric>
#include <ostream>

namespace larimar::cli {

void InspectCommand::setup(CLI::App& app) {
    app.require_subcommand(1);
    m_memory = app.add_subcommand("memory", "M (K x C): shape, digest, singular values, slot norms (JSON: the matrix)");
    m_weights = app.add_subcommand("weights", "Read weights of a prompt over the K slots");
    m_weights->add_option("prompt", m_prompt, "The prompt")->required();
    m_weights->add_option("--npy", m_npy, "Also write them to this .npy file (1 x K)");
    m_key = app.add_subcommand("key", "The write key of a fact (K values)");
    m_key->add_option("fact", m_fact, "Fact id")->required();
    m_slots = app.add_subcommand("slots", "For each slot, the written facts whose keys weigh most in it");
    m_slots->add_option("--top", m_top, "Facts per slot")->check(CLI::Range(1, 1000));
}

namespace {

/// Slots ordered by |v|, largest first: the few a person looks at.
std::vector<int> strongest(const Eigen::VectorXd& v, int n) {
    std::vector<int> idx(static_cast<std::size_t>(v.size()));
    std::iota(idx.begin(), idx.end(), 0);
    n = std::min<int>(n, static_cast<int>(idx.size()));
    std::partial_sort(idx.begin(), idx.begin() + n, idx.end(),
                      [&](int a, int b) { return std::abs(v(a)) > std::abs(v(b)); });
    idx.resize(static_cast<std::size_t>(n));
    return idx;
}

void printVector(std::ostream& out, const Eigen::VectorXd& v, const char* what) {
    out << std::fixed << std::setprecision(4);
    for (int k : strongest(v, 8)) out << "  slot " << std::setw(4) << k << "  " << std::setw(10) << v(k) << "\n";
    if (v.size() > 8) out << "  (" << v.size() - 8 << " more " << what << "; --json prints all)\n";
}

} // namespace

int InspectCommand::execute(Context& ctx) {
    auto ed = openEditor(ctx);
    nlohmann::json j;
    if (m_memory->parsed()) {
        const Eigen::MatrixXd& m = ed->memoryMatrix();
        const Eigen::VectorXd sv = ed->singularValues();
        const Eigen::VectorXd norms = m.rowwise().norm();
        if (ctx.global.json) {
            nlohmann::json rows = nlohmann::json::array();
            for (Eigen::Index i = 0; i < m.rows(); ++i) {
                const Eigen::RowVectorXd r = m.row(i);
                rows.push_back(std::vector<double>(r.data(), r.data() + r.size()));
            }
            j = {{"slots", ed->slots()},
                 {"width", ed->width()},
                 {"memory_digest", ed->memoryDigest()},
                 {"frobenius_norm", m.norm()},
                 {"singular_values", vectorJson(sv)},
                 {"slot_norms", vectorJson(norms)},
                 {"memory", rows}};
        } else {
            ctx.out << "memory M: " << ed->slots() << " x " << ed->width() << ", digest "
                    << shortDigest(ed->memoryDigest()) << ", |M|_F = " << std::setprecision(6) << m.norm() << "\n"
                    << "singular values:";
            for (Eigen::Index i = 0; i < std::min<Eigen::Index>(sv.size(), 8); ++i) ctx.out << ' ' << sv(i);
            if (sv.size() > 8) ctx.out << " ...";
            ctx.out << "\nslot norms, largest first:\n";
            printVector(ctx.out, norms, "slots");
        }
    } else if (m_weights->parsed()) {
        const Eigen::RowVectorXd w = ed->readWeights(m_prompt);
        if (!m_npy.empty()) exportNpy(m_npy, Eigen::MatrixXd(w));
        if (ctx.global.json) {
            j = {{"prompt", m_prompt}, {"weights", vectorJson(w.transpose())}};
            if (!m_npy.empty()) j["npy"] = m_npy;
        } else {
            ctx.out << "read weights of \"" << m_prompt << "\" over " << w.size() << " slots, largest first:\n";
            printVector(ctx.out, w.transpose(), "slots");
            if (!m_npy.empty()) ctx.out << "wrote them to " << m_npy << "\n";
        }
    } else if (m_key->parsed()) {
        const std::int64_t id = parseId(m_fact, "a fact id");
        const Fact f = ed->fact(id);
        const Eigen::VectorXd key = Eigen::Map<const Eigen::VectorXd>(f.writeKey.data(),
                                                                      static_cast<Eigen::Index>(f.writeKey.size()));
        if (ctx.global.json) {
            j = {{"fact_id", id}, {"text", f.text}, {"state", toString(f.state)}, {"key", vectorJson(key)}};
        } else {
            ctx.out << "write key of fact " << id << " (" << toString(f.state) << "): " << f.text << "\n";
            printVector(ctx.out, key, "slots");
        }
    } else if (m_slots->parsed()) {
        const auto slots = ed->slotFacts(m_top);
        std::map<std::int64_t, std::string> texts;
        for (const auto& s : slots)
            for (const auto& [id, w] : s.facts)
                if (!texts.count(id)) texts[id] = ed->fact(id).text;
        if (ctx.global.json) {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& s : slots) {
                nlohmann::json facts = nlohmann::json::array();
                for (const auto& [id, w] : s.facts) facts.push_back({{"id", id}, {"weight", w}, {"text", texts[id]}});
                list.push_back({{"slot", s.slot}, {"facts", facts}});
            }
            j = {{"top", m_top}, {"slots", list}};
        } else {
            ctx.out << std::fixed << std::setprecision(4);
            for (const auto& s : slots) {
                ctx.out << "slot " << s.slot << ":";
                if (s.facts.empty()) ctx.out << " (no facts)";
                ctx.out << "\n";
                for (const auto& [id, w] : s.facts)
                    ctx.out << "  " << std::setw(10) << w << "  fact " << id << "  " << texts[id] << "\n";
            }
        }
    } else {
        throw UserError("inspect: say what, e.g. 'larimar inspect memory'");
    }
    if (ctx.global.json) ctx.out << j.dump(2) << "\n";
    return 0;
}

} // namespace larimar::cli
