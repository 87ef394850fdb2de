// Strict JSON parsing and RFC 8785 canonical form, against the shared JCS test data.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/error_code.hpp"
#include "support/test_env.hpp"
#include "worm/json.hpp"

namespace fs = std::filesystem;
using worm::Error;
using worm::ErrorCode;
using worm::test::error_of;
namespace json = worm::json;

namespace {

fs::path jcs_dir() { return worm::test::testdata_dir() / "jcs"; }

std::string parse_error(std::string_view text) {
    return error_of([&] { json::parse_strict(text, "input.json"); }, ErrorCode::parse);
}

std::string unhex(const std::string& text) {
    std::string out;
    std::istringstream in(text);
    std::string byte;
    while (in >> byte) out += static_cast<char>(std::stoi(byte, nullptr, 16));
    return out;
}

struct NumberRow {
    std::string hex;
    double value;
    std::string expected;
};

std::vector<NumberRow> number_rows(const std::string& file) {
    std::vector<NumberRow> rows;
    std::istringstream in(worm::test::read_file(jcs_dir() / "numbers" / file));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const auto comma = line.find(',');
        REQUIRE(comma != std::string::npos);
        const std::string hex = line.substr(0, comma);
        REQUIRE(hex.size() >= 1);
        REQUIRE(hex.size() <= 16);
        const auto bits = static_cast<std::uint64_t>(std::stoull(hex, nullptr, 16));
        rows.push_back({hex, std::bit_cast<double>(bits), line.substr(comma + 1)});
    }
    return rows;
}

}  // namespace

TEST_CASE("every JCS test file canonicalizes to the expected bytes") {
    int cases = 0;
    for (const auto& entry : fs::directory_iterator(jcs_dir() / "input")) {
        const std::string name = entry.path().filename().string();
        CAPTURE(name);
        const std::string input = worm::test::read_file(entry.path());
        const std::string expected = worm::test::read_file(jcs_dir() / "output" / name);
        const std::string expected_hex =
            unhex(worm::test::read_file(jcs_dir() / "outhex" / (entry.path().stem().string() + ".txt")));
        CHECK(expected_hex == expected);
        const std::string got = json::canonicalize(input);
        CHECK(got == expected);
        // Canonical form is a fixed point.
        CHECK(json::canonicalize(got) == expected);
        ++cases;
    }
    CHECK(cases == 6);
}

TEST_CASE("number serialization: RFC 8785 Appendix B and the ES6 sample lines") {
    for (const char* file : {"rfc8785-appendix-b.csv", "es6testfile-readme-sample.csv"}) {
        const auto rows = number_rows(file);
        CHECK(rows.size() >= 7);
        for (const NumberRow& row : rows) {
            CAPTURE(file);
            CAPTURE(row.hex);
            CHECK(json::format_es6_number(row.value) == row.expected);
            // The same value inside a document.
            rapidjson::Value v(row.value);
            CHECK(json::canonicalize(v) == row.expected);
            // Parsing the expected text gives back the same bits (correctly rounded parse),
            // except -0 which ES6 prints as "0".
            if (row.value != 0) {
                const auto doc = json::parse_strict(row.expected);
                REQUIRE(doc.IsNumber());
                CHECK(std::bit_cast<std::uint64_t>(doc.GetDouble()) == std::bit_cast<std::uint64_t>(row.value));
                CHECK(json::canonicalize(row.expected) == row.expected);
            }
        }
    }
}

TEST_CASE("number serialization: NaN and Infinity rows are rejected") {
    const auto rows = number_rows("rfc8785-appendix-b-invalid.csv");
    CHECK(rows.size() == 2);
    for (const NumberRow& row : rows) {
        CAPTURE(row.expected);
        error_of([&] { json::format_es6_number(row.value); }, ErrorCode::invalid_argument);
        rapidjson::Document doc(rapidjson::kObjectType);
        rapidjson::Value arr(rapidjson::kArrayType);
        arr.PushBack(rapidjson::Value(row.value), doc.GetAllocator());
        doc.AddMember("a", arr, doc.GetAllocator());
        const std::string msg = error_of([&] { json::canonicalize(doc); }, ErrorCode::invalid_argument);
        CHECK(msg.find("/a/0") != std::string::npos);
    }
    error_of([] { json::format_es6_number(-std::numeric_limits<double>::infinity()); }, ErrorCode::invalid_argument);
}

