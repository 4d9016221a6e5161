#include "core/store/sqlite_db.h"

#include "core/util/error.h"

#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <unistd.h>

namespace larimar::sqlite {

namespace {
/// What the user can do about a failing result code, or nothing (an internal error) when the
/// code means a bug: busy (retry), full disk, read-only file, damaged file, I/O error.
[[noreturn]] void throwFor(int rc, const std::string& path, const std::string& detail) {
    const std::string ws = "workspace '" + path + "'";
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        throw WorkspaceBusy(ws + " is busy: another program is writing to it and did not finish within the wait; "
                                 "try again in a moment");
    case SQLITE_FULL:
        throw UserError("cannot write " + ws + ": the disk is full (" + detail +
                        "); nothing of this edit was written: free some space and try again");
    case SQLITE_READONLY:
        throw UserError("cannot write " + ws + ": it is read-only (" + detail +
                        "); reading commands (facts, history, audit, export) still work on it");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        throw UserError(ws + " is damaged (" + detail +
                        "); restore a backup ('larimar audit verify' and 'larimar export history' show what is "
                        "still readable)");
    case SQLITE_IOERR:
        throw UserError("input/output error on " + ws + " (" + detail +
                        "); check the disk, and that the workspace is a regular file");
    case SQLITE_CANTOPEN:
        throw UserError("cannot open " + ws + " (" + detail +
                        "); its folder must be readable, and writable for the -wal and -shm files unless the "
                        "medium is read-only");
    default: break;
    }
    throw Error(ws + ": " + detail);
}

/// "file:" URI of a path, for SQLite's URI parameters (percent-encodes what URIs reserve).
std::string fileUri(const std::string& path) {
    std::string out = "file:";
    for (const unsigned char c : path) {
        if (c == '%' || c == '?' || c == '#' || c < 0x21 || c >= 0x7f) {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}
} // namespace

Statement::Statement(Database& db, std::string_view sql) : m_db(db) {
    const int rc = sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &m_stmt, nullptr);
    if (rc != SQLITE_OK) db.fail(rc, "cannot prepare statement");
}

Statement::~Statement() { sqlite3_finalize(m_stmt); }

Statement& Statement::bind(int index, std::int64_t value) {
    const int rc = sqlite3_bind_int64(m_stmt, index, value);
    if (rc != SQLITE_OK) m_db.fail(rc, "cannot bind parameter");
    return *this;
}

Statement& Statement::bind(int index, double value) {
    const int rc = sqlite3_bind_double(m_stmt, index, value);
    if (rc != SQLITE_OK) m_db.fail(rc, "cannot bind parameter");
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    // SQLITE_TRANSIENT: SQLite copies the bytes, so temporaries are safe to pass.
    const int rc = sqlite3_bind_text64(m_stmt, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                       SQLITE_UTF8);
    if (rc != SQLITE_OK) m_db.fail(rc, "cannot bind parameter");
    return *this;
}

Statement& Statement::bindBlob(int index, const void* data, std::size_t size) {
    // A zero-length blob is still a blob (not NULL): an empty vector stays distinguishable.
    const int rc = size == 0 ? sqlite3_bind_zeroblob(m_stmt, index, 0)
                             : sqlite3_bind_blob64(m_stmt, index, data, size, SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) m_db.fail(rc, "cannot bind parameter");
    return *this;
}

Statement& Statement::bindNull(int index) {
    const int rc = sqlite3_bind_null(m_stmt, index);
    if (rc != SQLITE_OK) m_db.fail(rc, "cannot bind parameter");
    return *this;
}

Statement& Statement::bind(int index, const std::optional<std::int64_t>& value) {
    return value ? bind(index, *value) : bindNull(index);
}

bool Statement::step() {
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3_reset(m_stmt);
    m_db.fail(rc, "statement failed");
}

void Statement::run() {
    while (step()) {
    }
}

void Statement::reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

bool Statement::isNull(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }
std::int64_t Statement::int64(int col) const { return sqlite3_column_int64(m_stmt, col); }
double Statement::real(int col) const { return sqlite3_column_double(m_stmt, col); }

std::string Statement::text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
    const int n = sqlite3_column_bytes(m_stmt, col); // after _text, so it counts the UTF-8 bytes
    return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::vector<std::uint8_t> Statement::blob(int col) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_stmt, col));
    const int n = sqlite3_column_bytes(m_stmt, col);
    return p ? std::vector<std::uint8_t>(p, p + n) : std::vector<std::uint8_t>();
}

