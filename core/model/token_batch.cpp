#include "core/model/token_batch.h"

#include <algorithm>

namespace larimar {

std::pair<torch::Tensor, torch::Tensor> rightPaddedBatch(const std::vector<std::vector<std::int32_t>>& rows,
                                                         std::int64_t padId, std::int64_t minLength) {
    std::int64_t len = minLength;
    for (const auto& r : rows) len = std::max(len, std::int64_t(r.size()));
    const auto n = std::int64_t(rows.size());
    auto ids = torch::full({n, len}, padId, torch::kLong);
    auto mask = torch::zeros({n, len}, torch::kLong);
    auto idsA = ids.accessor<std::int64_t, 2>();
    auto maskA = mask.accessor<std::int64_t, 2>();
    for (std::int64_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < rows[std::size_t(i)].size(); ++j) {
            idsA[i][std::int64_t(j)] = rows[std::size_t(i)][j];
            maskA[i][std::int64_t(j)] = 1;
        }
    return {ids, mask};
}

} // namespace larimar
