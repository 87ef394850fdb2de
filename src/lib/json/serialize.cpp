// Serializers: RFC 8785 canonical form, pretty and compact forms, ES6 number formatting, and
// json::Writer, which streams JSON text through the same serializer.
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

namespace {

// ES6 Number::toString of a finite value into buf (32 bytes are enough); returns the length.
// No allocation: audit-log records go through here.
std::size_t write_es6_number(double value, char* buf) {
    char* out = buf;
    if (value == 0) {  // also -0 (ES6: "0")
        *out = '0';
        return 1;
    }
    if (value < 0) {
        *out++ = '-';
        value = -value;
    }
    // Shortest round-trip digits (what ES6 requires: fewest digits, closest to the value),
    // in scientific form "d.ddde+XX" so the digits and exponent can be read back.
    char sci[32];
    const char* const sci_end = std::to_chars(sci, sci + sizeof sci, value, std::chars_format::scientific).ptr;
    char digits[24];
    int k = 0;  // number of digits
    const char* p = sci;
    for (; p < sci_end && *p != 'e'; ++p)
        if (*p != '.') digits[k++] = *p;
    if (p < sci_end && p[1] == '+') ++p;
    int exp10 = 0;
    std::from_chars(p + 1, sci_end, exp10);

    // value = 0.digits * 10^n
    const int n = exp10 + 1;
    auto put = [&](const char* from, int count) {
        std::memcpy(out, from, static_cast<std::size_t>(count));
        out += count;
    };
    auto zeros = [&](int count) {
        std::memset(out, '0', static_cast<std::size_t>(count));
        out += count;
    };
    if (k <= n && n <= 21) {
        put(digits, k);
        zeros(n - k);
    } else if (0 < n && n <= 21) {
        put(digits, n);
        *out++ = '.';
        put(digits + n, k - n);
    } else if (-6 < n && n <= 0) {
        put("0.", 2);
        zeros(-n);
        put(digits, k);
    } else {
        *out++ = digits[0];
        if (k > 1) {
            *out++ = '.';
            put(digits + 1, k - 1);
        }
        *out++ = 'e';
        *out++ = n - 1 >= 0 ? '+' : '-';
        out = std::to_chars(out, out + 8, std::abs(n - 1)).ptr;
    }
    return static_cast<std::size_t>(out - buf);
}

}  // namespace

std::string format_es6_number(double value) {
    if (std::isnan(value)) throw Error(ErrorCode::invalid_argument, "NaN is not a JSON number");
    if (std::isinf(value)) throw Error(ErrorCode::invalid_argument, "Infinity is not a JSON number");
    char buf[32];
    return std::string(buf, write_es6_number(value, buf));
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

// The serializer's output: written through a pointer into `text`, which is grown ahead of
// need and cut to what was written when done (std::string's own appends, one per token,
// cost more than the copies themselves).
class Output {
public:
    explicit Output(std::string& text) : text_(text), size_(text.size()) {
        text_.resize(std::max(text_.capacity(), size_ + 64));
    }
    ~Output() { trim(); }
    Output(const Output&) = delete;
    Output& operator=(const Output&) = delete;

    // n more bytes, to be written by the caller. These are forced inline: once json::Writer
    // shared this class GCC outlined them, and the calls cost log() about 5 % (callgrind).
    [[gnu::always_inline]] char* grow(std::size_t n) {
        if (text_.size() - size_ < n) text_.resize(std::max(text_.size() * 2, size_ + n));
        char* at = text_.data() + size_;
        size_ += n;
        return at;
    }
    [[gnu::always_inline]] void append(const char* p, std::size_t n) { std::memcpy(grow(n), p, n); }
    [[gnu::always_inline]] void append(std::size_t n, char c) { std::memset(grow(n), c, n); }
    [[gnu::always_inline]] Output& operator+=(char c) {
        *grow(1) = c;
        return *this;
    }
    [[gnu::always_inline]] Output& operator+=(std::string_view s) {
        append(s.data(), s.size());
        return *this;
    }
    // Cuts the text to what was written; writing may go on.
    void trim() { text_.resize(size_); }
    // After the caller emptied the text: writing starts again at its beginning.
    void restart() { size_ = text_.size(); }

private:
    std::string& text_;
    std::size_t size_;
};

class Serializer {
public:
    Serializer(Style style, Output& out) : style_(style), out_(out) {}

    // A whole value at `depth` (json::Writer writes parsed values inside its own); `member`
    // names the member the value is written to, for messages ("" at the top).
    void run(const rapidjson::Value& v, int depth = 0, std::string_view member = "") {
        try {
            write(v, depth);
        } catch (Failure& f) {
            std::string pointer = member.empty() ? std::string() : pointer_append("", member);
            for (auto t = f.path.rbegin(); t != f.path.rend(); ++t)
                pointer = t->is_index ? pointer_append(pointer, t->index) : pointer_append(pointer, t->key);
            throw Error(ErrorCode::invalid_argument,
                        "cannot serialize JSON: " + f.reason + " at " + (pointer.empty() ? "/" : pointer));
        }
    }

    // The pieces json::Writer streams; `member` names the member written, for messages (which
    // are built only when something fails: these run once per value).
    void string(std::string_view s, std::string_view member, const char* invalid_utf8 = "string is not valid UTF-8") {
        try {
            write_string(s, invalid_utf8);
        } catch (Failure& f) {
            throw Error(ErrorCode::invalid_argument, "cannot serialize JSON: " + f.reason + at_member(member));
        }
    }
    void number(double d, std::string_view member) {
        if (!std::isfinite(d))
            throw Error(ErrorCode::invalid_argument,
                        std::string("cannot serialize JSON: ") + (std::isnan(d) ? "NaN" : "Infinity") + at_member(member));
        char buf[32];
        out_.append(buf, write_es6_number(d, buf));
    }
    static std::string at_member(std::string_view member) {
        return member.empty() ? std::string() : " at member \"" + std::string(member.substr(0, 64)) + "\"";
    }
    template <class Integer>
    void integer(Integer n) {
        char buf[24];
        out_.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, n).ptr - buf));
    }
    void text(std::string_view t) { out_ += t; }
    void separator() { out_ += style_ == Style::pretty ? ": " : ":"; }
    void line(int depth) { newline(depth); }

