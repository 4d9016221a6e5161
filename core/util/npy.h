#pragma once
/// NumPy .npy files (format version 1.0, C order), so users can load engine state with
/// numpy.load(). Writes float64 ('<f8') or float32 ('<f4'); reads either back as double.
#include <cstdint>
#include <string>
#include <vector>

namespace larimar {

struct NpyArray {
    std::vector<std::int64_t> shape;
    std::vector<double> data; ///< C order
};

/// Writes a row-major (C order) array. Throws larimar::Error if the file cannot be written;
/// the file is written to a temporary name and renamed, so a failed write leaves nothing.
void writeNpy(const std::string& path, const double* data, const std::vector<std::int64_t>& shape,
              bool asFloat32 = false);
/// Reads '<f8' or '<f4' arrays in C order. Throws larimar::UserError naming the file and the
/// problem for anything else (not an .npy, Fortran order, other dtype, truncated data).
NpyArray readNpy(const std::string& path);

} // namespace larimar
