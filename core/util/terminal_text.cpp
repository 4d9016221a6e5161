#include "core/util/terminal_text.h"

#include "core/util/utf8.h"

#include <cstdint>
#include <cstdio>

namespace larimar {
namespace {

bool isHiddenControl(std::uint32_t cp) {
    return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
           (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

void hexByte(std::string& out, unsigned char b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", b);
    out += buf;
}

} // namespace

std::string escapeForTerminal(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        if (b < 0x80) {
            switch (b) {
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case 0x1B: out += "\\e"; break;
            default:
                if (b < 0x20 || b == 0x7F) hexByte(out, b);
                else out += static_cast<char>(b);
            }
            ++i;
            continue;
        }
        const Utf8Char c = decodeUtf8(text, i);
        const std::uint32_t cp = c.cp;
        const std::size_t n = c.len;
        if (!c.valid) {
            hexByte(out, b);
            ++i;
            continue;
        }
        if (isHiddenControl(cp)) {
            char buf[12];
            std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(cp));
            out += buf;
        } else {
            out.append(text.substr(i, n));
        }
        i += n;
    }
    return out;
}

} // namespace larimar
