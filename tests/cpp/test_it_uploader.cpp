// peers: moto rgw
// The uploader's end-to-end proof (issue 4) against a real S3 server (WORM_TEST_PEER=moto|rgw,
// see support/s3_peer.hpp): pipeline -> WormUploader -> S3Store on an Object Lock bucket,
// read back by boto3 and checked by `worm verify`; an outage of 500 bundles caught up by one
// `worm sync`; `worm sync` killed with SIGKILL in the middle and restarted; and faults
// (5xx/SlowDown, resets, stalls, a wrong checksum) from tests/python/fault_server.py in
// upstream mode, a forwarder between the uploader and the peer.
//
// "None twice" is checked where it is decided: ListObjectVersions must show exactly one
// version per key (locked versions can never be deleted, so a duplicate would be permanent),
// and that version must be the one the registry recorded.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "support/fault_server.hpp"
#include "support/s3_peer.hpp"
#include "support/test_env.hpp"
#include "worm/bundle.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/pipeline.hpp"
#include "worm/proxy/store.hpp"
#include "worm/registry.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/store.hpp"
#include "worm/signer.hpp"
#include "worm/uploader.hpp"

using namespace worm;
using namespace std::chrono_literals;
namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

t::S3Peer& peer() { return t::S3Peer::shared(); }

std::string new_lock_bucket(const std::string& tag) { return peer().create_bucket(tag, true); }

// One key pair for the whole binary.
const KeyPaths& keys() {
    static t::TempDir dir("worm-it-keys");
    static const KeyPaths paths = generate_key_files(dir / "keys");
    return paths;
}

IncidentInputs sample_inputs(const std::string& scenario) {
    const fs::path d = t::source_dir() / "examples" / "data" / scenario;
    return load_incident_inputs({.incident = d / "incident.json",
                                 .runbook = d / "runbook.json",
                                 .execution = d / "execution.json",
                                 .actions = d / "actions.json",
                                 .artifacts = d / "artifacts.json"});
}

PipelineOptions pipeline_options(const fs::path& evidence, const std::string& client_id, bool durable) {
    PipelineOptions o;
    o.client_id = client_id;
    o.evidence_dir = evidence;
    o.private_key_path = keys().private_key;
    o.durable = durable;
    return o;
}

// An S3Store over the peer's credentials at `endpoint` (the peer itself, or a forwarder).
std::shared_ptr<ObjectStore> s3_store(const std::string& bucket, const std::string& endpoint,
                                      HttpOptions http = {}, int client_attempts = 4) {
    s3::ClientConfig c = peer().client_config(make_curl_transport(http));
    c.endpoint = endpoint;
    c.retry.max_attempts = client_attempts;
    c.retry.base_delay = 5ms;
    c.retry.max_delay = 50ms;
    return std::make_shared<s3::S3Store>(std::make_shared<s3::S3Client>(c), bucket);
}

WormConfig direct_config(const std::string& bucket) {
    WormConfig c;
    c.enabled = true;
    c.mode = WormMode::direct;
    c.s3_bucket = bucket;
    c.sync_concurrency = 8;
    return c;
}

// Real backoff shapes, short waits: these tests are about outcomes, not about timing.
UploaderOptions quick_options() {
    UploaderOptions o;
    o.backoff_base = 5ms;
    o.backoff_max = 50ms;
    return o;
}

std::shared_ptr<UploadRegistry> open_registry(const fs::path& evidence, bool durable = false) {
    RegistryOptions o;
    o.durable = durable;
    return std::make_shared<UploadRegistry>(evidence, o);
}