std::optional<std::int64_t> Statement::optInt64(int col) const {
    if (isNull(col)) return std::nullopt;
    return int64(col);
}

/// A workspace is a regular file: SQLite on a device (/dev/null), a FIFO or a directory fails
/// with an I/O error at the first write, or hangs.
void requireRegularFile(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto st = fs::status(path, ec);
    if (ec || !fs::exists(st) || fs::is_regular_file(st)) return;
    const char* kind = fs::is_directory(st)           ? "a directory"
                       : fs::is_character_file(st)    ? "a character device"
                       : fs::is_block_file(st)        ? "a block device"
                       : fs::is_fifo(st)              ? "a FIFO (named pipe)"
                       : fs::is_socket(st)            ? "a socket"
                                                      : "not a regular file";
    throw UserError("'" + path + "' is " + kind + ", not a workspace file; name a .larimar file");
}

/// Read-only opening of a file whose folder cannot be written (a read-only medium, an archive
/// directory): SQLite cannot create the -shm file WAL reading needs, so the file is opened as
/// immutable. A -wal file beside it holds edits not yet in the main file, which immutable
/// opening would not read: refused instead of showing an older state.
bool needsImmutableOpen(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::exists(path + "-shm", ec)) return false; // SQLite reads WAL files through it
    fs::path dir = fs::path(path).parent_path();
    if (dir.empty()) dir = ".";
    if (::access(dir.c_str(), W_OK) == 0) return false;
    const auto wal = fs::file_size(path + "-wal", ec);
    if (!ec && wal > 0)
        throw UserError("cannot read workspace '" + path + "' here: its folder is read-only and " + path +
                        "-wal holds edits not yet in the main file; copy the workspace with its -wal file to a "
                        "writable folder");
    return true;
}

Database::Database(const std::string& path, bool create, bool readOnly, bool immutable) : m_path(path) {
    const int access = readOnly || immutable ? SQLITE_OPEN_READONLY
                                             : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    const int flags = access | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | (immutable ? SQLITE_OPEN_URI : 0);
    const std::string name = immutable ? fileUri(path) + "?immutable=1" : path;
    const int rc = sqlite3_open_v2(name.c_str(), &m_db, flags, nullptr);
    if (rc != SQLITE_OK) {
        const std::string msg = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
        sqlite3_close(m_db);
        m_db = nullptr;
        throw UserError("cannot open workspace '" + path + "': " + msg);
    }
}

Database::~Database() {
    m_cache.clear(); // statements must be finalized before the connection closes
    sqlite3_close(m_db);
}

void Database::exec(std::string_view sql) {
    const std::string s(sql);
    char* err = nullptr;
    const int rc = sqlite3_exec(m_db, s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        const std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throwFor(rc, m_path, msg);
    }
}

Statement& Database::cached(const char* sql) {
    auto& slot = m_cache[sql];
    if (!slot) slot = std::make_unique<Statement>(*this, sql);
    else slot->reset();
    return *slot;
}

std::int64_t Database::lastInsertRowid() const { return sqlite3_last_insert_rowid(m_db); }
int Database::changes() const { return sqlite3_changes(m_db); }
bool Database::inTransaction() const { return sqlite3_get_autocommit(m_db) == 0; }

void Database::rollbackQuietly() noexcept {
    if (inTransaction()) sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Database::fail(int rc, std::string_view what) const {
    throwFor(rc, m_path,
             std::string(what) + ": " + sqlite3_errmsg(m_db) + ", SQLite code " + std::to_string(rc));
}

} // namespace larimar::sqlite
