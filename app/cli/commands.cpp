#include "app/cli/command.h"
#include "app/cli/cmd_bench.h"
#include "app/cli/cmd_bundle.h"
#include "app/cli/cmd_editor.h"
#include "app/cli/cmd_eval.h"
#include "app/cli/cmd_import.h"
#include "app/cli/cmd_key.h"
#include "app/cli/cmd_scope.h"
#include "app/cli/cmd_train.h"
#include "core/util/error.h"
#include "core/util/model_paths.h"

#include <cstdlib>
#include <filesystem>

namespace larimar::cli {

std::string resolveModelDir(const GlobalOptions& global) { return larimar::resolveModelDir(global.model); }

std::unique_ptr<Command> makeIngestCommand(); // cmd_ingest.cpp

std::vector<std::unique_ptr<Command>> makeCommands() {
    std::vector<std::unique_ptr<Command>> c;
    c.push_back(std::make_unique<InfoCommand>());
    c.push_back(std::make_unique<WriteCommand>());
    c.push_back(makeIngestCommand());
    c.push_back(std::make_unique<ForgetCommand>());
    c.push_back(std::make_unique<FactsCommand>());
    c.push_back(std::make_unique<QueryCommand>(false));
    c.push_back(std::make_unique<QueryCommand>(true));
    c.push_back(std::make_unique<HistoryCommand>());
    c.push_back(std::make_unique<AuditCommand>());
    c.push_back(std::make_unique<KeyCommand>());
    c.push_back(std::make_unique<RollbackCommand>(false));
    c.push_back(std::make_unique<RollbackCommand>(true));
    c.push_back(std::make_unique<ExportCommand>());
    c.push_back(std::make_unique<ImportCommand>());
    c.push_back(std::make_unique<InspectCommand>());
    c.push_back(std::make_unique<BenchCommand>());
    c.push_back(std::make_unique<EvalCommand>());
    c.push_back(std::make_unique<TrainCommand>());
    c.push_back(std::make_unique<ExportModelCommand>());
    c.push_back(std::make_unique<ImportModelCommand>());
    c.push_back(std::make_unique<ScopeCommand>());
    c.push_back(std::make_unique<TrainScopeCommand>());
    return c;
}

} // namespace larimar::cli