// Environment for the `worm` CLI in direct mode against `endpoint`.
std::vector<std::string> worm_env(const std::string& bucket, const std::string& endpoint,
                                  std::vector<std::string> extra = {}) {
    std::vector<std::string> env{"WORM_ENABLED=true",
                                 "WORM_MODE=direct",
                                 "WORM_S3_BUCKET=" + bucket,
                                 "WORM_SYNC_CONCURRENCY=8",
                                 "AWS_ENDPOINT_URL=" + endpoint,
                                 "AWS_ENDPOINT_URL_S3=" + endpoint,
                                 "AWS_ACCESS_KEY_ID=" + peer().credentials().access_key_id,
                                 "AWS_SECRET_ACCESS_KEY=" + peer().credentials().secret_access_key,
                                 "AWS_REGION=" + peer().region(),
                                 "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
                                 "AWS_CONFIG_FILE=/nonexistent",
                                 "AWS_EC2_METADATA_DISABLED=true"};
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

t::CommandResult worm_cli(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    std::vector<std::string> argv{t::cli_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return t::run_command(argv, env);
}

rapidjson::Document parse_json(const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str());
    if (d.HasParseError()) FAIL("not JSON: " << text);
    return d;
}

std::string bundle_key(const std::string& client_id, const std::string& bundle_id, const std::string& ext) {
    return WormUploader::object_key("", client_id, bundle_id, ext);
}

// Every version under `prefix`, grouped by key. The whole bucket is listed and filtered
// here: moto refuses the (correct) signature of a prefix that needs percent-encoding.
std::map<std::string, std::vector<s3::ListedVersion>> versions_by_key(const std::string& bucket,
                                                                      const std::string& prefix) {
    s3::S3Client client(peer().client_config());
    s3::ListVersionsOptions o;
    o.bucket = bucket;
    std::map<std::string, std::vector<s3::ListedVersion>> out;
    for (auto& v : client.list_all_object_versions(o))
        if (v.key.rfind(prefix, 0) == 0) out[v.key].push_back(std::move(v));
    return out;
}

// Every version in the bucket under evidence/, grouped by key.
using Versions = std::map<std::string, std::vector<s3::ListedVersion>>;

// Each bundle the registry holds as uploaded is in the bucket as the registry recorded it:
// both keys, the URIs, the version ids, and the ETag is the MD5 of the local file.
// Returns how many uploaded bundles it checked.
// uri_of: the URI the store gives a key (empty: "s3://bucket/key").
std::size_t check_uploaded_rows(UploadRegistry& registry, const std::string& bucket, const Versions& versions,
                                const std::function<std::string(const std::string&)>& uri_of = {}) {
    std::size_t seen = 0;
    std::string after;
    for (;;) {
        const auto page = registry.list_by_status(UploadStatus::uploaded, 500, after);
        if (page.empty()) break;
        after = page.back().bundle_id;
        for (const RegistryRecord& r : page) {
            ++seen;
            for (const auto& [ext, path, version_id, uri] :
                 {std::tuple{std::string(".json"), r.bundle_path, r.bundle_version_id, r.bundle_uri},
                  std::tuple{std::string(".sig"), r.sig_path, r.sig_version_id, r.sig_uri}}) {
                const std::string key = bundle_key(r.client_id, r.bundle_id, ext);
                CHECK(uri == (uri_of ? uri_of(key) : "s3://" + bucket + "/" + key));
                const auto it = versions.find(key);
                if (it == versions.end()) {
                    FAIL_CHECK("registry says uploaded, but " << key << " is not in the bucket");
                    continue;
                }
                const s3::ListedVersion& v = it->second.front();
                CHECK_FALSE(v.delete_marker);
                CHECK(v.version_id == version_id);
                CHECK(v.etag == to_hex(md5(t::read_file(path))));
            }
        }
    }
    return seen;
}

// No key under evidence/ has a second version (or a delete marker).
void check_no_key_twice(const Versions& versions) {
    std::size_t duplicated = 0;
    for (const auto& [key, list] : versions)
        if (list.size() != 1) {
            ++duplicated;
            if (duplicated <= 5) MESSAGE(key << " has " << list.size() << " versions");
        }
    CHECK_MESSAGE(duplicated == 0, duplicated << " keys have more than one version");
}

// The registry and the bucket agree and nothing was stored twice: all `expected` bundles
// uploaded, nothing left to do, exactly their 2 * expected keys in the bucket, once each.
void check_stored_exactly_once(UploadRegistry& registry, const std::string& bucket, std::size_t expected,
                               const std::function<std::string(const std::string&)>& uri_of = {}) {
    const RegistryCounts counts = registry.counts();
    CHECK(counts.uploaded == static_cast<std::int64_t>(expected));
    CHECK(counts.backlog() == 0);
    const Versions versions = versions_by_key(bucket, "evidence/");
    CHECK(versions.size() == 2 * expected);
    check_no_key_twice(versions);
    CHECK(check_uploaded_rows(registry, bucket, versions, uri_of) == expected);
}

}  // namespace

