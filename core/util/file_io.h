#pragma once
/// The one way the engine replaces a file: write a temporary file beside it, flush and fsync,
/// then rename over the target, so a crash or a full disk never leaves a half-written file
/// under the real name.
#include <cstddef>
#include <string>
#include <string_view>

namespace larimar {

/// Throws larimar::Error naming the path and the reason; leaves no temporary file behind.
void writeFileAtomically(const std::string& path, const void* data, std::size_t size);
inline void writeFileAtomically(const std::string& path, std::string_view content) {
    writeFileAtomically(path, content.data(), content.size());
}

} // namespace larimar