TEST_CASE("integers serialize like the double ECMAScript would hold") {
    CHECK(json::canonicalize("1000000000000000000000") == "1e+21");
    CHECK(json::canonicalize("100000000000000000000") == "100000000000000000000");
    CHECK(json::canonicalize("9007199254740993") == "9007199254740992");
    CHECK(json::canonicalize("18446744073709551615") == "18446744073709552000");
    CHECK(json::canonicalize("-9223372036854775808") == "-9223372036854776000");
    CHECK(json::canonicalize("123456789012345678901234567890") == "1.2345678901234568e+29");
    CHECK(json::canonicalize("-0") == "0");
    CHECK(json::canonicalize("-0.0") == "0");
    CHECK(json::canonicalize("[1E2,1.5e-7,0.1,100e-2]") == "[100,1.5e-7,0.1,1]");
    // Values built in code, stored as int64/uint64 by RapidJSON.
    CHECK(json::canonicalize(rapidjson::Value(std::int64_t{1} << 62)) == "4611686018427388000");
    CHECK(json::canonicalize(rapidjson::Value(std::uint64_t{18446744073709551615ULL})) == "18446744073709552000");
    CHECK(json::canonicalize(rapidjson::Value(-42)) == "-42");
    // Integers that fit stay exact in the DOM and in the pretty form.
    const auto doc = json::parse_strict("9007199254740993");
    CHECK(doc.IsUint64());
    CHECK(doc.GetUint64() == 9007199254740993ULL);
    CHECK(json::to_pretty(doc) == "9007199254740993");
}

TEST_CASE("numbers outside the double range") {
    CHECK(parse_error("[1e400]").find("double") != std::string::npos);
    CHECK(parse_error("-1e309").find("double") != std::string::npos);
    CHECK(json::canonicalize("1e-400") == "0");
    CHECK(json::canonicalize("4.9e-324") == "5e-324");
}

TEST_CASE("keys are sorted by UTF-16 code units, not UTF-8 bytes") {
    // U+E000 sorts before U+1F600 in UTF-8 (EE.. < F0..) but after it in UTF-16 (E000 > D83D).
    const std::string text = "{\"\xEE\x80\x80\":1,\"\xF0\x9F\x98\x80\":2,\"a\":3}";
    CHECK(json::canonicalize(text) == "{\"a\":3,\"\xF0\x9F\x98\x80\":2,\"\xEE\x80\x80\":1}");
}

TEST_CASE("string escaping is minimal") {
    CHECK(json::canonicalize(R"(["\u0000\u001f\u007f\/\b\f\n\r\t\"\\", "\u00e9\u20ac"])") ==
          "[\"\\u0000\\u001f\x7f/\\b\\f\\n\\r\\t\\\"\\\\\",\"\xC3\xA9\xE2\x82\xAC\"]");
    // NUL inside keys and values survives (RapidJSON keeps lengths).
    CHECK(json::canonicalize(R"({"a\u0000b":"x\u0000"})") == "{\"a\\u0000b\":\"x\\u0000\"}");
}

