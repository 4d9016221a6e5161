#pragma once
/// Nearest stored fact by cosine similarity (exact 1-NN, brute force), for the external scope
/// detector. Vectors are L2-normalised when added, so a query costs one dot product per stored
/// fact: O(size * dimension), about 50 M multiply-adds for 100,000 facts of 512 floats.
/// No libtorch here.
///
/// Thread-safety: const calls may run from several threads at once; add/remove/clear need
/// exclusive access (the owner serialises writes).
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

namespace larimar {

struct Neighbour {
    std::int64_t id = 0;
    float cosine = 0.0f;  ///< in [-1, 1]
};

class NearestFactIndex {
public:
    /// dimension 0: taken from the first vector added.
    explicit NearestFactIndex(int dimension = 0);

    /// Stores (a normalised copy of) embedding under id, replacing what id had. O(dimension).
    /// Throws UserError if its length differs from the index's dimension, or if it is zero or
    /// not finite.
    void add(std::int64_t id, const std::vector<float>& embedding);

    /// Drops id; false if it was not there. O(dimension).
    bool remove(std::int64_t id);

    /// The stored fact most similar to query (of equal ones, any),
    /// or nothing when the index is empty. The query need not be normalised. Throws UserError
    /// for a query of the wrong length, zero or not finite.
    std::optional<Neighbour> nearest(const std::vector<float>& query) const;

    /// The cosine similarity of query with each of ids (in that order; NaN for an id not stored).
    /// O(ids * dimension). Throws like nearest().
    std::vector<float> cosines(const std::vector<float>& query, const std::vector<std::int64_t>& ids) const;

    bool contains(std::int64_t id) const { return m_rowOf.count(id) != 0; }
    std::size_t size() const { return m_ids.size(); }
    bool empty() const { return m_ids.empty(); }
    int dimension() const { return m_dimension; }
    void clear();

private:
    std::vector<float> normalised(const std::vector<float>& v, const char* what) const;

    int m_dimension = 0;
    std::vector<float> m_rows;  // size() x m_dimension, row-major
    std::vector<std::int64_t> m_ids;
    std::unordered_map<std::int64_t, std::size_t> m_rowOf;
};

} // namespace larimar
