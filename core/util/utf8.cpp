#include "core/util/utf8.h"

namespace larimar {

std::optional<Utf8Problem> findUtf8Problem(std::string_view text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    for (std::size_t i = 0; i < n;) {
        const unsigned c = s[i];
        std::size_t len = 0;
        unsigned cp = 0;
        if (c == 0) return Utf8Problem{i, "a NUL byte"};
        if (c < 0x80) {
            ++i;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
        else return Utf8Problem{i, "invalid UTF-8"};
        if (i + len > n) return Utf8Problem{i, "a truncated UTF-8 sequence"};
        for (std::size_t k = 1; k < len; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) return Utf8Problem{i, "invalid UTF-8"};
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return Utf8Problem{i, "invalid UTF-8"};
        i += len;
    }
    return std::nullopt;
}

} // namespace larimar
