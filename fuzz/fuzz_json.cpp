// Strict JSON parsing and the RFC 8785 canonical form: any input either parses or throws
// Error(parse); a parsed document canonicalizes, and the canonical form is a fixed point
// (it parses again and canonicalizes to the same bytes), as the evidence hash relies on.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "worm/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    worm::fuzz::expect_typed([&] {
        rapidjson::Document doc = worm::json::parse_strict(text, "fuzz input");
        std::string canonical;
        try {
            canonical = worm::json::canonicalize(doc);
        } catch (const worm::Error& e) {
            // Only numbers the parser kept exactly but no double can hold may be refused.
            if (e.code() != worm::ErrorCode::invalid_argument) throw;
            return;
        }
        const std::string again = worm::json::canonicalize(std::string_view(canonical));
        worm::fuzz::check(again == canonical, "canonical form is not a fixed point");
        // The other writers must accept whatever the parser accepted.
        (void)worm::json::to_pretty(doc);
        (void)worm::json::to_compact(doc);
    });
    return 0;
}
