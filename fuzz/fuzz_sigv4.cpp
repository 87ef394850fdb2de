// SigV4 canonicalization of arbitrary URLs and headers. Input lines:
//   1: a URL (parsed by the library's one URL parser), 2: the method, 3..: "name: value" headers.
// The URL's host, path and decoded query are signed; invalid pieces must end in a typed
// error. Invariants: the signature is 64 hex digits, the canonical request names the signed
// path in its encoded form, and the secret key never appears in anything produced.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "util/percent_encoding.hpp"
#include "util/url.hpp"
#include "worm/s3/sigv4.hpp"

namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    while (true) {
        const auto at = text.find(separator);
        parts.push_back(text.substr(0, at));
        if (at == std::string_view::npos) return parts;
        text.remove_prefix(at + 1);
    }
}

bool is_hex64(std::string_view text) {
    if (text.size() != 64) return false;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto lines = split(text, '\n');
    const std::string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    worm::fuzz::expect_typed([&] {
        const auto url = worm::detail::Url::parse(lines[0], "fuzz URL", worm::ErrorCode::invalid_argument);
        worm::s3::SigningRequest request;
        request.method = lines.size() > 1 ? std::string(lines[1]) : "GET";
        request.host = url.authority();
        request.path = worm::detail::percent_decode(url.path.empty() ? "/" : url.path, false, "fuzz path");
        if (url.has_query) {
            for (auto pair : split(url.query, '&')) {
                const auto eq = pair.find('=');
                request.query.emplace_back(
                    worm::detail::percent_decode(pair.substr(0, eq), true, "fuzz query"),
                    eq == std::string_view::npos ? std::string()
                                                 : worm::detail::percent_decode(pair.substr(eq + 1), true, "fuzz query"));
            }
        }
        for (std::size_t i = 2; i < lines.size(); ++i) {
            const auto colon = lines[i].find(':');
            if (colon == std::string_view::npos) continue;
            request.headers.emplace_back(std::string(lines[i].substr(0, colon)), std::string(lines[i].substr(colon + 1)));
        }
        request.payload_sha256_hex = std::string(worm::s3::unsigned_payload);
        const worm::s3::Credentials credentials{.access_key_id = "AKIDEXAMPLE", .secret_access_key = secret};
        worm::s3::SigningScope scope;
        scope.time = worm::TimePoint(std::chrono::seconds(1440938160));
        const auto signed_request = worm::s3::sign_request(request, credentials, scope);
        worm::fuzz::check(is_hex64(signed_request.signature), "signature is not 64 hex digits");
        worm::fuzz::check(signed_request.canonical_request.find(worm::s3::canonical_uri(request.path)) != std::string::npos,
                          "canonical request lacks the encoded path");
        // (Unless the input itself carries the secret: the fuzzer learns it from the comparisons.)
        const bool input_has_secret = text.find(secret) != std::string_view::npos;
        for (const auto& [name, value] : signed_request.headers)
            worm::fuzz::check(input_has_secret || value.find(secret) == std::string::npos, "secret in a header");
        worm::fuzz::check(input_has_secret || signed_request.canonical_request.find(secret) == std::string::npos,
                          "secret in canonical request");
        scope.normalize_path = true;
        (void)worm::s3::canonical_uri(request.path, true);
        (void)worm::s3::presign_url(request, credentials, scope, std::chrono::seconds(60), url.scheme == "http" ? "http" : "https");
    });
    return 0;
}
