// The one table of error codes (error.hpp) and the proxy wire protocol built on it.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "worm/error.hpp"
#include "worm/proxy/protocol.hpp"

using namespace worm;

TEST_CASE("all_error_codes lists every code once, and each name parses back to its code") {
    std::set<std::string_view> names;
    std::size_t index = 0;
    for (const ErrorCode code : all_error_codes()) {
        CAPTURE(to_string(code));
        CHECK(static_cast<std::size_t>(code) == index++);  // declaration order, nothing skipped
        CHECK(names.insert(to_string(code)).second);
        CHECK(to_string(code) != "unknown");
        REQUIRE(parse_error_code(to_string(code)).has_value());
        CHECK(*parse_error_code(to_string(code)) == code);
    }
    CHECK(all_error_codes().back() == ErrorCode::internal);
    CHECK(names.contains("not_found"));
    CHECK(names.contains("object_locked"));
    CHECK_FALSE(parse_error_code("NOT_FOUND").has_value());  // names are exact
    CHECK_FALSE(parse_error_code("").has_value());
    CHECK_FALSE(parse_error_code("unknown").has_value());
}

TEST_CASE("every error code round-trips through the proxy protocol") {
    for (const ErrorCode code : all_error_codes()) {
        CAPTURE(to_string(code));
        // What worm-proxy answers for an error of this code, and what ProxyStore makes of it.
        const int status = proxy::http_status_for(code);
        const Error back =
            proxy::error_from_response(status, proxy::error_json(to_string(code), "server said why"), "GET x");
        // A backend S3 failure or a proxy bug arrives without the S3 fields: the client
        // reports it as a storage failure. Every other code comes back as itself.
        const bool becomes_storage = code == ErrorCode::s3 || code == ErrorCode::internal;
        CHECK(back.code() == (becomes_storage ? ErrorCode::storage : code));
        CHECK(std::string(back.what()).find("server said why") != std::string::npos);
        CHECK(status >= 400);
    }
    // Names outside the table fall back to the status.
    CHECK(proxy::error_from_response(404, R"({"error":"mystery","message":"m"})", "GET x").code() ==
          ErrorCode::not_found);
    CHECK(proxy::error_from_response(409, R"({"error":"mystery","message":"m"})", "GET x").code() ==
          ErrorCode::object_locked);
}
