#pragma once
/// The engine's one UTF-8 codec: strict decoding (no overlong forms, no surrogates, nothing
/// above U+10FFFF), encoding, repair and the validation every text entering the engine goes
/// through.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace larimar {

/// One character of a byte string: its code point and length in bytes. A byte that starts no
/// strict sequence comes back alone (len 1, cp = the byte) with valid = false, so that every
/// byte string can be walked.
struct Utf8Char {
    char32_t cp;
    std::size_t len;
    bool valid;
};

/// The character at s[i] (i < s.size()). O(1); inline, as tokenizers call it per character.
inline Utf8Char decodeUtf8(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return {c, 1, true};
    const auto cont = [&](std::size_t k, unsigned lo, unsigned hi) {
        return k < s.size() && b(k) >= lo && b(k) <= hi;
    };
    if (c >= 0xC2 && c <= 0xDF && cont(i + 1, 0x80, 0xBF))
        return {char32_t((c & 0x1F) << 6 | (b(i + 1) & 0x3F)), 2, true};
    if (c >= 0xE0 && c <= 0xEF) {
        const unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
        const unsigned hi = c == 0xED ? 0x9F : 0xBF;
        if (cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xBF))
            return {char32_t((c & 0x0F) << 12 | (b(i + 1) & 0x3F) << 6 | (b(i + 2) & 0x3F)), 3, true};
    }
    if (c >= 0xF0 && c <= 0xF4) {
        const unsigned lo = c == 0xF0 ? 0x90 : 0x80;
        const unsigned hi = c == 0xF4 ? 0x8F : 0xBF;
        if (cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xBF) && cont(i + 3, 0x80, 0xBF))
            return {char32_t((c & 0x07) << 18 | (b(i + 1) & 0x3F) << 12 | (b(i + 2) & 0x3F) << 6 | (b(i + 3) & 0x3F)),
                    4, true};
    }
    return {c, 1, false};
}

/// Appends code point cp (at most U+10FFFF, not a surrogate) as UTF-8.
void appendUtf8(std::string& out, char32_t cp);

/// s with every byte that starts no strict sequence replaced by U+FFFD, so a text cut inside a
/// multi-byte character (a token, the end of an output) is still valid. O(size).
std::string toValidUtf8(std::string_view s);

struct Utf8Problem {
    std::size_t offset;  ///< byte offset of the offending byte
    std::string what;    ///< "a NUL byte", "invalid UTF-8", "a truncated UTF-8 sequence"
};

/// The first problem in text, or nothing if it is valid UTF-8 without NUL bytes. O(size).
std::optional<Utf8Problem> findUtf8Problem(std::string_view text);

} // namespace larimar
