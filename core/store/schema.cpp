#include "core/store/schema.h"

#include "core/store/sqlite_db.h"
#include "core/util/error.h"

#include <sqlite3.h>

#include <cstdio>
#include <string>

namespace larimar::store {
namespace {

// v0 -> v1: the first schema. STRICT tables so that a value of the wrong type (a number where
// fact text belongs) is refused instead of being stored in another form than it was given.
// Every hashed column is NOT NULL TEXT/BLOB so "the stored bytes" is always well defined.
void migrateV0toV1(sqlite::Database& db) {
    db.exec(R"sql(
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID, STRICT;

CREATE TABLE edits (
    id                   INTEGER PRIMARY KEY,
    op                   TEXT NOT NULL CHECK (op IN ('write', 'forget', 'batch', 'rollback')),
    fact_ids             TEXT NOT NULL,   -- JSON array of fact ids
    fact_states          TEXT NOT NULL,   -- JSON array: each fact's state right after the edit
    facts_digest         TEXT NOT NULL,   -- SHA-256 over those facts (audit.h)
    actor                TEXT NOT NULL,
    reason               TEXT NOT NULL,
    timestamp            TEXT NOT NULL,   -- ISO-8601 UTC
    model_id             TEXT NOT NULL,
    model_hash           TEXT NOT NULL,
    memory_digest_before TEXT NOT NULL,
    memory_digest_after  TEXT NOT NULL,
    payload              TEXT NOT NULL,   -- JSON object
    prev_hash            TEXT NOT NULL,
    hash                 TEXT NOT NULL
) STRICT;
CREATE INDEX edits_by_timestamp ON edits (timestamp);
CREATE INDEX edits_by_op ON edits (op);

CREATE TABLE facts (
    id                INTEGER PRIMARY KEY,
    text              TEXT NOT NULL,
    subject           TEXT NOT NULL,
    relation          TEXT NOT NULL,
    target            TEXT NOT NULL,
    source            TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('written', 'forgotten')),
    write_key         BLOB NOT NULL,      -- little-endian float64 x K
    latent            BLOB NOT NULL,      -- little-endian float64 x C
    content_digest    TEXT NOT NULL,      -- SHA-256 of the immutable columns (audit.h)
    created_edit_id   INTEGER REFERENCES edits (id),
    forgotten_edit_id INTEGER REFERENCES edits (id)
) STRICT;
CREATE INDEX facts_by_state ON facts (state);
CREATE INDEX facts_by_source ON facts (source);
CREATE INDEX facts_by_created_edit ON facts (created_edit_id);

CREATE TABLE generations (
    id                    INTEGER PRIMARY KEY,
    prompt                TEXT NOT NULL,
    output_without_memory TEXT NOT NULL,
    output_with_memory    TEXT NOT NULL,
    scope_score           REAL,
    in_scope              INTEGER NOT NULL CHECK (in_scope IN (0, 1)),
    edit_id               INTEGER REFERENCES edits (id),
    timestamp             TEXT NOT NULL,
    details               TEXT NOT NULL   -- JSON object
) STRICT;
CREATE INDEX generations_by_edit ON generations (edit_id);

CREATE TABLE snapshots (
    edit_id      INTEGER PRIMARY KEY REFERENCES edits (id),
    state        BLOB NOT NULL,           -- opaque serialized memory
    digest       TEXT NOT NULL,           -- memory digest, = edits.memory_digest_after
    state_sha256 TEXT NOT NULL            -- checksum of the bytes, checked on load
) STRICT;
)sql");
}

// v1 -> v2: a cache of scope-detector embeddings beside the facts (core/store/fact_embeddings.h),
// so reopening a workspace does not re-embed every fact. Additive only: nothing in v1 changes,
// and the cache is not part of the audit chain (it is derived from the facts' text and can be
// rebuilt at any time). float32 little-endian, one row per fact and encoder.
void migrateV1toV2(sqlite::Database& db) {
    db.exec(R"sql(
CREATE TABLE fact_embeddings (
    fact_id   INTEGER NOT NULL REFERENCES facts (id),
    encoder   TEXT NOT NULL,          -- which encoder made it, e.g. "use-lite"
    dimension INTEGER NOT NULL,
    vector    BLOB NOT NULL,          -- little-endian float32 x dimension
    PRIMARY KEY (fact_id, encoder)
) WITHOUT ROWID, STRICT;
)sql");
}

// v2 -> v3: edits may be "setting" edits (a behaviour-changing workspace setting, audited like
// any edit). SQLite cannot change a CHECK constraint in place, so the table is rebuilt as its
// documented procedure says (foreign keys are off during migrations, see openSchema, and
// checked before the commit). Rows, ids and hashes are copied verbatim: the chain is unchanged.
void migrateV2toV3(sqlite::Database& db) {
    db.exec(R"sql(
CREATE TABLE edits_v3 (
    id                   INTEGER PRIMARY KEY,
    op                   TEXT NOT NULL CHECK (op IN ('write', 'forget', 'batch', 'rollback', 'setting')),
    fact_ids             TEXT NOT NULL,
    fact_states          TEXT NOT NULL,
    facts_digest         TEXT NOT NULL,
    actor                TEXT NOT NULL,
    reason               TEXT NOT NULL,
    timestamp            TEXT NOT NULL,
    model_id             TEXT NOT NULL,
    model_hash           TEXT NOT NULL,
    memory_digest_before TEXT NOT NULL,
    memory_digest_after  TEXT NOT NULL,
    payload              TEXT NOT NULL,
    prev_hash            TEXT NOT NULL,
    hash                 TEXT NOT NULL
) STRICT;
INSERT INTO edits_v3 SELECT id, op, fact_ids, fact_states, facts_digest, actor, reason, timestamp,
    model_id, model_hash, memory_digest_before, memory_digest_after, payload, prev_hash, hash
    FROM edits;
DROP TABLE edits;
ALTER TABLE edits_v3 RENAME TO edits;
CREATE INDEX edits_by_timestamp ON edits (timestamp);
CREATE INDEX edits_by_op ON edits (op);
)sql");
}

// v3 -> v4: signed edits (core/store/signing.h). Edits gain signer and signature (empty for an
// unsigned edit, so every edit of an older workspace reads as unsigned, not as broken) and the
// op "trust", which adds a public key to the keys the workspace trusts. Neither column is part
// of the edit hash (the signature signs the hash), so the chain is unchanged. The table is
// rebuilt for the new CHECK, as in migrateV2toV3.
void migrateV3toV4(sqlite::Database& db) {
    db.exec(R"sql(
CREATE TABLE edits_v4 (
    id                   INTEGER PRIMARY KEY,
    op                   TEXT NOT NULL CHECK (op IN ('write', 'forget', 'batch', 'rollback', 'setting', 'trust')),
    fact_ids             TEXT NOT NULL,
    fact_states          TEXT NOT NULL,
    facts_digest         TEXT NOT NULL,
    actor                TEXT NOT NULL,
    reason               TEXT NOT NULL,
    timestamp            TEXT NOT NULL,
    model_id             TEXT NOT NULL,
    model_hash           TEXT NOT NULL,
    memory_digest_before TEXT NOT NULL,
    memory_digest_after  TEXT NOT NULL,
    payload              TEXT NOT NULL,
    prev_hash            TEXT NOT NULL,
    hash                 TEXT NOT NULL,
    signer               TEXT NOT NULL DEFAULT '',   -- raw Ed25519 public key, hex; '' unsigned
    signature            TEXT NOT NULL DEFAULT ''    -- over (hash, prev_hash), hex; '' unsigned
) STRICT;
INSERT INTO edits_v4 (id, op, fact_ids, fact_states, facts_digest, actor, reason, timestamp,
    model_id, model_hash, memory_digest_before, memory_digest_after, payload, prev_hash, hash)
    SELECT id, op, fact_ids, fact_states, facts_digest, actor, reason, timestamp, model_id,
    model_hash, memory_digest_before, memory_digest_after, payload, prev_hash, hash FROM edits;
DROP TABLE edits;
ALTER TABLE edits_v4 RENAME TO edits;
CREATE INDEX edits_by_timestamp ON edits (timestamp);
CREATE INDEX edits_by_op ON edits (op);
)sql");
}

using MigrationStep = void (*)(sqlite::Database&);
// kMigrations[v] takes a workspace from version v to v + 1. A v2 schema appends migrateV1toV2
// here (and, if it rebuilds a table, runs with foreign keys checked by
// PRAGMA foreign_key_check before the commit, since foreign_keys cannot change inside a
// transaction).
constexpr MigrationStep kMigrations[] = {migrateV0toV1, migrateV1toV2, migrateV2toV3, migrateV3toV4};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kCurrentSchemaVersion,
              "one migration step per schema version");

