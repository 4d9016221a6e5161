#include "app/cli/cmd_eval_experiment.h"

#include "core/model/tokenizer.h"
#include "core/util/csv.h"
#include "core/util/error.h"

#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace larimar::cli {

std::vector<std::unique_ptr<EvalExperiment>> makeEvalEditExperiments(); // cmd_eval_edits.cpp
std::unique_ptr<EvalExperiment> makeEvalForgetExperiment();             // cmd_eval_forget.cpp
std::unique_ptr<EvalExperiment> makeEvalLatentsExperiment();            // cmd_eval_latents.cpp
std::unique_ptr<EvalExperiment> makeEvalMquakeExperiment();             // cmd_eval_mquake.cpp
std::unique_ptr<EvalExperiment> makeEvalLongContextExperiment();        // cmd_eval_longcontext.cpp

std::vector<std::unique_ptr<EvalExperiment>> makeEvalExperiments() {
    auto all = makeEvalEditExperiments();
    all.push_back(makeEvalForgetExperiment());
    all.push_back(makeEvalLatentsExperiment());
    all.push_back(makeEvalMquakeExperiment());
    all.push_back(makeEvalLongContextExperiment());
    return all;
}

namespace evalsupport {

void addCommonOptions(CLI::App& sub, CommonOptions& o) {
    sub.add_option("--limit", o.limit, "Use only the first N cases (after --shuffle)")->check(CLI::NonNegativeNumber);
    sub.add_option("--seed", o.seed, "Seed of every random choice (--shuffle; eval forget: which facts are forgotten)")->capture_default_str();
    sub.add_flag("--shuffle", o.shuffle, "Shuffle the cases with --seed before taking --limit");
    sub.add_option("--csv", o.csv, "Write one row per case to this CSV file");
    sub.add_option("--plot", o.plot, "Draw the experiment's figure to this .png or .svg file");
    sub.add_option("--json-out", o.jsonOut, "Also save the JSON results to this file");
    sub.add_flag("--no-generation", o.noGeneration, "Skip greedy generation (generation accuracy, locality)");
    sub.add_flag("--skip-invalid", o.skipInvalid, "Leave out invalid records (counted and reported) instead of refusing the file");
    sub.add_option("--lambda", o.lambda, "Memory regulariser, relative (see EpisodicMemory)")->check(CLI::PositiveNumber);
}

std::vector<EditCase> loadCases(const Context& context, const CommonOptions& o, DatasetFormat format, nlohmann::json& doc) {
    std::vector<std::string> skipped;
    auto cases = loadEditCases(o.file, format, o.skipInvalid ? &skipped : nullptr);
    if (o.skipInvalid) {
        nlohmann::json first = nlohmann::json::array();
        for (std::size_t i = 0; i < skipped.size() && i < 10; ++i) first.push_back(skipped[i]);
        doc["skipped_records"] = {{"count", skipped.size()}, {"first", first}};
        if (!skipped.empty())
            context.err << "larimar eval: skipped " << skipped.size() << " invalid record(s); first: " << skipped.front() << "\n";
    }
    if (cases.empty()) throw UserError(o.file + ": no valid records");
    return cases;
}

TokenSplitter modelSplitter(const std::shared_ptr<TextModel>& model, std::string& unit) {
    unit = "word";
    if (model->tokenTexts("a").empty()) return {};
    unit = "bpe";
    return [model](const std::string& text) { return model->tokenTexts(text); };
}

EvalProgress progressBar(const Context& context, const std::string& label) {
    auto bar = context.progress(label);
    if (!bar) return {};
    return [bar](int done, int total) { bar(total > 0 ? double(done) / total : 1.0); };
}

namespace {

/// "1,4,16" -> {"1", "4", "16"}, each parsed by parse (false: not a valid item).
template <class T, class Parse>
std::vector<T> parseList(const std::string& text, const std::string& option, const std::string& expected, Parse parse) {
    std::vector<T> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        T v{};
        bool ok = false;
        try {
            ok = parse(item, v);
        } catch (const std::exception&) {
            ok = false;
        }
        if (!ok) throw UserError(option + ": '" + item + "' is not " + expected);
        out.push_back(v);
    }
    if (out.empty()) throw UserError(option + " needs at least one value: " + expected);
    return out;
}

} // namespace

std::vector<int> parseSizes(const std::string& text, const std::string& option) {
    return parseList<int>(text, option, "a positive whole number (e.g. 1,4,16,64)", [](const std::string& item, int& v) {
        std::size_t used = 0;
        v = std::stoi(item, &used);
        return used != 0 && used == item.size() && v >= 1;
    });
}

std::vector<double> parseFractions(const std::string& text, const std::string& option) {
    return parseList<double>(text, option, "a number between 0 and 1 (e.g. 0.1,0.5,0.9)",
                             [](const std::string& item, double& v) {
                                 std::size_t used = 0;
                                 v = std::stod(item, &used);
                                 return used != 0 && used == item.size() && v >= 0 && v <= 1;
                             });
}

namespace {

std::string num(double v) {
    if (std::isnan(v)) return "";
    std::ostringstream o;
    o << std::setprecision(6) << v;
    return o.str();
}

nlohmann::json orNull(double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); }

} // namespace

