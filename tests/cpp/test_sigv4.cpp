// test_sigv4.cpp: the SigV4 signer against the AWS test suite, the S3 documentation
// examples and botocore (hundreds of generated S3 requests signed by both).
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <set>
#include <thread>

#include "support/test_env.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/s3/sigv4.hpp"
#include "worm/time.hpp"

using namespace worm;
using namespace worm::s3;
namespace fs = std::filesystem;

namespace {

rapidjson::Document parse_json(const std::string& text, const std::string& what) {
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError()) throw std::runtime_error("bad JSON in " + what);
    return doc;
}

std::string str(const rapidjson::Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t end = s.find(sep, start);
        out.emplace_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return out;
        start = end + 1;
    }
}

std::string percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out += from_hex(s.substr(i + 1, 2));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// The value of header `name` (exact lower-case name, as the signer emits them), or nullopt.
std::optional<std::string> header_of(const HttpHeaders& headers, std::string_view name) {
    for (const auto& [n, v] : headers)
        if (n == name) return v;
    return std::nullopt;
}

// "a=1&b" -> {("a","1"), ("b","")}, names and values percent-decoded (the API takes raw ones).
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q) {
    std::vector<std::pair<std::string, std::string>> out;
    if (q.empty()) return out;
    for (const auto& pair : split(q, '&')) {
        const auto eq = pair.find('=');
        if (eq == std::string::npos)
            out.emplace_back(percent_decode(pair), "");
        else
            out.emplace_back(percent_decode(pair.substr(0, eq)), percent_decode(pair.substr(eq + 1)));
    }
    return out;
}

// ---- the aws-c-auth v4 suite ------------------------------------------------------------

struct SuiteCase {
    std::string name;
    SigningRequest request;
    std::string body;
    Credentials credentials;
    SigningScope scope;
    std::chrono::seconds expires{0};
    bool sign_body = false;
    bool normalize = true;
};

// request.txt: "METHOD PATH[?QUERY] HTTP/1.1", "Name:value" lines (a line starting with
// whitespace continues the previous value), an empty line, the body.
SuiteCase load_suite_case(const fs::path& dir) {
    SuiteCase c;
    c.name = dir.filename().string();
    const std::string text = test::read_file(dir / "request.txt");
    const auto blank = text.find("\n\n");
    const std::string head = text.substr(0, blank);
    c.body = blank == std::string::npos ? "" : text.substr(blank + 2);

    const auto lines = split(head, '\n');
    const std::string& request_line = lines.at(0);
    const auto first_space = request_line.find(' ');
    const auto last_space = request_line.rfind(" HTTP/1.1");
    c.request.method = request_line.substr(0, first_space);
    const std::string target = request_line.substr(first_space + 1, last_space - first_space - 1);
    const auto qmark = target.find('?');
    c.request.path = target.substr(0, qmark);
    if (qmark != std::string::npos) c.request.query = parse_query(target.substr(qmark + 1));

    HttpHeaders headers;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const std::string& line = lines[i];
        if (line.empty()) continue;
        if (line[0] == ' ' || line[0] == '\t') {
            headers.back().second += " " + line;  // obsolete line folding: the signer folds spaces
            continue;
        }
        const auto colon = line.find(':');
        headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    }
    for (auto& [name, value] : headers) {
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        if (lower == "host")
            c.request.host = value;
        else
            c.request.headers.emplace_back(name, value);
    }
    c.request.payload_sha256_hex = sha256_hex(c.body);

    const auto ctx = parse_json(test::read_file(dir / "context.json"), c.name);
    c.credentials.access_key_id = str(ctx["credentials"]["access_key_id"]);
    c.credentials.secret_access_key = str(ctx["credentials"]["secret_access_key"]);
    const bool omit_token = ctx.HasMember("omit_session_token") && ctx["omit_session_token"].GetBool();
    // omit_session_token: the token is added after signing, so it is not signed at all.
    if (ctx["credentials"].HasMember("token") && !omit_token) c.credentials.session_token = str(ctx["credentials"]["token"]);
    c.scope.region = str(ctx["region"]);
    c.scope.service = str(ctx["service"]);
    c.scope.time = parse_rfc3339(str(ctx["timestamp"]));
    c.expires = std::chrono::seconds(ctx["expiration_in_seconds"].GetInt());
    c.sign_body = ctx["sign_body"].GetBool();
    c.normalize = ctx["normalize"].GetBool();
    return c;
}