std::string quoted(const sqlite::Database& db) { return "'" + db.path() + "'"; }

std::int64_t pragmaInt(sqlite::Database& db, const char* sql) {
    sqlite::Statement st(db, sql);
    return st.step() ? st.int64(0) : 0;
}

// The first read of the file: this is where SQLite notices a file that is not a database.
std::int64_t probe(sqlite::Database& db) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db.handle(), "SELECT count(*) FROM sqlite_schema", -1, &st, nullptr);
    std::int64_t tables = 0;
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            tables = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    const int primary = rc & 0xFF;
    if (primary == SQLITE_NOTADB)
        throw UserError("cannot open " + quoted(db) +
                        ": it is not a Larimar workspace (not an SQLite database)");
    if (primary == SQLITE_CORRUPT)
        throw UserError("cannot open " + quoted(db) + ": the workspace file is damaged (" +
                        sqlite3_errmsg(db.handle()) + ")");
    if (rc != SQLITE_OK) db.fail(rc, "cannot read the workspace");
    return tables;
}

// The tables each schema version has; a file whose tables do not match its version was made
// or changed by something else, and migrating it would run steps on the wrong tables.
struct VersionTables {
    int since;
    const char* table;
};
constexpr VersionTables kTables[] = {{1, "meta"},      {1, "edits"},     {1, "facts"},
                                     {1, "generations"}, {1, "snapshots"}, {2, "fact_embeddings"}};