TEST_CASE("end to end, direct: pipeline -> S3 Object Lock -> boto3 reads the same bytes -> worm verify passes") {
    const std::string bucket = new_lock_bucket("e2e");
    t::TempDir dir("worm-it-e2e");
    const fs::path evidence = dir / "evidence";
    fs::create_directories(evidence);
    const std::string client_id = "clinic-001";
    const TimePoint before = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());

    auto registry = open_registry(evidence, true);
    auto uploader = std::make_shared<WormUploader>(direct_config(bucket), s3_store(bucket, peer().endpoint()),
                                                   registry, quick_options());
    EvidencePipeline pipeline(pipeline_options(evidence, client_id, true));
    pipeline.attach_uploader(uploader);
    std::vector<BundleResult> results;
    for (const std::string scenario : {"backup-success", "backup-failed"})
        results.push_back(pipeline.process_incident(sample_inputs(scenario)));

    for (const BundleResult& r : results) {
        CAPTURE(r.bundle_id);
        REQUIRE(r.upload_error.empty());
        const std::string json_key = bundle_key(client_id, r.bundle_id, ".json");
        const std::string sig_key = bundle_key(client_id, r.bundle_id, ".sig");
        // evidence/{client}/{YYYY}/{MM}/{id}.json|.sig, YYYY/MM from the id
        CHECK(json_key == "evidence/clinic-001/" + r.bundle_id.substr(3, 4) + "/" + r.bundle_id.substr(7, 2) + "/" +
                              r.bundle_id + ".json");
        CHECK(r.bundle_uri == "s3://" + bucket + "/" + json_key);
        CHECK(r.sig_uri == "s3://" + bucket + "/" + sig_key);

        // boto3 sees COMPLIANCE until at least now + 90 days, and the uploader's metadata.
        for (const auto& [key, local] : {std::pair{json_key, r.bundle_path}, std::pair{sig_key, r.sig_path}}) {
            const auto head = parse_json(peer().boto({"head", bucket, key}));
            CHECK(std::string(head["lock_mode"].GetString()) == "COMPLIANCE");
            REQUIRE(head["retain_until_epoch_ms"].IsInt64());
            const auto min_until = std::chrono::duration_cast<std::chrono::milliseconds>(
                (before + std::chrono::days(90)).time_since_epoch());
            CHECK(head["retain_until_epoch_ms"].GetInt64() >= min_until.count());
            CHECK(std::string(head["metadata"]["retention-days"].GetString()) == "90");
            CHECK(std::string(head["metadata"]["sha256"].GetString()) == to_hex(sha256_file(local)));
            CHECK(std::string(head["metadata"]["original-path"].GetString()) ==
                  fs::absolute(local).lexically_normal().string());
        }

        // Downloaded by boto3: byte-identical, and the auditor's check passes on the copy.
        const fs::path copy = dir / "download";
        fs::create_directories(copy);
        const fs::path json_copy = copy / (r.bundle_id + ".json"), sig_copy = copy / (r.bundle_id + ".sig");
        peer().boto({"get", bucket, json_key, json_copy.string()});
        peer().boto({"get", bucket, sig_key, sig_copy.string()});
        CHECK(t::read_file(json_copy) == t::read_file(r.bundle_path));
        CHECK(t::read_file(sig_copy) == t::read_file(r.sig_path));
        const auto verify = worm_cli({"verify", "--key", keys().public_key.string(), json_copy.string(),
                                      sig_copy.string()}, {});
        CHECK_MESSAGE(verify.exit_code == 0, verify.out << verify.err);
        CHECK(verify.out.find("valid: ") == 0);
    }
    check_stored_exactly_once(*registry, bucket, results.size());

    // `worm bundle` with WORM_ENABLED (auto upload from the environment) stores the same way.
    const fs::path d = t::source_dir() / "examples" / "data" / "backup-success";
    const auto out = worm_cli({"bundle", "--client-id", client_id, "--incident", (d / "incident.json").string(),
                               "--runbook", (d / "runbook.json").string(), "--execution",
                               (d / "execution.json").string(), "--actions", (d / "actions.json").string(),
                               "--artifacts", (d / "artifacts.json").string(), "--evidence-dir", evidence.string(),
                               "--key", keys().private_key.string()},
                              worm_env(bucket, peer().endpoint()));
    REQUIRE_MESSAGE(out.exit_code == 0, out.err);
    const auto printed = parse_json(out.out);
    CHECK_FALSE(printed.HasMember("upload_error"));
    const std::string cli_id = printed["bundle_id"].GetString();
    CHECK(std::string(printed["uri"].GetString()) ==
          "s3://" + bucket + "/" + bundle_key(client_id, cli_id, ".json"));
    check_stored_exactly_once(*registry, bucket, results.size() + 1);
}

