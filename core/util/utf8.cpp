#include "core/util/utf8.h"

namespace larimar {

void appendUtf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::string toValidUtf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const Utf8Char c = decodeUtf8(s, i);
        if (c.valid)
            out.append(s.substr(i, c.len));
        else
            out += "\xEF\xBF\xBD";
        i += c.len;
    }
    return out;
}

std::optional<Utf8Problem> findUtf8Problem(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const Utf8Char c = decodeUtf8(text, i);
        if (c.valid && c.cp == 0) return Utf8Problem{i, "a NUL byte"};
        if (!c.valid) {
            // A lead byte with too few bytes after it is a cut-off sequence, not a wrong one.
            const unsigned lead = static_cast<unsigned char>(text[i]);
            const std::size_t need = lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3
                                   : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
            if (need && i + need > text.size()) return Utf8Problem{i, "a truncated UTF-8 sequence"};
            return Utf8Problem{i, "invalid UTF-8"};
        }
        i += c.len;
    }
    return std::nullopt;
}

} // namespace larimar
