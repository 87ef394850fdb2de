// proxy/protocol.hpp: the wire contract between ProxyStore (the agent side) and the
// worm-proxy server: header names, error names, HTTP status mapping, query encoding.
//
// Both sides include this header, so a renamed header or a new error name changes in
// one place. The API itself is described in docs/proxy-api.md.
//
// Example:
//   int status = worm::proxy::http_status_for(worm::ErrorCode::object_locked);
//   std::string body = worm::proxy::error_json("object_locked", "evidence/a.json is under retention");
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "worm/error.hpp"
#include "worm/export.hpp"
#include "worm/storage.hpp"

namespace worm::proxy {

// Request and response headers (HTTP names compare case-insensitively).
inline constexpr std::string_view header_sha256 = "X-Worm-Sha256";
inline constexpr std::string_view header_key = "X-Worm-Key";  // POST /evidence/upload
inline constexpr std::string_view header_lock_mode = "X-Worm-Lock-Mode";
inline constexpr std::string_view header_retain_until = "X-Worm-Retain-Until";
inline constexpr std::string_view header_legal_hold = "X-Worm-Legal-Hold";
inline constexpr std::string_view header_meta_prefix = "X-Worm-Meta-";
inline constexpr std::string_view header_sse = "X-Worm-Server-Side-Encryption";
inline constexpr std::string_view header_sse_kms_key = "X-Worm-SSE-KMS-Key-Id";
inline constexpr std::string_view header_version_id = "X-Worm-Version-Id";
inline constexpr std::string_view header_bypass_governance = "X-Worm-Bypass-Governance";
// On every answer: the id under which the proxy logged the request (quote it to the operator).
inline constexpr std::string_view header_request_id = "X-Request-Id";

// The metadata entry the proxy adds to every upload (clients cannot set it).
inline constexpr std::string_view proxy_client_meta = "worm-proxy-client";

// Error names on the wire ({"error": name, "message": ...}) besides worm::ErrorCode names.
inline constexpr std::string_view error_unauthorized = "unauthorized";  // 401
inline constexpr std::string_view error_forbidden = "forbidden";        // 403
inline constexpr std::string_view error_too_large = "too_large";        // 413
inline constexpr std::string_view error_no_route = "no_such_endpoint";  // 404 / 405
inline constexpr std::string_view error_expectation_failed = "expectation_failed";  // 417: Expect other than 100-continue
inline constexpr std::string_view error_not_implemented = "not_implemented";        // 501: a transfer coding besides chunked
inline constexpr std::string_view error_busy = "busy";                              // 503: connection limit reached

// The status the proxy answers for an error of this code (400, 404, 409, 422, 500, 502, 504).
WORM_API int http_status_for(ErrorCode code) noexcept;

// {"error": name, "message": message} (message JSON-escaped).
WORM_API std::string error_json(std::string_view name, std::string_view message);

// The worm::Error a client raises for a non-2xx proxy answer. `what` names the call
// ("PUT evidence/a/b.json") for the message; the server's message is appended.
// Mapping: worm code names pass through (not_found, object_locked, already_exists,
// integrity, invalid_argument, ...); unauthorized and forbidden -> config (the API key
// or client id is wrong); too_large -> invalid_argument; no JSON -> by status
// (404 not_found, 409 object_locked, 422 integrity, 4xx invalid_argument, 504 timeout,
// 5xx storage).
WORM_API Error error_from_response(int status, std::string_view body, std::string_view what);

// RFC 3986 percent-encoding of one query value (unreserved characters kept, '/' encoded).
WORM_API std::string percent_encode(std::string_view raw);
// Decodes %XX and (in queries) '+'; throws Error(invalid_argument) on a bad escape or NUL.
WORM_API std::string percent_decode(std::string_view text, bool plus_is_space);

// Splits "a=1&b=x%2Fy" into decoded pairs; a repeated name throws Error(invalid_argument)
// (a second "key" must never be able to override the one that was checked).
WORM_API std::map<std::string, std::string> parse_query(std::string_view query);

// "evidence/{client_id}/": the only prefix a client may touch.
WORM_API std::string client_prefix(std::string_view client_id);

// ---- JSON bodies (times are RFC 3339 UTC with milliseconds) ----------------------------
// Readers throw Error(parse) naming the field that is missing or has the wrong type.

// Upload answer: {"key","version_id","etag","sha256","uri","retention":{...}|null,"legal_hold"}.
WORM_API std::string put_result_json(const PutResult& result, const ObjectLock& applied, std::string_view uri);
WORM_API PutResult parse_put_result(std::string_view body, ObjectLock& applied);

// {"key","size","etag","sha256","content_type","metadata":{},"retention","legal_hold",
//  "version_id","last_modified"}.
WORM_API std::string object_info_json(const ObjectInfo& info);
WORM_API ObjectInfo parse_object_info(std::string_view body);

// {"objects":[{"key","size","etag","last_modified"}],"common_prefixes":[],"next_continuation_token"}.
WORM_API std::string list_page_json(const ListPage& page);
WORM_API ListPage parse_list_page(std::string_view body);

// {"retention": {"mode","retain_until"} | null}.
WORM_API std::string retention_json(const std::optional<Retention>& retention);
WORM_API std::optional<Retention> parse_retention(std::string_view body);

// PUT /evidence/retention body: {"mode","retain_until","bypass_governance"}.
WORM_API std::string retention_request_json(const Retention& retention, bool bypass_governance);
WORM_API Retention parse_retention_request(std::string_view body, bool& bypass_governance);

// {"legal_hold": true|false}, both as answer and as PUT /evidence/legal-hold body.
WORM_API std::string legal_hold_json(bool on);
WORM_API bool parse_legal_hold(std::string_view body);

}  // namespace worm::proxy
