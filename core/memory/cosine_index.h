#pragma once
/// Nearest facts by cosine similarity of their latents: the routing of the paged memory and
/// the retrieval of the kv (attention) memory. Unit rows in float, one matrix-vector product
/// per query: 100,000 facts x C = 2,688 read in ~30 ms on one core. Ties go to the lower fact
/// id, so a query's answer is the same in every process.
///
/// Thread-safety: none.
#include <Eigen/Dense>

#include <cstdint>
#include <utility>
#include <vector>

namespace larimar {

class CosineIndex {
public:
    explicit CosineIndex(int width = 0) : m_width(width) {}
    int width() const { return m_width; }
    std::size_t size() const { return m_ids.size(); }
    void clear() {
        m_ids.clear();
        m_rows.resize(0, m_width);
    }
    /// Adds a fact (a zero latent stays zero: it is nobody's nearest).
    void add(std::int64_t id, const Eigen::RowVectorXd& z);
    /// Removes a fact; nothing happens when it is not here.
    void remove(std::int64_t id);
    /// The k facts nearest to q (1 x width), best first, with their cosines (fewer when fewer
    /// are here).
    std::vector<std::pair<std::int64_t, float>> nearest(const Eigen::RowVectorXd& q, int k) const;

private:
    int m_width;
    std::vector<std::int64_t> m_ids;
    Eigen::MatrixXf m_rows; ///< unit rows; capacity may exceed size()
};

} // namespace larimar