std::vector<fs::path> suite_dirs() {
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(test::testdata_dir() / "sigv4" / "v4"))
        if (e.is_directory()) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    return dirs;
}

// Cases whose path normalization changes the path. S3 never normalizes (an object key may
// contain "//", "." or ".."), so these run with the generic rules only; their
// "*-unnormalized" twins show the S3 behaviour and run under both.
const std::set<std::string> normalizing_cases = {
    "get-relative-normalized",       "get-relative-relative-normalized", "get-slash-dot-slash-normalized",
    "get-slash-normalized",          "get-slash-pointless-dot-normalized", "get-slashes-normalized",
};

}  // namespace

TEST_CASE("uri_encode keeps RFC 3986 unreserved characters and encodes UTF-8 bytes in upper-case hex") {
    CHECK(uri_encode("AZaz09-_.~", true) == "AZaz09-_.~");
    CHECK(uri_encode("a b+c=d&e%f", true) == "a%20b%2Bc%3Dd%26e%25f");
    CHECK(uri_encode("/bucket/my key", false) == "/bucket/my%20key");
    CHECK(uri_encode("/bucket/my key", true) == "%2Fbucket%2Fmy%20key");
    CHECK(uri_encode("\xe1\x88\xb4", true) == "%E1%88%B4");
    CHECK(uri_encode(std::string("a\0b", 3), true) == "a%00b");
    CHECK(canonical_uri("/a//b/../c/./") == "/a//b/../c/./");  // S3: never normalized
    CHECK(canonical_uri("/a//b/../c/./", true) == "/a/c/");
    CHECK(canonical_uri("/example/..", true) == "/");
    CHECK(canonical_uri("") == "/");
}

TEST_CASE("encoded_query_string sorts by encoded name then value, keeps repeats and empty values") {
    CHECK(encoded_query_string({}) == "");
    CHECK(encoded_query_string({{"uploads", ""}}) == "uploads=");
    CHECK(encoded_query_string({{"b", "2"}, {"a", "z"}, {"a", "y"}, {"A", "x"}}) == "A=x&a=y&a=z&b=2");
    CHECK(encoded_query_string({{"prefix", "a b/c+"}, {"delimiter", "/"}}) == "delimiter=%2F&prefix=a%20b%2Fc%2B");
}

TEST_CASE("format_amz_date and format_rfc3339_millis agree with strftime across centuries and leap days") {
    // The signer and the audit log format dates by hand (no strftime); format_rfc3339 still
    // uses strftime.
    const auto plain = [](std::string s) {
        std::erase_if(s, [](char c) { return c == '-' || c == ':'; });
        return s;
    };
    int checked = 0;
    for (const char* text : {"1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2000-02-29T12:34:56Z",
                             "2024-02-29T23:59:59Z", "2024-12-31T23:59:59Z", "2100-03-01T00:00:00Z",
                             "2199-12-31T23:59:59Z"}) {
        const TimePoint t = parse_rfc3339(text);
        CHECK(format_amz_date(t) == plain(text));
        ++checked;
    }
    // Every 37 h 11 min 13.7 s over 1960-2110: all hours, minutes, seconds, month ends.
    for (TimePoint t = parse_rfc3339("1960-01-01T00:00:00Z"); t < parse_rfc3339("2110-01-01T00:00:00Z");
         t += std::chrono::milliseconds(133873700)) {
        CHECK(format_amz_date(t) == plain(format_rfc3339(t)));
        const auto millis = (t - std::chrono::floor<std::chrono::seconds>(t)) / std::chrono::milliseconds(1);
        const std::string fraction = std::to_string(1000 + millis).substr(1);
        CHECK(format_rfc3339_millis(t) == format_rfc3339(t).substr(0, 19) + "." + fraction + "Z");
        ++checked;
    }
    CHECK(checked > 35000);
}

