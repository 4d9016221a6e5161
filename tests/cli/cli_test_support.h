#pragma once
// What the in-process CLI tests share: the result of one `larimar` run, running it on a
// workspace with an injected model, and changing a workspace behind the program's back with
// sqlite3 (as a user with the sqlite3 shell could).
#include "app/cli/cli.h"
#include "core/model/text_model.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace larimar::test {

struct CliResult {
    int code;
    std::string out, err;
    nlohmann::json json() const { return nlohmann::json::parse(out); }
    std::string lastLine() const {
        auto s = out;
        while (!s.empty() && s.back() == '\n') s.pop_back();
        const auto nl = s.rfind('\n');
        return nl == std::string::npos ? s : s.substr(nl + 1);
    }
};

/// `larimar --workspace WORKSPACE ARGS...` in-process, with `model` for every model the command loads.
inline CliResult runCliOn(const std::shared_ptr<TextModel>& model, const std::string& workspace,
                          std::vector<std::string> args) {
    args.insert(args.begin(), {"--workspace", workspace});
    std::ostringstream out, err;
    const int code = larimar::cli::run(args, out, err, [model](const larimar::cli::GlobalOptions&) { return model; });
    return {code, out.str(), err.str()};
}

/// Runs one SQL statement on the file at path; a failure fails the test with SQLite's message.
inline void execSql(const std::string& path, const std::string& statement) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* msg = nullptr;
    const int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &msg);
    const std::string err = msg ? msg : "";
    sqlite3_free(msg);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << err;
}

} // namespace larimar::test
