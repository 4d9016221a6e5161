#include "core/memory/cosine_index.h"

#include <algorithm>

namespace larimar {

void CosineIndex::add(std::int64_t id, const Eigen::RowVectorXd& z) {
    const auto n = static_cast<Eigen::Index>(m_ids.size());
    if (n == m_rows.rows()) m_rows.conservativeResize(std::max<Eigen::Index>(16, 2 * n), m_width);
    const double norm = z.norm();
    m_rows.row(n) = (norm > 0 ? Eigen::RowVectorXd(z / norm) : z).cast<float>();
    m_ids.push_back(id);
}

void CosineIndex::remove(std::int64_t id) {
    const auto it = std::find(m_ids.begin(), m_ids.end(), id);
    if (it == m_ids.end()) return;
    const auto i = static_cast<Eigen::Index>(it - m_ids.begin());
    const auto last = static_cast<Eigen::Index>(m_ids.size()) - 1;
    m_rows.row(i) = m_rows.row(last);
    m_ids[static_cast<std::size_t>(i)] = m_ids.back();
    m_ids.pop_back();
}

std::vector<std::pair<std::int64_t, float>> CosineIndex::nearest(const Eigen::RowVectorXd& q, int k) const {
    const auto n = static_cast<Eigen::Index>(m_ids.size());
    if (n == 0 || k <= 0) return {};
    const Eigen::RowVectorXf qf = q.cast<float>();
    const Eigen::VectorXf cos = m_rows.topRows(n) * qf.transpose();
    std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
    for (Eigen::Index i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
    const auto better = [&](Eigen::Index a, Eigen::Index b) {
        if (cos(a) != cos(b)) return cos(a) > cos(b);
        return m_ids[static_cast<std::size_t>(a)] < m_ids[static_cast<std::size_t>(b)];
    };
    const auto take = std::min<std::size_t>(static_cast<std::size_t>(k), order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(take), order.end(), better);
    std::vector<std::pair<std::int64_t, float>> out;
    for (std::size_t i = 0; i < take; ++i) out.emplace_back(m_ids[static_cast<std::size_t>(order[i])], cos(order[i]));
    return out;
}

} // namespace larimar
