#include "core/util/npy.h"

#include "core/util/error.h"
#include "core/util/file_io.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>

namespace larimar {
namespace {
const char kMagic[] = "\x93NUMPY";

std::string shapeText(const std::vector<std::int64_t>& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        s += std::to_string(shape[i]);
        if (shape.size() == 1 || i + 1 < shape.size()) s += ",";
        if (i + 1 < shape.size()) s += " ";
    }
    return s + ")";
}

std::int64_t elementCount(const std::vector<std::int64_t>& shape) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}
} // namespace

void writeNpy(const std::string& path, const double* data, const std::vector<std::int64_t>& shape,
              bool asFloat32) {
    std::string header = "{'descr': '" + std::string(asFloat32 ? "<f4" : "<f8") +
                         "', 'fortran_order': False, 'shape': " + shapeText(shape) + ", }";
    // magic(6) + version(2) + header length(2) + header + '\n' must be a multiple of 64.
    const std::size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header.push_back('\n');

    std::string bytes(kMagic, 6);
    bytes += std::string("\x01\x00", 2);
    const std::uint16_t len = static_cast<std::uint16_t>(header.size());
    bytes.append(reinterpret_cast<const char*>(&len), 2);
    bytes += header;
    const std::int64_t n = elementCount(shape);
    if (asFloat32) {
        std::vector<float> f(data, data + n);
        bytes.append(reinterpret_cast<const char*>(f.data()), static_cast<std::size_t>(n) * 4);
    } else {
        bytes.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n) * 8);
    }
    writeFileAtomically(path, bytes);
}

NpyArray readNpy(const std::string& path) {
    const std::string bytes = readFile(path);
    auto fail = [&](const std::string& why) { return UserError(path + " is not a readable .npy file: " + why); };
    if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) throw fail("bad magic");
    std::size_t headerLen = 0, offset = 0;
    if (bytes[6] == 1) {
        headerLen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
        offset = 10;
    } else if (bytes[6] == 2 || bytes[6] == 3) {
        if (bytes.size() < 12) throw fail("truncated header");
        std::uint32_t l;
        std::memcpy(&l, bytes.data() + 8, 4);
        headerLen = l;
        offset = 12;
    } else {
        throw fail("unsupported version " + std::to_string(bytes[6]));
    }
    if (headerLen > bytes.size() - offset) throw fail("truncated header");
    const std::string header(bytes.data() + offset, headerLen);
    offset += headerLen;

    std::smatch m;
    if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']*)'"))) throw fail("no dtype");
    const std::string descr = m[1];
    if (descr != "<f8" && descr != "<f4") throw fail("dtype " + descr + " (only <f8 and <f4 are read)");
    if (std::regex_search(header, m, std::regex("'fortran_order':\\s*True"))) throw fail("Fortran order");
    if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)"))) throw fail("no shape");
    NpyArray arr;
    const std::string dims = m[1];
    std::regex num("\\d+");
    for (auto it = std::sregex_iterator(dims.begin(), dims.end(), num); it != std::sregex_iterator(); ++it)
        arr.shape.push_back(std::stoll(it->str()));
    const std::int64_t n = elementCount(arr.shape);
    const std::size_t width = descr == "<f8" ? 8 : 4;
    if (n < 0 || static_cast<std::size_t>(n) > (bytes.size() - offset) / width)
        throw fail("truncated data (" + std::to_string(n) + " elements expected)");
    arr.data.resize(static_cast<std::size_t>(n));
    if (width == 8) {
        std::memcpy(arr.data.data(), bytes.data() + offset, static_cast<std::size_t>(n) * 8);
    } else {
        for (std::int64_t i = 0; i < n; ++i) {
            float f;
            std::memcpy(&f, bytes.data() + offset + static_cast<std::size_t>(i) * 4, 4);
            arr.data[static_cast<std::size_t>(i)] = f;
        }
    }
    return arr;
}

} // namespace larimar
