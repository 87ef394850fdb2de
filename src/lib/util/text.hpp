// text.hpp (private): small text helpers several parts share (hex digits, %XX escapes,
// trimming).
#pragma once

#include <string>
#include <string_view>

#include "worm/error.hpp"

namespace worm::detail {

// s without leading and trailing spaces, tabs, CR and LF.
inline std::string trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(first, last - first + 1));
}

// 0-15 for a hex digit (either case), -1 otherwise.
inline int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Appends the lower-case hex of `bytes` (digests as SigV4 and the bundle format want them).
inline void append_hex(std::string& out, std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    const std::size_t start = out.size();
    out.resize(start + 2 * bytes.size());
    char* p = out.data() + start;
    for (const char ch : bytes) {
        const auto b = static_cast<unsigned char>(ch);
        *p++ = digits[b >> 4];
        *p++ = digits[b & 0x0f];
    }
}

// Decodes %XX escapes (and '+' as a space when asked). A malformed escape or a NUL byte is
// refused with Error(invalid_argument) naming `what` ("request query", "store URL 'x'").
inline std::string percent_decode(std::string_view text, bool plus_is_space, std::string_view what) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '+' && plus_is_space) {
            c = ' ';
        } else if (c == '%') {
            const int hi = i + 2 < text.size() ? hex_digit_value(text[i + 1]) : -1;
            const int lo = hi >= 0 ? hex_digit_value(text[i + 2]) : -1;
            if (lo < 0) throw Error(ErrorCode::invalid_argument, "bad percent escape in " + std::string(what));
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') throw Error(ErrorCode::invalid_argument, std::string(what) + " holds a NUL byte");
        out += c;
    }
    return out;
}

}  // namespace worm::detail