TEST_CASE("outage: 500 bundles made while S3 is unreachable stay pending; one worm sync uploads each once") {
    const std::string bucket = new_lock_bucket("outage");
    t::TempDir dir("worm-it-outage");
    const fs::path evidence = dir / "evidence";
    fs::create_directories(evidence);
    const std::string client_id = "clinic-042";
    constexpr std::size_t n = 500;
    // The agent's endpoint is a forwarder in front of the peer; during the outage nothing
    // listens on its port (connection refused), then the forwarder comes back on it.
    const int port = t::free_port();
    const std::string endpoint = "http://127.0.0.1:" + std::to_string(port);

    {
        auto registry = open_registry(evidence);
        // Every attempt is made (3 per bundle, 2 tries each in the client), with ~no waiting.
        UploaderOptions options = quick_options();
        options.backoff_base = 1ms;
        options.backoff_max = 2ms;
        auto uploader = std::make_shared<WormUploader>(direct_config(bucket), s3_store(bucket, endpoint, {}, 2),
                                                       registry, options);
        EvidencePipeline pipeline(pipeline_options(evidence, client_id, false));
        pipeline.attach_uploader(uploader);
        std::size_t kept = 0;
        const auto made_started = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            const BundleResult r = pipeline.process_incident(sample_inputs(i % 2 ? "backup-failed" : "backup-success"));
            // Signed and kept locally; the upload error is reported, the pipeline goes on.
            if (!r.upload_error.empty() && fs::exists(r.bundle_path) && fs::exists(r.sig_path)) ++kept;
        }
        CHECK(kept == n);
        MESSAGE(n << " bundles made during the outage in "
                  << std::chrono::duration<double>(std::chrono::steady_clock::now() - made_started).count() << " s");
        CHECK(registry->counts().uploaded == 0);
        CHECK(registry->counts().backlog() == static_cast<std::int64_t>(n));
    }

    // `worm status` reads the registry only: 500 waiting, and the alerts raised.
    const auto env = worm_env(bucket, endpoint);
    const auto status = worm_cli({"status", "--evidence-dir", evidence.string(), "--json"}, env);
    CHECK(status.exit_code == 3);
    const auto s = parse_json(status.out);
    CHECK(s["pending_count"].GetInt64() + s["failed_count"].GetInt64() == static_cast<std::int64_t>(n));
    CHECK(s["total_uploaded"].GetInt64() == 0);
    CHECK(s["consecutive_failures"].GetInt64() == static_cast<std::int64_t>(n));
    CHECK(std::string(s["last_error"].GetString()).find("127.0.0.1") != std::string::npos);
    CHECK_FALSE(s["health"]["ok"].GetBool());
    CHECK(s["health"]["backlog_high"].GetBool());
    CHECK(s["health"]["repeated_failures"].GetBool());
    const auto table = worm_cli({"status", "--evidence-dir", evidence.string()}, env);
    CHECK(table.out.find("ALERT more than 10 bundles waiting") != std::string::npos);
    CHECK(table.out.find("ALERT more than 3 consecutive failures") != std::string::npos);

    // The server comes back; one sync catches up.
    t::TempDir logs("worm-it-outage-logs");
    t::FaultServer forwarder(logs.path(), peer().endpoint(), port);
    const auto sync_started = std::chrono::steady_clock::now();
    const auto sync = worm_cli({"sync", "--evidence-dir", evidence.string(), "--quiet"}, env);
    MESSAGE("worm sync of " << n << " bundles took "
                            << std::chrono::duration<double>(std::chrono::steady_clock::now() - sync_started).count()
                            << " s");
    CHECK_MESSAGE(sync.exit_code == 0, sync.out << sync.err);
    CHECK(sync.out.find("sync: uploaded 500, failed 0, pending 0") != std::string::npos);

    auto registry = open_registry(evidence);
    check_stored_exactly_once(*registry, bucket, n);
    // On the wire too: one PUT per object, none repeated.
    const auto log = parse_json(forwarder.log());
    std::map<std::string, int> puts;
    for (const auto& e : log.GetArray())
        if (std::string(e["method"].GetString()) == "PUT") ++puts[e["path"].GetString()];
    CHECK(puts.size() == 2 * n);
    CHECK(std::all_of(puts.begin(), puts.end(), [](const auto& p) { return p.second == 1; }));

    const auto after = parse_json(worm_cli({"status", "--evidence-dir", evidence.string(), "--json"}, env).out);
    CHECK(after["total_uploaded"].GetInt64() == static_cast<std::int64_t>(n));
    CHECK(after["health"]["ok"].GetBool());
}

TEST_CASE("crash: worm sync killed with SIGKILL mid-way, restarted: every bundle stored once, registry consistent") {
    const std::string bucket = new_lock_bucket("crash");
    t::TempDir dir("worm-it-crash");
    const fs::path evidence = dir / "evidence";
    fs::create_directories(evidence);
    const std::string client_id = "clinic-777";
    constexpr std::size_t n = 500;
    {
        // 500 signed bundles, registered pending (as an agent that was offline leaves them).
        auto registry = open_registry(evidence);
        WormUploader registrar(direct_config(bucket), nullptr, registry);
        EvidencePipeline pipeline(pipeline_options(evidence, client_id, false));
        for (std::size_t i = 0; i < n; ++i) {
            const BundleResult r = pipeline.process_incident(sample_inputs(i % 2 ? "backup-failed" : "backup-success"));
            registrar.enqueue(r.bundle_path, r.sig_path, client_id);
        }
        REQUIRE(registry->counts().pending == static_cast<std::int64_t>(n));
    }

    // `--store s3://bucket` with the endpoint and credentials from AWS_*.
    const auto env = worm_env(bucket, peer().endpoint());
    const std::vector<std::string> sync_args{t::cli_path(), "sync", "--evidence-dir", evidence.string(), "--store",
                                             "s3://" + bucket, "--quiet"};
    auto registry = open_registry(evidence);
    RegistryCounts at_kill;
    {
        t::ServerProcess sync(sync_args, env, dir / "sync-1.log");
        // Wait until a good part is done, then SIGKILL it (no chance to clean up).
        const auto deadline = std::chrono::steady_clock::now() + 5min;
        while (registry->counts().uploaded < 120 && std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (waitpid(sync.pid(), &status, WNOHANG) == sync.pid())
                FAIL("worm sync exited before it could be killed: " << t::read_file(dir / "sync-1.log"));
            std::this_thread::sleep_for(20ms);
        }
        sync.kill_hard();
        at_kill = registry->counts();
    }
    MESSAGE("at the kill: uploaded " << at_kill.uploaded << ", uploading " << at_kill.uploading << ", pending "
                                     << at_kill.pending << ", failed " << at_kill.failed);
    REQUIRE(at_kill.uploaded >= 120);
    REQUIRE(at_kill.uploaded < static_cast<std::int64_t>(n));  // killed in the middle, not after
    // What the registry acknowledged is in the bucket as recorded; the bundles in flight
    // (status uploading) may or may not have reached it.
    {
        const Versions versions = versions_by_key(bucket, "evidence/");
        CHECK(check_uploaded_rows(*registry, bucket, versions) == static_cast<std::size_t>(at_kill.uploaded));
        check_no_key_twice(versions);
        MESSAGE("objects in the bucket at the kill: " << versions.size() << " (" << 2 * at_kill.uploaded
                                                      << " acknowledged)");
    }

    // Restart: the same command finishes the job.
    const auto second = t::run_command(sync_args, env);
    CHECK_MESSAGE(second.exit_code == 0, second.out << second.err);
    CHECK(second.out.find("failed 0, pending 0") != std::string::npos);
    check_stored_exactly_once(*registry, bucket, n);
    // The interrupted bundles were checked with HEAD first: those whose objects had reached
    // the bucket were recorded as already present, not sent again.
    std::size_t already_present = 0;
    for (const auto& r : registry->list_by_status(UploadStatus::uploaded, n))
        for (const auto& a : registry->attempts(r.bundle_id)) already_present += a.outcome == "already_present";
    MESSAGE("bundles found already stored after the restart: " << already_present);
}

