// peers: moto rgw
// The `worm` CLI against a real S3 server (WORM_TEST_PEER=moto|rgw, support/s3_peer.hpp),
// configured only through the standard AWS_* variables, with boto3 as the reference client
// on the other side. moto's Object Lock leniencies are never asserted as expected
// behaviour: assertions only a strict server satisfies are guarded by peer.strict().
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "support/s3_peer.hpp"
#include "support/json_output.hpp"
#include "support/test_env.hpp"
#include "support/worm_proxy.hpp"
#include "worm/crypto.hpp"
#include "worm/proxy/protocol.hpp"
#include "worm/s3/client.hpp"
#include "worm/time.hpp"

using namespace worm;
namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

t::S3Peer& peer() { return t::S3Peer::shared(); }

// The environment a user would set for the CLI.
std::vector<std::string> cli_env(const t::S3Peer& p, const std::string& secret_override = "") {
    return {"AWS_ENDPOINT_URL=" + p.endpoint(), "AWS_ACCESS_KEY_ID=" + p.credentials().access_key_id,
            "AWS_SECRET_ACCESS_KEY=" + (secret_override.empty() ? p.credentials().secret_access_key : secret_override),
            "AWS_REGION=" + p.region(), "AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_ENDPOINT_URL_S3="};
}

t::CommandResult worm_cli(std::vector<std::string> args, const std::vector<std::string>& env) {
    args.insert(args.begin(), t::cli_path());
    return t::run_command(args, env);
}

t::CommandResult worm_ok(const std::vector<std::string>& args, const t::S3Peer& p = peer()) {
    t::CommandResult r = worm_cli(args, cli_env(p));
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    REQUIRE_MESSAGE(r.exit_code == 0, joined << "-> exit " << r.exit_code << ": " << r.err);
    return r;
}

using worm::test::parse_json;
using worm::test::str;

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

long long epoch_ms(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

using worm::test::pattern_bytes;

// One Object Lock bucket per binary, created by `worm bucket create --object-lock`.
const std::string& lock_bucket() {
    static const std::string name = [] {
        const std::string b = t::S3Peer::unique_bucket("cli-lock");
        const auto out = parse_json(worm_ok({"bucket", "create", "--store", "s3://" + b, "--object-lock"}).out);
        CHECK(str(out, "bucket") == b);
        CHECK(out["object_lock"].GetBool());
        return b;
    }();
    return name;
}

}  // namespace

TEST_CASE("bucket create --object-lock, and bucket info shows versioning and Object Lock") {
    const std::string bucket = lock_bucket();
    const auto info = parse_json(worm_ok({"bucket", "info", "--store", "s3://" + bucket}).out);
    CHECK(str(info, "bucket") == bucket);
    CHECK(str(info, "versioning") == "enabled");
    REQUIRE(info["object_lock"].IsObject());
    CHECK(info["object_lock"]["enabled"].GetBool());
    CHECK(info["object_lock"]["default_retention"].IsNull());
    CHECK(info.HasMember("encryption"));
    CHECK(info.HasMember("public_access_block"));
    CHECK(info["unavailable"].IsObject());

    // A bucket with a default retention.
    const std::string with_default = t::S3Peer::unique_bucket("cli-default");
    const auto created = parse_json(worm_ok({"bucket", "create", "--store", "s3://" + with_default, "--object-lock",
                                             "--default-retention-days", "3", "--default-lock-mode", "GOVERNANCE"})
                                        .out);
    CHECK(str(created["default_retention"], "mode") == "GOVERNANCE");
    const auto info2 = parse_json(worm_ok({"bucket", "info", "--store", "s3://" + with_default}).out);
    REQUIRE(info2["object_lock"]["default_retention"].IsObject());
    CHECK(str(info2["object_lock"]["default_retention"], "mode") == "GOVERNANCE");
    CHECK(info2["object_lock"]["default_retention"]["days"].GetInt() == 3);

    // A plain bucket: no Object Lock, unversioned.
    const std::string plain = t::S3Peer::unique_bucket("cli-plain");
    worm_ok({"bucket", "create", "--store", "s3://" + plain});
    const auto info3 = parse_json(worm_ok({"bucket", "info", "--store", "s3://" + plain}).out);
    CHECK(str(info3, "versioning") == "unversioned");
    CHECK_FALSE(info3["object_lock"]["enabled"].GetBool());

    // Asking for Object Lock on an existing bucket without it never passes silently
    // (S3 answers 200 to the owner re-creating a bucket in us-east-1; others refuse): exit 3.
    // moto turns Object Lock on for the existing bucket: then success is the truth.
    const t::CommandResult again = worm_cli({"bucket", "create", "--store", "s3://" + plain, "--object-lock"},
                                            cli_env(peer()));
    CAPTURE(again.err);
    if (again.exit_code == 0) {
        const auto now = parse_json(worm_ok({"bucket", "info", "--store", "s3://" + plain}).out);
        CHECK(now["object_lock"]["enabled"].GetBool());
    } else {
        CHECK(again.exit_code == 3);
        CHECK(std::count(again.err.begin(), again.err.end(), '\n') == 1);
        CHECK((contains(again.err, "already exists without Object Lock") || contains(again.err, "BucketAlready")));
    }
    // A missing bucket is a storage error naming it.
    const std::string gone = bucket + "-missing";
    const t::CommandResult missing = worm_cli({"bucket", "info", "--store", "s3://" + gone}, cli_env(peer()));
    CHECK(missing.exit_code == 3);
    CHECK(missing.err == "worm bucket info: bucket " + gone + " does not exist (HTTP 404)\n");
}

