// `worm migrate` from evidence directories into a local WORM store: the seed-000 layout
// (EB-*.json + Ed25519 .sig + the agent's .upload_registry.json) and the seed-003 layout
// (cosign .json.bundle, in cosign's v2 format and as a Sigstore v0.3 bundle, ECDSA P-256).
// The signatures are made by the openssl command line (the reference signer), never by
// libworm; a tampered bundle must be reported and held back. S3 sources and the
// kill -9 / resume proof are in test_it_migrate.cpp.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include "support/json_output.hpp"
#include "support/test_env.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/migrate.hpp"
#include "worm/registry.hpp"
#include "worm/storage/local.hpp"

using namespace worm;
namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

void openssl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = t::run_command(argv);
    REQUIRE_MESSAGE(r.exit_code == 0, "openssl " << args.at(0) << ": " << r.err);
}

std::string bundle_json(const std::string& id, const std::string& client) {
    return "{\"bundle_id\":\"" + id + "\",\"client_id\":\"" + client + "\",\"outputs\":{\"ok\":true}}\n";
}

// An Ed25519 key pair made by openssl; returns the public key path.
fs::path ed25519_keys(const fs::path& dir) {
    openssl({"genpkey", "-algorithm", "ed25519", "-out", (dir / "ed.pem").string()});
    openssl({"pkey", "-in", (dir / "ed.pem").string(), "-pubout", "-out", (dir / "ed.pub").string()});
    return dir / "ed.pub";
}

// The `.sig` of a file: base64 of openssl's raw Ed25519 signature, one line.
std::string ed25519_sig_line(const fs::path& dir, const fs::path& file) {
    openssl({"pkeyutl", "-sign", "-inkey", (dir / "ed.pem").string(), "-rawin", "-in", file.string(), "-out",
             (dir / "sig.bin").string()});
    return base64_encode(t::read_file(dir / "sig.bin")) + "\n";
}

// cosign.key / cosign.pub as ECDSA P-256; returns the public key path.
fs::path cosign_keys(const fs::path& dir) {
    openssl({"ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", (dir / "cosign.key").string()});
    openssl({"ec", "-in", (dir / "cosign.key").string(), "-pubout", "-out", (dir / "cosign.pub").string()});
    return dir / "cosign.pub";
}

std::string ecdsa_signature_b64(const fs::path& dir, const fs::path& file) {
    openssl({"dgst", "-sha256", "-sign", (dir / "cosign.key").string(), "-out", (dir / "sig.der").string(), file.string()});
    return base64_encode(t::read_file(dir / "sig.der"));
}

// cosign's v2 `--bundle` file.
std::string cosign_v2_bundle(const std::string& signature_b64) {
    return "{\"base64Signature\":\"" + signature_b64 + "\",\"cert\":\"\",\"rekorBundle\":null}";
}

// What cosign v3 writes: a Sigstore bundle v0.3 with a message signature.
std::string sigstore_v03_bundle(const std::string& signature_b64, const std::string& file_bytes) {
    return "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":"
           "{\"publicKey\":{\"hint\":\"cosign.pub\"}},\"messageSignature\":{\"messageDigest\":{\"algorithm\":"
           "\"SHA2_256\",\"digest\":\"" +
           base64_encode(sha256(file_bytes)) + "\"},\"signature\":\"" + signature_b64 + "\"}}";
}

t::CommandResult worm_cli(std::vector<std::string> args) {
    args.insert(args.begin(), t::cli_path());
    return t::run_command(args);
}

const MigrationRow* row_for(const MigrationSummary& s, const std::string& key) {
    for (const auto& r : s.rows)
        if (r.source_key == key) return &r;
    return nullptr;
}

}  // namespace