// ---- faults: the uploader's endpoint is tests/python/fault_server.py forwarding to the peer ----

namespace {

t::FaultServer& forwarder() {
    static t::TempDir logs("worm-it-faults");
    static t::FaultServer server(logs.path(), peer().endpoint());
    return server;
}

const std::string& fault_bucket() {
    static const std::string b = new_lock_bucket("faults");
    return b;
}

// Short timeouts, so a stalled response costs about a second.
HttpOptions stall_http() {
    HttpOptions h;
    h.connect_timeout = 2s;
    h.total_timeout = 1500ms;
    h.low_speed_time = 1s;
    return h;
}

// One scenario: its own client id (so its keys are its own), evidence directory, registry,
// pipeline and an uploader whose S3 endpoint is the forwarder. Rules are cleared first.
struct FaultScenario {
    std::string client_id;
    t::TempDir dir{"worm-it-fault"};
    fs::path evidence = dir / "evidence";
    std::shared_ptr<UploadRegistry> registry;
    std::unique_ptr<WormUploader> uploader;
    std::unique_ptr<EvidencePipeline> pipeline;

    explicit FaultScenario(std::string client, HttpOptions http = {}) : client_id(std::move(client)) {
        forwarder().clear_rules();
        fs::create_directories(evidence);
        registry = open_registry(evidence);
        uploader = std::make_unique<WormUploader>(direct_config(fault_bucket()),
                                                  s3_store(fault_bucket(), forwarder().base_url(), http), registry,
                                                  quick_options());
        pipeline = std::make_unique<EvidencePipeline>(pipeline_options(evidence, client_id, false));
    }
    ~FaultScenario() { forwarder().clear_rules(); }

    BundleResult make_bundle() { return pipeline->process_incident(sample_inputs("backup-success")); }
    UploadResult upload(const BundleResult& b) { return uploader->upload_bundle(b.bundle_path, b.sig_path, client_id); }
    // "match=/evidence/<client>/*<suffix>" for a rule that hits only this scenario's keys.
    std::string match(const std::string& suffix = "") const {
        return "match=/evidence/" + client_id + "/*" + suffix;
    }

    // Requests the forwarder saw for this scenario: method, and the fault injected ("" none).
    std::vector<std::pair<std::string, std::string>> seen() {
        std::vector<std::pair<std::string, std::string>> out;
        const auto log = parse_json(forwarder().log());
        for (const auto& e : log.GetArray())
            if (std::string(e["path"].GetString()).find("/evidence/" + client_id + "/") != std::string::npos)
                out.emplace_back(e["method"].GetString(), e["fault"].GetString());
        return out;
    }
    std::size_t count(const std::string& method, const std::string& fault) {
        const auto s = seen();
        return static_cast<std::size_t>(
            std::count(s.begin(), s.end(), std::pair<std::string, std::string>{method, fault}));
    }

    // Every bundle of this scenario stored, each key exactly once, as the registry recorded.
    void check_stored_once(std::size_t bundles) {
        const Versions versions = versions_by_key(fault_bucket(), "evidence/" + client_id + "/");
        CHECK(versions.size() == 2 * bundles);
        check_no_key_twice(versions);
        CHECK(check_uploaded_rows(*registry, fault_bucket(), versions) == bundles);
        CHECK(registry->counts().backlog() == 0);
    }
};

template <class F>
Error error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e;
    }
    FAIL("expected worm::Error");
    return Error(ErrorCode::internal, "unreachable");
}

}  // namespace

