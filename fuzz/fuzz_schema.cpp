// Evidence bundle schema validation over arbitrary (strictly parsed) JSON: it either passes
// or throws Error(schema) naming a JSON pointer; never crashes, recurses without bound or
// throws anything else. Passing documents also get their evidence hash computed.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "worm/bundle_json.hpp"
#include "worm/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    worm::fuzz::expect_typed([&] {
        rapidjson::Document doc = worm::json::parse_strict(text, "fuzz bundle");
        worm::validate_bundle_schema(doc);
        (void)worm::compute_bundle_hash(doc);
    });
    return 0;
}
