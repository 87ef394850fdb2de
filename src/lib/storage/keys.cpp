// Object key validation shared by every store.
#include "worm/storage/keys.hpp"

#include <algorithm>
#include <cstdint>

#include "../util/utf8.hpp"
#include "worm/error.hpp"

namespace worm {

namespace {

// One UTF-8 sequence at s[i] (the strict decoder the JSON parser uses): its length, or 0
// when it is not a shortest-form encoding of a Unicode scalar value.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::uint32_t& cp) {
    char32_t c = 0;
    const std::size_t n = detail::decode_utf8(s, i, c);
    cp = static_cast<std::uint32_t>(c);
    return n;
}

bool is_control(std::uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

bool valid_utf8(std::string_view s) { return detail::find_invalid_utf8(s) == detail::kValidUtf8; }

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

void validate_version_id(const std::optional<std::string>& version_id) {
    if (!version_id) return;
    if (version_id->empty())
        throw Error(ErrorCode::invalid_argument, "version id is empty (leave it unset for the latest version)");
    if (version_id->size() > max_object_key_bytes ||
        std::any_of(version_id->begin(), version_id->end(), [](char c) {
            return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        }))
        throw Error(ErrorCode::invalid_argument, "invalid version id " + quote_key(*version_id));
}

}  // namespace worm