TEST_CASE("seed-003 directory: cosign v2 and Sigstore v0.3 bundles verify and migrate; a tampered one is held back") {
    t::TempDir tmp("worm-migrate");
    const fs::path ev = tmp / "evidence", keys = tmp / "keys";
    fs::create_directories(keys);
    const fs::path pub = cosign_keys(keys);
    // 0001: cosign v2 format; 0002: Sigstore v0.3; 0003: signed, then changed.
    for (const std::string n : {"0001", "0002", "0003"}) {
        const std::string id = "EB-20251101-" + n;
        t::write_file(ev / (id + ".json"), bundle_json(id, "msp-prod"));
        const std::string sig = ecdsa_signature_b64(keys, ev / (id + ".json"));
        t::write_file(ev / (id + ".json.bundle"), n == "0002" ? sigstore_v03_bundle(sig, t::read_file(ev / (id + ".json")))
                                                              : cosign_v2_bundle(sig));
    }
    t::write_file(ev / "EB-20251101-0003.json", bundle_json("EB-20251101-0003", "msp-prod-tampered"));

    LocalWormStore store(tmp / "worm");
    auto source = open_migration_source(ev.string());
    MigrationOptions o;
    o.retain_days = 7;
    o.state_file = tmp / "state.sqlite3";
    o.verify_signatures = true;
    o.public_key = pub;
    const MigrationSummary s = migrate(*source, store, o);
    CHECK_FALSE(s.clean());
    CHECK(s.by_status.at("copied") == 4);
    CHECK(s.by_status.at("invalid_signature") == 2);  // the tampered bundle and its signature
    CHECK(row_for(s, "EB-20251101-0003.json")->status == "invalid_signature");
    CHECK(row_for(s, "EB-20251101-0003.json.bundle")->status == "invalid_signature");
    // Evidence goes to the uploader layout, locked, with its provenance.
    const ObjectInfo info = store.head("evidence/msp-prod/2025/11/EB-20251101-0002.json");
    CHECK(info.metadata.at("source-key") == "EB-20251101-0002.json");
    CHECK(info.metadata.at("sha256") == sha256_hex(t::read_file(ev / "EB-20251101-0002.json")));
    CHECK(info.metadata.at("migration-id") == s.migration_id);
    REQUIRE(info.retention);
    CHECK(info.retention->mode == LockMode::compliance);
    CHECK_NOTHROW(store.head("evidence/msp-prod/2025/11/EB-20251101-0001.json.bundle"));
    CHECK_THROWS(store.head("evidence/msp-prod-tampered/2025/11/EB-20251101-0003.json"));

    // The CLI says the same with exit 1, and the verify of what was copied is clean for the rest.
    const auto cli = worm_cli({"migrate", "--from", ev.string(), "--to", "file://" + (tmp / "worm").string(),
                               "--retain-days", "7", "--state", (tmp / "state.sqlite3").string(), "--verify-signatures",
                               "--key", pub.string(), "--report", (tmp / "report.json").string(), "--quiet"});
    CHECK(cli.exit_code == 1);
    CHECK(cli.err.find("invalid_signature: EB-20251101-0003.json") != std::string::npos);
    const auto summary = t::parse_json(cli.out);
    CHECK(summary["status"]["copied"].GetInt() == 4);  // from the state: nothing copied twice
    const std::string csv = t::read_file(tmp / "report.csv");
    CHECK(csv.find(",EB-20251101-0003.json,,invalid_signature,InvalidSignature,400,") != std::string::npos);

    // --copy-invalid copies it anyway, still saying so.
    o.copy_invalid = true;
    const MigrationSummary forced = migrate(*source, store, o);
    CHECK(forced.clean());
    CHECK(row_for(forced, "EB-20251101-0003.json")->message.find("invalid signature") != std::string::npos);
}