private:
    // What cannot be serialized, and where: each level adds its member name or index as the
    // failure passes through it, innermost first (so the way down keeps no path at all).
    struct Failure {
        std::string reason;
        std::vector<PathToken> path;
    };
    [[noreturn]] static void fail(std::string reason) { throw Failure{std::move(reason), {}}; }
    [[noreturn]] static void fail_at(std::string_view key, std::string reason) {
        throw Failure{std::move(reason), {PathToken{key}}};
    }

    void newline(int depth) {
        if (style_ != Style::pretty) return;
        out_ += '\n';
        out_.append(static_cast<std::size_t>(depth) * 2, ' ');
    }

    // plain_word: 8 bytes in a word, all printable ASCII other than '"' and '\\':
    // (x - 0x20..) & ~x & 0x80.. is non-zero when some byte is below 0x20; the same test on
    // x ^ '"'.. finds a '"' (a zero byte there).
    static bool plain_word(std::uint64_t x) {
        constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
        const auto below = [&](std::uint64_t v, std::uint64_t n) { return (v - ones * n) & ~v & highs; };
        return ((x & highs) | below(x, 0x20) | below(x ^ (ones * '"'), 1) | below(x ^ (ones * '\\'), 1)) == 0;
    }
    // plain_block: a block of plain bytes (copied as they are), tested at once: most of an
    // audit record's text is, and log() serializes every record. SSE2 (every
    // x86-64) tests 16 bytes: as signed bytes, controls and bytes above 0x7f are both below
    // 0x20. Elsewhere 8 bytes in a word.
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
        std::uint64_t x;
        std::memcpy(&x, p, 8);
        return plain_word(x);
    }
