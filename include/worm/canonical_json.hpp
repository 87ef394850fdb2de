// canonical_json.hpp: RFC 8785 canonical JSON over JSON text: the form evidence is hashed over.
//
// The input is parsed strictly (duplicate keys, invalid UTF-8, lone surrogates, NaN/Infinity,
// numbers outside the double range, trailing garbage and nesting deeper than
// kMaxDepth are refused, never guessed at); numbers are written the way ECMAScript
// would after JSON.parse, through an IEEE double, as RFC 8785 requires.
//
// Example:
//   std::string canonical = worm::json::canonicalize(std::string_view(R"({"b":1,"a":[1E2]})"));
//   // {"a":[100],"b":1}
#pragma once

#include <string>
#include <string_view>

#include "worm/export.hpp"

namespace worm::json {

// Deeper documents are refused by the parser and by the serializers (no stack overflow).
inline constexpr int kMaxDepth = 512;

// RFC 8785 (JCS) canonical form of UTF-8 JSON text: object keys sorted by UTF-16 code units,
// ES6 number form, minimal string escaping, no whitespace. Throws Error(parse) for text that
// is not strict JSON and Error(invalid_argument) naming the JSON pointer for what has no
// canonical form.
WORM_API std::string canonicalize(std::string_view json_text);

// ECMAScript Number.prototype.toString for a finite double ("1e+21", "0.002", "-5e-324").
// Throws Error(invalid_argument) for NaN and +-Infinity.
WORM_API std::string format_es6_number(double value);

}  // namespace worm::json
