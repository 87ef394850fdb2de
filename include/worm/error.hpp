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

#include <stdexcept>
#include <string>
#include <string_view>

#include "worm/export.hpp"

namespace worm {

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

constexpr std::string_view to_string(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::invalid_argument: return "invalid_argument";
        case ErrorCode::config: return "config";
        case ErrorCode::io: return "io";
        case ErrorCode::parse: return "parse";
        case ErrorCode::schema: return "schema";
        case ErrorCode::crypto: return "crypto";
        case ErrorCode::verification: return "verification";
        case ErrorCode::not_found: return "not_found";
        case ErrorCode::object_locked: return "object_locked";
        case ErrorCode::integrity: return "integrity";
        case ErrorCode::already_exists: return "already_exists";
        case ErrorCode::storage: return "storage";
        case ErrorCode::network: return "network";
        case ErrorCode::timeout: return "timeout";
        case ErrorCode::s3: return "s3";
        case ErrorCode::internal: return "internal";
    }
    return "unknown";
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

    // Whether a well-behaved client may send the same request again.
    bool retryable() const noexcept {
        const int s = info_.http_status;
        if (s == 500 || s == 502 || s == 503 || s == 504) return true;
        return info_.code == "SlowDown" || info_.code == "RequestTimeout" ||
               info_.code == "InternalError" || info_.code == "ServiceUnavailable" ||
               info_.code == "RequestTimeTooSkewed";
    }

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