TEST_CASE("faults: 500, 503 and SlowDown answers are retried, then the bundle is stored once") {
    FaultScenario s("fault-5xx");
    const BundleResult b = s.make_bundle();
    forwarder().rule("action=status&status=503&code=SlowDown&method=PUT&count=2&" + s.match(".json"));
    forwarder().rule("action=status&status=500&code=InternalError&method=PUT&count=1&" + s.match(".sig"));
    forwarder().rule("action=status&status=503&code=ServiceUnavailable&method=HEAD&count=1&" + s.match());
    const UploadResult r = s.upload(b);
    CHECK_FALSE(r.already_present);
    CHECK(s.count("PUT", "status") == 3);
    CHECK(s.count("HEAD", "status") == 1);
    CHECK(s.count("PUT", "") == 2);  // one PUT per object reached the server
    s.check_stored_once(1);
}

TEST_CASE("faults: a connection reset in the middle of the request body is retried; stored once") {
    FaultScenario s("fault-reset-req");
    const BundleResult b = s.make_bundle();
    forwarder().rule("action=reset-request&method=PUT&count=1&" + s.match(".json"));
    forwarder().rule("action=reset-request&method=PUT&count=1&" + s.match(".sig"));
    s.upload(b);
    CHECK(s.count("PUT", "reset-request") == 2);
    s.check_stored_once(1);
}

TEST_CASE("faults: the response to a stored PUT is cut off mid-body: no second version of the locked object") {
    // The object reached the bucket; the client only sees a reset. Sending it again would
    // add a second, permanently locked version.
    FaultScenario s("fault-reset-resp");
    const BundleResult b = s.make_bundle();
    forwarder().rule("action=reset-response&method=PUT&count=1&" + s.match(".json"));
    forwarder().rule("action=reset-response&method=PUT&count=1&" + s.match(".sig"));
    s.upload(b);
    CHECK(s.count("PUT", "reset-response") == 2);
    s.check_stored_once(1);
}

TEST_CASE("faults: stalled responses time out and are retried, without a second version") {
    FaultScenario s("fault-stall", stall_http());
    const BundleResult b = s.make_bundle();
    // The .json's PUT never answered and never forwarded; the .sig's PUT stored, then silence.
    forwarder().rule("action=stall&method=PUT&count=1&" + s.match(".json"));
    forwarder().rule("action=stall-response&method=PUT&count=1&" + s.match(".sig"));
    s.upload(b);
    CHECK(s.count("PUT", "stall") == 1);
    CHECK(s.count("PUT", "stall-response") == 1);
    s.check_stored_once(1);
}

TEST_CASE("faults: worm sync with WORM_HTTP_TIMEOUT_MS gets past stalled responses") {
    FaultScenario s("fault-stall-cli");
    for (int i = 0; i < 3; ++i) {
        const BundleResult b = s.make_bundle();
        s.uploader->enqueue(b.bundle_path, b.sig_path, s.client_id);
    }
    forwarder().rule("action=stall&method=HEAD&count=1&" + s.match());
    forwarder().rule("action=stall-response&method=PUT&count=2&" + s.match());
    const auto sync = worm_cli({"sync", "--evidence-dir", s.evidence.string(), "--quiet"},
                               worm_env(fault_bucket(), forwarder().base_url(),
                                        {"WORM_HTTP_TIMEOUT_MS=1500", "WORM_HTTP_LOW_SPEED_TIME_S=1"}));
    CHECK_MESSAGE(sync.exit_code == 0, sync.out << sync.err);
    CHECK(sync.out.find("sync: uploaded 3, failed 0, pending 0") != std::string::npos);
    CHECK(s.count("HEAD", "stall") == 1);
    CHECK(s.count("PUT", "stall-response") == 2);
    s.check_stored_once(3);
}

TEST_CASE("faults: a wrong checksum in the PUT response is an integrity failure, never success; a later sync stores it") {
    FaultScenario s("fault-checksum");
    const BundleResult b = s.make_bundle();
    forwarder().rule("action=bad-checksum&method=PUT&count=-1&" + s.match(".json"));
    const Error e = error_of([&] { s.upload(b); });
    CHECK(e.code() == ErrorCode::integrity);
    CHECK(std::string(e.what()).find("S3 recorded SHA-256") != std::string::npos);
    const auto rec = s.registry->get(b.bundle_id);
    REQUIRE(rec);
    CHECK(rec->status == UploadStatus::failed);
    CHECK(rec->last_error.find("S3 recorded SHA-256") != std::string::npos);
    CHECK(rec->bundle_uri.empty());
    const auto attempts = s.registry->attempts(b.bundle_id);
    REQUIRE(attempts.size() == 1);  // not retried: an integrity failure is not transient
    CHECK(attempts[0].outcome == "integrity");
    CHECK(s.count("PUT", "bad-checksum") == 1);

    // The server is honest again: the next sync finds the object with the right checksum
    // (HEAD first) and records it, without a second PUT of the .json.
    forwarder().clear_rules();
    const SyncResult r = s.uploader->sync();
    CHECK(r.uploaded == 1);
    CHECK(r.failed == 0);
    CHECK(s.count("PUT", "") == 1);  // only the .sig
    s.check_stored_once(1);
}

