// peers: moto rgw
// `worm migrate` between two buckets of one S3 endpoint copies server-side (CopyObject, and
// UploadPartCopy above --copy-multipart-above): the copy holds the source's bytes (read back
// here with a GET), carries the lock asked (read back), and the report records each object's
// SHA-256; keys that need percent-encoding in x-amz-copy-source arrive under their own name
// (on RGW, which checks signatures of such keys correctly; moto's signature check refuses
// them, so there a second moto without signature checks); a source on another endpoint goes
// through the client; a source whose recorded SHA-256 is not its own is never copied;
// --trust-listing copies a listed source without a HEAD and still catches a copy that differs,
// a source changed or deleted since the listing.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <map>
#include <set>

#include "support/json_output.hpp"
#include "support/s3_peer.hpp"
#include "support/test_env.hpp"
#include "support/wire_log.hpp"
#include "worm/crypto.hpp"
#include "worm/migrate.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/store.hpp"

using namespace worm;
namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> cli_env(const t::S3Peer& p) {
    return {"AWS_ENDPOINT_URL=" + p.endpoint(), "AWS_ACCESS_KEY_ID=" + p.credentials().access_key_id,
            "AWS_SECRET_ACCESS_KEY=" + p.credentials().secret_access_key, "AWS_REGION=" + p.region(),
            "AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_ENDPOINT_URL_S3=", "WORM_S3_ADDRESSING=path"};
}

t::CommandResult worm_cli(const t::S3Peer& p, std::vector<std::string> args) {
    args.insert(args.begin(), t::cli_path());
    return t::run_command(args, cli_env(p));
}

void put(s3::S3Client& c, const std::string& bucket, const std::string& key, const std::string& body,
         std::map<std::string, std::string> metadata = {}) {
    t::put_bytes(c, bucket, key, body, std::move(metadata));
}

std::string get(s3::S3Client& c, const std::string& bucket, const std::string& key) {
    s3::GetObjectOptions o;
    o.bucket = bucket;
    o.key = key;
    return c.get_object(o).body;
}

// The report's rows by source key.
std::map<std::string, std::map<std::string, std::string>> report_rows(const fs::path& report) {
    std::map<std::string, std::map<std::string, std::string>> out;
    const auto doc = t::parse_json(t::read_file(report));
    for (const auto& row : doc["objects_detail"].GetArray())
        for (const char* field : {"status", "sha256", "dest_version_id", "error_code", "message"})
            out[row["source_key"].GetString()][field] = row[field].GetString();
    return out;
}

// Each body arrived under its key as the report says (copied, its SHA-256), locked COMPLIANCE
// for at least 47 hours, with its source key; returns each copy's HEAD for further checks.
std::map<std::string, s3::ObjectHead> check_locked_copies(s3::S3Client& c, const std::string& dst,
                                                          const std::map<std::string, std::string>& bodies,
                                                          const fs::path& report) {
    std::map<std::string, s3::ObjectHead> heads;
    const auto rows = report_rows(report);
    for (const auto& [key, body] : bodies) {
        CAPTURE(key);
        CHECK(rows.at(key).at("status") == "copied");
        CHECK(rows.at(key).at("sha256") == sha256_hex(body));
        CHECK(get(c, dst, key) == body);
        const auto head = c.head_object({.bucket = dst, .key = key, .version_id = rows.at(key).at("dest_version_id")});
        REQUIRE(head.retention);
        CHECK(head.retention->mode == LockMode::compliance);
        CHECK(head.retention->retain_until > system_clock().now() + std::chrono::hours(47));
        CHECK(head.metadata.at("source-key") == key);
        heads.emplace(key, head);
    }
    return heads;
}

// A rerun on the same state copies nothing again: the destination still holds one version
// per object.
void check_rerun_copies_nothing(const t::S3Peer& p, s3::S3Client& c, const std::string& src, const std::string& dst,
                                const fs::path& state, std::size_t objects, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"migrate", "--from", "s3://" + src, "--to", "s3://" + dst, "--retain-days", "2",
                                     "--state", state.string(), "--quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto again = worm_cli(p, args);
    REQUIRE_MESSAGE(again.exit_code == 0, again.err);
    CHECK(t::parse_json(again.out)["server_side_copies"].GetUint64() == 0);
    s3::ListVersionsOptions lv;
    lv.bucket = dst;
    CHECK(c.list_all_object_versions(lv).size() == objects);
}

}  // namespace

