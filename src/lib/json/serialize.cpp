// Serializers: RFC 8785 canonical form, pretty and compact forms, ES6 number formatting.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "../util/utf8.hpp"
#include "worm/json.hpp"

namespace worm::json {

std::string format_es6_number(double value) {
    if (std::isnan(value)) throw Error(ErrorCode::invalid_argument, "NaN is not a JSON number");
    if (std::isinf(value)) throw Error(ErrorCode::invalid_argument, "Infinity is not a JSON number");
    if (value == 0) return "0";  // also -0 (ES6: "0")
    std::string out;
    if (value < 0) {
        out = "-";
        value = -value;
    }
    // Shortest round-trip digits (what ES6 requires: fewest digits, closest to the value),
    // in scientific form "d.ddde+XX" so the digits and exponent can be read back.
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
    const std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));
    const std::size_t e_pos = sci.find('e');
    std::string digits;
    for (char c : sci.substr(0, e_pos))
        if (c != '.') digits += c;
    int exp10 = 0;
    std::string_view exp_text = sci.substr(e_pos + 1);
    if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
    std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp10);

    // ES6 Number::toString: value = 0.digits * 10^n, k = number of digits.
    const int k = static_cast<int>(digits.size());
    const int n = exp10 + 1;
    if (k <= n && n <= 21) {
        out += digits;
        out.append(static_cast<std::size_t>(n - k), '0');
    } else if (0 < n && n <= 21) {
        out += digits.substr(0, static_cast<std::size_t>(n));
        out += '.';
        out += digits.substr(static_cast<std::size_t>(n));
    } else if (-6 < n && n <= 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-n), '0');
        out += digits;
    } else {
        out += digits.front();
        if (k > 1) {
            out += '.';
            out += digits.substr(1);
        }
        out += 'e';
        out += (n - 1 >= 0) ? '+' : '-';
        out += std::to_string(std::abs(n - 1));
    }
    return out;
}

namespace {

enum class Style { canonical, pretty, compact };

// Where the serializer is, for messages: a member name or an array index per level.
struct PathToken {
    std::string_view key;
    std::size_t index = 0;
    bool is_index = false;
};

// Bytes a JSON string must escape: '"', '\\' and the controls.
constexpr std::array<bool, 256> make_escape_table() {
    std::array<bool, 256> table{};
    for (int c = 0; c < 0x20; ++c) table[static_cast<std::size_t>(c)] = true;
    table['"'] = table['\\'] = true;
    return table;
}
constexpr std::array<bool, 256> needs_escape = make_escape_table();

class Serializer {
public:
    // Writes into out (appending), so a caller can reuse one buffer.
    Serializer(Style style, std::string& out) : style_(style), out_(out) {}

    void run(const rapidjson::Value& v) { write(v, 0); }

private:
    [[noreturn]] void fail(const std::string& reason) const {
        std::string pointer;
        for (const PathToken& t : path_) pointer = t.is_index ? pointer_append(pointer, t.index) : pointer_append(pointer, t.key);
        throw Error(ErrorCode::invalid_argument,
                    "cannot serialize JSON: " + reason + " at " + (pointer.empty() ? "/" : pointer));
    }

    void newline(int depth) {
        if (style_ != Style::pretty) return;
        out_ += '\n';
        out_.append(static_cast<std::size_t>(depth) * 2, ' ');
    }

    // RFC 8785 3.2.2.2: escape only '"', '\\' and controls; short forms where JSON has them.
    // One pass: runs of bytes that need nothing are copied at once, and UTF-8 is checked
    // on the way (audit logs write every record through here).
    // plain_block: a block of bytes that are all printable ASCII other than '"' and '\\'
    // (copied as they are), tested at once: most of an audit record's text is, and a byte at
    // a time was a third of log()'s cost. SSE2 (every x86-64) tests 16 bytes: as signed bytes,
    // controls and bytes above 0x7f are both below 0x20. Elsewhere 8 bytes in a word:
    // (x - 0x20..) & ~x & 0x80.. is non-zero when some byte is below 0x20; the same test on
    // x ^ '"'.. finds a '"' (a zero byte there).
#if defined(__SSE2__)
    static constexpr std::size_t kBlock = 16;
    static bool plain_block(const char* p) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const __m128i special = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                                             _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                                          _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
        return _mm_movemask_epi8(special) == 0;
    }
#else
    static constexpr std::size_t kBlock = 8;
    static bool plain_block(const char* p) {
        constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
        std::uint64_t x;
        std::memcpy(&x, p, 8);
        const auto below = [&](std::uint64_t v, std::uint64_t n) { return (v - ones * n) & ~v & highs; };
        return ((x & highs) | below(x, 0x20) | below(x ^ (ones * '"'), 1) | below(x ^ (ones * '\\'), 1)) == 0;
    }
#endif
    // The last n < kBlock bytes, padded with spaces (plain) to one block.
    static bool plain_tail(const char* p, std::size_t n) {
        char block[kBlock];
        std::memset(block, ' ', kBlock);
        if (n > 0) std::memcpy(block, p, n);
        return plain_block(block);
    }

