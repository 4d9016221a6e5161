#pragma once
/// Token sequences as one right-padded batch: what every model here feeds its transformer.
#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace larimar {

/// ids [N, T] int64 (T: the longest row, at least minLength) with padId after each row's
/// tokens, and mask [N, T] int64, 1 for real tokens and 0 for padding; both on the CPU.
std::pair<torch::Tensor, torch::Tensor> rightPaddedBatch(const std::vector<std::vector<std::int32_t>>& rows,
                                                         std::int64_t padId = 0, std::int64_t minLength = 1);

} // namespace larimar
