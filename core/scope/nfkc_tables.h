#pragma once
/// Internal: the Unicode tables behind nfkc() (generated into nfkc_tables.cpp by
/// tests/data/scope/gen_nfkc_tables.py). Hangul syllables are handled arithmetically, not here.
#include <cstddef>
#include <cstdint>

namespace larimar::unicode_nfkc {

struct CccRange {
    char32_t lo;
    char32_t hi;
    std::uint8_t ccc;  ///< canonical combining class, non-zero
};

struct Decomposition {
    char32_t cp;
    std::uint32_t offset;  ///< into kDecompositionData
    std::uint32_t length;
};

struct Composition {
    char32_t first;
    char32_t second;
    char32_t composite;
};

extern const CccRange kCccRanges[];
extern const std::size_t kCccRangeCount;
extern const Decomposition kDecompositions[];
extern const std::size_t kDecompositionCount;
extern const char32_t kDecompositionData[];
extern const Composition kCompositions[];
extern const std::size_t kCompositionCount;

} // namespace larimar::unicode_nfkc
