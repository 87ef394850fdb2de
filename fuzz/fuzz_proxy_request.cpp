// worm-proxy's request handling over raw bytes from a client: Beast's parser with the
// server's limits (16 KiB of headers, 64 KiB for small JSON bodies), then Api::prepare
// (token, routing, tenant prefix, size checks) and, for requests without an upload body,
// Api::handle against a local WORM store. The JSON message parsers the proxy client uses
// on answers (proxy/protocol.hpp) get the body as well.
// Invariants: every answer has a status 100..599, every error answer is a JSON object, and
// nothing but a typed worm::Error escapes the message parsers.
#include <unistd.h>

#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "fuzz_support.hpp"
#include "proxy_server/api.hpp"
#include "worm/crypto.hpp"
#include "worm/json.hpp"
#include "worm/proxy/protocol.hpp"
#include "worm/storage/local.hpp"

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using namespace worm::proxy_server;

namespace {

// Token "fuzz-token-0123456789" belongs to client "clinic-a" (seeds use it).
struct Fixture {
    fs::path dir = fs::temp_directory_path() / ("worm-fuzz-proxy-" + std::to_string(::getpid()));
    std::unique_ptr<worm::LocalWormStore> store;
    std::unique_ptr<Api> api;
    Fixture() {
        fs::create_directories(dir / "store");
        fs::create_directories(dir / "spool");
        store = std::make_unique<worm::LocalWormStore>(dir / "store");
        api = std::make_unique<Api>(*store, std::vector<TokenEntry>{{"clinic-a", worm::sha256("fuzz-token-0123456789")}},
                                    Policy{}, dir / "spool");
    }
};

void check_response(const ApiResponse& response) {
    worm::fuzz::check(response.status >= 100 && response.status <= 599, "status out of range");
    if (response.status >= 400) {
        worm::fuzz::expect_typed([&] {
            const auto doc = worm::json::parse_strict(response.body, "error answer");
            worm::fuzz::check(doc.IsObject() && doc.HasMember("error"), "error answer without an error name");
        });
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture fixture;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);

    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(small_body_limit);
    parser.eager(true);
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec || !parser.is_header_done()) return 0;

    const auto& head = parser.get();
    ApiRequest request;
    request.method = std::string(head.method_string());
    request.target = std::string(head.target());
    for (const auto& field : head) request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    if (auto length = parser.content_length()) request.content_length = *length;
    request.chunked = parser.chunked();

    const Prepared prepared = fixture.api->prepare(request);
    if (prepared.refusal) {
        worm::fuzz::check(prepared.refusal->status >= 400, "a refusal that is not an error status");
        check_response(*prepared.refusal);
    } else if (prepared.body != BodyKind::upload && parser.is_done()) {
        check_response(fixture.api->handle(prepared, request, head.body(), nullptr));
    }

    // The client side reads the same kinds of JSON bodies.
    const std::string& body = head.body();
    using worm::fuzz::expect_typed;
    worm::ObjectLock applied;
    bool bypass = false;
    expect_typed([&] { (void)worm::proxy::parse_put_result(body, applied); });
    expect_typed([&] { (void)worm::proxy::parse_object_info(body); });
    expect_typed([&] { (void)worm::proxy::parse_list_page(body); });
    expect_typed([&] { (void)worm::proxy::parse_retention(body); });
    expect_typed([&] { (void)worm::proxy::parse_retention_request(body, bypass); });
    expect_typed([&] { (void)worm::proxy::parse_legal_hold(body); });
    expect_typed([&] { (void)worm::proxy::parse_query(request.target); });
    return 0;
}
