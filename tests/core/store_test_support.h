#pragma once
// Helpers shared by the store tests: temporary workspaces, a stepping clock, fact makers and
// raw sqlite3 access (what a user with the sqlite3 shell could do to the file).
#include "core/store/workspace.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <unistd.h>

namespace larimar::test {

/// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "larimar-store-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        m_path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    std::string file(const std::string& name) const { return (m_path / name).string(); }

private:
    std::filesystem::path m_path;
};

/// 2024-05-01T12:00:00Z, one second later on every call: deterministic timestamps.
inline Clock steppingClock() {
    auto t = std::make_shared<std::chrono::system_clock::time_point>(
        std::chrono::system_clock::time_point(std::chrono::seconds(1714564800)));
    return [t] {
        const auto now = *t;
        *t += std::chrono::seconds(1);
        return now;
    };
}

inline WorkspaceOptions testOptions() {
    WorkspaceOptions o;
    o.clock = steppingClock();
    return o;
}

inline Fact makeFact(const std::string& text, int seed = 1, const std::string& source = "test") {
    Fact f;
    f.text = text;
    f.subject = "subject " + std::to_string(seed);
    f.relation = "relation";
    f.target = "target " + std::to_string(seed);
    f.source = source;
    for (int i = 0; i < 4; ++i) f.writeKey.push_back(seed + i * 0.25);
    for (int i = 0; i < 3; ++i) f.latent.push_back(-seed - i * 0.125);
    return f;
}

/// One audited write of facts (op batch when more than one), in its own transaction.
inline Edit writeFacts(Workspace& ws, const std::vector<Fact>& facts, const std::string& actor = "tester",
                       const std::string& reason = "test") {
    auto tx = ws.begin();
    const auto ids = ws.insertFacts(facts);
    Edit e;
    e.op = facts.size() == 1 ? EditOp::Write : EditOp::Batch;
    e.factIds = ids;
    e.actor = actor;
    e.reason = reason;
    const auto last = ws.lastEditId().value_or(0);
    e.memoryDigestBefore = "mem" + std::to_string(last);
    e.memoryDigestAfter = "mem" + std::to_string(last + 1);
    auto out = ws.appendEdit(e);
    tx.commit();
    return out;
}

inline Edit forgetFacts(Workspace& ws, const std::vector<std::int64_t>& ids,
                        const std::string& actor = "tester") {
    auto tx = ws.begin();
    ws.setFactState(ids, FactState::Forgotten);
    Edit e;
    e.op = EditOp::Forget;
    e.factIds = ids;
    e.actor = actor;
    e.reason = "forget";
    const auto last = ws.lastEditId().value_or(0);
    e.memoryDigestBefore = "mem" + std::to_string(last);
    e.memoryDigestAfter = "mem" + std::to_string(last + 1);
    auto out = ws.appendEdit(e);
    tx.commit();
    return out;
}

/// A raw connection, as the sqlite3 shell would open it (foreign keys off).
class RawDb {
public:
    explicit RawDb(const std::string& path) {
        if (sqlite3_open(path.c_str(), &m_db) != SQLITE_OK) throw std::runtime_error("open failed");
    }
    ~RawDb() { sqlite3_close(m_db); }
    void exec(const std::string& sql) {
        char* err = nullptr;
        if (sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
            std::string msg = err ? err : "?";
            sqlite3_free(err);
            throw std::runtime_error(sql + ": " + msg);
        }
    }
    std::string text(const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(m_db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
            throw std::runtime_error(sqlite3_errmsg(m_db));
        std::string out;
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            const auto* p = static_cast<const char*>(sqlite3_column_blob(st, 0));
            out.assign(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
        }
        sqlite3_finalize(st);
        return out;
    }
    sqlite3* handle() { return m_db; }

private:
    sqlite3* m_db = nullptr;
};

} // namespace larimar::test
