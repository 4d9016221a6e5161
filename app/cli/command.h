#pragma once
#include "app/cli/cli.h"

#include <CLI/CLI.hpp>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace larimar::cli {

/// Options every subcommand sees.
struct GlobalOptions {
    std::string workspace; ///< empty: the default workspace under the XDG data directory
    std::string model;     ///< empty: the bundled model
    std::string device = "cpu";
    bool json = false;     ///< one JSON document on stdout instead of text
    /// The key that signs edits (core/store/signing.h): a name in the key directory. Empty:
    /// $LARIMAR_KEY, else the key named "default" when there is one, else edits are unsigned.
    std::string key;
    /// The memory of a workspace this run creates ("paged" or "larimar", see
    /// core/memory/memory_backend.h); empty: the default (paged). An existing workspace keeps
    /// its own; naming another one for it is an error.
    std::string backend;
    int pageFacts = 0;  ///< paged: facts per page of a new workspace; 0: K
};

/// What a command runs with: options and where to write. Streams are injectable for tests.
struct Context {
    GlobalOptions global;
    std::ostream& out;
    std::ostream& err;
    bool errIsTerminal = false; ///< progress bars only when a person watches stderr

    /// A progress callback drawing a bar on stderr (a no-op when stderr is not a terminal
    /// or --json is given). label is shown before the bar.
    std::function<void(double)> progress(const std::string& label) const;
    /// Ends a bar drawn by progress() with a newline.
    void endProgress() const;

    /// Empty: loadTextModel(resolveModelDir(global), global.device).
    ModelFactory modelFactory;
    /// The model to run with (through modelFactory when set). UserError when none is found.
    std::shared_ptr<TextModel> loadModel() const;
};

/// One subcommand. setup() declares its options on the CLI11 subcommand; execute() runs it
/// after parsing and returns the exit code. Exceptions: larimar::UserError -> 1, others -> 2.
class Command {
public:
    virtual ~Command() = default;
    virtual std::string name() const = 0;
    virtual std::string description() const = 0;
    virtual void setup(CLI::App& app) = 0;
    virtual int execute(Context& context) = 0;
};

/// The model directory to use: --model, else larimar::resolveModelDir() (core/util/model_paths.h:
/// $LARIMAR_MODEL_DIR, the installed bundled model, the source tree's). UserError when none.
std::string resolveModelDir(const GlobalOptions& global);

/// All subcommands, in the order `larimar --help` lists them.
std::vector<std::unique_ptr<Command>> makeCommands();

} // namespace larimar::cli