TEST_CASE("canonical headers: names lower-cased and sorted by byte, repeats joined in request order, values folded") {
    const Credentials creds{.access_key_id = "AKID", .secret_access_key = "SECRET"};
    const SigningScope scope{.time = parse_rfc3339("2026-03-01T12:00:00Z")};
    const SigningRequest req{.method = "PUT", .host = "h", .path = "/b/k",
                             .headers = {{"X-Amz-Meta-B", "2"},
                                         {"x-amz-meta-a-b", "3"},
                                         {"X-AMZ-META-A", " \t one   two\t "},
                                         {"x-amz-meta-a", "1"}},
                             .payload_sha256_hex = std::string(unsigned_payload)};
    const SignedRequest s = sign_request(req, creds, scope);
    CHECK(s.canonical_request ==
          "PUT\n/b/k\n\n"
          "host:h\n"
          "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"
          "x-amz-date:20260301T120000Z\n"
          "x-amz-meta-a:one two,1\n"
          "x-amz-meta-a-b:3\n"
          "x-amz-meta-b:2\n"
          "\n"
          "host;x-amz-content-sha256;x-amz-date;x-amz-meta-a;x-amz-meta-a-b;x-amz-meta-b\n"
          "UNSIGNED-PAYLOAD");
    // On the wire the caller's headers keep their case and value.
    CHECK(header_of(s.headers, "X-AMZ-META-A") == " \t one   two\t ");
    CHECK(header_of(s.headers, "authorization").value().find(
              "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-a;x-amz-meta-a-b;x-amz-meta-b,") !=
          std::string::npos);
}