TEST_CASE("string escaping is the same wherever the special byte falls in an eight-byte word") {
    // The serializer skips a block of plain bytes at a time (16 with SSE2, else 8), tests a
    // string's last bytes as a block overlapping the one before, and a string shorter than a
    // block as two words that may overlap; a byte-at-a-time reference decides.
    const auto reference = [](std::string_view s) {
        std::string out = "\"";
        for (const char ch : s) {
            const auto c = static_cast<unsigned char>(ch);
            if (c == '"') out += "\\\"";
            else if (c == '\\') out += "\\\\";
            else if (c == '\n') out += "\\n";
            else if (c == '\t') out += "\\t";
            else if (c == '\b') out += "\\b";
            else if (c == '\f') out += "\\f";
            else if (c == '\r') out += "\\r";
            else if (c < 0x20) {
                static constexpr char hex[] = "0123456789abcdef";
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xF];
            } else out += ch;
        }
        return out + "\"";
    };
    for (const std::string& special : std::vector<std::string>{"\"", "\\", "\n", std::string(1, '\x01'), "\x1f", "\x7f", " ", "~", "\xc3\xa9",
                                      "\xe2\x82\xac", "\xf0\x9f\x98\x80"}) {
        for (std::size_t length = 0; length < 50; ++length) {
            for (std::size_t at = 0; at <= length; ++at) {
                const std::string text = std::string(at, 'a') + special + std::string(length - at, 'b');
                rapidjson::Document d;
                d.SetString(text.data(), static_cast<rapidjson::SizeType>(text.size()), d.GetAllocator());
                std::string out;
                json::append_compact(d, out);
                REQUIRE_MESSAGE(out == reference(text), "special byte(s) at " << at << " of " << text.size());
            }
        }
    }
    // Invalid UTF-8 after a run of plain words is still refused.
    rapidjson::Document bad;
    for (const std::size_t plain : {8, 16, 33}) {
        const std::string text = std::string(plain, 'a') + "\xc3";
        bad.SetString(text.data(), static_cast<rapidjson::SizeType>(text.size()), bad.GetAllocator());
        std::string out;
        CHECK_THROWS_AS(json::append_compact(bad, out), Error);
    }
}

TEST_CASE("duplicate keys are rejected at any depth") {
    std::string msg = parse_error(R"({"a":1,"a":2})");
    CHECK(msg.find("input.json") == 0);
    CHECK(msg.find("duplicate key \"a\"") != std::string::npos);
    msg = parse_error(R"({"x":{"y":{"b":1,"c":2,"b":3}}})");
    CHECK(msg.find("duplicate key \"b\" at /x/y (byte") != std::string::npos);
    msg = parse_error(R"({"list":[{"k":1},{"k":1,"k":1}]})");
    CHECK(msg.find("duplicate key \"k\" at /list/1") != std::string::npos);
    // The same key in sibling objects is fine.
    CHECK(json::canonicalize(R"([{"k":1},{"k":1}])") == R"([{"k":1},{"k":1}])");
    // A document built in code with a duplicate member cannot be canonicalized.
    rapidjson::Document doc(rapidjson::kObjectType);
    doc.AddMember("a", 1, doc.GetAllocator());
    doc.AddMember("a", 2, doc.GetAllocator());
    msg = error_of([&] { json::canonicalize(doc); }, ErrorCode::invalid_argument);
    CHECK(msg.find("duplicate key \"a\"") != std::string::npos);
}

TEST_CASE("invalid UTF-8 and lone surrogates are rejected") {
    const std::vector<std::string> bad = {
        "\"\xC0\x80\"",                  // overlong NUL
        "\"\xE0\x80\xAF\"",              // overlong '/'
        "\"\xED\xA0\x80\"",              // encoded surrogate U+D800
        "\"\xF4\x90\x80\x80\"",          // above U+10FFFF
        "\"\xE2\x82\"",                  // truncated
        "\"\x80\"",                      // lone continuation byte
        "\"\xFF\"",                      // never valid
        "{\"\xC3\x28\":1}",              // bad key
        R"("\ud800")",                   // lone high surrogate escape
        R"("\udc00")",                   // lone low surrogate escape
        R"("\ud800\u0041")",             // high surrogate followed by a non-surrogate
        R"({"\udfff":1})",               // in a key
    };
    for (const std::string& text : bad) {
        CAPTURE(text);
        parse_error(text);
    }
    CHECK(parse_error(R"({"k":["ok","\udc00"]})").find("at /k/1") != std::string::npos);
    // A proper surrogate pair is fine.
    CHECK(json::canonicalize(R"("\ud83d\ude02")") == "\"\xF0\x9F\x98\x82\"");
    // Invalid UTF-8 put into a DOM in code is refused by the serializers too.
    rapidjson::Document doc(rapidjson::kObjectType);
    doc.AddMember("s", rapidjson::Value("\xC0\x80", doc.GetAllocator()), doc.GetAllocator());
    CHECK(error_of([&] { json::canonicalize(doc); }, ErrorCode::invalid_argument).find("/s") != std::string::npos);
    // The message names where, at any depth, in every form (the path is gathered on the way out).
    rapidjson::Document nested(rapidjson::kObjectType);
    auto& a = nested.GetAllocator();
    rapidjson::Value inner(rapidjson::kObjectType), list(rapidjson::kArrayType);
    inner.AddMember("ok", 1, a);
    inner.AddMember("b", rapidjson::Value("\xC0\x80", a), a);
    list.PushBack(1, a);
    list.PushBack(inner, a);
    nested.AddMember("a", list, a);
    for (const auto& serialize : std::vector<std::function<void()>>{[&] { json::canonicalize(nested); },
                                                                    [&] { json::to_pretty(nested); },
                                                                    [&] { json::to_compact(nested); }})
        CHECK(error_of(serialize, ErrorCode::invalid_argument).find("cannot serialize JSON: string is not valid UTF-8 at /a/1/b") !=
              std::string::npos);
    nested["a"][1].RemoveMember("b");
    rapidjson::Value bad_key("k\xFF", a);
    nested["a"][1].AddMember(bad_key, 2, a);
    CHECK(error_of([&] { json::to_compact(nested); }, ErrorCode::invalid_argument).find("key is not valid UTF-8 at /a/1/k") != std::string::npos);
}

