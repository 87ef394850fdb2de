// Object key and client id validation shared by every store.
#include "worm/storage/keys.hpp"

#include <cstdint>

#include "worm/error.hpp"

namespace worm {

namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when it is not a valid,
// shortest-form encoding of a Unicode scalar value. cp receives the code point.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::uint32_t& cp) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b0 = byte(i);
    std::size_t len = 0;
    std::uint32_t min = 0;
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    } else if ((b0 & 0xE0) == 0xC0) {
        len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

bool is_control(std::uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

bool valid_utf8(std::string_view s) {
    std::uint32_t cp = 0;
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_sequence(s, i, cp);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

[[noreturn]] void bad_key(std::string_view key, const std::string& why) {
    throw Error(ErrorCode::invalid_argument, "invalid object key " + quote_key(key) + ": " + why);
}

}  // namespace

std::string quote_key(std::string_view key) {
    constexpr std::size_t shown = 200;
    const bool utf8 = valid_utf8(key);
    std::string out = "'";
    std::uint32_t cp = 0;
    std::size_t i = 0;
    const auto hex = [&](unsigned char c) {
        static const char digits[] = "0123456789abcdef";
        out += "\\x";
        out += digits[c >> 4];
        out += digits[c & 0xF];
    };
    while (i < key.size() && i < shown) {
        const unsigned char c = static_cast<unsigned char>(key[i]);
        if (c == '\'' || c == '\\' || c < 0x20 || c == 0x7F) {
            hex(c);
            ++i;
        } else if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
        } else if (std::size_t n = utf8 ? utf8_sequence(key, i, cp) : 0; n != 0 && !is_control(cp)) {
            out.append(key.substr(i, n));
            i += n;
        } else if (n != 0) {  // a C1 control character: escape each byte
            for (std::size_t k = 0; k < n; ++k) hex(static_cast<unsigned char>(key[i + k]));
            i += n;
        } else {
            hex(c);
            ++i;
        }
    }
    out += "'";
    if (i < key.size()) out += "... (" + std::to_string(key.size()) + " bytes)";
    return out;
}

void validate_object_key(std::string_view key) {
    if (key.empty()) bad_key(key, "empty");
    if (key.size() > max_object_key_bytes)
        bad_key(key, "longer than " + std::to_string(max_object_key_bytes) + " bytes");
    std::uint32_t cp = 0;
    for (std::size_t i = 0; i < key.size();) {
        const std::size_t n = utf8_sequence(key, i, cp);
        if (n == 0) bad_key(key, "not valid UTF-8 at byte " + std::to_string(i));
        if (cp == 0) bad_key(key, "contains a NUL byte");
        if (is_control(cp)) bad_key(key, "contains a control character at byte " + std::to_string(i));
        if (cp == '\\') bad_key(key, "contains a backslash");
        i += n;
    }
    if (key.front() == '/') bad_key(key, "absolute (starts with '/')");
    std::size_t start = 0;
    while (true) {
        const std::size_t end = key.find('/', start);
        const std::string_view segment = key.substr(start, end == std::string_view::npos ? end : end - start);
        if (segment.empty()) bad_key(key, "has an empty path segment");
        if (segment == "." || segment == "..") bad_key(key, "has a '" + std::string(segment) + "' path segment");
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
}

void validate_client_id(std::string_view id) {
    const auto alnum = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    };
    bool ok = !id.empty() && id.size() <= 64 && alnum(id.front());
    for (std::size_t i = 1; ok && i < id.size(); ++i)
        ok = alnum(id[i]) || id[i] == '.' || id[i] == '_' || id[i] == '-';
    if (!ok)
        throw Error(ErrorCode::invalid_argument,
                    "invalid client id " + quote_key(id) +
                        ": must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit");
}

}  // namespace worm
