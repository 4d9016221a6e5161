#pragma once
/// Strict UTF-8 validation (no overlong forms, no surrogates, nothing above U+10FFFF), the one
/// check every text entering the engine goes through.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace larimar {

struct Utf8Problem {
    std::size_t offset;  ///< byte offset of the offending byte
    std::string what;    ///< "a NUL byte", "invalid UTF-8", "a truncated UTF-8 sequence"
};

/// The first problem in text, or nothing if it is valid UTF-8 without NUL bytes. O(size).
std::optional<Utf8Problem> findUtf8Problem(std::string_view text);

} // namespace larimar