void writeCaseCsv(const std::string& path, const std::vector<CaseResult>& cases,
                  const std::vector<std::pair<std::string, std::vector<std::string>>>& extra) {
    std::ofstream csv(path, std::ios::trunc);
    if (!csv) throw UserError("cannot write " + path);
    for (const auto& e : extra) csv << e.first << ',';
    csv << "case_id,batch,edit_success,edit_magnitude,paraphrase_success,paraphrase_magnitude,neighbourhood_success,"
           "neighbourhood_magnitude,locality,edit_token_accuracy,paraphrase_token_accuracy,"
           "neighbourhood_token_accuracy,generation_correct,judged_edit,judged_paraphrase,edit_in_scope,paraphrases_in_scope,"
           "neighbourhood_in_scope,seconds,generated\n";
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const CaseResult& r = cases[i];
        for (const auto& e : extra) csv << (i < e.second.size() ? e.second[i] : std::string()) << ',';
        csv << csvField(r.caseId) << ',' << r.batch << ',' << int(r.editSuccess) << ',' << num(r.editMagnitude) << ','
            << (r.paraphraseCount ? num(r.paraphraseSuccess) : "") << ','
            << (r.paraphraseCount ? num(r.paraphraseMagnitude) : "") << ','
            << (r.neighbourhoodCount ? num(r.neighbourhoodSuccess) : "") << ','
            << (r.neighbourhoodCount ? num(r.neighbourhoodMagnitude) : "") << ','
            << (r.localityCount ? num(r.locality) : "") << ',' << (r.editTokens ? num(r.editTokenAccuracy) : "") << ','
            << (r.paraphraseTokens ? num(r.paraphraseTokenAccuracy) : "") << ','
            << (r.neighbourhoodTokens ? num(r.neighbourhoodTokenAccuracy) : "") << ',' << int(r.generationCorrect)
            << ',' << int(r.judgedEdit) << ',' << (r.paraphraseCount ? num(r.judgedParaphrase) : "")
            << ',' << (r.scoped ? std::to_string(r.editInScope) : "") << ','
            << (r.scoped ? std::to_string(r.paraphraseInScope) : "") << ','
            << (r.scoped ? std::to_string(r.neighbourhoodInScope) : "") << ',' << num(r.seconds) << ',' << csvField(r.generated) << '\n';
    }
    if (!csv.flush()) throw UserError("cannot write " + path);
}

nlohmann::json summaryJson(const CounterFactSummary& s, EditMetric metric, bool generation, bool locality) {
    nlohmann::json j{{"cases", s.cases}};
    if (metric == EditMetric::CounterFact) {
        j["edit_success"] = orNull(s.editSuccess);
        j["edit_magnitude"] = orNull(s.editMagnitude);
        j["paraphrase_success"] = orNull(s.paraphraseSuccess);
        j["paraphrase_magnitude"] = orNull(s.paraphraseMagnitude);
        j["neighbourhood_success"] = orNull(s.neighbourhoodSuccess);
        j["neighbourhood_magnitude"] = orNull(s.neighbourhoodMagnitude);
    } else {
        j["edit_token_accuracy"] = orNull(s.editTokenAccuracy);
        j["paraphrase_token_accuracy"] = orNull(s.paraphraseTokenAccuracy);
        j["neighbourhood_token_accuracy"] = orNull(s.neighbourhoodTokenAccuracy);
    }
    j["generation_accuracy"] = generation ? orNull(s.generationAccuracy) : nlohmann::json();
    // Generation-judged success as WILD (arXiv 2502.11177): the free continuation names the new answer.
    j["judged_edit_success"] = generation ? orNull(s.judgedEditSuccess) : nlohmann::json();
    j["judged_paraphrase_success"] = generation ? orNull(s.judgedParaphraseSuccess) : nlohmann::json();
    j["locality_unchanged"] = locality ? orNull(s.locality) : nlohmann::json();
    j["seconds_per_edit"] = s.secondsPerEdit;
    j["seconds_per_case"] = s.secondsPerCase;
    // The queries of each kind, and how many the scope gate let read the memory (null: no gate).
    const char* neighbourhood = metric == EditMetric::CounterFact ? "neighbourhood" : "locality";
    j["queries"] = {{"edit", s.editQueries}, {"paraphrase", s.paraphraseQueries}, {neighbourhood, s.neighbourhoodQueries}};
    j["in_scope"] = s.scoped ? nlohmann::json{{"edit", s.editInScope},
                                              {"paraphrase", s.paraphraseInScope},
                                              {neighbourhood, s.neighbourhoodInScope}}
                             : nlohmann::json();
    return j;
}

nlohmann::json settingsJson(const EditEvalOptions& o, const std::string& tokenUnit) {
    nlohmann::json j{{"limit", o.limit},
                     {"max_eval", o.maxEval},
                     {"seed", o.seed},
                     {"shuffle", o.shuffle},
                     {"generation", o.generation},
                     {"locality", o.locality},
                     {"generation_tokens", o.generationTokens},
                     {"max_paraphrases", o.maxParaphrases},
                     {"max_neighbourhood", o.maxNeighbourhood},
                     {"lambda", o.lambda},
                     {"no_memory", o.noMemory},
                     {"read_with_fact", o.readWithFact},
                     {"strip_paraphrase_prefix", o.stripParaphrasePrefix}};
    if (o.metric == EditMetric::Zsre) {
        j["target"] = o.zsreAnswerTarget ? "answers" : "alt";
        j["token_unit"] = tokenUnit;
    }
    return j;
}

void emitJson(const Context& context, const nlohmann::json& doc, const std::string& path) {
    if (!path.empty()) {
        std::ofstream f(path, std::ios::trunc);
        if (!f) throw UserError("cannot write " + path);
        f << doc.dump(2) << "\n";
        if (!f.flush()) throw UserError("cannot write " + path);
    }
    if (context.global.json) context.out << doc.dump(2) << "\n";
}

std::string pct(double v) {
    if (std::isnan(v)) return "n/a";
    std::ostringstream o;
    o << std::fixed << std::setprecision(1) << 100.0 * v << "%";
    return o.str();
}

} // namespace evalsupport
} // namespace larimar::cli
