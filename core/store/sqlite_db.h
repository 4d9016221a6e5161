#pragma once
/// Thin RAII wrapper over the sqlite3 C API, private to core/store (nothing outside store
/// includes it, so sqlite3.h stays out of the editor's and the UI's headers).
/// Errors become larimar::Error carrying SQLite's message and the file name.
/// Not thread-safe: one Database object per thread, as SQLite connections are used here.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace larimar::sqlite {

class Database;

/// A prepared statement. Bind indexes are 1-based like SQLite's; column indexes 0-based.
/// Reset (bindings cleared) on every reset() so a cached statement is always fresh.
class Statement {
public:
    Statement(Database& db, std::string_view sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement& bind(int index, double value);
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bindBlob(int index, const void* data, std::size_t size);
    Statement& bindNull(int index);
    Statement& bind(int index, const std::optional<std::int64_t>& value);

    /// Steps once: true while a row is available, false when done.
    bool step();
    /// Steps to completion (for statements that return no rows).
    void run();
    void reset();

    bool isNull(int col) const;
    std::int64_t int64(int col) const;
    double real(int col) const;
    std::string text(int col) const;
    std::vector<std::uint8_t> blob(int col) const;
    std::optional<std::int64_t> optInt64(int col) const;

private:
    Database& m_db;
    sqlite3_stmt* m_stmt = nullptr;
};

/// Throws UserError when path exists and is not a regular file (a device such as /dev/null, a
/// FIFO, a directory): SQLite would fail on it with an I/O error at the first write, or hang.
void requireRegularFile(const std::string& path);
/// Whether a read-only opening of path must be immutable (Database's immutable): its folder
/// cannot be written (a read-only medium) and no -shm file exists. Throws UserError when a
/// non-empty -wal file holds edits that such an opening would not read.
bool needsImmutableOpen(const std::string& path);

/// One connection. Cached statements live as long as the connection.
class Database {
public:
    /// Opens (create: also creates) the file; readOnly opens it for reading only (create is
    /// then ignored); immutable also tells SQLite that nothing can change the file (a read-only
    /// medium: no -shm file is needed, a -wal file is not read). Throws UserError naming the
    /// file when it cannot be opened.
    Database(const std::string& path, bool create, bool readOnly = false, bool immutable = false);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    /// Runs one or more statements without parameters (schema, pragmas, BEGIN/COMMIT).
    void exec(std::string_view sql);
    /// A statement prepared once per connection and reset before it is handed out.
    Statement& cached(const char* sql);
    std::int64_t lastInsertRowid() const;
    int changes() const;
    /// True while a transaction is open (SQLite may end one by itself after some errors).
    bool inTransaction() const;
    /// Rolls back an open transaction, ignoring errors (for destructors and error paths).
    void rollbackQuietly() noexcept;
    /// Throws for a failing result code: UserError (WorkspaceBusy for busy) when the user can act
    /// on it (busy, full disk, read-only, damaged file, I/O error), else larimar::Error.
    [[noreturn]] void fail(int rc, std::string_view what) const;
    sqlite3* handle() const { return m_db; }
    const std::string& path() const { return m_path; }

private:
    sqlite3* m_db = nullptr;
    std::string m_path;
    std::map<const char*, std::unique_ptr<Statement>> m_cache; // keyed by the literal's address
};

} // namespace larimar::sqlite