TEST_CASE("NaN, Infinity, trailing garbage and other malformed input are rejected") {
    for (const std::string text : {"NaN", "[Infinity]", "-Infinity", "{} x", "{}{}", "", "   ", "[1,]", "{\"a\" 1}",
                                   "01", "[.5]", "'a'", "{a:1}", "[1] // c"}) {
        CAPTURE(text);
        parse_error(text);
    }
    // A NUL byte would end RapidJSON's input early; what follows must not be ignored.
    CHECK(parse_error(std::string("{}\0{\"x\":1}", 10)).find("NUL") != std::string::npos);
    const std::string msg = parse_error("{\"a\":{\"b\":[1,2,}}");
    CHECK(msg.find("input.json: ") == 0);
    CHECK(msg.find("(byte ") != std::string::npos);
}

TEST_CASE("deep nesting is bounded, never a stack overflow") {
    const auto nested = [](int depth) { return std::string(static_cast<std::size_t>(depth), '[') +
                                               std::string(static_cast<std::size_t>(depth), ']'); };
    CHECK(json::canonicalize(nested(json::kMaxDepth)) == nested(json::kMaxDepth));
    CHECK(parse_error(nested(json::kMaxDepth + 1)).find("nesting deeper than") != std::string::npos);
    CHECK(parse_error(nested(200000)).find("nesting deeper than") != std::string::npos);
    std::string objects;
    for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
    CHECK(parse_error(objects).find("nesting deeper than") != std::string::npos);

    // A DOM built in code deeper than the limit is refused by the serializer.
    rapidjson::Document doc(rapidjson::kArrayType);
    rapidjson::Value inner(rapidjson::kArrayType);
    for (int i = 0; i < json::kMaxDepth + 5; ++i) {
        rapidjson::Value outer(rapidjson::kArrayType);
        outer.PushBack(inner, doc.GetAllocator());
        inner = outer;
    }
    doc.PushBack(inner, doc.GetAllocator());
    error_of([&] { json::canonicalize(doc); }, ErrorCode::invalid_argument);
}

TEST_CASE("to_pretty keeps document order, indents by two, keeps UTF-8 raw and round-trips") {
    const std::string text = R"({"b":[1,{"z":null,"y":true}],"a":"caf\u00e9","e":{},"f":[],"n":0.5})";
    const auto doc = json::parse_strict(text);
    const std::string pretty = json::to_pretty(doc);
    CHECK(pretty ==
          "{\n  \"b\": [\n    1,\n    {\n      \"z\": null,\n      \"y\": true\n    }\n  ],\n"
          "  \"a\": \"caf\xC3\xA9\",\n  \"e\": {},\n  \"f\": [],\n  \"n\": 0.5\n}");
    CHECK(json::canonicalize(pretty) == json::canonicalize(text));
    CHECK(json::to_compact(doc) == R"({"b":[1,{"z":null,"y":true}],"a":"café","e":{},"f":[],"n":0.5})");
}