TEST_CASE("put with a COMPLIANCE lock: head shows it, boto3 reads it byte-identical, a locked version cannot be removed") {
    t::TempDir tmp("worm-it-cli");
    const std::string bucket = lock_bucket();
    const std::string url = "s3://" + bucket;
    const std::string content = pattern_bytes(300'000, 7);
    t::write_file(tmp / "in.bin", content);
    const std::string key = "locked/clinic-001/EB-20261122-0001.json";

    const TimePoint before = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    const auto put = parse_json(worm_ok({"put", "--store", url, key, (tmp / "in.bin").string(), "--lock-mode",
                                         "COMPLIANCE", "--retain-days", "1"})
                                    .out);
    const TimePoint after = std::chrono::system_clock::now();
    CHECK(str(put, "uri") == url + "/" + key);
    const std::string version = str(put, "version_id");
    REQUIRE_FALSE(version.empty());

    // head: lock mode and retain-until as asked for
    const auto head = parse_json(worm_ok({"head", "--store", url, key}).out);
    CHECK(head["size"].GetUint64() == content.size());
    CHECK(str(head, "lock_mode") == "COMPLIANCE");
    const TimePoint until = parse_rfc3339(str(head, "retain_until"));
    CHECK(until >= before + std::chrono::days(1));
    CHECK(until <= after + std::chrono::days(1));
    CHECK(str(head, "version_id") == version);

    // boto3 sees the same lock and the same bytes
    const std::string boto_head = peer().boto({"head", bucket, key});
    CHECK(contains(boto_head, "\"lock_mode\": \"COMPLIANCE\""));
    CHECK(contains(boto_head, "\"retain_until_epoch_ms\": " + std::to_string(epoch_ms(until))));
    peer().boto({"get", bucket, key, (tmp / "boto.bin").string()});
    CHECK(t::read_file(tmp / "boto.bin") == content);

    // retention get agrees (from GetObjectRetention or, on moto, HeadObject)
    const auto ret = parse_json(worm_ok({"retention", "get", "--store", url, key, "--version-id", version}).out);
    CHECK(str(ret, "lock_mode") == "COMPLIANCE");
    CHECK(epoch_ms(parse_rfc3339(str(ret, "retain_until"))) == epoch_ms(until));

    // rm of the locked version: exit 3, naming AccessDenied, and the bytes stay
    const t::CommandResult rm = worm_cli({"rm", "--store", url, key, "--version-id", version}, cli_env(peer()));
    CHECK(rm.exit_code == 3);
    CHECK(contains(rm.err, "AccessDenied"));
    CHECK(std::count(rm.err.begin(), rm.err.end(), '\n') == 1);
    CHECK(worm_ok({"get", "--store", url, key, "--version-id", version}).out == content);

    // extending retention works everywhere; shortening is refused by a strict server
    worm_ok({"retention", "set", "--store", url, key, "--version-id", version, "--mode", "COMPLIANCE", "--retain-days",
             "2"});
    const auto extended = parse_json(worm_ok({"head", "--store", url, key, "--version-id", version}).out);
    CHECK(parse_rfc3339(str(extended, "retain_until")) >= before + std::chrono::days(2));
    if (peer().strict()) {
        const t::CommandResult shorten = worm_cli(
            {"retention", "set", "--store", url, key, "--version-id", version, "--mode", "COMPLIANCE", "--retain-days",
             "1"},
            cli_env(peer()));
        CHECK(shorten.exit_code == 3);
    }
}

TEST_CASE("WORM_S3_ENDPOINT alone sends --store s3:// commands to that endpoint, as it does for sync") {
    // Issue 15 defect 7: the CLI's --store s3:// ignored WORM_S3_ENDPOINT and went to AWS.
    t::TempDir tmp("worm-it-cli");
    const std::string bucket = lock_bucket();
    t::write_file(tmp / "in.txt", "endpoint from WORM_S3_ENDPOINT");
    std::vector<std::string> env = cli_env(peer());
    env[0] = "AWS_ENDPOINT_URL=";  // only WORM_S3_ENDPOINT names the peer
    env.push_back("WORM_S3_ENDPOINT=" + peer().endpoint());
    const std::string key = "endpoint/worm-s3-endpoint.txt";
    const t::CommandResult put = worm_cli({"put", "--store", "s3://" + bucket, key, (tmp / "in.txt").string()}, env);
    REQUIRE_MESSAGE(put.exit_code == 0, put.err);
    // The object is on the peer: boto3, pointed at it explicitly, reads it back.
    peer().boto({"get", bucket, key, (tmp / "out.txt").string()});
    CHECK(t::read_file(tmp / "out.txt") == "endpoint from WORM_S3_ENDPOINT");
    // WORM_S3_ENDPOINT wins over AWS_ENDPOINT_URL (a dead port here), as in WormConfig.
    env.push_back("AWS_ENDPOINT_URL_S3=http://127.0.0.1:" + std::to_string(t::free_port()));
    const t::CommandResult got = worm_cli({"get", "--store", "s3://" + bucket, key}, env);
    CHECK_MESSAGE(got.exit_code == 0, got.err);
    CHECK(got.out == "endpoint from WORM_S3_ENDPOINT");
}

TEST_CASE("retention dates past 2262 reach S3 exactly, or `worm put` exits 3 naming the date asked and the date stored") {
    t::TempDir tmp("worm-it-cli-far");
    const std::string url = "s3://" + lock_bucket();
    t::write_file(tmp / "in.bin", "far evidence");
    int n = 0;
    int refused = 0;
    for (const std::string text : {"2262-04-12T00:00:00.000Z", "2263-01-01T00:00:00.000Z", "2614-06-01T00:00:00.000Z",
                                   "9999-12-31T23:59:59.000Z"}) {
        CAPTURE(text);
        const std::string key = "far/clinic-001/" + std::to_string(n++);
        const t::CommandResult put = worm_cli({"put", "--store", url, key, (tmp / "in.bin").string(), "--lock-mode",
                                               "COMPLIANCE", "--retain-until", text},
                                              cli_env(peer()));
        const std::string stored =
            str(parse_json(worm_ok({"retention", "get", "--store", url, key}).out), "retain_until");
        if (put.exit_code != 0) {
            // A server that keeps lock dates as 64-bit nanoseconds (Ceph RGW) stores such a
            // date wrapped, earlier than asked: the put reads it back and fails loudly.
            ++refused;
            CHECK_MESSAGE(put.exit_code == 3, put.err);
            CHECK_MESSAGE(contains(put.err, "stored retain-until " + stored), put.err);
            CHECK_MESSAGE(contains(put.err, "earlier than the " + text + " asked"), put.err);
            CHECK(parse_retention_date(stored) < parse_retention_date(text));
            continue;
        }
        CHECK(str(parse_json(worm_ok({"head", "--store", url, key}).out), "retain_until") == text);
        CHECK(stored == text);
        const long long ms = parse_retention_date(text).millis().time_since_epoch().count();
        CHECK(contains(peer().boto({"head", lock_bucket(), key}), "\"retain_until_epoch_ms\": " + std::to_string(ms)));
    }
    // moto keeps every date exactly; Ceph RGW 16 wraps at least the year 9999.
    if (peer().strict())
        CHECK(refused > 0);
    else
        CHECK(refused == 0);
    for (const std::string bad : {"10000-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00"}) {
        const t::CommandResult r = worm_cli({"put", "--store", url, "far/clinic-001/bad", (tmp / "in.bin").string(),
                                             "--lock-mode", "COMPLIANCE", "--retain-until", bad},
                                            cli_env(peer()));
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, bad));
    }
}