TEST_CASE("seed-000 directory: Ed25519 .sig, the agent registry imported, already uploaded bundles recognised") {
    t::TempDir tmp("worm-migrate");
    const fs::path ev = tmp / "evidence", keys = tmp / "keys";
    fs::create_directories(keys);
    const fs::path pub = ed25519_keys(keys);
    std::string registry = "{";
    for (const std::string n : {"0001", "0002", "0003"}) {
        const std::string id = "EB-20251125-" + n;
        t::write_file(ev / (id + ".json"), bundle_json(id, "clinic-001"));
        t::write_file(ev / (id + ".sig"), ed25519_sig_line(keys, ev / (id + ".json")));
        registry += std::string(n == "0001" ? "" : ",") + "\"" + id + "\":{\"status\":\"pending\",\"client_id\":\"clinic-001\"," +
                    "\"bundle_path\":\"" + (ev / (id + ".json")).string() + "\",\"sig_path\":\"" +
                    (ev / (id + ".sig")).string() + "\",\"bundle_sha256\":\"" +
                    sha256_hex(t::read_file(ev / (id + ".json"))) + "\",\"sig_sha256\":\"" +
                    sha256_hex(t::read_file(ev / (id + ".sig"))) + "\",\"agent_version\":\"1.4.2\"}";
    }
    t::write_file(ev / ".upload_registry.json", registry + "}");
    // The agent uploaded 0001 before: it is in the store already, in the uploader layout.
    LocalWormStore store(tmp / "worm");
    PutOptions put;
    put.lock.retention = Retention{LockMode::compliance, system_clock().now() + std::chrono::hours(48)};
    for (const std::string ext : {".json", ".sig"})
        store.put("evidence/clinic-001/2025/11/EB-20251125-0001" + ext,
                  PutBody::from_bytes(t::read_file(ev / ("EB-20251125-0001" + ext))), put);
    // 0003's bundle changed after the agent recorded its hash (and after signing).
    t::write_file(ev / "EB-20251125-0003.json", bundle_json("EB-20251125-0003", "clinic-001") + " ");

    // A dry run first: nothing anywhere (no state, no registry file, store unchanged).
    const std::string to = "file://" + (tmp / "worm").string();
    const auto dry = worm_cli({"migrate", "--from", ev.string(), "--to", to, "--retain-days", "90", "--dry-run",
                               "--report", (tmp / "dry.json").string()});
    CHECK(dry.exit_code == 0);
    CHECK(dry.out.find("would_copy EB-20251125-0002.json -> evidence/clinic-001/2025/11/EB-20251125-0002.json") !=
          std::string::npos);
    CHECK(dry.out.find("would_check EB-20251125-0001.json") != std::string::npos);
    CHECK(t::parse_json(dry.out.substr(dry.out.rfind("\n{") + 1))["objects"].GetInt() == 6);
    std::vector<std::string> after_dry;
    for (const auto& e : fs::directory_iterator(ev)) after_dry.push_back(e.path().filename().string());
    CHECK(after_dry.size() == 7);  // the 6 files and the agent registry, nothing added
    CHECK_FALSE(fs::exists(tmp / "dry.json"));
    CHECK(store.list_all().size() == 2);

    const auto run = worm_cli({"migrate", "--from", ev.string(), "--to", to, "--retain-days", "90",
                               "--verify-signatures", "--key", pub.string(), "--quiet"});
    CHECK(run.exit_code == 1);  // 0003 is corrupt
    const auto s = t::parse_json(run.out);
    CHECK(s["status"]["copied"].GetInt() == 2);           // 0002 .json/.sig
    // 0001 .json/.sig were there with the agent's 48-hour lock: extended to the 90 days asked
    // (issue 25 item 3: a shorter lock at the destination is never "already present").
    CHECK(s["status"]["lock_applied"].GetInt() == 2);
    CHECK(store.head("evidence/clinic-001/2025/11/EB-20251125-0001.json").retention->retain_until >
          RetentionDate(system_clock().now() + std::chrono::days(89)));
    CHECK(s["status"]["source_corrupt"].GetInt() == 1);   // 0003 .json: not the hash the agent recorded
    CHECK(s["status"]["invalid_signature"].GetInt() == 1);  // 0003 .sig: held back with its bundle
    CHECK(s["registry_rows_imported"].GetInt() == 3);
    CHECK(run.err.find("source_corrupt: EB-20251125-0003.json") != std::string::npos);
    // The state file sits beside the evidence, as a dot file (never migrated itself).
    bool has_state = false;
    for (const auto& e : fs::directory_iterator(ev))
        has_state |= e.path().filename().string().starts_with(".worm-migrate-");
    CHECK(has_state);

    UploadRegistry reg(ev);
    for (const std::string n : {"0001", "0002"}) {
        const auto rec = reg.get("EB-20251125-" + n);
        REQUIRE(rec);
        CHECK(rec->status == UploadStatus::uploaded);
        CHECK(rec->bundle_uri == store.uri("evidence/clinic-001/2025/11/EB-20251125-" + n + ".json"));
    }
    CHECK(reg.get("EB-20251125-0003")->status != UploadStatus::uploaded);

    const auto verify = worm_cli({"migrate", "verify", "--from", ev.string(), "--to", to, "--exclude", "*0003.*",
                                  "--report", (tmp / "verify.json").string()});
    CHECK_MESSAGE(verify.exit_code == 0, verify.err);
    CHECK(t::parse_json(verify.out)["status"]["ok"].GetInt() == 4);
}

TEST_CASE("signature checks: each format, wrong key, bad base64, a digest that is not the file's") {
    t::TempDir tmp("worm-migrate-sig");
    const fs::path ec_pub = cosign_keys(tmp.path()), ed_pub = ed25519_keys(tmp.path());
    t::write_file(tmp / "b.json", "{\"a\":1}");
    const std::string bytes = t::read_file(tmp / "b.json");
    const std::string ec_sig = ecdsa_signature_b64(tmp.path(), tmp / "b.json");
    const std::string ec_pem = t::read_file(ec_pub), ed_pem = t::read_file(ed_pub);

    auto check = [&](const std::string& name, const std::string& side, const std::string& pem) {
        return check_evidence_signature(bytes, name, side, pem);
    };
    CHECK(check("b.json.bundle", cosign_v2_bundle(ec_sig), ec_pem).valid);
    CHECK(check("b.json.bundle", cosign_v2_bundle(ec_sig), ec_pem).format == SignatureFormat::cosign_bundle);
    CHECK(check("b.sigstore.json", sigstore_v03_bundle(ec_sig, bytes), ec_pem).valid);
    CHECK(check("b.sig", ed25519_sig_line(tmp.path(), tmp / "b.json"), ed_pem).valid);
    CHECK_FALSE(check("b.json.bundle", cosign_v2_bundle(ec_sig), ed_pem).valid);  // another key
    CHECK_FALSE(check("b.json.bundle", sigstore_v03_bundle(ec_sig, "other bytes"), ec_pem).valid);
    CHECK_FALSE(check("b.json.bundle", cosign_v2_bundle("!!not base64"), ec_pem).valid);
    CHECK_FALSE(check("b.json.bundle", "{\"nothing\":1}", ec_pem).valid);
    CHECK_FALSE(check("b.json.bundle", "not json", ec_pem).valid);
    CHECK_THROWS_AS(check("b.sig", "x", "not a key"), Error);
}