TEST_CASE("member helpers name the JSON pointer") {
    const auto doc = json::parse_strict(R"({"execution":{"operator":5,"start":"x"},"list":[]})");
    const auto& exec = json::require_object(doc, "execution", "");
    CHECK(json::require_string(exec, "start", "/execution") == "x");
    std::string msg = error_of([&] { json::require_string(exec, "operator", "/execution"); },
                               ErrorCode::invalid_argument);
    CHECK(msg == "/execution/operator: must be a string, got integer");
    msg = error_of([&] { json::require_member(exec, "timestamp_end", "/execution", ErrorCode::schema); },
                   ErrorCode::schema);
    CHECK(msg == "/execution/timestamp_end: missing");
    msg = error_of([&] { json::require_object(doc, "list", ""); }, ErrorCode::invalid_argument);
    CHECK(msg == "/list: must be an object, got array");
    CHECK(json::pointer_append("/a", "b/c~d") == "/a/b~1c~0d");
    CHECK(json::find_member(doc, "nope") == nullptr);
}

// ---- cross-checks against a real ECMAScript engine (Node), when installed ---------------

namespace {

bool have_node() { return worm::test::run_command({"node", "--version"}).exit_code == 0; }

// Runs a Node script on an input file; returns stdout split into lines.
std::vector<std::string> run_node(const std::string& script, const std::string& input) {
    worm::test::TempDir dir("worm-node");
    worm::test::write_file(dir / "script.js", script);
    worm::test::write_file(dir / "input.txt", input);
    const auto r = worm::test::run_command({"node", (dir / "script.js").string(), (dir / "input.txt").string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    std::vector<std::string> lines;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

}  // namespace

TEST_CASE("format_es6_number agrees with Node's Number.prototype.toString") {
    if (!have_node()) {
        MESSAGE("node not installed: skipping the ECMAScript cross-check");
        return;
    }
    // Random bit patterns cover every exponent; random integers and short decimals cover
    // the plain-notation ranges where ES6's rules switch form.
    std::mt19937_64 rng(8785);
    std::vector<double> values;
    while (values.size() < 20000) {
        const double d = std::bit_cast<double>(rng());
        if (std::isfinite(d)) values.push_back(d);
    }
    for (int i = 0; i < 5000; ++i) values.push_back(static_cast<double>(static_cast<std::int64_t>(rng()) >> (rng() % 64)));
    for (int i = 0; i < 5000; ++i)
        values.push_back(static_cast<double>(rng() % 1000000) / std::pow(10.0, static_cast<double>(rng() % 30)));
    std::string input;
    char hex[32];
    for (const double d : values) {
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(std::bit_cast<std::uint64_t>(d)));
        input += hex;
        input += '\n';
    }
    const auto expected = run_node(R"(
const lines = require('fs').readFileSync(process.argv[2], 'utf8').trim().split('\n');
const dv = new DataView(new ArrayBuffer(8));
process.stdout.write(lines.map(h => { dv.setBigUint64(0, BigInt('0x' + h)); return String(dv.getFloat64(0)); }).join('\n') + '\n');
)", input);
    REQUIRE(expected.size() == values.size());
    int mismatches = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const std::string got = json::format_es6_number(values[i]);
        if (got != expected[i] && ++mismatches <= 10) CHECK_MESSAGE(got == expected[i], "value index " << i);
    }
    CHECK(mismatches == 0);
}

TEST_CASE("canonicalize agrees with a JCS canonicalizer written in JavaScript") {
    if (!have_node()) {
        MESSAGE("node not installed: skipping the ECMAScript cross-check");
        return;
    }
    // Keys that stress UTF-16 ordering and escaping: astral vs U+E000..U+FFFF, controls,
    // quotes, backslashes, U+2028, digits (JS objects reorder integer-like keys).
    const std::vector<std::string> keys = {
        "", "a", "A", "b", "10", "1", "2", "\xC3\xA9", "\xEE\x80\x80", "\xEF\xBF\xBD", "\xF0\x9F\x98\x80",
        "\xF0\x90\x80\x80", "\x01", "\x1f", "\"", "\\", "\xE2\x80\xA8", "\x7f", "key with space", "z\xC3\xA9"};
    std::mt19937_64 rng(2024);
    std::function<void(rapidjson::Value&, rapidjson::Document::AllocatorType&, int)> fill;
    fill = [&](rapidjson::Value& v, rapidjson::Document::AllocatorType& a, int depth) {
        const int kind = depth > 3 ? static_cast<int>(rng() % 5) : static_cast<int>(rng() % 7);
        switch (kind) {
            case 0: v.SetNull(); break;
            case 1: v.SetBool(rng() % 2); break;
            case 2: {
                double d = std::bit_cast<double>(rng());
                if (!std::isfinite(d)) d = 0.5;
                v.SetDouble(d);
                break;
            }
            case 3: v.SetInt64(static_cast<std::int64_t>(rng()) >> (rng() % 64)); break;
            case 4: {
                std::string s;
                for (int i = static_cast<int>(rng() % 4); i > 0; --i) s += keys[rng() % keys.size()];
                v.SetString(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), a);
                break;
            }
            case 5: {
                v.SetArray();
                for (int i = static_cast<int>(rng() % 4); i > 0; --i) {
                    rapidjson::Value item;
                    fill(item, a, depth + 1);
                    v.PushBack(item, a);
                }
                break;
            }
            default: {
                v.SetObject();
                std::vector<std::string> pool = keys;
                std::shuffle(pool.begin(), pool.end(), rng);
                for (int i = static_cast<int>(rng() % 8); i > 0; --i) {
                    rapidjson::Value item;
                    fill(item, a, depth + 1);
                    v.AddMember(json::make_string(pool[static_cast<std::size_t>(i)], a), item, a);
                }
            }
        }
    };
    std::vector<std::string> docs;
    std::string input;
    for (int i = 0; i < 500; ++i) {
        rapidjson::Document d;
        fill(d, d.GetAllocator(), 0);
        docs.push_back(json::to_compact(d));
        input += docs.back() + "\n";
    }
    const auto expected = run_node(R"(
const c = v => v === null || typeof v !== 'object' ? JSON.stringify(v)
  : Array.isArray(v) ? '[' + v.map(c).join(',') + ']'
  : '{' + Object.keys(v).sort().map(k => JSON.stringify(k) + ':' + c(v[k])).join(',') + '}';
const lines = require('fs').readFileSync(process.argv[2], 'utf8').split('\n').filter(l => l.length);
process.stdout.write(lines.map(l => c(JSON.parse(l))).join('\n') + '\n');
)", input);
    REQUIRE(expected.size() == docs.size());
    int mismatches = 0;
    for (std::size_t i = 0; i < docs.size(); ++i) {
        const std::string got = json::canonicalize(docs[i]);
        if (got != expected[i] && ++mismatches <= 5) CHECK_MESSAGE(got == expected[i], docs[i]);
    }
    CHECK(mismatches == 0);
}

