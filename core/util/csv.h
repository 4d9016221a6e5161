#pragma once
/// The engine's one CSV writer rule (RFC 4180), for every CSV the CLI and the GUI write.
#include <string>
#include <string_view>

namespace larimar {

/// s as one CSV field: as it is when it holds no comma, quote, CR or LF; else in double quotes
/// with each quote doubled. O(size).
std::string csvField(std::string_view s);

} // namespace larimar
