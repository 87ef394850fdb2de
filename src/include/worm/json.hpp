// json.hpp (private: src/include, never installed): strict JSON input into RapidJSON
// documents, RFC 8785 canonical output of a document, the one JSON writer, and small
// RapidJSON helpers for reading. The library, the CLI, the proxy, the Python module, tests,
// fuzzers and benchmarks use it; the installed headers keep to JSON text
// (worm/canonical_json.hpp), so no consumer needs RapidJSON.
//
// Evidence is hashed over its canonical form, so the parser refuses anything whose
// meaning is ambiguous (duplicate keys, invalid UTF-8, lone surrogates, NaN/Infinity,
// numbers outside the double range, trailing garbage) instead of guessing.
//
// Numbers: integers that fit are kept exactly as int64/uint64 in the DOM (and written
// exactly by to_pretty); canonicalize() serializes every number the way ECMAScript
// would after JSON.parse, i.e. through an IEEE double, as RFC 8785 requires.
//
// Example:
//   rapidjson::Document doc = worm::json::parse_strict(R"({"b":1,"a":[1E2]})", "example");
//   std::string canonical = worm::json::canonicalize(doc);  // {"a":[100],"b":1}
#pragma once

#include <rapidjson/document.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "worm/canonical_json.hpp"
#include "worm/error.hpp"
#include "worm/export.hpp"

namespace worm::json {

// Parses UTF-8 JSON text. Throws Error(parse) with a message such as
//   `incident.json: duplicate key "a" at /x/y (byte 41)`
// where `what` names the input (a file path, "request body", ...).
WORM_API rapidjson::Document parse_strict(std::string_view text, std::string_view what = "JSON");

// RFC 8785 (JCS) canonical form: object keys sorted by UTF-16 code units, ES6 number
// form, minimal string escaping, no whitespace. Throws Error(invalid_argument) naming the
// JSON pointer for NaN/Infinity, invalid UTF-8, duplicate keys or excessive nesting.
// canonicalize(std::string_view) and format_es6_number: worm/canonical_json.hpp.
WORM_API std::string canonicalize(const rapidjson::Value& value);

// Human-readable form for files: 2-space indent, members in document order, UTF-8
// kept raw, same string escaping as the canonical form, integers written exactly.
WORM_API std::string to_pretty(const rapidjson::Value& value);
// One line, members in document order (logs, messages).
WORM_API std::string to_compact(const rapidjson::Value& value);
// The same, appended to out (a reused buffer allocates nothing); out is unchanged when it throws.
WORM_API void append_compact(const rapidjson::Value& value, std::string& out);

// ---- writing JSON text -------------------------------------------------------------

// The one way libworm writes JSON text: streamed, members in the order written, through the
// serializer of to_pretty / to_compact (the canonical form's string escaping, UTF-8 checked,
// integers exact, NaN and Infinity refused). Documents are built by writing them, never as
// RapidJSON values or by string concatenation; a parsed document can be written as a value.
//
//   json::Writer w(json::Writer::Style::pretty);
//   w.begin_object().member("id", id).member("size", bytes).member("expires", optional_text);
//   w.key("tags").begin_array();
//   for (const auto& tag : tags) w.value(tag);
//   w.end_array().end_object();
//   std::string text = w.take();
//
// Misuse (a value without its key in an object, an unbalanced end, a second top-level
// value, take() before the value is complete) throws Error(internal); text that is not
// UTF-8 and NaN/Infinity throw Error(invalid_argument) naming the member.
class WORM_API Writer {
public:
    enum class Style {
        compact,  // one line
        pretty,   // 2-space indent, "name": value (the form of to_pretty)
    };
    explicit Writer(Style style = Style::compact);
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    Writer& begin_object();
    Writer& end_object();
    Writer& begin_array();
    Writer& end_array();
    Writer& key(std::string_view name);