// ---- json::Writer: the one way the library writes JSON text --------------------------

namespace {

// One document written twice: streamed by the Writer, and parsed then written by to_pretty /
// to_compact. The two must agree byte for byte (one serializer, one form).
void write_sample(json::Writer& w) {
    w.begin_object()
        .member("name", "é \"quoted\" \\ tab\t nul\x01")
        .member("count", 42)
        .member("big", std::uint64_t{18446744073709551615u})
        .member("negative", std::int64_t{-9007199254740993})
        .member("ratio", 0.25)
        .member("whole", 3.0)
        .member("yes", true)
        .member("absent", std::optional<std::string>())
        .member("present", std::optional<std::string>("x"));
    w.key("empty_object").begin_object().end_object();
    w.key("empty_array").begin_array().end_array();
    w.key("items").begin_array();
    for (int i = 0; i < 3; ++i) w.begin_object().member("i", i).key("tags").begin_array().value("a").null().end_array().end_object();
    w.end_array();
    w.end_object();
}

}  // namespace

TEST_CASE("Writer: the same text as to_pretty and to_compact of the same document") {
    json::Writer pretty(json::Writer::Style::pretty), compact;
    write_sample(pretty);
    write_sample(compact);
    const std::string pretty_text = pretty.take(), compact_text = compact.take();
    const auto doc = json::parse_strict(compact_text, "written");
    CHECK(pretty_text == json::to_pretty(doc));
    CHECK(compact_text == json::to_compact(doc));
    CHECK(compact_text.find("\"whole\":3,") != std::string::npos);  // ES6 number form
    CHECK(compact_text.find("\\u0001") != std::string::npos);
    CHECK(pretty_text.find("\"empty_object\": {},\n") != std::string::npos);
    CHECK(json::find_member(doc, "absent")->IsNull());
    CHECK(json::find_member(doc, "big")->GetUint64() == 18446744073709551615u);
}

