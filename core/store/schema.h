#pragma once
/// The workspace schema and its migrations. Private to core/store: the only place that holds
/// the DDL. To change the schema, bump kCurrentSchemaVersion and append one migration step
/// (vN -> vN+1) in schema.cpp; never edit a step that has shipped.
#include <cstdint>

namespace larimar::sqlite {
class Database;
}

namespace larimar::store {

inline constexpr int kCurrentSchemaVersion = 4;
/// PRAGMA application_id of a workspace: "LRMW" as a big-endian 32-bit integer.
inline constexpr std::int32_t kWorkspaceApplicationId = 0x4C524D57;

/// Checks that db is a workspace this build can read, switches on WAL, foreign keys and
/// synchronous=FULL, and migrates it to kCurrentSchemaVersion in one transaction.
/// Returns the schema version the file had (0 for a new or empty file). Throws UserError
/// naming the file for a non-SQLite file, a foreign SQLite database, a newer schema, a
/// negative version, or a version the file's tables do not match (the version is checked
/// before it is used, so no input selects a migration step that does not exist).
/// readOnly: changes nothing (no WAL switch, no migration); an older schema is read as it
/// is, an empty file is refused as "not a workspace yet".
int openSchema(sqlite::Database& db, bool readOnly = false);

} // namespace larimar::store
