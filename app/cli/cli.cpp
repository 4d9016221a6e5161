#include "app/cli/cli.h"

#include "app/cli/command.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <new>
#include <unistd.h>

namespace larimar::cli {

std::function<void(double)> Context::progress(const std::string& label) const {
    if (!errIsTerminal || global.json) return {};
    return [this, label](double fraction) {
        const int width = 30;
        const int filled = static_cast<int>(fraction * width + 0.5);
        err << '\r' << label << " [" << std::string(static_cast<std::size_t>(filled), '#')
            << std::string(static_cast<std::size_t>(width - filled), ' ') << "] "
            << static_cast<int>(fraction * 100 + 0.5) << "%" << std::flush;
    };
}

void Context::endProgress() const {
    if (errIsTerminal && !global.json) err << '\n';
}

namespace {

/// "[json.exception.parse_error.101] parse error at line 1 ..." without the bracketed id.
std::string withoutJsonPrefix(const std::string& what) {
    if (what.rfind("[json.exception.", 0) == 0)
        if (const auto close = what.find("] "); close != std::string::npos) return what.substr(close + 2);
    return what;
}

int runParsed(std::vector<std::string> args, std::ostream& out, std::ostream& err, bool errIsTerminal,
              ModelFactory modelFactory = {}) {
    CLI::App app{"larimar: write, forget and audit the facts of a Larimar language model", "larimar"};
    app.set_version_flag("--version", std::string("larimar ") + LARIMAR_VERSION);
    app.require_subcommand(1);
    GlobalOptions global;
    app.add_option("--workspace", global.workspace, "Workspace file (.larimar); default under $XDG_DATA_HOME");
    app.add_option("--model", global.model, "Model directory; default: the bundled model");
    app.add_option("--device", global.device, "Where the model runs")->check(CLI::IsMember({"cpu", "cuda"}));
    app.add_flag("--json", global.json, "Print one JSON document on stdout");
    app.add_option("--backend", global.backend,
                   "Memory of a NEW workspace: paged (pages of K facts, capacity grows with facts; the default) or "
                   "larimar (one memory of K slots, at most K facts). An existing workspace keeps its own")
        ->check(CLI::IsMember({"paged", "larimar"}));
    app.add_option("--page-facts", global.pageFacts, "Paged memory of a new workspace: facts per page (default: K)")
        ->check(CLI::PositiveNumber);
    app.add_option("--key", global.key,
                   "Sign edits with this key (see 'larimar key list'); default: $LARIMAR_KEY, else the key "
                   "named 'default' if there is one, else edits are unsigned");

    auto commands = makeCommands();
    std::vector<std::pair<CLI::App*, Command*>> subs;
    for (auto& c : commands) {
        CLI::App* sub = app.add_subcommand(c->name(), c->description());
        c->setup(*sub);
        subs.emplace_back(sub, c.get());
    }

    std::reverse(args.begin(), args.end()); // CLI11 parses a reversed vector
    try {
        app.parse(args);
    } catch (const CLI::CallForHelp&) {
        out << app.help();
        return 0;
    } catch (const CLI::CallForAllHelp&) {
        out << app.help("", CLI::AppFormatMode::All);
        return 0;
    } catch (const CLI::CallForVersion&) {
        out << std::string("larimar ") + LARIMAR_VERSION << "\n";
        return 0;
    } catch (const CLI::ParseError& e) {
        // --json promises one JSON document on stdout, a usage error included (global.json may
        // not be parsed yet when the error comes first).
        if (global.json || std::find(args.begin(), args.end(), "--json") != args.end())
            out << nlohmann::json{{"error", e.what()}, {"usage", true}}.dump() << "\n";
        err << "larimar: " << e.what() << "\n";
        err << "Run 'larimar --help' for usage.\n";
        return 1;
    }

    Context context{global, out, err, errIsTerminal, std::move(modelFactory)};
    for (auto& [sub, command] : subs) {
        if (!sub->parsed()) continue;
        const std::string name = command->name();
        auto userError = [&](const std::string& what) {
            context.endProgress();
            if (global.json) out << nlohmann::json{{"error", what}}.dump() << "\n";
            err << "larimar " << name << ": " << what << "\n";
            return 1;
        };
        auto internalError = [&](const std::string& what) {
            context.endProgress();
            if (global.json) out << nlohmann::json{{"error", what}, {"internal", true}}.dump() << "\n";
            err << "larimar " << name << ": internal error: " << what << "\n";
            return 2;
        };
        try {
            return command->execute(context);
        } catch (const UserError& e) {
            return userError(e.what());
        } catch (const nlohmann::json::parse_error& e) {
            // JSON the user gave that a reader did not check itself: still bad input.
            return userError("invalid JSON: " + withoutJsonPrefix(e.what()));
        } catch (const nlohmann::json::out_of_range& e) {
            if (e.id != 406) return internalError(e.what()); // 406: a number beyond double's range
            return userError("invalid JSON: a number is out of range (beyond +-1.8e308): " +
                             withoutJsonPrefix(e.what()));
        } catch (const std::bad_alloc&) {
            return userError("out of memory (the input or the model is too large for this machine)");
        } catch (const std::exception& e) {
            return internalError(e.what());
        }
    }
    return 1;
}

} // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    return runParsed(args, out, err, false);
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, ModelFactory modelFactory) {
    return runParsed(args, out, err, false, std::move(modelFactory));
}

int run(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    return runParsed(args, std::cout, std::cerr, isatty(STDERR_FILENO) != 0);
}

} // namespace larimar::cli
