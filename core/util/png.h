#pragma once
/// Minimal PNG writer (8-bit RGB, zlib-compressed, no interlacing): what the chart renderer needs
/// to produce files any viewer opens, without an image library.
#include <cstdint>
#include <vector>

namespace larimar {

/// Encodes width x height pixels (row-major, top row first, 3 bytes R,G,B per pixel) as a complete
/// PNG file: signature, IHDR, one IDAT, IEND. Throws larimar::Error for sizes outside 1..65535 or
/// if rgb holds fewer than width*height*3 bytes. Cost: one deflate pass, O(width*height).
std::vector<std::uint8_t> encodePng(int width, int height, const std::vector<std::uint8_t>& rgb);

} // namespace larimar