// Issue 25 defect 1, with the commands: Ceph RGW 16 keeps lock dates modulo 2^32 seconds
// (2106-02-08 -> 1970-01-01T17:31:44Z). `worm put` and `worm retention set` read such dates back
// and exit 3 naming both dates and the version; on moto (which keeps them) both pass exactly.
TEST_CASE("put and retention set past 2106-02-07T06:28:15Z: exact, or exit 3 naming both dates and the version") {
    t::TempDir tmp("worm-it-cli-2106");
    const std::string url = "s3://" + lock_bucket();
    t::write_file(tmp / "f", "evidence past 2106");
    const std::string put_date = "2106-02-08T00:00:00Z";
    const t::CommandResult put = worm_cli({"put", "--store", url, "wrap/k", (tmp / "f").string(), "--lock-mode",
                                           "COMPLIANCE", "--retain-until", put_date},
                                          cli_env(peer()));
    const auto head = parse_json(worm_ok({"head", "--store", url, "wrap/k"}).out);
    const std::string version = str(head, "version_id");
    if (peer().strict()) {
        CHECK_MESSAGE(put.exit_code == 3, put.err);
        CHECK_MESSAGE(contains(put.err, "stored retain-until " + str(head, "retain_until")), put.err);
        CHECK_MESSAGE(contains(put.err, "earlier than the 2106-02-08T00:00:00.000Z asked"), put.err);
        CHECK_MESSAGE(contains(put.err, "(version " + version + ")"), put.err);
    } else {
        CHECK_MESSAGE(put.exit_code == 0, put.err);
        CHECK(str(head, "retain_until") == "2106-02-08T00:00:00.000Z");
    }
    // retention set on a version locked for a day: 2200-01-01 (RGW keeps 2063-11-24).
    worm_ok({"put", "--store", url, "wrap/r", (tmp / "f").string(), "--lock-mode", "COMPLIANCE", "--retain-days", "1"});
    const std::string r_version = str(parse_json(worm_ok({"head", "--store", url, "wrap/r"}).out), "version_id");
    const t::CommandResult set = worm_cli({"retention", "set", "--store", url, "wrap/r", "--version-id", r_version,
                                           "--mode", "COMPLIANCE", "--retain-until", "2200-01-01T00:00:00Z"},
                                          cli_env(peer()));
    const std::string stored = str(
        parse_json(worm_ok({"retention", "get", "--store", url, "wrap/r", "--version-id", r_version}).out),
        "retain_until");
    if (peer().strict()) {
        CHECK_MESSAGE(set.exit_code == 3, set.err);
        CHECK_MESSAGE(contains(set.err, "stored retain-until " + stored), set.err);
        CHECK_MESSAGE(contains(set.err, "2200-01-01T00:00:00.000Z asked"), set.err);
        CHECK_MESSAGE(contains(set.err, "(version " + r_version + ")"), set.err);
    } else {
        CHECK_MESSAGE(set.exit_code == 0, set.err);
        CHECK(stored == "2200-01-01T00:00:00.000Z");
    }
}

