// The transport-independent parts of http.hpp: header lookup and options from the environment.
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <string>

#include "worm/error.hpp"
#include "worm/http.hpp"

#include "../util/env.hpp"

namespace worm {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

// A non-negative integer from the environment, or nullopt when unset; throws Error(config) when malformed.
std::optional<long long> env_number(const char* name) {
    const std::string text = detail::env_or_empty(name);
    if (text.empty()) return std::nullopt;
    long long out = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc{} || ptr != text.data() + text.size() || out < 0)
        throw Error(ErrorCode::config, std::string(name) + " must be a non-negative integer, got '" +
                                           std::string(text) + "'");
    return out;
}

}  // namespace

std::optional<std::string> find_header(const HttpHeaders& headers, std::string_view name) {
    for (const auto& [key, value] : headers)
        if (iequals(key, name)) return value;
    return std::nullopt;
}

HttpOptions HttpOptions::from_env() {
    HttpOptions o;
    if (std::string ca = detail::env_or_empty("AWS_CA_BUNDLE"); !ca.empty()) o.ca_bundle = std::move(ca);
    if (auto v = env_number("WORM_HTTP_CONNECT_TIMEOUT_MS")) o.connect_timeout = std::chrono::milliseconds(*v);
    if (auto v = env_number("WORM_HTTP_TIMEOUT_MS")) o.total_timeout = std::chrono::milliseconds(*v);
    if (auto v = env_number("WORM_HTTP_LOW_SPEED_TIME_S")) o.low_speed_time = std::chrono::seconds(*v);
    if (auto v = env_number("WORM_HTTP_LOW_SPEED_BYTES")) o.low_speed_bytes = static_cast<long>(*v);
    return o;
}

}  // namespace worm
