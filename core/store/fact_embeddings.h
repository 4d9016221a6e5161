#pragma once
/// The workspace's cache of scope-detector embeddings (table fact_embeddings, schema v2): one
/// float32 vector per fact and encoder, so reopening a workspace loads the vectors instead of
/// running the sentence encoder over every fact again. It is derived data, outside the audit
/// chain: a missing or stale row only costs re-embedding that fact.
///
/// It uses its own SQLite connection to the workspace file (WAL lets it read and write beside
/// the editor's connection). Call it outside the editor's write transactions (the scope
/// detector is told about facts after they are committed), or it waits for that transaction.
///
/// Thread-safety: none; one object per thread, like Workspace.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace larimar {

class FactEmbeddingCache {
public:
    /// Opens the workspace file (which must exist: UserError otherwise) and migrates it like
    /// Workspace does. Cost: one open.
    explicit FactEmbeddingCache(const std::string& workspacePath,
                                std::chrono::milliseconds busyTimeout = std::chrono::milliseconds(5000));
    ~FactEmbeddingCache();
    FactEmbeddingCache(const FactEmbeddingCache&) = delete;
    FactEmbeddingCache& operator=(const FactEmbeddingCache&) = delete;

    /// Every stored vector of encoder with this dimension, by fact id (rows of another
    /// dimension are ignored: they are stale). O(rows); about 2 KB per 512-d vector.
    std::unordered_map<std::int64_t, std::vector<float>> load(const std::string& encoder, int dimension);
    /// Stores (or replaces) vectors in one transaction. Throws UserError for an unknown fact id.
    void store(const std::string& encoder, const std::vector<std::pair<std::int64_t, std::vector<float>>>& vectors);
    /// Number of stored vectors of encoder.
    std::int64_t count(const std::string& encoder);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace larimar