TEST_CASE("faults: a bundle that fails every attempt stays failed with its error; a later sync uploads it") {
    FaultScenario s("fault-down");
    const BundleResult b = s.make_bundle();
    forwarder().rule("action=status&status=503&code=SlowDown&method=PUT&count=-1&" + s.match());
    const Error e = error_of([&] { s.upload(b); });
    CHECK(std::string(e.what()).find("SlowDown") != std::string::npos);
    const auto rec = s.registry->get(b.bundle_id);
    REQUIRE(rec);
    CHECK(rec->status == UploadStatus::failed);
    CHECK(rec->last_error.find("SlowDown") != std::string::npos);
    const auto attempts = s.registry->attempts(b.bundle_id);
    CHECK(attempts.size() == 3);  // WORM_UPLOAD_ATTEMPTS default
    for (const auto& a : attempts) CHECK(a.error.find("503") != std::string::npos);
    const UploaderStats stats = s.uploader->stats();
    CHECK(stats.failed_count == 1);
    CHECK(stats.last_error.find("SlowDown") != std::string::npos);
    CHECK(s.count("PUT", "") == 0);

    forwarder().clear_rules();
    const SyncResult r = s.uploader->sync();
    CHECK(r.uploaded == 1);
    CHECK(s.uploader->stats().failed_count == 0);
    s.check_stored_once(1);
}

// ---- proxy mode: agent -> worm-proxy -> S3 ------------------------------------------------

namespace {

const std::string alice_token = "alice-token-e2e-0123456789abcdef";
const std::string bob_token = "bob-token-e2e-0123456789abcdef-01";

// worm-proxy on a fixed port in front of the peer's bucket, with its own credentials and
// the lock policy (COMPLIANCE, 90 days). start()/stop() give outages on the same URL.
struct ProxyServer {
    t::TempDir dir{"worm-it-proxy"};
    std::string bucket;
    int port = t::free_port();
    std::unique_ptr<t::ServerProcess> process;
    int starts = 0;

