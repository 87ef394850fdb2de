// percent_encoding.hpp (private): the library's one RFC 3986 percent-encoding pair. Every
// URL, query, SigV4 canonical form, proxy request, header value and file:// URI the library
// writes goes through percent_encode; everything it reads through the strict percent_decode.
#pragma once

#include <string>
#include <string_view>

namespace worm::detail {

// Which bytes stay as they are; every other byte becomes %XX (upper-case hex, as SigV4 wants).
enum class PercentKeep {
    unreserved,            // A-Z a-z 0-9 - _ . ~ : query names and values, SigV4 query parts
    unreserved_and_slash,  // the same and '/': paths (S3 object paths, file:// URIs)
    printable_ascii,       // 0x20-0x7e except '%': header values that must stay readable
};

// Appends the encoding of `raw` to `out` (the SigV4 hot path: no temporary string).
void append_percent_encoded(std::string& out, std::string_view raw, PercentKeep keep);
std::string percent_encode(std::string_view raw, PercentKeep keep = PercentKeep::unreserved);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`: form-style queries, AWS
// listings with encoding-type=url). A malformed escape or a NUL byte is refused with
// Error(invalid_argument) naming `what` ("request query", "store URL").
std::string percent_decode(std::string_view text, bool plus_is_space, std::string_view what);

}  // namespace worm::detail
