#pragma once
/// Small statistics shared by the benchmarks and evaluations.
#include <vector>

namespace larimar {

/// The median of v: its middle value, or the mean of the two middle values when v has an even
/// number of them; 0 for an empty v. O(n log n).
double median(std::vector<double> v);

} // namespace larimar
