// utf8.hpp (private): strict UTF-8 checks shared by the JSON parser and serializers and
// the object key validator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace worm::detail {

inline constexpr std::size_t kValidUtf8 = static_cast<std::size_t>(-1);

// Decodes one scalar value at s[pos]; returns its length in bytes, or 0 when the bytes
// there are not well-formed UTF-8 (overlong forms, surrogates, > U+10FFFF, truncation).
inline std::size_t decode_utf8(std::string_view s, std::size_t pos, char32_t& out) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char b0 = byte(pos);
    if (b0 < 0x80) {
        out = b0;
        return 1;
    }
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
        len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (pos + len > s.size()) return 0;
    for (std::size_t i = 1; i < len; ++i) {
        const unsigned char b = byte(pos + i);
        if ((b & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    out = cp;
    return len;
}

// Offset of the first byte that is not well-formed UTF-8, or kValidUtf8.
inline std::size_t find_invalid_utf8(std::string_view s) {
    for (std::size_t pos = 0; pos < s.size();) {
        char32_t cp = 0;
        const std::size_t n = decode_utf8(s, pos, cp);
        if (n == 0) return pos;
        pos += n;
    }
    return kValidUtf8;
}

// UTF-16 code units of already-validated UTF-8 (RFC 8785 sorts keys by these).
inline std::vector<char16_t> to_utf16(std::string_view s) {
    std::vector<char16_t> units;
    units.reserve(s.size());
    for (std::size_t pos = 0; pos < s.size();) {
        char32_t cp = 0;
        const std::size_t n = decode_utf8(s, pos, cp);
        pos += n ? n : 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            units.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
            units.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
        } else {
            units.push_back(static_cast<char16_t>(cp));
        }
    }
    return units;
}

}  // namespace worm::detail