#endif
    // A string shorter than a block, read as two words that may overlap (never past its end;
    // copying it into a padded block for plain_block stalled on the stores, and a byte at a
    // time cost more than the rest of the string's writing).
    static bool plain_short(const char* p, std::size_t n) {
        std::uint64_t first = 0x2020202020202020ull, last = first;  // spaces are plain
        if (n >= 8) {
            std::memcpy(&first, p, 8);
            std::memcpy(&last, p + n - 8, 8);
        } else if (n >= 4) {
            std::uint32_t a, b;
            std::memcpy(&a, p, 4);
            std::memcpy(&b, p + n - 4, 4);
            first = a | (static_cast<std::uint64_t>(b) << 32);
        } else {
            for (std::size_t i = 0; i < n; ++i)
                first = (first & ~(0xffull << (8 * i))) | (static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i));
        }
        return plain_word(first) && plain_word(last);
    }

    // RFC 8785 3.2.2.2: escape only '"', '\\' and controls; short forms where JSON has them.
    // One pass: runs of bytes that need nothing are copied at once, and UTF-8 is checked
    // on the way (audit logs write every record through here).
    // `invalid_utf8`: the message when s is not UTF-8 (the path names where s is).
    void write_string(std::string_view s, const char* invalid_utf8 = "string is not valid UTF-8") {
        // Most strings (all of a typical audit record's keys and values) need no escape: they
        // are checked a block at a time and copied with their quotes in one step. The bytes
        // after the last whole block are checked as the string's last block, which overlaps
        // the one before it.
        std::size_t plain = 0;
        while (s.size() - plain >= kBlock && plain_block(s.data() + plain)) plain += kBlock;
        const bool all_plain = s.size() - plain < kBlock && (s.size() >= kBlock ? plain_block(s.data() + s.size() - kBlock)
                                                                               : plain_short(s.data(), s.size()));
        if (all_plain) {
            char* at = out_.grow(s.size() + 2);
            at[0] = '"';
            std::memcpy(at + 1, s.data(), s.size());
            at[s.size() + 1] = '"';
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
                if (n == 0) fail(invalid_utf8);
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
        char buf[32];
        std::size_t n;
        if (v.IsDouble()) {
            if (!std::isfinite(v.GetDouble())) fail(std::isnan(v.GetDouble()) ? "NaN" : "Infinity");
            n = write_es6_number(v.GetDouble(), buf);
        } else if (style_ == Style::canonical) {
            // JCS numbers are IEEE doubles: a big integer serializes as ES6 would print it.
            n = write_es6_number(v.IsInt64() ? static_cast<double>(v.GetInt64()) : static_cast<double>(v.GetUint64()), buf);
        } else {
            char* end = v.IsInt64() ? std::to_chars(buf, buf + sizeof buf, v.GetInt64()).ptr
                                    : std::to_chars(buf, buf + sizeof buf, v.GetUint64()).ptr;
            n = static_cast<std::size_t>(end - buf);
        }
        out_.append(buf, n);
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
            try {
                write(item, depth + 1);
            } catch (Failure& f) {
                f.path.push_back({{}, i, true});
                throw;
            }
            ++i;
        }
        if (i) newline(depth);
        out_ += ']';
    }

    void write_member(std::string_view key, const rapidjson::Value& value, int depth, bool first) {
        if (!first) out_ += ',';
        newline(depth + 1);
        try {
            write_string(key, "key is not valid UTF-8");
            out_ += style_ == Style::pretty ? ": " : ":";
            write(value, depth + 1);
        } catch (Failure& f) {
            f.path.push_back({key});
            throw;
        }
    }

    void check_key(std::string_view key) {
        if (detail::find_invalid_utf8(key) == detail::kValidUtf8) return;
        fail_at(key, "key is not valid UTF-8");
    }

    void write_object(const rapidjson::Value& v, int depth) {
        out_ += '{';
        bool first = true;
        if (style_ != Style::canonical) {  // members in their own order: nothing to sort
            for (const auto& m : v.GetObject()) {
                const std::string_view key(m.name.GetString(), m.name.GetStringLength());
                write_member(key, m.value, depth, first);  // which checks the key's UTF-8
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
                    fail_at(entries[i].key, "duplicate key \"" + std::string(entries[i].key) + "\"");
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
    Output& out_;
};

std::string serialize(Style style, const rapidjson::Value& value) {
    std::string text;
    {
        Output out(text);
        Serializer(style, out).run(value);
    }
    return text;
}

}  // namespace

std::string canonicalize(const rapidjson::Value& value) { return serialize(Style::canonical, value); }

std::string canonicalize(std::string_view json_text) { return canonicalize(parse_strict(json_text)); }

std::string to_pretty(const rapidjson::Value& value) { return serialize(Style::pretty, value); }

std::string to_compact(const rapidjson::Value& value) { return serialize(Style::compact, value); }

void append_compact(const rapidjson::Value& value, std::string& out) {
    const std::size_t size = out.size();
    try {
        Output output(out);
        Serializer(Style::compact, output).run(value);
    } catch (...) {
        out.resize(size);
        throw;
    }
}

// ---- json::Writer ------------------------------------------------------------------------

struct Writer::Output {
    Output(Writer::Style style) : serializer(style == Writer::Style::pretty ? json::Style::pretty : json::Style::compact, out) {}
    std::string text;
    json::Output out{text};
    Serializer serializer;
};

Writer::Writer(Style style) : out_(std::make_unique<Output>(style)), style_(style) {}
Writer::~Writer() = default;

namespace {
[[noreturn]] void misuse(const char* what) { throw Error(ErrorCode::internal, std::string("json::Writer: ") + what); }
}  // namespace

// Before any value (a scalar, or an object's or array's opening): the comma and line that
// separate it from the one before in an array; in an object its key did that.
void Writer::before_value() {
    if (complete_) misuse("a second value after the complete one");
    if (levels_.empty()) return;
    Level& level = levels_.back();
    if (level.object) {
        if (!after_key_) misuse("a value in an object without its key");
        after_key_ = false;
        return;
    }
    if (level.count++ > 0) out_->serializer.text(",");
    out_->serializer.line(static_cast<int>(levels_.size()));
}

void Writer::after_value() {
    if (levels_.empty()) complete_ = true;
}

Writer& Writer::key(std::string_view name) {
    if (levels_.empty() || !levels_.back().object) misuse("a key outside an object");
    if (after_key_) misuse("a key after a key");
    Level& level = levels_.back();
    if (level.count++ > 0) out_->serializer.text(",");
    out_->serializer.line(static_cast<int>(levels_.size()));
    out_->serializer.string(name, {}, "a member's name is not valid UTF-8");
    key_.assign(name);
    out_->serializer.separator();
    after_key_ = true;
    return *this;
}

Writer& Writer::begin_object() {
    before_value();
    out_->serializer.text("{");
    levels_.push_back({true, 0});
    return *this;
}

Writer& Writer::begin_array() {
    before_value();
    out_->serializer.text("[");
    levels_.push_back({false, 0});
    return *this;
}

Writer& Writer::end_object() {
    if (levels_.empty() || !levels_.back().object) misuse("end_object without its begin_object");
    if (after_key_) misuse("an object ends after a key without its value");
    if (levels_.back().count > 0) out_->serializer.line(static_cast<int>(levels_.size()) - 1);
    levels_.pop_back();
    out_->serializer.text("}");
    after_value();
    return *this;
}

Writer& Writer::end_array() {
    if (levels_.empty() || levels_.back().object) misuse("end_array without its begin_array");
    if (levels_.back().count > 0) out_->serializer.line(static_cast<int>(levels_.size()) - 1);
    levels_.pop_back();
    out_->serializer.text("]");
    after_value();
    return *this;
}

Writer& Writer::value(std::string_view text) {
    before_value();
    out_->serializer.string(text, key_);
    after_value();
    return *this;
}

Writer& Writer::value_lossy(std::string_view text) {
    if (detail::find_invalid_utf8(text) == detail::kValidUtf8) return value(text);
    std::string replaced;
    replaced.reserve(text.size() + 8);
    for (std::size_t pos = 0; pos < text.size();) {
        char32_t code_point = 0;
        if (const std::size_t n = detail::decode_utf8(text, pos, code_point); n != 0) {
            replaced.append(text.substr(pos, n));
            pos += n;
        } else {
            replaced += "\xEF\xBF\xBD";  // U+FFFD
            ++pos;
        }
    }
    return value(replaced);
}

Writer& Writer::value(bool b) { return token(b ? "true" : "false"); }

Writer& Writer::value(double number) {
    before_value();
    out_->serializer.number(number, key_);
    after_value();
    return *this;
}

template <class Integer>
Writer& Writer::integer(Integer n) {
    before_value();
    out_->serializer.integer(n);
    after_value();
    return *this;
}

Writer& Writer::signed_integer(std::int64_t n) { return integer(n); }

Writer& Writer::unsigned_integer(std::uint64_t n) { return integer(n); }

Writer& Writer::null() { return token("null"); }

Writer& Writer::token(std::string_view text) {
    before_value();
    out_->serializer.text(text);
    after_value();
    return *this;
}

Writer& Writer::value(const rapidjson::Value& parsed) {
    before_value();
    out_->serializer.run(parsed, static_cast<int>(levels_.size()), key_);
    after_value();
    return *this;
}

Writer& Writer::raw(std::string_view json_text) { return token(json_text); }

std::string Writer::take() {
    std::string text;
    take_into(text);
    return text;
}

void Writer::take_into(std::string& out) {
    if (!complete_) misuse("take() before the value is complete");
    out_->out.trim();
    if (out.empty()) out = std::move(out_->text);
    else out += out_->text;
    out_->text.clear();
    out_->out.restart();
    levels_.clear();
    key_.clear();
    after_key_ = complete_ = false;
}

}  // namespace worm::json
