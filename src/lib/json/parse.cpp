// Strict parsing: RapidJSON's reader with encoding validation, behind a SAX filter that
// rejects duplicate keys, lone surrogates and excessive depth, and converts numbers
// itself (std::from_chars is correctly rounded; integers that fit stay exact).
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <unordered_set>
#include <vector>

#include "../util/utf8.hpp"
#include "worm/json.hpp"

namespace worm::json {

namespace {

constexpr unsigned kStrictFlags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag;

// Forwards SAX events to a Document while checking what RapidJSON lets through.
class StrictFilter {
public:
    explicit StrictFilter(rapidjson::Document& doc) : doc_(doc) {}

    bool Null() { return value() && doc_.Null(); }
    bool Bool(bool b) { return value() && doc_.Bool(b); }
    // Only RawNumber is called (kParseNumbersAsStringsFlag); the others satisfy the concept.
    bool Int(int i) { return value() && doc_.Int(i); }
    bool Uint(unsigned u) { return value() && doc_.Uint(u); }
    bool Int64(std::int64_t i) { return value() && doc_.Int64(i); }
    bool Uint64(std::uint64_t u) { return value() && doc_.Uint64(u); }
    bool Double(double d) { return value() && doc_.Double(d); }

    bool RawNumber(const char* str, rapidjson::SizeType length, bool) {
        if (!value()) return false;
        const std::string_view text(str, length);
        const bool integral = text.find_first_of(".eE") == std::string_view::npos;
        const char* end = str + length;
        if (integral && text != "-0") {
            if (text.front() == '-') {
                std::int64_t i = 0;
                if (auto r = std::from_chars(str, end, i); r.ec == std::errc() && r.ptr == end) return doc_.Int64(i);
            } else {
                std::uint64_t u = 0;
                if (auto r = std::from_chars(str, end, u); r.ec == std::errc() && r.ptr == end) return doc_.Uint64(u);
            }
        }
        double d = 0;
        auto r = std::from_chars(str, end, d);
        if (r.ec == std::errc::result_out_of_range) {
            // Underflow rounds to (signed) zero or a subnormal as JavaScript would; overflow
            // would be Infinity, which JSON cannot carry, so it is refused.
            const std::string copy(text);
            d = std::strtod(copy.c_str(), nullptr);
            if (std::isinf(d)) return fail("number " + copy + " is outside the range of a double");
        } else if (r.ec != std::errc() || r.ptr != end) {
            return fail("malformed number " + std::string(text));
        }
        return doc_.Double(d);
    }

    bool String(const char* str, rapidjson::SizeType length, bool copy) {
        if (!value() || !valid_text(std::string_view(str, length), "string")) return false;
        return doc_.String(str, length, copy);
    }

    bool Key(const char* str, rapidjson::SizeType length, bool copy) {
        const std::string_view key(str, length);
        if (!valid_text(key, "key")) return false;
        Frame& f = frames_.back();
        if (!f.keys.emplace(key).second) {
            f.has_key = false;  // name the object that holds the key twice
            return fail("duplicate key \"" + std::string(key) + "\"");
        }
        f.key = key;
        f.has_key = true;
        return doc_.Key(str, length, copy);
    }

    bool StartObject() { return open(true) && doc_.StartObject(); }
    bool EndObject(rapidjson::SizeType n) {
        frames_.pop_back();
        return doc_.EndObject(n);
    }
    bool StartArray() { return open(false) && doc_.StartArray(); }
    bool EndArray(rapidjson::SizeType n) {
        frames_.pop_back();
        return doc_.EndArray(n);
    }

    const std::string& reason() const { return reason_; }
    const std::string& reason_pointer() const { return reason_pointer_; }

    // JSON pointer of the value being parsed (for syntax errors too).
    std::string pointer() const {
        std::string p;
        for (const Frame& f : frames_) {
            if (f.is_object) {
                if (f.has_key) p = pointer_append(p, f.key);
            } else if (f.count > 0) {
                p = pointer_append(p, f.count - 1);
            }
        }
        return p;
    }

private:
    struct Frame {
        bool is_object = false;
        bool has_key = false;
        std::size_t count = 0;  // array: values started so far
        std::string key;        // object: current key
        std::unordered_set<std::string> keys;
    };

    // Called before every value: advances the array index used in pointers.
    bool value() {
        if (!frames_.empty() && !frames_.back().is_object) ++frames_.back().count;
        return true;
    }

    bool open(bool is_object) {
        value();
        if (frames_.size() >= static_cast<std::size_t>(kMaxDepth))
            return fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
        frames_.emplace_back();
        frames_.back().is_object = is_object;
        return true;
    }

    bool valid_text(std::string_view s, const char* what) {
        const std::size_t bad = detail::find_invalid_utf8(s);
        if (bad == detail::kValidUtf8) return true;
        // The reader validated the raw bytes, so this is an escape such as "\udc00".
        return fail(std::string(what) + " is not valid Unicode (lone surrogate escape or invalid UTF-8 at byte " +
                    std::to_string(bad) + " of the decoded " + what + ")");
    }

    bool fail(std::string reason) {
        reason_ = std::move(reason);
        reason_pointer_ = pointer();
        return false;
    }

    rapidjson::Document& doc_;
    std::vector<Frame> frames_;
    std::string reason_;
    std::string reason_pointer_;
};

}  // namespace

rapidjson::Document parse_strict(std::string_view text, std::string_view what) {
    rapidjson::Document doc;
    rapidjson::Reader reader;
    StrictFilter filter(doc);
    rapidjson::MemoryStream raw(text.data(), text.size());
    rapidjson::ParseResult result;
    auto generate = [&](rapidjson::Document&) {
        result = reader.Parse<kStrictFlags>(raw, filter);
        return !result.IsError();
    };
    doc.Populate(generate);
    // The reader stops at a NUL byte as if the text ended there: refuse what follows.
    if (!result.IsError() && raw.Tell() != text.size())
        throw Error(ErrorCode::parse, std::string(what) + ": unexpected NUL byte after the document (byte " +
                                          std::to_string(raw.Tell()) + ")");
    if (result.IsError()) {
        std::string message(what);
        message += ": ";
        std::string where;
        if (result.Code() == rapidjson::kParseErrorTermination && !filter.reason().empty()) {
            message += filter.reason();
            where = filter.reason_pointer();
        } else {
            message += rapidjson::GetParseError_En(result.Code());
            where = filter.pointer();
        }
        // Say where in the document, unless the error is at the top level.
        if (!where.empty()) message += " at " + where;
        message += " (byte " + std::to_string(result.Offset()) + ")";
        throw Error(ErrorCode::parse, message);
    }
    return doc;
}

}  // namespace worm::json
