#include "core/store/fact_embeddings.h"

#include "core/store/schema.h"
#include "core/store/sqlite_db.h"
#include "core/util/error.h"

#include <cstring>
#include <filesystem>
#include <unistd.h>

namespace larimar {

namespace {
/// A workspace on a read-only medium or in a folder this user cannot write: the cache is read
/// from it, and storing is refused (the vectors are then computed again on each open).
bool cannotWrite(const std::string& path) {
    auto dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = ".";
    return ::access(path.c_str(), W_OK) != 0 || ::access(dir.c_str(), W_OK) != 0;
}
} // namespace

struct FactEmbeddingCache::Impl {
    Impl(const std::string& path, bool readOnly)
        : db(path, false, readOnly, readOnly && sqlite::needsImmutableOpen(path)), readOnly(readOnly) {}
    sqlite::Database db;
    bool readOnly;
};

FactEmbeddingCache::FactEmbeddingCache(const std::string& workspacePath, std::chrono::milliseconds busyTimeout) {
    if (!std::filesystem::exists(workspacePath)) throw UserError("no workspace at '" + workspacePath + "'");
    sqlite::requireRegularFile(workspacePath);
    const bool readOnly = cannotWrite(workspacePath);
    m_impl = std::make_unique<Impl>(workspacePath, readOnly);
    m_impl->db.exec("PRAGMA busy_timeout=" + std::to_string(busyTimeout.count()));
    store::openSchema(m_impl->db, readOnly);
}

FactEmbeddingCache::~FactEmbeddingCache() = default;

std::unordered_map<std::int64_t, std::vector<float>> FactEmbeddingCache::load(const std::string& encoder, int dimension) {
    std::unordered_map<std::int64_t, std::vector<float>> out;
    auto& st = m_impl->db.cached("SELECT fact_id, vector FROM fact_embeddings WHERE encoder = ? AND dimension = ?");
    st.bind(1, encoder).bind(2, dimension);
    while (st.step()) {
        const auto bytes = st.blob(1);
        if (bytes.size() != static_cast<std::size_t>(dimension) * sizeof(float)) continue;
        std::vector<float> v(static_cast<std::size_t>(dimension));
        std::memcpy(v.data(), bytes.data(), bytes.size()); // little-endian hosts only (x86-64, arm64)
        out.emplace(st.int64(0), std::move(v));
    }
    st.reset();
    return out;
}

void FactEmbeddingCache::store(const std::string& encoder,
                               const std::vector<std::pair<std::int64_t, std::vector<float>>>& vectors) {
    if (vectors.empty()) return;
    if (m_impl->readOnly)
        throw UserError("cannot store embeddings in '" + m_impl->db.path() + "': it is read-only");
    auto& db = m_impl->db;
    db.exec("BEGIN IMMEDIATE");
    try {
        auto& exists = db.cached("SELECT 1 FROM facts WHERE id = ?");
        auto& put = db.cached("INSERT INTO fact_embeddings (fact_id, encoder, dimension, vector) VALUES (?, ?, ?, ?) "
                              "ON CONFLICT (fact_id, encoder) DO UPDATE SET dimension = excluded.dimension, "
                              "vector = excluded.vector");
        for (const auto& [id, v] : vectors) {
            exists.bind(1, id);
            const bool known = exists.step();
            exists.reset();
            if (!known) throw UserError("no fact with id " + std::to_string(id));
            put.bind(1, id)
                .bind(2, encoder)
                .bind(3, static_cast<std::int64_t>(v.size()))
                .bindBlob(4, v.data(), v.size() * sizeof(float))
                .run();
            put.reset(); // a statement run to completion must be reset before it is bound again
        }
        db.exec("COMMIT");
    } catch (...) {
        db.rollbackQuietly();
        throw;
    }
}

std::int64_t FactEmbeddingCache::count(const std::string& encoder) {
    auto& st = m_impl->db.cached("SELECT count(*) FROM fact_embeddings WHERE encoder = ?");
    st.bind(1, encoder);
    const std::int64_t n = st.step() ? st.int64(0) : 0;
    st.reset();
    return n;
}

} // namespace larimar