// The same through worm-proxy with this peer behind it: the proxy reads the lock back too
// (its backend is an S3Store), so an upload whose date the server cannot keep is not a 200.
TEST_CASE("worm-proxy over this peer: X-Worm-Retain-Until 2200 is stored exactly or refused, never a silent 200") {
    const std::string bucket = lock_bucket();
    t::ProxyProcess proxy({"--retention-days", "1", "--lock-mode", "COMPLIANCE"}, "s3://" + bucket,
                          {"AWS_ENDPOINT_URL=" + peer().endpoint(),
                           "AWS_ACCESS_KEY_ID=" + peer().credentials().access_key_id,
                           "AWS_SECRET_ACCESS_KEY=" + peer().credentials().secret_access_key,
                           "AWS_REGION=" + peer().region(), "WORM_S3_ADDRESSING=path"});
    const std::string until = "2200-01-01T00:00:00Z";
    const HttpResponse r = proxy.raw("PUT", "/evidence/upload?key=evidence%2Falice%2Fwrap.json",
                                     {{"X-Worm-Sha256", sha256_hex("far")},
                                      {std::string(proxy::header_lock_mode), "COMPLIANCE"},
                                      {std::string(proxy::header_retain_until), until}},
                                     "far");
    const auto stored = s3::S3Client(peer().client_config()).head_object({.bucket = bucket, .key = "evidence/alice/wrap.json"}).retention;
    REQUIRE(stored.has_value());
    if (peer().strict()) {
        CHECK_MESSAGE(r.status >= 500, r.body);
        proxy.server->stop();
        const std::string log = t::read_file(proxy.log);
        CHECK_MESSAGE(contains(log, "stored retain-until " + format_rfc3339_millis(stored->retain_until)), log);
        CHECK_MESSAGE(contains(log, "2200-01-01T00:00:00.000Z asked"), log);
    } else {
        CHECK_MESSAGE(r.status == 200, r.body);
        CHECK(format_rfc3339_millis(stored->retain_until) == "2200-01-01T00:00:00.000Z");
    }
}

