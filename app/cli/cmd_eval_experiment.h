#pragma once
/// The experiments of `larimar eval` (one file each: cmd_eval_edits.cpp for counterfact and
/// zsre, cmd_eval_forget.cpp), plus what they share: the model's tokenizer as a TokenSplitter,
/// the per-case CSV, the JSON document, progress on stderr.
#include "app/cli/command.h"
#include "core/eval/datasets.h"
#include "core/eval/edit_eval.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace larimar::cli {

/// One `larimar eval <name>` subcommand.
class EvalExperiment {
public:
    virtual ~EvalExperiment() = default;
    /// Adds the subcommand and its options to `eval`.
    virtual void setup(CLI::App& eval) = 0;
    /// True when the user chose this subcommand.
    virtual bool parsed() const = 0;
    virtual int execute(Context& context) = 0;
};

/// counterfact, zsre, forget, latents, in the order `larimar eval --help` lists them.
std::vector<std::unique_ptr<EvalExperiment>> makeEvalExperiments();

namespace evalsupport {

/// Options every experiment has (--limit, --seed, --shuffle, --csv, --plot, --json-out,
/// --no-generation, --lambda).
struct CommonOptions {
    std::string file, csv, plot, jsonOut;
    int limit = 0;
    std::uint64_t seed = 1;
    bool shuffle = false, noGeneration = false, skipInvalid = false;
    double lambda = 1e-3;
};
void addCommonOptions(CLI::App& sub, CommonOptions& o);

/// Loads the edit cases of o.file; with --skip-invalid, invalid records are left out, counted in
/// doc["skipped_records"] (with the first messages) and reported on stderr.
std::vector<EditCase> loadCases(const Context& context, const CommonOptions& o, DatasetFormat format, nlohmann::json& doc);

/// The model's own tokens (TextModel::tokenTexts) as a splitter; empty (words) for a model
/// without a tokenizer. unit receives "bpe" or "word". The splitter keeps the model alive.
TokenSplitter modelSplitter(const std::shared_ptr<TextModel>& model, std::string& unit);

/// A progress callback for the core calls that draws ctx.progress(label).
EvalProgress progressBar(const Context& context, const std::string& label);

/// Parses "1,4,16"; UserError on anything else.
/// "1,4,16" as positive whole numbers / "0.1,0.5" as numbers in [0, 1]; UserError naming the
/// option and the bad item.
std::vector<int> parseSizes(const std::string& text, const std::string& option = "--sweep");
std::vector<double> parseFractions(const std::string& text, const std::string& option);

/// One row per case: metrics, timing, the generated text (quoted). extra: columns in front
/// (name, value per row) e.g. batch_size for a sweep.
void writeCaseCsv(const std::string& path, const std::vector<CaseResult>& cases,
                  const std::vector<std::pair<std::string, std::vector<std::string>>>& extra = {});

/// The summary of a run as JSON (metric names as in counterfact_eval.py, with _success,
/// _magnitude, _token_accuracy, NaN as null).
nlohmann::json summaryJson(const CounterFactSummary& s, EditMetric metric, bool generation, bool locality);

/// Settings block of the JSON document.
nlohmann::json settingsJson(const EditEvalOptions& o, const std::string& tokenUnit);

/// Prints or saves the document: stdout with --json, and to path when not empty.
void emitJson(const Context& context, const nlohmann::json& doc, const std::string& path);

/// "97.3%" or "n/a" for NaN.
std::string pct(double v);

} // namespace evalsupport
} // namespace larimar::cli
