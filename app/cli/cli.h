#pragma once
/// The `larimar` command line. Each subcommand is a Command subclass (cmd_*.cpp); run() parses
/// the arguments, runs one command and maps errors to exit codes:
///   0 ok, 1 user error (bad input, unknown id, bad option), 2 internal error.
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace larimar {
class TextModel;
}

namespace larimar::cli {

struct GlobalOptions;
/// Makes the model a command runs with. The default loads --model (resolveModelDir) with
/// loadTextModel; tests inject a fake model.
using ModelFactory = std::function<std::shared_ptr<TextModel>(const GlobalOptions&)>;

/// For main(): real stdout/stderr.
int run(int argc, char** argv);
/// In-process (tests): args without the program name; output goes to the given streams.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
/// Same with the model made by modelFactory instead of loaded from disk.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, ModelFactory modelFactory);

} // namespace larimar::cli