TEST_CASE("derive_signing_key matches the documented key for the S3 examples") {
    CHECK(to_hex(derive_signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3")) ==
          "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378");
}

TEST_CASE("AWS SigV4 test suite (aws-c-auth v4): header and query variants") {
    // The suite is for generic AWS services: it sends x-amz-content-sha256 only when
    // sign_body is set (add_content_sha256 = false, the test adds the header itself), and
    // normalizes paths when `normalize` is true (normalize_path). Double URI-encoding (the
    // suite's runner sets it) changes no path here: no path holds a '%', and encoding the
    // raw path once gives the expected canonical URI, so libworm has no double-encoding mode.
    // With the S3 defaults the query (presign) variant is checked too, for every case but
    // the 6 whose path normalization changes the path (S3 never normalizes; their
    // "*-unnormalized" twins pass under S3 rules): a presigned request has no
    // x-amz-content-sha256, so the expected values are the same.
    // The header variant cannot run with the S3 defaults: S3 always signs
    // x-amz-content-sha256, which these vectors lack (the S3 examples and botocore cover it).
    const auto dirs = suite_dirs();
    REQUIRE(dirs.size() == 38);
    int header_checked = 0, query_checked = 0, s3_query_checked = 0;
    for (const auto& dir : dirs) {
        SuiteCase c = load_suite_case(dir);
        CAPTURE(c.name);
        c.scope.add_content_sha256 = false;
        c.scope.normalize_path = c.normalize;
        {
            SigningRequest req = c.request;
            if (c.sign_body) req.headers.emplace_back("x-amz-content-sha256", c.request.payload_sha256_hex);
            const SignedRequest signed_req = sign_request(req, c.credentials, c.scope);
            CHECK(signed_req.canonical_request == test::read_file(dir / "header-canonical-request.txt"));
            CHECK(signed_req.string_to_sign == test::read_file(dir / "header-string-to-sign.txt"));
            CHECK(signed_req.signature == test::read_file(dir / "header-signature.txt"));
            // The Authorization line of the signed request, byte for byte.
            const std::string expected_signed = test::read_file(dir / "header-signed-request.txt");
            std::string authorization;
            for (const auto& [n, v] : signed_req.headers)
                if (n == "authorization") authorization = v;
            CHECK(expected_signed.find("Authorization:" + authorization + "\n") != std::string::npos);
            ++header_checked;
        }
        {
            const PresignedUrl url = presign(c.request, c.credentials, c.scope, c.expires, "https");
            CHECK(url.canonical_request == test::read_file(dir / "query-canonical-request.txt"));
            CHECK(url.string_to_sign == test::read_file(dir / "query-string-to-sign.txt"));
            CHECK(url.signature == test::read_file(dir / "query-signature.txt"));
            ++query_checked;
        }
        if (!normalizing_cases.contains(c.name)) {
            SigningScope s3_scope = c.scope;
            s3_scope.add_content_sha256 = true;
            s3_scope.normalize_path = false;
            const PresignedUrl url = presign(c.request, c.credentials, s3_scope, c.expires, "https");
            CHECK(url.canonical_request == test::read_file(dir / "query-canonical-request.txt"));
            CHECK(url.signature == test::read_file(dir / "query-signature.txt"));
            ++s3_query_checked;
        }
    }
    CHECK(header_checked == 38);
    CHECK(query_checked == 38);
    CHECK(s3_query_checked == 32);
}

TEST_CASE("S3 documentation examples: canonical request, string to sign, signature, Authorization, URL") {
    const auto doc = parse_json(test::read_file(test::testdata_dir() / "sigv4" / "s3-doc-examples.json"), "s3 examples");
    const Credentials creds{.access_key_id = str(doc["credentials"]["access_key_id"]),
                            .secret_access_key = str(doc["credentials"]["secret_access_key"])};
    const SigningScope scope{.region = str(doc["region"]), .service = str(doc["service"]),
                             .time = parse_rfc3339("2013-05-24T00:00:00Z")};
    REQUIRE(format_amz_date(scope.time) == str(doc["timestamp"]));
    int checked = 0;
    for (const auto& ex : doc["examples"].GetArray()) {
        const std::string name = str(ex["name"]);
        CAPTURE(name);
        const auto& r = ex["request"];
        SigningRequest req{.method = str(r["method"]), .path = str(r["path"]), .query = parse_query(str(r["query"]))};
        std::string content_sha;
        for (const auto& h : r["headers"].GetArray()) {
            const std::string n = str(h[0]), v = str(h[1]);
            if (n == "Host")
                req.host = v;
            else if (n == "x-amz-date")
                CHECK(v == format_amz_date(scope.time));  // the signer adds it from the scope
            else if (n == "x-amz-content-sha256")
                content_sha = v;  // the signer adds it from payload_sha256_hex
            else
                req.headers.emplace_back(n, v);
        }
        if (ex.HasMember("presigned_url")) {
            const auto expires = std::chrono::seconds(r["expires_seconds"].GetInt());
            const PresignedUrl url = presign(req, creds, scope, expires);  // empty payload hash: UNSIGNED-PAYLOAD
            CHECK(url.canonical_request == str(ex["canonical_request"]));
            CHECK(url.string_to_sign == str(ex["string_to_sign"]));
            CHECK(url.signature == str(ex["signature"]));
            CHECK(url.url == str(ex["presigned_url"]));
            CHECK(presign_url(req, creds, scope, expires) == str(ex["presigned_url"]));
        } else {
            req.payload_sha256_hex = sha256_hex(str(r["payload"]));
            CHECK(req.payload_sha256_hex == content_sha);
            const SignedRequest s = sign_request(req, creds, scope);
            CHECK(s.canonical_request == str(ex["canonical_request"]));
            CHECK(s.string_to_sign == str(ex["string_to_sign"]));
            CHECK(s.signature == str(ex["signature"]));
            // The docs print the header without a space after each comma; libworm writes
            // ", " like botocore and aws-c-auth. S3 accepts both; compare modulo that space.
            std::string authorization = header_of(s.headers, "authorization").value_or("");
            std::string compact;
            for (std::size_t i = 0; i < authorization.size(); ++i)
                if (!(authorization[i] == ' ' && i > 0 && authorization[i - 1] == ',')) compact += authorization[i];
            CHECK(compact == str(ex["authorization"]));
            CHECK(authorization.find(", SignedHeaders=" + str(ex["signed_headers"]) + ", Signature=") != std::string::npos);
        }
        ++checked;
    }
    CHECK(checked == 5);
}

TEST_CASE("botocore oracle: hundreds of generated S3 requests signed identically") {
    // Methods, keys with spaces/unicode/+=&~%, empty and repeated query parameters,
    // session tokens, UNSIGNED-PAYLOAD, lock/checksum/content-md5 headers, presigned URLs.
    const auto script = test::source_dir() / "tests" / "python" / "sigv4_oracle.py";
    const auto result = test::run_command({test::python3(), script.string(), "400", "20260301"});
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    const auto doc = parse_json(result.out, "oracle output");
    const auto& cases = doc["cases"];
    REQUIRE(cases.Size() == 400);
    int headers_checked = 0, urls_checked = 0, unsigned_checked = 0, token_checked = 0;
    for (const auto& c : cases.GetArray()) {
        SigningRequest req{.method = str(c["method"]), .host = str(c["host"]), .path = str(c["path"]),
                           .payload_sha256_hex = str(c["payload_sha256_hex"])};
        for (const auto& q : c["query"].GetArray()) req.query.emplace_back(str(q[0]), str(q[1]));
        for (const auto& h : c["headers"].GetArray()) req.headers.emplace_back(str(h[0]), str(h[1]));
        const Credentials creds{.access_key_id = str(c["access_key_id"]),
                                .secret_access_key = str(c["secret_access_key"]),
                                .session_token = str(c["session_token"])};
        const SigningScope scope{.region = str(c["region"]), .service = "s3", .time = parse_rfc3339(str(c["time"]))};
        CAPTURE(req.method);
        CAPTURE(req.path);
        CAPTURE(req.host);
        if (!creds.session_token.empty()) ++token_checked;

        if (str(c["mode"]) == "header") {
            const SignedRequest s = sign_request(req, creds, scope);
            INFO(s.canonical_request);
            CHECK(header_of(s.headers, "authorization").value_or("") == str(c["authorization"]));
            CHECK(header_of(s.headers, "x-amz-date").value_or("") == str(c["x_amz_date"]));
            CHECK(header_of(s.headers, "x-amz-content-sha256").value_or("") == str(c["x_amz_content_sha256"]));
            CHECK(header_of(s.headers, "x-amz-security-token").value_or("") == str(c["x_amz_security_token"]));
            CHECK(header_of(s.headers, "host").value_or("") == req.host);
            if (req.payload_sha256_hex == unsigned_payload) ++unsigned_checked;
            ++headers_checked;
        } else {
            const std::string mine = presign_url(req, creds, scope, std::chrono::seconds(c["expires"].GetInt()), "http");
            const std::string theirs = str(c["url"]);
            // botocore emits the operation parameters first; libworm sorts them (canonical
            // order). Same base URL, same set of encoded parameters, same signature.
            const auto base = [](const std::string& u) { return u.substr(0, u.find('?')); };
            const auto params = [](const std::string& u) {
                auto p = split(u.substr(u.find('?') + 1), '&');
                std::sort(p.begin(), p.end());
                return p;
            };
            CHECK(base(mine) == base(theirs));
            CHECK(params(mine) == params(theirs));
            ++urls_checked;
        }
    }
    CHECK(headers_checked == 300);
    CHECK(urls_checked == 100);
    CHECK(unsigned_checked > 20);
    CHECK(token_checked > 50);
}

TEST_CASE("sign_request adds the S3 headers and signs the session token") {
    const Credentials creds{.access_key_id = "AKID", .secret_access_key = "SECRET/+=", .session_token = "TOKEN+/="};
    const SigningScope scope{.time = parse_rfc3339("2026-03-01T12:00:00Z")};
    const SigningRequest req{.method = "PUT", .host = "127.0.0.1:9000", .path = "/b/k",
                             .headers = {{"x-amz-object-lock-mode", "COMPLIANCE"}},
                             .payload_sha256_hex = std::string(unsigned_payload)};
    const SignedRequest s = sign_request(req, creds, scope);
    CHECK(header_of(s.headers, "host") == "127.0.0.1:9000");
    CHECK(header_of(s.headers, "x-amz-date") == "20260301T120000Z");
    CHECK(header_of(s.headers, "x-amz-content-sha256") == "UNSIGNED-PAYLOAD");
    CHECK(header_of(s.headers, "x-amz-security-token") == "TOKEN+/=");
    CHECK(header_of(s.headers, "x-amz-object-lock-mode") == "COMPLIANCE");
    CHECK(header_of(s.headers, "authorization").value().find(
              "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-object-lock-mode;x-amz-security-token,") !=
          std::string::npos);
    // The signature depends on every signed part.
    SigningRequest other = req;
    other.headers[0].second = "GOVERNANCE";
    CHECK(sign_request(other, creds, scope).signature != s.signature);
    Credentials other_token = creds;
    other_token.session_token = "TOKEN2";
    CHECK(sign_request(req, other_token, scope).signature != s.signature);
}

TEST_CASE("invalid input is refused with invalid_argument and no secret in the message") {
    const std::string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const std::string token = "SESSIONTOKEN-abc123";
    const Credentials creds{.access_key_id = "AKIAIOSFODNN7EXAMPLE", .secret_access_key = secret, .session_token = token};
    const SigningScope scope{.time = parse_rfc3339("2026-03-01T12:00:00Z")};
    const SigningRequest good{.method = "GET", .host = "h", .path = "/k", .payload_sha256_hex = sha256_hex("")};

    const auto expect_invalid = [&](auto&& fn, const char* what) {
        CAPTURE(what);
        try {
            fn();
            FAIL("no error for ", what);
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::invalid_argument);
            const std::string msg = e.what();
            CHECK(msg.find(secret) == std::string::npos);
            CHECK(msg.find(token) == std::string::npos);
            CHECK(msg.find("SigV4") != std::string::npos);
        }
    };
    using std::chrono::seconds;
    expect_invalid([&] { presign_url(good, creds, scope, seconds(0)); }, "expires 0");
    expect_invalid([&] { presign_url(good, creds, scope, max_presign_expiry + seconds(1)); }, "expires > 7 days");
    CHECK_NOTHROW(presign_url(good, creds, scope, max_presign_expiry));
    CHECK_NOTHROW(presign_url(good, creds, scope, seconds(1)));
    expect_invalid([&] { presign_url(good, creds, scope, seconds(60), "ftp"); }, "scheme");
    expect_invalid([&] {
        auto r = good;
        r.query = {{"X-Amz-Signature", "x"}};
        presign_url(r, creds, scope, seconds(60));
    }, "auth query parameter");
    for (const char* reserved : {"Host", "Authorization", "X-Amz-Date", "x-amz-content-sha256", "X-Amz-Security-Token"}) {
        expect_invalid([&] {
            auto r = good;
            r.headers = {{reserved, "v"}};
            sign_request(r, creds, scope);
        }, reserved);
    }
    expect_invalid([&] {
        auto r = good;
        r.headers = {{"x-amz-meta-a", "v\r\nAuthorization: evil"}};
        sign_request(r, creds, scope);
    }, "CRLF in a header value");
    expect_invalid([&] {
        auto r = good;
        r.headers = {{"bad name", "v"}};
        sign_request(r, creds, scope);
    }, "space in a header name");
    expect_invalid([&] {
        auto r = good;
        r.payload_sha256_hex = "";
        sign_request(r, creds, scope);
    }, "missing payload hash");
    expect_invalid([&] {
        auto r = good;
        r.payload_sha256_hex = std::string(64, 'A');
        sign_request(r, creds, scope);
    }, "upper-case payload hash");
    expect_invalid([&] {
        auto r = good;
        r.path = "k";
        sign_request(r, creds, scope);
    }, "relative path");
    expect_invalid([&] {
        auto r = good;
        r.method = "";
        sign_request(r, creds, scope);
    }, "empty method");
    expect_invalid([&] {
        auto c = creds;
        c.secret_access_key.clear();
        sign_request(good, c, scope);
    }, "empty secret");
    expect_invalid([&] {
        auto c = creds;
        c.access_key_id.clear();
        sign_request(good, c, scope);
    }, "empty access key");
    expect_invalid([&] {
        auto c = creds;
        c.session_token = token + "\n";
        sign_request(good, c, scope);
    }, "newline in token");
}