bool hasTable(sqlite::Database& db, const char* name) {
    sqlite::Statement st(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?");
    st.bind(1, name);
    return st.step();
}

void checkConsistent(sqlite::Database& db, std::int64_t version, std::int64_t tables, bool larimarId) {
    if (version < 0)
        throw UserError("cannot open " + quoted(db) + ": its schema version (PRAGMA user_version) is " +
                        std::to_string(version) +
                        ", which no Larimar Workbench writes; the file was damaged or changed by "
                        "another program (restore a backup)");
    if (version == 0) {
        if (larimarId && tables > 0)
            throw UserError("cannot open " + quoted(db) +
                            ": it is marked as a Larimar workspace but has schema version 0 and " +
                            std::to_string(tables) +
                            " table(s); the file was damaged or changed by another program "
                            "(restore a backup)");
        return;
    }
    for (const auto& t : kTables)
        if (version >= t.since && !hasTable(db, t.table))
            throw UserError("cannot open " + quoted(db) + ": it says schema version " +
                            std::to_string(version) + " but has no table '" + t.table +
                            "'; the file was damaged or changed by another program (restore a "
                            "backup)");
}

} // namespace

int openSchema(sqlite::Database& db, bool readOnly) {
    const std::int64_t tables = probe(db);
    const auto appId = static_cast<std::int32_t>(pragmaInt(db, "PRAGMA application_id"));
    const auto version = pragmaInt(db, "PRAGMA user_version");
    const bool blank = tables == 0 && appId == 0 && version == 0;
    if (!blank && appId != kWorkspaceApplicationId) {
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(appId));
        throw UserError("cannot open " + quoted(db) +
                        ": it is an SQLite database but not a Larimar workspace (application_id " +
                        hex + ")");
    }
    if (version > kCurrentSchemaVersion)
        throw UserError("cannot open " + quoted(db) +
                        ": it was written by a newer Larimar Workbench (workspace schema version " +
                        std::to_string(version) + ", this version reads up to " +
                        std::to_string(kCurrentSchemaVersion) + "); update Larimar Workbench");
    checkConsistent(db, version, tables, appId == kWorkspaceApplicationId);
    if (readOnly) {
        if (blank || version == 0)
            throw UserError("cannot open " + quoted(db) +
                            ": it is empty, not a workspace yet (a workspace is created by the "
                            "first write)");
        // Connection settings only: nothing here writes to the file.
        db.exec("PRAGMA foreign_keys=ON");
        return static_cast<int>(version);
    }

    // WAL: readers never block the writer and a commit is one append + fsync. It is a property
    // of the file, so it persists; it cannot change inside a transaction, hence before migrating.
    db.exec("PRAGMA journal_mode=WAL");
    // FULL rather than NORMAL: with WAL, NORMAL is safe against a killed process but can lose
    // the newest commits on a power cut. An edit the user was told is recorded (its hash maybe
    // copied into a report) must survive that; FULL costs one WAL fsync per transaction, and a
    // batch of thousands of facts is one transaction.
    db.exec("PRAGMA synchronous=FULL");

    if (version < kCurrentSchemaVersion) {
        db.exec("BEGIN IMMEDIATE");
        try {
            // Another process may have migrated between our check and the write lock.
            const auto now = pragmaInt(db, "PRAGMA user_version");
            if (now != version) checkConsistent(db, now, probe(db), true);
            if (now < 0 || now > kCurrentSchemaVersion)
                throw UserError("cannot open " + quoted(db) + ": its schema version changed to " +
                                std::to_string(now) + " while it was being opened");
            for (auto v = now; v < kCurrentSchemaVersion; ++v) kMigrations[v](db);
            {
                sqlite::Statement check(db, "PRAGMA foreign_key_check");
                if (check.step())
                    throw UserError("cannot upgrade " + quoted(db) + ": table '" + check.text(0) +
                                    "' has a row that refers to a missing row of '" + check.text(2) +
                                    "'; the file was damaged or changed by another program");
            }
            db.exec("PRAGMA application_id=" + std::to_string(kWorkspaceApplicationId));
            db.exec("PRAGMA user_version=" + std::to_string(kCurrentSchemaVersion));
            db.exec("COMMIT");
        } catch (...) {
            db.rollbackQuietly();
            throw;
        }
    }
    // After migrating: a table rebuild must run with foreign keys off, and the pragma cannot
    // change inside a transaction.
    db.exec("PRAGMA foreign_keys=ON");
    return static_cast<int>(version);
}

} // namespace larimar::store
