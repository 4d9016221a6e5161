#pragma once
/// `larimar eval scope FILE [--limit N] [--roc FILE.png|svg]
/// [--detector esd|esd-hybrid|esd-minilm|isd] [--threshold T] [--csv FILE] [--latency-facts N]
/// [--control] [--cosine-weight W] [--common-word-weight W]`: the scope detector on CounterFact-style data
/// (core/scope/scope_eval.h). A subcommand of EvalCommand, kept in its own file.
#include "app/cli/command.h"

#include <string>

namespace larimar::cli {

struct EvalScopeArgs {
    std::string file, roc, csv, detector = "esd";
    int limit = 1000;
    double threshold = -1e300; // unset: the detector's default
    int latencyFacts = 0;      // > 0: also time queries against this many stored facts
    bool control = false;      // write other cases' facts: no query is about a written fact
    double cosineWeight = -1, commonWordWeight = -1; // ESD hybrid tuning; < 0: the defaults
};

/// Declares `eval scope` on the eval command; returns the subcommand.
CLI::App* setupEvalScope(CLI::App& eval, EvalScopeArgs& args);
/// Runs it (progress on stderr); returns the exit code.
int executeEvalScope(Context& ctx, const EvalScopeArgs& args);

} // namespace larimar::cli
