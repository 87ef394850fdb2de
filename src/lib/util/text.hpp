// text.hpp (private): small text helpers several parts share (hex digits, trimming, case).
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

// ASCII lower case (header names, schemes, hex digests, "true"/"on" settings); other bytes unchanged.
inline std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
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

}  // namespace worm::detail