    void write_string(std::string_view s) {
        // Most strings (all of a typical audit record's keys and values) need no escape: they
        // are checked a block at a time and copied with their quotes in one step.
        std::size_t plain = 0;
        while (s.size() - plain >= kBlock && plain_block(s.data() + plain)) plain += kBlock;
        if (s.size() - plain < kBlock && plain_tail(s.data() + plain, s.size() - plain)) {
            const std::size_t at = out_.size();
            out_.append(s.size() + 2, '"');
            std::memcpy(out_.data() + at + 1, s.data(), s.size());
            return;
        }
        static constexpr char hex[] = "0123456789abcdef";
        out_ += '"';
        std::size_t run = 0;  // start of the bytes not copied yet
        for (std::size_t pos = plain; pos < s.size();) {
            while (s.size() - pos >= kBlock && plain_block(s.data() + pos)) pos += kBlock;
            if (pos == s.size()) break;
            const auto c = static_cast<unsigned char>(s[pos]);
            if (c >= 0x80) {
                char32_t cp = 0;
                const std::size_t n = detail::decode_utf8(s, pos, cp);
                if (n == 0) fail("string is not valid UTF-8");
                pos += n;
                continue;
            }
            if (!needs_escape[c]) {
                ++pos;
                continue;
            }
            out_.append(s.data() + run, pos - run);
            run = ++pos;
            switch (c) {
                case '"': out_ += "\\\""; break;
                case '\\': out_ += "\\\\"; break;
                case '\b': out_ += "\\b"; break;
                case '\f': out_ += "\\f"; break;
                case '\n': out_ += "\\n"; break;
                case '\r': out_ += "\\r"; break;
                case '\t': out_ += "\\t"; break;
                default:
                    out_ += "\\u00";
                    out_ += hex[c >> 4];
                    out_ += hex[c & 0xF];
            }
        }
        out_.append(s.data() + run, s.size() - run);
        out_ += '"';
    }

    void write_number(const rapidjson::Value& v) {
        if (v.IsDouble()) {
            if (!std::isfinite(v.GetDouble())) fail(std::isnan(v.GetDouble()) ? "NaN" : "Infinity");
            out_ += format_es6_number(v.GetDouble());
        } else if (style_ == Style::canonical) {
            // JCS numbers are IEEE doubles: a big integer serializes as ES6 would print it.
            out_ += format_es6_number(v.IsInt64() ? static_cast<double>(v.GetInt64())
                                                  : static_cast<double>(v.GetUint64()));
        } else {
            out_ += v.IsInt64() ? std::to_string(v.GetInt64()) : std::to_string(v.GetUint64());
        }
    }

    void write(const rapidjson::Value& v, int depth) {
        if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
        switch (v.GetType()) {
            case rapidjson::kNullType: out_ += "null"; return;
            case rapidjson::kFalseType: out_ += "false"; return;
            case rapidjson::kTrueType: out_ += "true"; return;
            case rapidjson::kNumberType: write_number(v); return;
            case rapidjson::kStringType: write_string(std::string_view(v.GetString(), v.GetStringLength())); return;
            case rapidjson::kArrayType: write_array(v, depth); return;
            case rapidjson::kObjectType: write_object(v, depth); return;
        }
    }

    void write_array(const rapidjson::Value& v, int depth) {
        out_ += '[';
        std::size_t i = 0;
        for (const auto& item : v.GetArray()) {
            if (i) out_ += ',';
            newline(depth + 1);
            path_.push_back({{}, i++, true});
            write(item, depth + 1);
            path_.pop_back();
        }
        if (i) newline(depth);
        out_ += ']';
    }

    void write_member(std::string_view key, const rapidjson::Value& value, int depth, bool first) {
        if (!first) out_ += ',';
        newline(depth + 1);
        write_string(key);
        out_ += style_ == Style::pretty ? ": " : ":";
        path_.push_back({key});
        write(value, depth + 1);
        path_.pop_back();
    }

    void check_key(std::string_view key) {
        if (detail::find_invalid_utf8(key) == detail::kValidUtf8) return;
        path_.push_back({key});
        fail("key is not valid UTF-8");
    }

    void write_object(const rapidjson::Value& v, int depth) {
        out_ += '{';
        bool first = true;
        if (style_ != Style::canonical) {  // members in their own order: nothing to sort
            for (const auto& m : v.GetObject()) {
                const std::string_view key(m.name.GetString(), m.name.GetStringLength());
                check_key(key);
                write_member(key, m.value, depth, first);
                first = false;
            }
        } else {
            struct Entry {
                std::string_view key;
                std::vector<char16_t> utf16;
                const rapidjson::Value* value;
            };
            std::vector<Entry> entries;
            entries.reserve(v.MemberCount());
            for (const auto& m : v.GetObject()) {
                const std::string_view key(m.name.GetString(), m.name.GetStringLength());
                check_key(key);
                entries.push_back({key, detail::to_utf16(key), &m.value});
            }
            // RFC 8785 3.2.3: sort by UTF-16 code units, which differs from UTF-8 byte order
            // for characters above U+FFFF versus U+E000..U+FFFF.
            std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.utf16 < b.utf16; });
            for (std::size_t i = 1; i < entries.size(); ++i)
                if (entries[i].key == entries[i - 1].key) {
                    path_.push_back({entries[i].key});
                    fail("duplicate key \"" + std::string(entries[i].key) + "\"");
                }
            for (const Entry& e : entries) {
                write_member(e.key, *e.value, depth, first);
                first = false;
            }
        }
        if (!first) newline(depth);
        out_ += '}';
    }

    Style style_;
    std::string& out_;
    std::vector<PathToken> path_;
};

std::string serialize(Style style, const rapidjson::Value& value) {
    std::string out;
    Serializer(style, out).run(value);
    return out;
}

}  // namespace

std::string canonicalize(const rapidjson::Value& value) { return serialize(Style::canonical, value); }

std::string canonicalize(std::string_view json_text) { return canonicalize(parse_strict(json_text)); }

std::string to_pretty(const rapidjson::Value& value) { return serialize(Style::pretty, value); }

std::string to_compact(const rapidjson::Value& value) { return serialize(Style::compact, value); }

void append_compact(const rapidjson::Value& value, std::string& out) {
    const std::size_t size = out.size();
    try {
        Serializer(Style::compact, out).run(value);
    } catch (...) {
        out.resize(size);
        throw;
    }
}

}  // namespace worm::json