    Writer& value(std::string_view text);
    Writer& value(const std::string& text) { return value(std::string_view(text)); }
    Writer& value(const char* text) { return value(std::string_view(text)); }
    Writer& value(bool b);
    Writer& value(double number);
    Writer& value(std::nullptr_t) { return null(); }
    template <std::integral I>
        requires(!std::same_as<I, bool>)
    Writer& value(I n) {
        if constexpr (std::is_signed_v<I>) return signed_integer(static_cast<std::int64_t>(n));
        else return unsigned_integer(static_cast<std::uint64_t>(n));
    }
    // Empty: null.
    template <class T>
    Writer& value(const std::optional<T>& v) {
        return v ? value(*v) : null();
    }
    // A parsed document, or a part of one, as it is.
    Writer& value(const rapidjson::Value& parsed);
    // Diagnostic text that may hold bytes that are not UTF-8 (a file name, a quoted request
    // header): each such byte is written as U+FFFD instead of being refused, so that a log
    // line or an error answer is always written.
    Writer& value_lossy(std::string_view text);
    Writer& null();
    // One value that is JSON text already (a stored document, a canonical form): copied as
    // it is. The caller vouches that it is one valid JSON value.
    Writer& raw(std::string_view json_text);

    template <class T>
    Writer& member(std::string_view name, const T& v) {
        key(name);
        return value(v);
    }

    // The complete value, and the writer is empty again.
    std::string take();
    // Appends the complete value to out, and the writer is empty again.
    void take_into(std::string& out);

private:
    Writer& signed_integer(std::int64_t n);
    Writer& unsigned_integer(std::uint64_t n);
    template <class Integer>
    Writer& integer(Integer n);
    Writer& token(std::string_view text);  // a value written as it is: true, false, null, raw text
    void before_value();
    void after_value();
    struct Output;
    std::unique_ptr<Output> out_;
    Style style_;
    struct Level {
        bool object;
        std::size_t count;
    };
    std::vector<Level> levels_;
    std::string key_;  // the current member's name, for messages
    bool after_key_ = false;
    bool complete_ = false;
};

// ---- helpers for reading inputs (messages name the JSON pointer) -------------------

// "/a/b" + "c~d/e" -> "/a/b/c~0d~1e" (RFC 6901 escaping).
WORM_API std::string pointer_append(std::string_view pointer, std::string_view token);
WORM_API std::string pointer_append(std::string_view pointer, std::size_t index);

// Name of a value's type for messages: "object", "array", "string", "number", ...
WORM_API std::string_view type_name(const rapidjson::Value& value);

// `object` is the value found at `pointer`. Each throws Error(code) naming
// pointer/name when the member is missing or has the wrong type.
WORM_API const rapidjson::Value& require_member(const rapidjson::Value& object, std::string_view name,
                                       std::string_view pointer, ErrorCode code = ErrorCode::invalid_argument);
WORM_API const rapidjson::Value& require_object(const rapidjson::Value& object, std::string_view name,
                                       std::string_view pointer, ErrorCode code = ErrorCode::invalid_argument);
WORM_API const rapidjson::Value& require_array(const rapidjson::Value& object, std::string_view name,
                                      std::string_view pointer, ErrorCode code = ErrorCode::invalid_argument);
WORM_API std::string require_string(const rapidjson::Value& object, std::string_view name, std::string_view pointer,
                           ErrorCode code = ErrorCode::invalid_argument);
WORM_API std::int64_t require_int64(const rapidjson::Value& object, std::string_view name, std::string_view pointer,
                           ErrorCode code = ErrorCode::invalid_argument);
// nullptr when absent (or when `object` is not an object).
WORM_API const rapidjson::Value* find_member(const rapidjson::Value& object, std::string_view name);

// A rapidjson string value that owns a copy of `text`.
WORM_API rapidjson::Value make_string(std::string_view text, rapidjson::Document::AllocatorType& allocator);

}  // namespace worm::json