// Issue 25 defect 11: moto stores a body sent with a form content type as 0 bytes and answers
// 200 with the empty body's ETag. `worm put` compares the answer's ETag with the MD5 it sent.
TEST_CASE("worm put: an answer whose ETag shows other bytes were stored is an integrity failure, exit 3") {
    t::TempDir tmp("worm-it-cli-form");
    const std::string url = "s3://" + lock_bucket();
    t::write_file(tmp / "form.txt", "a=1&b=2");
    const t::CommandResult put = worm_cli({"put", "--store", url, "form/k.txt", (tmp / "form.txt").string(),
                                           "--content-type", "application/x-www-form-urlencoded"},
                                          cli_env(peer()));
    if (peer().kind() == "moto") {
        CHECK(put.exit_code == 3);
        CHECK_MESSAGE(contains(put.err, "integrity check failed"), put.err);
        CHECK_MESSAGE(contains(put.err, "ETag d41d8cd98f00b204e9800998ecf8427e"), put.err);  // MD5 of nothing
    } else {
        // A server that keeps the body: the put passes and the bytes come back.
        CHECK_MESSAGE(put.exit_code == 0, put.err);
        CHECK(worm_ok({"get", "--store", url, "form/k.txt"}).out == "a=1&b=2");
    }
}

TEST_CASE("an object put by boto3 is read by `worm get` byte-identical, to stdout and to a file") {
    t::TempDir tmp("worm-it-cli");
    const std::string bucket = lock_bucket();
    const std::string content = pattern_bytes(1 << 20, 8);
    t::write_file(tmp / "theirs.bin", content);
    peer().boto({"put", bucket, "from-boto/theirs.bin", (tmp / "theirs.bin").string()});
    CHECK(worm_ok({"get", "--store", "s3://" + bucket, "from-boto/theirs.bin"}).out == content);
    worm_ok({"get", "--store", "s3://" + bucket, "from-boto/theirs.bin", "-o", (tmp / "out.bin").string()});
    CHECK(t::read_file(tmp / "out.bin") == content);
    // Through a store prefix too.
    CHECK(worm_ok({"get", "--store", "s3://" + bucket + "/from-boto", "theirs.bin"}).out == content);
    // A missing key: exit 3 naming it.
    const t::CommandResult missing = worm_cli({"get", "--store", "s3://" + bucket, "from-boto/none"}, cli_env(peer()));
    CHECK(missing.exit_code == 3);
    CHECK(contains(missing.err, "NoSuchKey"));
}

