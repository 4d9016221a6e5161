#include "core/scope/nearest_fact_index.h"

#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace larimar {

NearestFactIndex::NearestFactIndex(int dimension) : m_dimension(dimension) {
    if (dimension < 0) throw UserError("nearest-fact index: dimension must be >= 0, got " + std::to_string(dimension));
}

std::vector<float> NearestFactIndex::normalised(const std::vector<float>& v, const char* what) const {
    if (static_cast<int>(v.size()) != m_dimension)
        throw UserError(std::string("nearest-fact index: ") + what + " has " + std::to_string(v.size()) +
                        " values, the index holds vectors of " + std::to_string(m_dimension));
    double sum = 0.0;
    for (float x : v) sum += static_cast<double>(x) * x;
    if (!std::isfinite(sum) || sum == 0.0)
        throw UserError(std::string("nearest-fact index: ") + what + " is zero or not finite");
    const auto scale = static_cast<float>(1.0 / std::sqrt(sum));
    std::vector<float> out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = v[i] * scale;
    return out;
}

void NearestFactIndex::add(std::int64_t id, const std::vector<float>& embedding) {
    if (m_dimension == 0) {
        if (embedding.empty()) throw UserError("nearest-fact index: an embedding needs at least one value");
        if (empty()) m_dimension = static_cast<int>(embedding.size());
    }
    const auto row = normalised(embedding, ("the embedding of fact " + std::to_string(id)).c_str());
    const auto dim = static_cast<std::size_t>(m_dimension);
    auto it = m_rowOf.find(id);
    if (it != m_rowOf.end()) {
        std::copy(row.begin(), row.end(), m_rows.begin() + static_cast<std::ptrdiff_t>(it->second * dim));
        return;
    }
    m_rowOf.emplace(id, m_ids.size());
    m_ids.push_back(id);
    m_rows.insert(m_rows.end(), row.begin(), row.end());
}

bool NearestFactIndex::remove(std::int64_t id) {
    auto it = m_rowOf.find(id);
    if (it == m_rowOf.end()) return false;
    const std::size_t row = it->second, last = m_ids.size() - 1;
    const auto dim = static_cast<std::size_t>(m_dimension);
    m_rowOf.erase(it);
    if (row != last) {  // move the last row into the hole: O(dimension)
        std::copy(m_rows.begin() + static_cast<std::ptrdiff_t>(last * dim), m_rows.end(),
                  m_rows.begin() + static_cast<std::ptrdiff_t>(row * dim));
        m_ids[row] = m_ids[last];
        m_rowOf[m_ids[row]] = row;
    }
    m_ids.pop_back();
    m_rows.resize(last * dim);
    return true;
}

void NearestFactIndex::clear() {
    m_rows.clear();
    m_ids.clear();
    m_rowOf.clear();
}

std::optional<Neighbour> NearestFactIndex::nearest(const std::vector<float>& query) const {
    if (empty()) return std::nullopt;
    const auto q = normalised(query, "the query");
    const auto dim = static_cast<std::size_t>(m_dimension);
    std::size_t best = 0;
    float bestDot = -2.0f;
    const float* row = m_rows.data();
    for (std::size_t r = 0; r < m_ids.size(); ++r, row += dim) {
        // Eight partial sums let the compiler vectorise without reassociating a single sum.
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        std::size_t i = 0;
        for (; i + 8 <= dim; i += 8)
            for (std::size_t k = 0; k < 8; ++k) acc[k] += row[i + k] * q[i + k];
        float dot = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        for (; i < dim; ++i) dot += row[i] * q[i];
        if (dot > bestDot) {
            bestDot = dot;
            best = r;
        }
    }
    return Neighbour{m_ids[best], std::clamp(bestDot, -1.0f, 1.0f)};
}

std::vector<float> NearestFactIndex::cosines(const std::vector<float>& query, const std::vector<std::int64_t>& ids) const {
    std::vector<float> out(ids.size(), std::numeric_limits<float>::quiet_NaN());
    if (empty() || ids.empty()) return out;
    const auto q = normalised(query, "the query");
    const auto dim = static_cast<std::size_t>(m_dimension);
    for (std::size_t k = 0; k < ids.size(); ++k) {
        const auto it = m_rowOf.find(ids[k]);
        if (it == m_rowOf.end()) continue;
        const float* row = m_rows.data() + it->second * dim;
        double dot = 0;
        for (std::size_t i = 0; i < dim; ++i) dot += static_cast<double>(row[i]) * q[i];
        out[k] = std::clamp(static_cast<float>(dot), -1.0f, 1.0f);
    }
    return out;
}

} // namespace larimar