TEST_CASE("Writer: a parsed value and raw JSON text go in as they are, at the writer's depth") {
    const auto parsed = json::parse_strict(R"({"b":[1,{"c":null}],"a":"x"})", "parsed");
    json::Writer w(json::Writer::Style::pretty);
    w.begin_object().member("doc", parsed).key("raw").raw(R"({"k":1})").end_object();
    const std::string text = w.take();
    CHECK(text == "{\n  \"doc\": {\n    \"b\": [\n      1,\n      {\n        \"c\": null\n      }\n    ],\n    \"a\": \"x\"\n  },\n"
                  "  \"raw\": {\"k\":1}\n}");
    json::Writer top;
    top.value(parsed);
    CHECK(top.take() == R"({"b":[1,{"c":null}],"a":"x"})");
}

TEST_CASE("Writer: take_into appends, and the writer starts over") {
    json::Writer w;
    std::string out = "prefix ";
    w.begin_array().value(1).end_array().take_into(out);
    CHECK(out == "prefix [1]");
    w.value("again").take_into(out);
    CHECK(out == "prefix [1]\"again\"");
    CHECK(w.begin_object().end_object().take() == "{}");
}

TEST_CASE("Writer: text that JSON cannot hold is refused, naming the member") {
    const std::string bad_utf8 = "ab\xff";
    json::Writer a;
    a.begin_object();
    CHECK(error_of([&] { a.member("note", bad_utf8); }, ErrorCode::invalid_argument).find("\"note\"") != std::string::npos);
    json::Writer b;
    b.begin_object();
    const std::string message = error_of([&] { b.member("ratio", std::nan("")); }, ErrorCode::invalid_argument);
    CHECK(message.find("NaN") != std::string::npos);
    CHECK(message.find("\"ratio\"") != std::string::npos);
    json::Writer c;
    c.begin_object();
    CHECK(error_of([&] { c.key(bad_utf8); }, ErrorCode::invalid_argument).find("not valid UTF-8") != std::string::npos);
}

TEST_CASE("Writer: misuse is an internal error, not bad JSON") {
    json::Writer no_key;
    no_key.begin_object();
    CHECK(error_of([&] { no_key.value(1); }, ErrorCode::internal).find("without its key") != std::string::npos);
    json::Writer key_in_array;
    key_in_array.begin_array();
    CHECK(error_of([&] { key_in_array.key("k"); }, ErrorCode::internal).find("outside an object") != std::string::npos);
    json::Writer unbalanced;
    unbalanced.begin_array();
    CHECK(error_of([&] { unbalanced.end_object(); }, ErrorCode::internal).find("end_object") != std::string::npos);
    CHECK(error_of([&] { (void)unbalanced.take(); }, ErrorCode::internal).find("before the value is complete") != std::string::npos);
    json::Writer dangling;
    dangling.begin_object().key("k");
    CHECK(error_of([&] { dangling.end_object(); }, ErrorCode::internal).find("without its value") != std::string::npos);
    json::Writer twice;
    twice.value(1);
    CHECK(error_of([&] { twice.value(2); }, ErrorCode::internal).find("second value") != std::string::npos);
}

TEST_CASE("Writer: value_lossy writes diagnostic text, bytes that are not UTF-8 as U+FFFD") {
    json::Writer w;
    w.begin_object().key("file").value_lossy("caf\xe9.json").key("ok").value_lossy("caf\xc3\xa9").end_object();
    const std::string text = w.take();
    CHECK(text == "{\"file\":\"caf\xef\xbf\xbd.json\",\"ok\":\"caf\xc3\xa9\"}");
    CHECK(json::find_member(json::parse_strict(text, "lossy"), "file") != nullptr);
}
