// peers: moto rgw
// `worm migrate` between two buckets of a real S3 server (WORM_TEST_PEER=moto|rgw): killed
// with SIGKILL half way and started again, every object ends up exactly once (counted in
// the version listing: a locked duplicate could never be removed), locked, with the same
// SHA-256; a corrupted source object and a badly signed bundle are reported and not
// copied; a dry run changes nothing. RGW runs fewer objects (it is slower to start and
// to write), the proof is the same. Keys and prefixes avoid '/' in list prefixes: moto
// refuses correct signatures for those (support/s3_peer.hpp).
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <map>
#include <thread>

#include "support/json_output.hpp"
#include "support/s3_peer.hpp"
#include "support/test_env.hpp"
#include "support/wire_log.hpp"
#include "worm/crypto.hpp"
#include "worm/ed25519.hpp"
#include "worm/fs.hpp"
#include "worm/migrate.hpp"
#include "worm/s3/store.hpp"
#include "worm/s3/client.hpp"
#include "worm/signer.hpp"

using namespace worm;
namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

t::S3Peer& peer() { return t::S3Peer::shared(); }

std::vector<std::string> cli_env() {
    const auto& p = peer();
    return {"AWS_ENDPOINT_URL=" + p.endpoint(), "AWS_ACCESS_KEY_ID=" + p.credentials().access_key_id,
            "AWS_SECRET_ACCESS_KEY=" + p.credentials().secret_access_key, "AWS_REGION=" + p.region(),
            "AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_ENDPOINT_URL_S3="};
}

t::CommandResult worm_cli(std::vector<std::string> args) {
    args.insert(args.begin(), t::cli_path());
    return t::run_command(args, cli_env());
}

s3::S3Client& client() {
    static s3::S3Client c(peer().client_config());
    return c;
}

void put(const std::string& bucket, const std::string& key, const std::string& body,
         std::map<std::string, std::string> metadata = {}) {
    t::put_bytes(client(), bucket, key, body, std::move(metadata));
}

std::size_t count_keys(const std::string& bucket, const std::string& prefix) {
    s3::ListObjectsOptions o;
    o.bucket = bucket;
    o.prefix = prefix;
    return client().list_all_objects(o).size();
}

// Up to the first 1000 keys (one request: cheap enough to poll).
std::size_t count_first_page(const std::string& bucket) {
    s3::ListObjectsOptions o;
    o.bucket = bucket;
    return client().list_objects_v2(o).objects.size();
}

bool exists(const std::string& bucket, const std::string& key) {
    try {
        client().head_object({.bucket = bucket, .key = key, .version_id = std::nullopt});
        return true;
    } catch (const Error& e) {
        if (e.code() != ErrorCode::not_found) throw;
        return false;
    }
}

std::string object_body(std::size_t i) { return t::pattern_bytes(64 + (i * 37) % 700, static_cast<unsigned>(i)); }

std::string object_key(std::size_t i) {
    char name[32];
    std::snprintf(name, sizeof name, "obj-%05zu.bin", i);
    return name;
}

}  // namespace