TEST_CASE("SigningKeyCache derives once per key and day, and never serves a key for another secret") {
    SigningKeyCache cache;
    Credentials a{.access_key_id = "AKID", .secret_access_key = "secret-1"};
    const std::string k1 = cache.get(a, "20260301", "us-east-1", "s3");
    CHECK(k1 == derive_signing_key("secret-1", "20260301", "us-east-1", "s3"));
    CHECK(cache.get(a, "20260301", "us-east-1", "s3") == k1);
    CHECK(cache.derivations() == 1);
    CHECK(cache.get(a, "20260302", "us-east-1", "s3") != k1);
    CHECK(cache.get(a, "20260301", "eu-central-1", "s3") != k1);
    CHECK(cache.derivations() == 3);
    Credentials rotated = a;
    rotated.secret_access_key = "secret-2";
    CHECK(cache.get(rotated, "20260301", "us-east-1", "s3") == derive_signing_key("secret-2", "20260301", "us-east-1", "s3"));
    CHECK(cache.get(a, "20260301", "us-east-1", "s3") == k1);

    SigningKeyCache small(2);
    small.get(a, "20260301", "r1", "s3");
    small.get(a, "20260301", "r2", "s3");
    small.get(a, "20260301", "r3", "s3");
    CHECK(small.size() <= 2);

    // The process-wide cache under concurrent signing: every thread gets the same result.
    const SigningRequest req{.method = "GET", .host = "h", .path = "/k", .payload_sha256_hex = sha256_hex("")};
    const SigningScope scope{.time = parse_rfc3339("2026-03-01T12:00:00Z")};
    const std::string expected = sign_request(req, a, scope).signature;
    std::vector<std::thread> threads;
    std::vector<int> mismatches(4, 0);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                Credentials c = (i % 2) ? a : rotated;
                const std::string sig = sign_request(req, c, scope).signature;
                if ((i % 2) && sig != expected) ++mismatches[t];
            }
        });
    for (auto& th : threads) th.join();
    CHECK(mismatches == std::vector<int>(4, 0));
}