TEST_CASE("server-side copy: the source's bytes, the lock and legal hold asked, each SHA-256 in the report") {
    t::S3Peer& p = t::S3Peer::shared();
    s3::S3Client c(p.client_config());
    const std::string src = p.create_bucket("ssrc", false), dst = p.create_bucket("sdst", true);
    std::map<std::string, std::string> bodies;
    for (int i = 0; i < 4; ++i) bodies["obj-" + std::to_string(i) + ".bin"] = t::pattern_bytes(100 + 997 * i, i + 1);
    // Above --copy-multipart-above 5: two UploadPartCopy parts of 5 MiB.
    bodies["large.bin"] = t::pattern_bytes((6u << 20) + 123, 9);
    for (const auto& [key, body] : bodies) put(c, src, key, body);
    // A writer's own SHA-256 beside the bytes (as the uploader records it).
    bodies["recorded.json"] = "{\"recorded\":true}";
    put(c, src, "recorded.json", bodies["recorded.json"], {{"sha256", sha256_hex(bodies["recorded.json"])}});

    t::TempDir tmp("worm-it-migrate-ss");
    const auto r = worm_cli(p, {"migrate", "--from", "s3://" + src, "--to", "s3://" + dst, "--retain-days", "2",
                                "--legal-hold", "--copy-multipart-above", "5", "--part-size", "5", "--put-back-up-to", "0", "--state",
                                (tmp / "state.sqlite3").string(), "--report", (tmp / "report.json").string(), "--quiet"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err << r.out);
    const auto summary = t::parse_json(r.out);
    CHECK(summary["clean"].GetBool());
    CHECK(summary["server_side_copies"].GetUint64() == bodies.size());
    const std::string migration_id = summary["migration_id"].GetString();

    for (const auto& [key, head] : check_locked_copies(c, dst, bodies, tmp / "report.json")) {
        CAPTURE(key);
        CHECK(head.legal_hold);
        CHECK(head.metadata.at("migration-id") == migration_id);
    }
    // `migrate verify` (reads both sides) agrees. moto 5 states a multipart object's composite
    // SHA-256 without its "-N", as if it were the whole object's, so there verify cannot judge
    // the multipart copy (its content was checked above with a GET).
    worm_cli(p, {"migrate", "verify", "--from", "s3://" + src, "--to", "s3://" + dst, "--report", (tmp / "verify.json").string()});
    for (const auto& [key, row] : report_rows(tmp / "verify.json")) {
        CAPTURE(key);
        if (key != "large.bin" || p.strict()) CHECK(row.at("status") == "ok");
    }
    CHECK(report_rows(tmp / "verify.json").size() == bodies.size());

    check_rerun_copies_nothing(p, c, src, dst, tmp / "state.sqlite3", bodies.size(), {"--legal-hold"});
}

TEST_CASE("a server that ignores the lock on a copy gets small sources it states no SHA-256 for put back, locked") {
    t::S3Peer& p = t::S3Peer::shared();
    s3::S3Client c(p.client_config());
    const std::string src = p.create_bucket("psrc", false), dst = p.create_bucket("pdst", true);
    std::map<std::string, std::string> bodies;
    for (int i = 0; i < 12; ++i) bodies["small-" + std::to_string(i) + ".bin"] = t::pattern_bytes(200 + 311 * i, i + 3);
    bodies["over.bin"] = t::pattern_bytes(5000, 77);  // above --put-back-up-to 4: always copied
    for (const auto& [key, body] : bodies) put(c, src, key, body);  // no SHA-256 sent
    t::TempDir tmp("worm-it-migrate-ss");
    // One worker: the first copy shows whether the server ignores the lock on a copy.
    const auto r = worm_cli(p, {"migrate", "--from", "s3://" + src, "--to", "s3://" + dst, "--retain-days", "2",
                                "--workers", "1", "--put-back-up-to", "4", "--state", (tmp / "state.sqlite3").string(),
                                "--report", (tmp / "report.json").string(), "--quiet"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err << r.out);
    const auto summary = t::parse_json(r.out);
    CHECK(summary["clean"].GetBool());
    // Ceph RGW 16 ignores it: after the first copy (over.bin sorts before small-*), the small
    // ones are put back. moto applies the lock on a copy: everything is copied.
    CHECK(summary["server_side_copies"].GetUint64() == (p.strict() ? 1u : bodies.size()));
    for (const auto& [key, head] : check_locked_copies(c, dst, bodies, tmp / "report.json")) {
        CAPTURE(key);
        CHECK(head.metadata.at("sha256") == sha256_hex(bodies.at(key)));
    }
    check_rerun_copies_nothing(p, c, src, dst, tmp / "state.sqlite3", bodies.size());
}

TEST_CASE("large sources read to hash them: hashed as they arrive when copied whole, checked part by part when not") {
    t::S3Peer& p = t::S3Peer::shared();
    s3::S3Client c(p.client_config());
    const std::string src = p.create_bucket("lsrc", false), dst = p.create_bucket("ldst", true);
    std::map<std::string, std::string> bodies;
    bodies["whole.bin"] = t::pattern_bytes((2u << 20) + 7, 21);  // above --large-object-size 1: one CopyObject
    bodies["parts.bin"] = t::pattern_bytes((6u << 20) + 5, 22);  // above --copy-multipart-above 5: two parts
    for (const auto& [key, body] : bodies) put(c, src, key, body);  // no SHA-256 sent: read to hash on RGW
    const std::string changed = t::pattern_bytes((3u << 20) + 1, 23);
    put(c, src, "changed.bin", changed, {{"sha256", sha256_hex("the bytes first recorded")}});
    t::TempDir tmp("worm-it-migrate-ss");
    const auto r = worm_cli(p, {"migrate", "--from", "s3://" + src, "--to", "s3://" + dst, "--retain-days", "2",
                                "--large-object-size", "1", "--copy-multipart-above", "5", "--part-size", "5",
                                "--state", (tmp / "state.sqlite3").string(), "--report", (tmp / "report.json").string(),
                                "--quiet"});
    CHECK(r.exit_code == 1);  // changed.bin
    const auto summary = t::parse_json(r.out);
    CHECK(summary["server_side_copies"].GetUint64() == bodies.size());
    check_locked_copies(c, dst, bodies, tmp / "report.json");
    const auto rows = report_rows(tmp / "report.json");
    CHECK(rows.at("changed.bin").at("status") == "source_corrupt");
    CHECK(rows.at("changed.bin").at("sha256") == sha256_hex(changed));
    // Nothing left beside the state file but the migration's own files.
    for (const auto& entry : fs::directory_iterator(tmp.path())) {
        CAPTURE(entry.path());
        CHECK(entry.path().filename().string().find(".worm-migrate-part-") == std::string::npos);
    }
}

TEST_CASE("server-side copy of keys that need percent-encoding in x-amz-copy-source") {
    t::S3Peer& p = t::S3Peer::for_encoded_names();
    s3::S3Client c(p.client_config());
    const std::string src = p.create_bucket("osrc", false), dst = p.create_bucket("odst", true);
    const std::vector<std::string> keys = {"odd key+%&=~ \xc3\xa9.bin", "a/b#c?d;e.bin", "100%25 sure.txt", "plus+plus"};
    for (std::size_t i = 0; i < keys.size(); ++i) put(c, src, keys[i], t::pattern_bytes(50 + i, static_cast<unsigned>(i)));
    t::TempDir tmp("worm-it-migrate-ss");
    const auto r = worm_cli(p, {"migrate", "--from", "s3://" + src, "--to", "s3://" + dst, "--retain-days", "1",
                                "--put-back-up-to", "0", "--state", (tmp / "state.sqlite3").string(), "--quiet"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err << r.out);
    CHECK(t::parse_json(r.out)["server_side_copies"].GetUint64() == keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        CAPTURE(keys[i]);
        CHECK(get(c, dst, keys[i]) == t::pattern_bytes(50 + i, static_cast<unsigned>(i)));
        const auto head = c.head_object({.bucket = dst, .key = keys[i], .version_id = std::nullopt});
        CHECK(head.retention.has_value());
        // A key that is not ASCII is recorded percent-encoded (S3 metadata is ASCII).
        CHECK(head.metadata.at("source-key") == (i == 0 ? s3::uri_encode(keys[i], false) : keys[i]));
    }
}

TEST_CASE("a source on another endpoint is copied through the client, same result") {
    t::S3Peer& p = t::S3Peer::shared();
    s3::S3Client c(p.client_config());
    const std::string src = p.create_bucket("esrc", false), dst = p.create_bucket("edst", true);
    put(c, src, "a.bin", t::pattern_bytes(3000, 1));
    put(c, src, "b.bin", t::pattern_bytes(5000, 2));
    // The same server under another name is another endpoint as far as anyone can tell.
    std::string other = p.endpoint();
    other.replace(other.find("127.0.0.1"), 9, "localhost");
    t::TempDir tmp("worm-it-migrate-ss");
    const auto r = worm_cli(p, {"migrate", "--from", "s3://" + src, "--source-endpoint", other, "--to", "s3://" + dst,
                                "--retain-days", "1", "--state", (tmp / "state.sqlite3").string(), "--quiet"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err << r.out);
    const auto summary = t::parse_json(r.out);
    CHECK(summary["server_side_copies"].GetUint64() == 0);
    CHECK(summary["status"]["copied"].GetUint64() == 2);
    CHECK(get(c, dst, "a.bin") == t::pattern_bytes(3000, 1));
    CHECK(get(c, dst, "b.bin") == t::pattern_bytes(5000, 2));
}

TEST_CASE("a source whose recorded SHA-256 is not its own: not copied, the run not clean") {
    t::S3Peer& p = t::S3Peer::shared();
    s3::S3Client c(p.client_config());
    const std::string src = p.create_bucket("msrc", false), dst = p.create_bucket("mdst", true);
    put(c, src, "fine.bin", t::pattern_bytes(2000, 3));
    put(c, src, "changed.bin", "changed after it was recorded", {{"sha256", sha256_hex("the original bytes")}});
    t::TempDir tmp("worm-it-migrate-ss");
    const auto r = worm_cli(p, {"migrate", "--from", "s3://" + src, "--to", "s3://" + dst, "--retain-days", "1",
                                "--workers", "1", "--state", (tmp / "state.sqlite3").string(), "--report",
                                (tmp / "report.json").string(), "--quiet"});
    CHECK(r.exit_code == 1);
    const auto summary = t::parse_json(r.out);
    CHECK_FALSE(summary["clean"].GetBool());
    CHECK(summary["server_side_copies"].GetUint64() == 1);
    const auto rows = report_rows(tmp / "report.json");
    CHECK(rows.at("changed.bin").at("status") == "source_corrupt");
    CHECK(rows.at("changed.bin").at("error_code") == "BadDigest");
    CHECK(rows.at("fine.bin").at("status") == "copied");
    s3::ListVersionsOptions lv;
    lv.bucket = dst;
    const auto versions = c.list_all_object_versions(lv);
    REQUIRE(versions.size() == 1);
    CHECK(versions[0].key == "fine.bin");
}

namespace {

// A migration through the C++ API on one client whose wire the test sees (both sides share it,
// so the copy is server-side).
struct ListedMigration {
    t::S3Peer& peer = t::S3Peer::shared();
    std::shared_ptr<t::WireLog> wire = std::make_shared<t::WireLog>(make_curl_transport());
    std::shared_ptr<s3::S3Client> client = std::make_shared<s3::S3Client>(peer.client_config(wire));
    std::string src = peer.create_bucket("tlsrc", false), dst = peer.create_bucket("tldst", true);
    t::TempDir tmp{"worm-it-migrate-tl"};
    MigrationOptions options;

    ListedMigration() {
        options.retain_days = 2;
        options.state_file = tmp / "state.sqlite3";
        options.trust_listing = true;
    }

    MigrationSummary run() {
        auto source = open_migration_source("s3://" + src, client);
        auto store = s3::open_s3_store("s3://" + dst, client);
        MigrationSummary summary = migrate(*source, *store, options);
        summary.write_report(tmp / "report.json");
        return summary;
    }

    // Requests this run sent about one source key (HEAD, GET) or to copy it (CopyObject).
    int requests(const std::string& method, const std::string& bucket, bool copy = false) const {
        int n = 0;
        for (const auto& r : wire->requests())
            n += r.method == method && t::url_has(r, "/" + bucket + "/") && find_header(r.headers, "x-amz-copy-source").has_value() == copy;
        return n;
    }
};

// The copy's answer for `key` with one hex digit of its ETag (and, when asked, one character
// of its ChecksumSHA256) changed: a server that copied other bytes, as the client sees it.
// Any tampering already set on the wire still applies first.
void corrupt_copy_answer(t::WireLog& wire, const std::string& key, bool checksum_too) {
    wire.tamper_response = [key, checksum_too, before = wire.tamper_response](const HttpRequest& request, HttpResponse& response) {
        if (before) before(request, response);
        const auto source = find_header(request.headers, "x-amz-copy-source");
        if (request.method != "PUT" || !source || !source->ends_with("/" + key)) return;
        auto flip_after = [&](const std::string& tag) {
            const std::size_t at = response.body.find(tag);
            if (at == std::string::npos) return;
            const std::size_t c = response.body.find_first_of("0123456789abcdefABCDEF", at + tag.size());
            if (c != std::string::npos) response.body[c] = response.body[c] == '0' ? '1' : '0';
        };
        flip_after("<ETag>");
        if (checksum_too) flip_after("<ChecksumSHA256>");
    };
}

}  // namespace

TEST_CASE("--trust-listing: listed sources copied without a HEAD, each copy verified, SHA-256 in the report") {
    ListedMigration m;
    std::map<std::string, std::string> bodies;
    for (int i = 0; i < 6; ++i) bodies["obj-" + std::to_string(i) + ".bin"] = t::pattern_bytes(300 + 811 * i, i + 20);
    for (const auto& [key, body] : bodies) put(*m.client, m.src, key, body);
    m.wire->clear();
    const MigrationSummary summary = m.run();
    CHECK(summary.clean());
    // No source is HEADed. On a server that computes the copy's SHA-256 (moto) that is all:
    // one CopyObject per object, no read. Ceph RGW 16 computes none: the first copy's source
    // is read for its SHA-256, and the rest go the way RGW needs (read, put back, see above).
    CHECK(m.requests("HEAD", m.src) == 0);
    if (!m.peer.strict()) {
        CHECK(m.requests("PUT", m.dst, true) == static_cast<int>(bodies.size()));
        CHECK(m.requests("GET", m.src) == 0);
        CHECK(m.requests("HEAD", m.dst) == 0);
        CHECK(summary.server_side_copies == bodies.size());
    }
    check_locked_copies(*m.client, m.dst, bodies, m.tmp / "report.json");
    // A rerun on the same state confirms each copy at the destination and copies nothing again.
    const MigrationSummary again = m.run();
    CHECK(again.clean());
    CHECK(again.server_side_copies == 0);
    s3::ListVersionsOptions lv;
    lv.bucket = m.dst;
    CHECK(m.client->list_all_object_versions(lv).size() == bodies.size());

    // Not with --retain-from-source (it needs each source's lock), nor with --client-copy.
    m.options.retain_from_source = true;
    CHECK_THROWS_WITH_AS(m.options.validate(), doctest::Contains("--retain-from-source"), Error);
    m.options.retain_from_source = false;
    m.options.server_side = false;
    CHECK_THROWS_WITH_AS(m.options.validate(), doctest::Contains("--client-copy"), Error);
    // The CLI's flag: the same check, exit 2, nothing written.
    const auto refused = worm_cli(m.peer, {"migrate", "--from", "s3://" + m.src, "--to", "s3://" + m.dst, "--retain-days", "1",
                                           "--trust-listing", "--retain-from-source", "--state", (m.tmp / "cli.sqlite3").string()});
    CHECK(refused.exit_code == 2);
    CHECK(refused.err.find("--trust-listing cannot keep the source's retain-until") != std::string::npos);
    CHECK_FALSE(fs::exists(m.tmp / "cli.sqlite3"));
}

TEST_CASE("--trust-listing: a source changed or deleted after the listing, a copy that differs") {
    ListedMigration m;
    m.options.workers = 1;  // in key order: the first copies come before the server's ways are learnt
    put(*m.client, m.src, "0-refused.bin", "S3 refuses its copy: changed since the listing");
    put(*m.client, m.src, "a-changed.bin", "as listed");
    put(*m.client, m.src, "b-deleted.bin", "deleted after the listing");
    put(*m.client, m.src, "c-etag.bin", t::pattern_bytes(5000, 31));
    put(*m.client, m.src, "d-fine.bin", t::pattern_bytes(7000, 32));
    // Between the listing and the first copy.
    m.options.on_batch = [&](std::size_t, std::size_t, std::size_t) {
        put(*m.client, m.src, "a-changed.bin", "changed after the listing");
        s3::DeleteObjectOptions del;
        del.bucket = m.src;
        del.key = "b-deleted.bin";
        m.client->delete_object(del);
    };
    // S3 answers 412 when the source's ETag is no longer the x-amz-copy-source-if-match sent;
    // moto 5 and Ceph RGW 16 ignore that header (they copy what the source holds now), so
    // this 412 is injected: the copy request is spoilt (never applied) and its answer replaced.
    m.wire->tamper_request = [](HttpRequest& r) {
        for (auto& [name, value] : r.headers)
            if (name == "x-amz-copy-source" && value.ends_with("/0-refused.bin")) value += "-spoilt";
    };
    m.wire->tamper_response = [](const HttpRequest& r, HttpResponse& response) {
        const auto source = find_header(r.headers, "x-amz-copy-source");
        if (!source || !source->ends_with("/0-refused.bin-spoilt")) return;
        response.status = 412;
        response.headers = {{"content-type", "application/xml"}};
        response.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>PreconditionFailed</Code><Message>At least "
                        "one of the pre-conditions you specified did not hold</Message></Error>";
    };
    // c-etag.bin's copy answers with another ETag (as for SSE-KMS, or a copy of other bytes):
    // the source is read and its SHA-256 decides.
    corrupt_copy_answer(*m.wire, "c-etag.bin", false);
    const MigrationSummary summary = m.run();
    CHECK_FALSE(summary.clean());
    const auto rows = report_rows(m.tmp / "report.json");
    CHECK(rows.at("0-refused.bin").at("status") == "failed");
    CHECK(rows.at("0-refused.bin").at("error_code") == "PreconditionFailed");
    CHECK(rows.at("0-refused.bin").at("message").find("changed after it was listed") != std::string::npos);
    // Copied as the source holds it now: the copy's ETag is not the listed one, so the source
    // is read and the copy checked against those bytes.
    CHECK(rows.at("a-changed.bin").at("status") == "copied");
    CHECK(rows.at("a-changed.bin").at("sha256") == sha256_hex("changed after the listing"));
    CHECK(rows.at("b-deleted.bin").at("status") == "missing");
    CHECK(rows.at("c-etag.bin").at("status") == "copied");
    CHECK(rows.at("c-etag.bin").at("sha256") == sha256_hex(t::pattern_bytes(5000, 31)));
    CHECK(rows.at("d-fine.bin").at("status") == "copied");
    s3::ListVersionsOptions lv;
    lv.bucket = m.dst;
    std::set<std::string> copied;
    for (const auto& v : m.client->list_all_object_versions(lv)) copied.insert(v.key);
    CHECK(copied == std::set<std::string>{"a-changed.bin", "c-etag.bin", "d-fine.bin"});
    CHECK(get(*m.client, m.dst, "a-changed.bin") == "changed after the listing");
}

TEST_CASE("--trust-listing: a copy whose ETag and SHA-256 both differ from the source is failed, naming both") {
    ListedMigration m;
    if (m.peer.strict()) return;  // Ceph RGW 16 states no SHA-256 for a copy: the case above covers it
    const std::string body = t::pattern_bytes(4000, 41);
    put(*m.client, m.src, "bad-copy.bin", body);
    corrupt_copy_answer(*m.wire, "bad-copy.bin", true);
    m.run();
    const auto rows = report_rows(m.tmp / "report.json");
    CHECK(rows.at("bad-copy.bin").at("status") == "failed");
    CHECK(rows.at("bad-copy.bin").at("error_code") == "VerifyFailed");
    CHECK(rows.at("bad-copy.bin").at("sha256") == sha256_hex(body));
    CHECK(rows.at("bad-copy.bin").at("message").find("the source's bytes have " + sha256_hex(body)) != std::string::npos);
}