TEST_CASE("killed half way with SIGKILL and resumed: every object exactly once, locked, same hash, clean report") {
    // The proof is 2,000 objects (WORM_MIGRATE_PROOF_OBJECTS=2000); moto does some
    // 20 writes/s on a loaded machine, so the everyday suite runs fewer.
    const std::size_t n = std::stoul(t::env_or("WORM_MIGRATE_PROOF_OBJECTS", peer().strict() ? "120" : "300"));
    const std::string src = peer().create_bucket("msrc", false), dst = peer().create_bucket("mdst", true);
    {
        std::vector<std::thread> fill;
        for (std::size_t w = 0; w < 8; ++w)
            fill.emplace_back([&, w] {
                for (std::size_t i = w; i < n; i += 8) put(src, object_key(i), object_body(i));
            });
        for (auto& th : fill) th.join();
    }
    t::TempDir tmp("worm-it-migrate");
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<std::string> args{t::cli_path(), "migrate", "--from", "s3://" + src, "--to",
                                        "s3://" + dst, "--retain-days", "1", "--workers", "4", "--batch-size",
                                        "250", "--state", (tmp / "state.sqlite3").string(), "--quiet"};
    {
        t::ServerProcess first(args, cli_env(), tmp / "first.log");
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
        while (count_first_page(dst) < n / 4 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        first.kill_hard();
    }
    const std::size_t after_kill = count_keys(dst, "");
    MESSAGE("seconds to the kill: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    MESSAGE("objects at the destination when killed: " << after_kill << " of " << n);
    CHECK(after_kill >= n / 4);
    CHECK(after_kill < n);

    std::vector<std::string> again(args.begin() + 1, args.end());
    again.push_back("--report");
    again.push_back((tmp / "report.json").string());
    const auto r = worm_cli(again);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    MESSAGE("seconds to the end of the resumed run: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    const auto summary = t::parse_json(r.out);
    CHECK(summary["clean"].GetBool());
    CHECK(summary["objects"].GetUint64() == n);

    // Exactly one version per key: nothing was put twice.
    s3::ListVersionsOptions lv;
    lv.bucket = dst;
        std::map<std::string, int> versions;
    for (const auto& v : client().list_all_object_versions(lv)) versions[v.key] += 1;
    CHECK(versions.size() == n);
    std::size_t duplicates = 0;
    for (const auto& [key, count] : versions) duplicates += count != 1;
    CHECK(duplicates == 0);

    // Locked, with provenance, for a sample; all hashes through `worm migrate verify`.
    for (std::size_t i = 0; i < n; i += n / 20) {
        const auto head = client().head_object({.bucket = dst, .key = object_key(i), .version_id = std::nullopt});
        REQUIRE(head.retention);
        CHECK(head.retention->mode == LockMode::compliance);
        CHECK(head.retention->retain_until > system_clock().now());
        CHECK(head.metadata.at("sha256") == sha256_hex(object_body(i)));
        CHECK(head.metadata.at("source-key") == object_key(i));
    }
    const auto verify = worm_cli({"migrate", "verify", "--from", "s3://" + src, "--to", "s3://" + dst,
                                  "--report", (tmp / "verify.json").string()});
    CHECK_MESSAGE(verify.exit_code == 0, verify.err);
    CHECK(t::parse_json(verify.out)["status"]["ok"].GetUint64() == n);

    // The report: JSON says clean, the CSV has one S3 Batch Operations row per object.
    CHECK(t::parse_json(t::read_file(tmp / "report.json"))["clean"].GetBool());
    const std::string csv = t::read_file(tmp / "report.csv");
    CHECK(static_cast<std::size_t>(std::count(csv.begin(), csv.end(), '\n')) == n);
    CHECK(csv.find(src + ",obj-00007.bin,") != std::string::npos);
}

TEST_CASE("a corrupted source object and a badly signed bundle are reported, not copied; a dry run changes nothing") {
    const std::string src = peer().create_bucket("msrc", false), dst = peer().create_bucket("mdst", true);
    t::TempDir tmp("worm-it-migrate");
    const auto key = Ed25519PrivateKey::generate();
    write_file_atomic(tmp / "pub.pem", key.public_key().to_pem());
    put(src, "plain.txt", "fine\n");
    // What the writer recorded is not what the object holds now.
    put(src, "corrupt.txt", "changed after it was recorded\n", {{"sha256", sha256_hex("the original\n")}});
    const std::string good = "{\"bundle_id\":\"EB-20250101-0001\"}", bad = "{\"bundle_id\":\"EB-20250101-0002\"}";
    put(src, "ev/EB-20250101-0001.json", good);
    put(src, "ev/EB-20250101-0001.sig", make_signature_line(key, good));
    put(src, "ev/EB-20250101-0002.json", bad);
    put(src, "ev/EB-20250101-0002.sig", make_signature_line(key, bad + " "));

    // Dry run: lists, counts, writes nothing (no state file, no report, destination empty).
    const auto dry = worm_cli({"migrate", "--from", "s3://" + src, "--to", "s3://" + dst, "--retain-days", "1",
                               "--dry-run", "--state", (tmp / "state.sqlite3").string(), "--report",
                               (tmp / "report.json").string()});
    CHECK_MESSAGE(dry.exit_code == 0, dry.err);
    CHECK(dry.out.find("would_copy corrupt.txt -> corrupt.txt") != std::string::npos);
    const auto dry_summary = t::parse_json(dry.out.substr(dry.out.rfind("\n{") + 1));
    CHECK(dry_summary["objects"].GetInt() == 6);
    CHECK(count_keys(dst, "") == 0);
    CHECK_FALSE(fs::exists(tmp / "state.sqlite3"));
    CHECK_FALSE(fs::exists(tmp / "report.json"));

    const auto r = worm_cli({"migrate", "--from", "s3://" + src, "--to", "s3://" + dst, "--retain-days", "1",
                             "--state", (tmp / "state.sqlite3").string(), "--report", (tmp / "report.json").string(),
                             "--verify-signatures", "--key", (tmp / "pub.pem").string()});
    CHECK(r.exit_code == 1);
    const auto s = t::parse_json(r.out);
    CHECK(s["status"]["copied"].GetInt() == 3);
    CHECK(s["status"]["source_corrupt"].GetInt() == 1);
    CHECK(s["status"]["invalid_signature"].GetInt() == 2);
    CHECK(exists(dst, "plain.txt"));
    CHECK(exists(dst, "ev/EB-20250101-0001.json"));
    CHECK_FALSE(exists(dst, "corrupt.txt"));
    CHECK_FALSE(exists(dst, "ev/EB-20250101-0002.json"));
    CHECK_FALSE(exists(dst, "ev/EB-20250101-0002.sig"));
    const std::string csv = t::read_file(tmp / "report.csv");
    CHECK(csv.find(src + ",corrupt.txt,,source_corrupt,BadDigest,400,") != std::string::npos);
    CHECK(csv.find(src + ",ev/EB-20250101-0002.json,,invalid_signature,InvalidSignature,400,") != std::string::npos);

    // Verify sees the two held back as missing.
    const auto verify = worm_cli({"migrate", "verify", "--from", "s3://" + src, "--to", "s3://" + dst});
    CHECK(verify.exit_code == 1);
    CHECK(t::parse_json(verify.out)["status"]["missing"].GetInt() == 2);

    // The S3 Batch Operations manifest and job for the same selection.
    const auto m = worm_cli({"migrate", "--from", "s3://" + src, "--prefix", "ev/", "--to", "s3://" + dst, "--retain-days", "30",
                             "--emit-batch-manifest", (tmp / "manifest.csv").string()});
    REQUIRE_MESSAGE(m.exit_code == 0, m.err);
    CHECK(t::read_file(tmp / "manifest.csv") ==
          src + ",ev/EB-20250101-0001.json\n" + src + ",ev/EB-20250101-0001.sig\n" + src + ",ev/EB-20250101-0002.json\n" +
              src + ",ev/EB-20250101-0002.sig\n");
    const auto job = t::parse_json(t::read_file(tmp / "manifest.csv.job.json"));
    CHECK(std::string(job["Operation"]["S3PutObjectCopy"]["ObjectLockMode"].GetString()) == "COMPLIANCE");
    CHECK(std::string(job["Operation"]["S3PutObjectCopy"]["TargetResource"].GetString()) == "arn:aws:s3:::" + dst);
}

TEST_CASE("a large object stopped after part 2 resumes at part 3: no part sent twice, one version, same hash") {
    // 18 MiB in 5 MiB parts: 4 parts. The first run loses its connection at part 3 (after
    // parts 1 and 2 reached the server, as a kill -9 would leave it); the second run must
    // continue that same upload from the state file.
    const std::string dst = peer().create_bucket("mbig", true);
    t::TempDir tmp("worm-it-migrate-big");
    fs::create_directories(tmp / "src");
    const std::string body = t::pattern_bytes(18u << 20, 13);
    t::write_file(tmp / "src" / "big.bin", body);

    auto wire = std::make_shared<t::WireLog>(make_curl_transport());
    s3::ClientConfig config = peer().client_config(wire);
    config.retry.max_attempts = 1;  // the injected fault is final, as a kill is
    config.parallel_parts = 1;      // parts in order, so "after part 2" is exact
    auto store = s3::open_s3_store("s3://" + dst, std::make_shared<s3::S3Client>(config));
    auto source = open_migration_source((tmp / "src").string());
    MigrationOptions o;
    o.retain_days = 1;
    o.state_file = tmp / "state.sqlite3";
    o.large_object_bytes = 8u << 20;
    o.part_size = 5u << 20;
    o.workers = 1;

    auto part_requests = [&](int number) {
        int n = 0;
        for (const auto& r : wire->requests())
            n += r.method == "PUT" && t::url_has(r, "partNumber=" + std::to_string(number) + "&");
        return n;
    };
    auto creates = [&] {
        int n = 0;
        for (const auto& r : wire->requests()) n += r.method == "POST" && t::url_has(r, "?uploads");
        return n;
    };
    wire->tamper_request = [](HttpRequest& r) {
        if (r.method == "PUT" && t::url_has(r, "partNumber=3&"))
            throw Error(ErrorCode::network, "injected: the connection dropped before part 3");
    };
    const MigrationSummary first = migrate(*source, *store, o);
    CHECK(first.by_status.at("failed") == 1);
    CHECK(creates() == 1);
    CHECK(part_requests(1) == 1);
    CHECK(part_requests(2) == 1);
    s3::ListVersionsOptions lv;
    lv.bucket = dst;
    CHECK(client().list_all_object_versions(lv).empty());

    wire->tamper_request = nullptr;
    wire->clear();
    const MigrationSummary second = migrate(*source, *store, o);
    CHECK(second.clean());
    CHECK(second.by_status.at("copied") == 1);
    CHECK(creates() == 0);  // the same upload, not a new one
    CHECK(part_requests(1) == 0);
    CHECK(part_requests(2) == 0);
    CHECK(part_requests(3) == 1);
    CHECK(part_requests(4) == 1);
    // Each part went with Content-MD5 (the server checks it), so the version's ETag (the MD5
    // of the parts' MD5s) verified the copy: nothing was read back.
    int parts_with_md5 = 0, reads = 0;
    for (const auto& r : wire->requests()) {
        if (r.method == "PUT" && t::url_has(r, "partNumber="))
            for (const auto& [name, value] : r.headers) parts_with_md5 += name == "content-md5";
        reads += r.method == "GET" && t::url_has(r, "/big.bin");
    }
    CHECK(parts_with_md5 == 2);
    CHECK(reads == 0);

    const auto versions = client().list_all_object_versions(lv);
    REQUIRE(versions.size() == 1);
    CHECK(versions[0].key == "big.bin");
    const auto head = client().head_object({.bucket = dst, .key = "big.bin", .version_id = std::nullopt});
    REQUIRE(head.retention);
    CHECK(head.retention->mode == LockMode::compliance);
    CHECK(head.etag.ends_with("-4"));
    CHECK(head.metadata.at("sha256") == sha256_hex(body));
    s3::GetObjectOptions get;
    get.bucket = dst;
    get.key = "big.bin";
    CHECK(sha256_hex(client().get_object(get).body) == sha256_hex(body));

    // A third run finds it done and sends no part at all.
    wire->clear();
    CHECK(migrate(*source, *store, o).clean());
    CHECK(part_requests(3) == 0);
}

TEST_CASE("without a SHA-256 echo the stored version's MD5 ETag checks the copy; a different ETag means a read-back") {
    // Ceph RGW echoes no x-amz-checksum-sha256: the answers are made to look like that here.
    const std::string dst = peer().create_bucket("metag", true);
    t::TempDir tmp("worm-it-migrate-etag");
    fs::create_directories(tmp / "src");
    for (int i = 0; i < 3; ++i) t::write_file(tmp / "src" / ("f" + std::to_string(i) + ".txt"), t::pattern_bytes(300, i));
    auto wire = std::make_shared<t::WireLog>(make_curl_transport());
    auto store = s3::open_s3_store("s3://" + dst, std::make_shared<s3::S3Client>(peer().client_config(wire)));
    auto source = open_migration_source((tmp / "src").string());
    MigrationOptions o;
    o.retain_days = 1;
    o.state_file = tmp / "state.sqlite3";
    auto object_gets = [&] {
        int n = 0;
        for (const auto& r : wire->requests()) n += r.method == "GET" && t::url_has(r, "/" + dst + "/");
        return n;
    };
    bool wrong_etag = false;
    wire->tamper_response = [&](const HttpRequest& r, HttpResponse& resp) {
        std::erase_if(resp.headers, [](const auto& h) { return h.first == "x-amz-checksum-sha256"; });
        if (wrong_etag && r.method == "HEAD" && t::url_has(r, "/g"))
            for (auto& h : resp.headers)
                if (h.first == "etag") h.second = "\"00000000000000000000000000000000\"";
    };
    const MigrationSummary first = migrate(*source, *store, o);
    CHECK(first.clean());
    CHECK(first.by_status.at("copied") == 3);
    CHECK(object_gets() == 0);  // checked by ETag, nothing read back

    t::write_file(tmp / "src" / "g.txt", "another object\n");
    wrong_etag = true;
    wire->clear();
    const MigrationSummary second = migrate(*source, *store, o);
    CHECK(second.clean());
    CHECK(object_gets() == 1);  // g.txt's ETag did not match: read back, hashed, same bytes
}

namespace {

// How many times `tag` occurs in a document.
std::size_t occurrences(const std::string& text, const std::string& tag) {
    std::size_t n = 0;
    for (std::size_t at = text.find(tag); at != std::string::npos; at = text.find(tag, at + 1)) ++n;
    return n;
}

// The bucket's multipart uploads in progress (ListMultipartUploads), as the XML body.
std::string uploads_in_progress(const std::string& bucket) {
    s3::S3Request r;
    r.bucket = bucket;
    r.query = {{"uploads", ""}};
    return client().send(r).body;
}

// The parts of the first upload in progress (ListParts); 0 when there is none.
std::size_t parts_uploaded(const std::string& bucket, const std::string& key) {
    const std::string uploads = uploads_in_progress(bucket);
    const std::size_t open = uploads.find("<UploadId>");
    if (open == std::string::npos) return 0;
    const std::size_t start = open + std::string("<UploadId>").size();
    s3::S3Request r;
    r.bucket = bucket;
    r.key = key;
    r.query = {{"uploadId", uploads.substr(start, uploads.find("</UploadId>", start) - start)}};
    return occurrences(client().send(r).body, "<PartNumber>");
}

}  // namespace

TEST_CASE("worm migrate killed with SIGKILL in a large object's upload completes that same upload when run again") {
    // 100 MiB in 5 MiB parts: 20 parts, killed once at least 2 are at the server. Had the
    // state lost the upload, the rerun would start another and leave this one in progress.
    const std::string dst = peer().create_bucket("mkill", true);
    t::TempDir tmp("worm-it-migrate-kill");
    fs::create_directories(tmp / "src");
    const std::string body = t::pattern_bytes(100u << 20, 21);
    t::write_file(tmp / "src" / "big.bin", body);
    const std::vector<std::string> args{t::cli_path(), "migrate", "--from", (tmp / "src").string(), "--to",
                                        "s3://" + dst, "--retain-days", "1", "--part-size", "5",
                                        "--large-object-size", "8", "--state", (tmp / "state.sqlite3").string(),
                                        "--quiet"};
    std::size_t parts_at_kill = 0;
    {
        t::ServerProcess first(args, cli_env(), tmp / "first.log");
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
        while ((parts_at_kill = parts_uploaded(dst, "big.bin")) < 2 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        first.kill_hard();
    }
    parts_at_kill = parts_uploaded(dst, "big.bin");
    MESSAGE("parts at the server when killed: " << parts_at_kill << " of 20");
    REQUIRE(parts_at_kill >= 2);
    REQUIRE(parts_at_kill < 20);
    CHECK(occurrences(uploads_in_progress(dst), "<UploadId>") == 1);

    const auto r = worm_cli(std::vector<std::string>(args.begin() + 1, args.end()));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(t::parse_json(r.out)["clean"].GetBool());
    CHECK(occurrences(uploads_in_progress(dst), "<UploadId>") == 0);  // that upload was completed
    s3::ListVersionsOptions lv;
    lv.bucket = dst;
    CHECK(client().list_all_object_versions(lv).size() == 1);
    const auto head = client().head_object({.bucket = dst, .key = "big.bin", .version_id = std::nullopt});
    CHECK(head.etag.ends_with("-20"));
    REQUIRE(head.retention);
    CHECK(head.metadata.at("sha256") == sha256_hex(body));
}
