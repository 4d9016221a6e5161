#include "app/cli/cmd_eval.h"

#include "core/eval/counterfact_eval.h"
#include "core/eval/datasets.h"
#include "core/model/text_model.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iomanip>
#include <ostream>

namespace larimar::cli {

void EvalCommand::setup(CLI::App& app) {
    app.require_subcommand(1);
    m_counterfact = app.add_subcommand("counterfact", "Single-edit protocol: edit, paraphrase, neighbourhood, generation");
    m_counterfact->add_option("file", m_file, "CounterFact (ROME or EasyEdit schema) or zsRE file")
        ->required()
        ->check(CLI::ExistingFile);
    m_counterfact->add_option("--limit", m_limit, "Evaluate only the first N cases")->check(CLI::NonNegativeNumber);
    m_counterfact->add_option("--csv", m_csv, "Write one row per case to this CSV file");
    m_counterfact->add_flag("--no-generation", m_noGeneration, "Skip the greedy-generation accuracy");
}

int EvalCommand::execute(Context& ctx) {
    const auto cases = loadEditCases(m_file);
    const std::string modelDir = resolveModelDir(ctx.global);
    auto model = loadTextModel(modelDir, ctx.global.device);
    CounterFactEvalOptions o;
    o.limit = m_limit;
    o.generation = !m_noGeneration;
    auto bar = ctx.progress("eval counterfact");
    const CounterFactSummary s =
        evaluateCounterFact(*model, cases, o, [&](int done, int total) { if (bar) bar(double(done) / total); });
    ctx.endProgress();

    if (!m_csv.empty()) {
        std::ofstream csv(m_csv, std::ios::trunc);
        if (!csv) throw UserError("cannot write " + m_csv);
        csv << "case_id,edit_success,edit_magnitude,paraphrase_success,paraphrase_magnitude,neighbourhood_success,"
               "neighbourhood_magnitude,generation_correct,generated\n";
        for (const auto& r : s.perCase) {
            std::string g = r.generated;
            std::string quoted = "\"";
            for (char ch : g) quoted += (ch == '"') ? std::string("\"\"") : std::string(1, ch);
            quoted += "\"";
            csv << r.caseId << ',' << r.editSuccess << ',' << r.editMagnitude << ',' << r.paraphraseSuccess << ','
                << r.paraphraseMagnitude << ',' << r.neighbourhoodSuccess << ',' << r.neighbourhoodMagnitude << ','
                << r.generationCorrect << ',' << quoted << '\n';
        }
    }
    if (ctx.global.json) {
        ctx.out << nlohmann::json{{"file", m_file},
                                  {"model", model->id()},
                                  {"cases", s.cases},
                                  {"edit_success", s.editSuccess},
                                  {"edit_magnitude", s.editMagnitude},
                                  {"paraphrase_success", s.paraphraseSuccess},
                                  {"paraphrase_magnitude", s.paraphraseMagnitude},
                                  {"neighbourhood_success", s.neighbourhoodSuccess},
                                  {"neighbourhood_magnitude", s.neighbourhoodMagnitude},
                                  {"generation_accuracy", o.generation ? nlohmann::json(s.generationAccuracy) : nlohmann::json()},
                                  {"seconds_per_case", s.secondsPerCase}}
                       .dump(2)
                << "\n";
        return 0;
    }
    auto pct = [](double v) {
        std::ostringstream o;
        o << std::fixed << std::setprecision(1) << 100.0 * v << "%";
        return o.str();
    };
    ctx.out << "CounterFact single-edit evaluation of " << model->id() << " on " << s.cases << " cases of " << m_file
            << "\n"
            << "  edit success           " << pct(s.editSuccess) << "   (paper, Larimar-1.3B: 100%)\n"
            << "  paraphrase success     " << pct(s.paraphraseSuccess) << "   (41.7%)\n"
            << "  neighbourhood success  " << pct(s.neighbourhoodSuccess) << "   (74.7%)\n";
    if (o.generation) ctx.out << "  generation accuracy    " << pct(s.generationAccuracy) << "\n";
    ctx.out << "  " << std::fixed << std::setprecision(3) << s.secondsPerCase << " s per case\n";
    return 0;
}

} // namespace larimar::cli