    explicit ProxyServer(std::string b) : bucket(std::move(b)) {
        t::write_file(dir / "tokens", "alice " + alice_token + "\nbob " + bob_token + "\n");
        fs::permissions(dir / "tokens", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    }
    void start() {
        const std::vector<std::string> argv{t::env_or("WORM_PROXY_BIN", "worm-proxy"), "--listen",
                                            "127.0.0.1:" + std::to_string(port), "--tokens", (dir / "tokens").string(),
                                            "--store", "s3://" + bucket, "--retention-days", "90", "--lock-mode",
                                            "COMPLIANCE", "--threads", "4"};
        const std::vector<std::string> env{"AWS_ENDPOINT_URL=" + peer().endpoint(),
                                           "AWS_ACCESS_KEY_ID=" + peer().credentials().access_key_id,
                                           "AWS_SECRET_ACCESS_KEY=" + peer().credentials().secret_access_key,
                                           "AWS_REGION=" + peer().region(), "WORM_S3_ADDRESSING=path"};
        process = std::make_unique<t::ServerProcess>(argv, env, dir / ("proxy-" + std::to_string(++starts) + ".log"));
        process->wait_for_port(port);
    }
    void stop() { process.reset(); }  // SIGTERM by PID, then waits

    std::string url() const { return "mcp+http://127.0.0.1:" + std::to_string(port); }
    std::string uri(const std::string& key) const {
        ProxyConfig c;
        c.url = url();
        c.api_key = "unused";
        return ProxyStore(c).uri(key);
    }
};

WormConfig proxy_config(const ProxyServer& proxy, const std::string& token) {
    WormConfig c;
    c.enabled = true;
    c.mode = WormMode::proxy;
    c.mcp_url = proxy.url();
    c.mcp_api_key = token;
    c.sync_concurrency = 8;
    return c;
}

std::vector<std::string> proxy_env(const ProxyServer& proxy, const std::string& token) {
    return {"WORM_ENABLED=true", "WORM_MODE=proxy", "MCP_URL=" + proxy.url(), "MCP_API_KEY=" + token,
            "WORM_SYNC_CONCURRENCY=8"};
}

}  // namespace

TEST_CASE("end to end, proxy: agent -> worm-proxy -> S3; a proxy outage caught up by worm sync; tenants isolated") {
    const std::string bucket = new_lock_bucket("proxy");
    ProxyServer proxy(bucket);
    proxy.start();
    t::TempDir dir("worm-it-proxy-agent");
    const fs::path evidence = dir / "evidence";
    fs::create_directories(evidence);
    const TimePoint before = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    const auto uri_of = [&](const std::string& key) { return proxy.uri(key); };

    auto registry = open_registry(evidence, true);
    const WormConfig config = proxy_config(proxy, alice_token);
    auto uploader = std::make_shared<WormUploader>(config, std::shared_ptr<ObjectStore>(open_configured_store(config)),
                                                   registry, quick_options());
    EvidencePipeline pipeline(pipeline_options(evidence, "alice", true));
    pipeline.attach_uploader(uploader);

    // Online: stored through the proxy with the lock, read back by boto3, verified.
    const BundleResult first = pipeline.process_incident(sample_inputs("backup-success"));
    REQUIRE_MESSAGE(first.upload_error.empty(), first.upload_error);
    const std::string json_key = bundle_key("alice", first.bundle_id, ".json");
    CHECK(first.bundle_uri == proxy.uri(json_key));
    const auto head = parse_json(peer().boto({"head", bucket, json_key}));
    CHECK(std::string(head["lock_mode"].GetString()) == "COMPLIANCE");
    CHECK(head["retain_until_epoch_ms"].GetInt64() >=
          std::chrono::duration_cast<std::chrono::milliseconds>((before + std::chrono::days(90)).time_since_epoch())
              .count());
    CHECK(std::string(head["metadata"]["worm-proxy-client"].GetString()) == "alice");
    const fs::path json_copy = dir / "copy.json", sig_copy = dir / "copy.sig";
    peer().boto({"get", bucket, json_key, json_copy.string()});
    peer().boto({"get", bucket, bundle_key("alice", first.bundle_id, ".sig"), sig_copy.string()});
    CHECK(t::read_file(json_copy) == t::read_file(first.bundle_path));
    CHECK(t::read_file(sig_copy) == t::read_file(first.sig_path));
    const auto verify = worm_cli({"verify", "--key", keys().public_key.string(), json_copy.string(),
                                  sig_copy.string()}, {});
    CHECK_MESSAGE(verify.exit_code == 0, verify.out << verify.err);

    // The proxy goes away: bundles made by the library and by `worm bundle` stay pending.
    proxy.stop();
    constexpr std::size_t offline = 12;
    for (std::size_t i = 0; i < offline; ++i)
        CHECK_FALSE(pipeline.process_incident(sample_inputs("backup-failed")).upload_error.empty());
    const fs::path d = t::source_dir() / "examples" / "data" / "backup-success";
    const auto cli_bundle = worm_cli({"bundle", "--client-id", "alice", "--incident", (d / "incident.json").string(),
                                      "--runbook", (d / "runbook.json").string(), "--execution",
                                      (d / "execution.json").string(), "--actions", (d / "actions.json").string(),
                                      "--artifacts", (d / "artifacts.json").string(), "--evidence-dir",
                                      evidence.string(), "--key", keys().private_key.string()},
                                     proxy_env(proxy, alice_token));
    CHECK_MESSAGE(cli_bundle.exit_code == 0, cli_bundle.err);
    CHECK(std::string(parse_json(cli_bundle.out)["upload_status"].GetString()) == "pending");
    CHECK(cli_bundle.err.find(alice_token) == std::string::npos);  // the token never shows
    CHECK(registry->counts().backlog() == static_cast<std::int64_t>(offline + 1));

    // Back on the same URL: one `worm sync` in proxy mode catches up, each object once.
    proxy.start();
    const auto sync = worm_cli({"sync", "--evidence-dir", evidence.string(), "--quiet"}, proxy_env(proxy, alice_token));
    CHECK_MESSAGE(sync.exit_code == 0, sync.out << sync.err);
    CHECK(sync.out.find("sync: uploaded " + std::to_string(offline + 1) + ", failed 0, pending 0") != std::string::npos);
    check_stored_exactly_once(*registry, bucket, offline + 2, uri_of);

    // Tenant isolation: bob's token cannot store (or even look at) alice's evidence.
    t::TempDir other("worm-it-proxy-other");
    const fs::path other_evidence = other / "evidence";
    fs::create_directories(other_evidence);
    auto other_registry = open_registry(other_evidence);
    const WormConfig bob_config = proxy_config(proxy, bob_token);
    WormUploader bob(bob_config, std::shared_ptr<ObjectStore>(open_configured_store(bob_config)), other_registry,
                     quick_options());
    EvidencePipeline alice_elsewhere(pipeline_options(other_evidence, "alice", false));
    const BundleResult stolen = alice_elsewhere.process_incident(sample_inputs("backup-success"));
    const Error refused = error_of([&] { bob.upload_bundle(stolen.bundle_path, stolen.sig_path, "alice"); });
    CHECK(refused.code() == ErrorCode::config);
    CHECK(std::string(refused.what()).find(bob_token) == std::string::npos);
    CHECK(other_registry->get(stolen.bundle_id)->status == UploadStatus::failed);
    CHECK(other_registry->attempts(stolen.bundle_id).size() == 1);  // refused is not retried
    // ... while bob's own evidence goes through, and alice's objects are untouched.
    EvidencePipeline bob_pipeline(pipeline_options(other_evidence, "bob", false));
    const BundleResult own = bob_pipeline.process_incident(sample_inputs("backup-success"));
    bob.upload_bundle(own.bundle_path, own.sig_path, "bob");
    const Versions alice_versions = versions_by_key(bucket, "evidence/alice/");
    CHECK(alice_versions.size() == 2 * (offline + 2));
    check_no_key_twice(alice_versions);
    CHECK(versions_by_key(bucket, "evidence/bob/").size() == 2);
}