TEST_CASE("migrate options: a retention is required and bad numbers are usage errors (exit 2)") {
    t::TempDir tmp("worm-migrate-args");
    fs::create_directories(tmp / "src");
    const std::string to = "file://" + (tmp / "dst").string();
    CHECK(worm_cli({"migrate", "--from", (tmp / "src").string(), "--to", to}).exit_code == 2);
    CHECK(worm_cli({"migrate", "--from", (tmp / "src").string(), "--to", to, "--retain-days", "0"}).exit_code == 2);
    CHECK(worm_cli({"migrate", "--from", (tmp / "src").string(), "--to", to, "--retain-days", "5", "--workers", "x"})
              .exit_code == 2);
    CHECK(worm_cli({"migrate", "--from", (tmp / "src").string(), "--to", to, "--retain-days", "5", "--copy-invalid"})
              .exit_code == 2);
    CHECK(worm_cli({"migrate", "--from", (tmp / "nope").string(), "--to", to, "--retain-days", "5"}).exit_code != 0);
    CHECK_FALSE(fs::exists(tmp / "dst"));
}

TEST_CASE("large objects stream through a file (never whole in memory) and are verified the same way") {
    t::TempDir tmp("worm-migrate-large");
    const std::string big = t::pattern_bytes(3 << 20, 7), small = "small\n";
    t::write_file(tmp / "src/big.bin", big);
    t::write_file(tmp / "src/small.txt", small);
    LocalWormStore store(tmp / "worm");
    auto source = open_migration_source((tmp / "src").string());
    MigrationOptions o;
    o.retain_days = 1;
    o.state_file = tmp / "state.sqlite3";
    o.large_object_bytes = 1 << 20;
    const MigrationSummary s = migrate(*source, store, o);
    CHECK(s.clean());
    CHECK(s.by_status.at("copied") == 2);
    CHECK(row_for(s, "big.bin")->sha256 == sha256_hex(big));
    CHECK(store.get("big.bin") == big);
    CHECK(store.head("big.bin").metadata.at("sha256") == sha256_hex(big));
    CHECK(t::read_file(tmp / "src/big.bin") == big);  // the source file is read where it is, untouched
    for (const auto& e : fs::directory_iterator(tmp.path()))
        CHECK_MESSAGE(!e.path().filename().string().starts_with(".worm-migrate-part-"), "scratch left behind");
    const MigrationSummary v = verify_migration(*source, store, o);
    CHECK(v.by_status.at("ok") == 2);
}

TEST_CASE("the state is written per batch: the whole batch is `copying` before its first put, outcomes when it ends") {
    t::TempDir tmp("worm-migrate-state");
    for (int i = 0; i < 6; ++i) t::write_file(tmp / "src" / ("f" + std::to_string(i) + ".txt"), "file " + std::to_string(i) + "\n");
    LocalWormStore store(tmp / "worm");
    auto source = open_migration_source((tmp / "src").string());
    MigrationOptions o;
    o.retain_days = 1;
    o.state_file = tmp / "state.sqlite3";
    o.workers = 1;
    o.batch_size = 3;
    // What another process (the sqlite3 shell) sees in the state file while the run goes on.
    auto statuses = [&] {
        const auto r = t::run_command({"sqlite3", o.state_file.string(),
                                       "SELECT status || ':' || count(*) FROM objects GROUP BY status ORDER BY status"});
        REQUIRE_MESSAGE(r.exit_code == 0, r.err);
        return r.out;
    };
    std::map<std::size_t, std::string> seen;
    o.on_progress = [&](std::size_t done, std::size_t, std::uint64_t) {
        if (done == 1 || done == 4) seen[done] = statuses();
    };
    const MigrationSummary s = migrate(*source, store, o);
    CHECK(s.clean());
    CHECK(s.by_status.at("copied") == 6);
    // One object of the first batch is in the store; all three were marked before it was put.
    CHECK(seen[1] == "copying:3\n");
    // The first batch's outcomes landed together, and the second batch is marked as a whole.
    CHECK(seen[4] == "copied:3\ncopying:3\n");
    CHECK(statuses() == "copied:6\n");
}