TEST_CASE("a wrong secret: exit 3 naming SignatureDoesNotMatch, and no secret printed") {
    if (!peer().verifies_signatures()) return;
    t::TempDir tmp("worm-it-cli");
    t::write_file(tmp / "in.bin", "x");
    const std::string wrong = "WRONGsecretWRONGsecretWRONGsecret0000000";
    const t::CommandResult r = worm_cli({"put", "--store", "s3://" + lock_bucket(), "should-not-exist",
                                         (tmp / "in.bin").string()},
                                        cli_env(peer(), wrong));
    CHECK(r.exit_code == 3);
    CHECK(contains(r.err, "SignatureDoesNotMatch"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    for (const std::string& secret : {wrong, peer().credentials().secret_access_key}) {
        CHECK_FALSE(contains(r.err, secret));
        CHECK_FALSE(contains(r.out, secret));
    }
    const t::CommandResult ls = worm_cli({"ls", "--store", "s3://" + lock_bucket()}, cli_env(peer(), wrong));
    CHECK(ls.exit_code == 3);
    CHECK(contains(ls.err, "SignatureDoesNotMatch"));
    CHECK_FALSE(contains(ls.err, wrong));
}

TEST_CASE("keys with spaces, unicode and +=&~ round-trip through put, ls and get") {
    t::TempDir tmp("worm-it-cli");
    t::S3Peer& p = t::S3Peer::for_encoded_names();  // see s3_peer.hpp for why moto needs its own
    const std::string bucket = t::S3Peer::unique_bucket("cli-keys");
    worm_ok({"bucket", "create", "--store", "s3://" + bucket}, p);
    const std::vector<std::string> keys = {
        "odd/with space.json", "odd/unicodé/日本語/ファイル.txt", "odd/plus+equals=amp&tilde~.bin",
        "odd/percent%20not-space", "odd/semi;colon:at@comma,dollar$",
    };
    for (size_t i = 0; i < keys.size(); ++i) {
        const fs::path in = tmp / ("in" + std::to_string(i));
        t::write_file(in, "body of " + keys[i]);
        worm_ok({"put", "--store", "s3://" + bucket, keys[i], in.string()}, p);
    }
    std::vector<std::string> sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    std::string expected;
    for (const auto& k : sorted) expected += k + "\n";
    CHECK(worm_ok({"ls", "--store", "s3://" + bucket, "--prefix", "odd/"}, p).out == expected);
    std::vector<std::string> get_all{"get-all", bucket, tmp.path().string()};
    get_all.insert(get_all.end(), keys.begin(), keys.end());
    p.boto(get_all);
    for (size_t i = 0; i < keys.size(); ++i) {
        CAPTURE(keys[i]);
        CHECK(worm_ok({"get", "--store", "s3://" + bucket, keys[i]}, p).out == "body of " + keys[i]);
        CHECK(t::read_file(tmp / std::to_string(i)) == "body of " + keys[i]);  // what boto3 read
        const auto head = parse_json(worm_ok({"head", "--store", "s3://" + bucket, keys[i]}, p).out);
        CHECK(str(head, "key") == keys[i]);
    }
}

TEST_CASE("worm bundle --store s3://bucket stores the bundle and its signature and returns the uri") {
    t::TempDir tmp("worm-it-cli");
    const std::string bucket = lock_bucket();
    const t::CommandResult kg = worm_cli({"keygen", "--out", (tmp / "keys").string()}, {});
    REQUIRE(kg.exit_code == 0);
    std::vector<std::string> args{"bundle", "--client-id", "clinic-002", "--evidence-dir", (tmp / "evidence").string(),
                                  "--key", (tmp / "keys" / "private.pem").string(), "--store", "s3://" + bucket};
    for (const char* section : {"incident", "runbook", "execution", "actions", "artifacts"})
        args.insert(args.end(), {"--" + std::string(section),
                                 (t::source_dir() / "examples" / "data" / "backup-success" / (std::string(section) + ".json"))
                                     .string()});
    const t::CommandResult r = worm_ok(args);
    CAPTURE(r.err);
    REQUIRE(r.err.empty());  // no "not stored yet" warning
    const auto out = parse_json(r.out);
    const std::string id = str(out, "bundle_id");
    const std::string uri = str(out, "uri");
    const std::string prefix = "s3://" + bucket + "/";
    REQUIRE(uri.rfind(prefix, 0) == 0);
    const std::string key = uri.substr(prefix.size());
    CHECK(key.rfind("evidence/clinic-002/", 0) == 0);
    CHECK(key.ends_with("/" + id + ".json"));
    const std::string sig_uri = str(out, "sig_uri");
    CHECK(sig_uri == prefix + key.substr(0, key.size() - 5) + ".sig");

    // boto3 reads exactly the local files; the object carries the default COMPLIANCE lock.
    peer().boto({"get", bucket, key, (tmp / "bundle.json").string()});
    peer().boto({"get", bucket, sig_uri.substr(prefix.size()), (tmp / "bundle.sig").string()});
    CHECK(t::read_file(tmp / "bundle.json") == t::read_file(str(out, "bundle_path")));
    CHECK(t::read_file(tmp / "bundle.sig") == t::read_file(str(out, "sig_path")));
    const std::string boto_head = peer().boto({"head", bucket, key});
    CHECK(contains(boto_head, "\"lock_mode\": \"COMPLIANCE\""));
    // And the copy in S3 verifies with the public key.
    CHECK(worm_cli({"verify", "--key", (tmp / "keys" / "public.pem").string(), (tmp / "bundle.json").string(),
                    (tmp / "bundle.sig").string()},
                   {})
              .exit_code == 0);
}
