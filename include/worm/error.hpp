// error.hpp: the one exception family of libworm.
//
// Every public function reports failure by throwing worm::Error. The code() is a
// closed set so callers (and the Python module, and the CLI's exit codes) can branch
// on it without parsing messages. S3Error adds what an S3 server said.
//
// Rule: no message ever contains a secret (secret key, session token, private key,
// Authorization header, bearer token). Build messages from names, not values.
//
// Example:
//   try {
//       worm::parse_lock_mode("forever");
//   } catch (const worm::Error& e) {
//       if (e.code() == worm::ErrorCode::invalid_argument) std::cerr << e.what() << "\n";
//   }
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "worm/export.hpp"

namespace worm {

// To add a code: add it here (internal stays last) and its name to error_code_names below;
// the proxy protocol, the CLI and the Python module all read that table.
enum class ErrorCode {
    invalid_argument,  // caller passed something malformed (bad key, bad date, bad flag)
    config,            // configuration missing or invalid (env, key file permissions)
    io,                // local file system failure (open, write, fsync, rename)
    parse,             // malformed JSON / XML / PEM input
    schema,            // JSON document does not match its schema
    crypto,            // OpenSSL failure, unusable key
    verification,      // signature or hash does not verify (evidence is not trustworthy)
    not_found,         // object, key, version or file does not exist
    object_locked,     // refused by WORM rules: retention, legal hold, COMPLIANCE mode
    integrity,         // stored bytes do not match their checksum, or a conflicting duplicate
    already_exists,    // write-once target is already present
    storage,           // a store failed in a way not covered above
    network,           // connection refused/reset, DNS, TLS
    timeout,           // connect or transfer timed out
    s3,                // an S3 server answered with an error (see S3Error)
    internal,          // a bug in libworm
};

namespace detail {

struct ErrorCodeName {
    ErrorCode code;
    std::string_view name;
};

// The one table of codes and their names (the names are stable: they go on the wire to
// and from worm-proxy, into Python's WormError.code and into the CLI's messages).
inline constexpr std::array<ErrorCodeName, static_cast<std::size_t>(ErrorCode::internal) + 1> error_code_names{{
    {ErrorCode::invalid_argument, "invalid_argument"},
    {ErrorCode::config, "config"},
    {ErrorCode::io, "io"},
    {ErrorCode::parse, "parse"},
    {ErrorCode::schema, "schema"},
    {ErrorCode::crypto, "crypto"},
    {ErrorCode::verification, "verification"},
    {ErrorCode::not_found, "not_found"},
    {ErrorCode::object_locked, "object_locked"},
    {ErrorCode::integrity, "integrity"},
    {ErrorCode::already_exists, "already_exists"},
    {ErrorCode::storage, "storage"},
    {ErrorCode::network, "network"},
    {ErrorCode::timeout, "timeout"},
    {ErrorCode::s3, "s3"},
    {ErrorCode::internal, "internal"},
}};

// Entry i is code i, with a name: no code is missing, none is listed twice.
constexpr bool error_code_names_complete() {
    for (std::size_t i = 0; i < error_code_names.size(); ++i)
        if (static_cast<std::size_t>(error_code_names[i].code) != i || error_code_names[i].name.empty()) return false;
    return true;
}
static_assert(error_code_names_complete(), "error_code_names must list every ErrorCode once, in order");

}  // namespace detail

// Every ErrorCode, in declaration order.
constexpr std::array<ErrorCode, detail::error_code_names.size()> all_error_codes() noexcept {
    std::array<ErrorCode, detail::error_code_names.size()> codes{};
    for (std::size_t i = 0; i < codes.size(); ++i) codes[i] = detail::error_code_names[i].code;
    return codes;
}

// "invalid_argument", "not_found", ...: the stable name of a code.
constexpr std::string_view to_string(ErrorCode code) noexcept {
    const auto i = static_cast<std::size_t>(code);
    return i < detail::error_code_names.size() ? detail::error_code_names[i].name : std::string_view("unknown");
}

// The code a name (as to_string spells it) stands for; nullopt for any other text.
constexpr std::optional<ErrorCode> parse_error_code(std::string_view name) noexcept {
    for (const auto& entry : detail::error_code_names)
        if (entry.name == name) return entry.code;
    return std::nullopt;
}

class WORM_API Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ErrorCode code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

// What an S3 (or S3-shaped) server answered. Fields follow the S3 error document.
struct S3ErrorInfo {
    int http_status = 0;
    std::string code;        // e.g. "AccessDenied", "SignatureDoesNotMatch"
    std::string message;     // server's message (may be empty: RGW often sends none)
    std::string request_id;  // x-amz-request-id or <RequestId>
    std::string resource;    // bucket/key the request addressed
    std::string method;      // HTTP method, for the message
};

class WORM_API S3Error : public Error {
public:
    // `code` lets the client classify what the server said while keeping the S3 fields:
    // NoSuchKey -> not_found, BadDigest -> integrity, a refused delete of a locked version
    // -> object_locked. Anything unclassified stays ErrorCode::s3.
    explicit S3Error(S3ErrorInfo info, ErrorCode code = ErrorCode::s3)
        : Error(code, describe(info)), info_(std::move(info)) {}

    int http_status() const noexcept { return info_.http_status; }
    const std::string& s3_code() const noexcept { return info_.code; }
    const std::string& server_message() const noexcept { return info_.message; }
    const std::string& request_id() const noexcept { return info_.request_id; }
    const std::string& resource() const noexcept { return info_.resource; }
    const S3ErrorInfo& info() const noexcept { return info_; }

    // Whether a well-behaved client may send the same request again (503/SlowDown, a 5xx
    // the server may have survived, a clock skew). Defined by the S3 client's retry policy.
    bool retryable() const noexcept;

private:
    static std::string describe(const S3ErrorInfo& i) {
        std::string m = "S3 " + (i.method.empty() ? std::string("request") : i.method);
        if (!i.resource.empty()) m += " " + i.resource;
        m += " failed: HTTP " + std::to_string(i.http_status);
        if (!i.code.empty()) m += " " + i.code;
        if (!i.message.empty()) m += ": " + i.message;
        if (!i.request_id.empty()) m += " (request id " + i.request_id + ")";
        return m;
    }

    S3ErrorInfo info_;
};

}  // namespace worm
