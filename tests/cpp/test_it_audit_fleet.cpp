// peers: moto rgw
// Issue 25 item 10: `worm audit` reads every version under the prefix: a bundle stored twice
// under one key (even with the same bytes) and a bundle hidden behind a delete marker are
// reported, each older version hashed and its lock checked, every version counted.
// Issue 24 item 3, a fleet audit (WORM_TEST_PEER=moto|rgw): `worm audit --shard I/N` on each
// "machine" and `worm audit merge` give the report one machine's audit of the same data gives
// (bundles, failures, manifest and its hash, inventory; and a certificate over it), refusing a
// missing, doubled or edited shard; and an audit reads each object with one GET (no HEAD): the
// lock comes from the GET's own headers, so a bundle and its signature cost two requests.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <map>
#include <set>

#include "support/evidence_fixture.hpp"
#include "support/json_output.hpp"
#include "support/s3_peer.hpp"
#include "support/test_env.hpp"
#include "support/wire_log.hpp"
#include "worm/compliance.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/store.hpp"

using namespace worm;
namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

t::S3Peer& peer() { return t::S3Peer::for_encoded_names(); }

t::CommandResult worm_cli(std::vector<std::string> args) {
    const auto& p = peer();
    args.insert(args.begin(), t::cli_path());
    return t::run_command(args, {"AWS_ENDPOINT_URL=" + p.endpoint(), "AWS_ACCESS_KEY_ID=" + p.credentials().access_key_id,
                                 "AWS_SECRET_ACCESS_KEY=" + p.credentials().secret_access_key, "AWS_REGION=" + p.region(),
                                 "AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_ENDPOINT_URL_S3=", "WORM_S3_ENDPOINT="});
}

std::string member_text(const rapidjson::Value& doc, const char* name) { return json::to_compact(doc[name]); }

// A bucket of evidence with every kind of finding: an edited bundle, one without signature,
// an orphan signature, a key with two versions; the rest clean.
struct Fleet {
    t::TempDir tmp{"worm-it-audit-fleet"};
    t::EvidenceFixture ev{tmp.path()};
    std::shared_ptr<s3::S3Client> client = std::make_shared<s3::S3Client>(peer().client_config());
    std::string bucket = peer().create_bucket("fleet", /*object_lock=*/true);

    explicit Fleet(int n) {
        s3::S3Store store(client, bucket);
        const auto b = ev.make_bundles(n);
        for (int i = 0; i < n; ++i) {
            if (i == 1) t::EvidenceFixture::edit_one_byte(b[static_cast<std::size_t>(i)].json);
            const std::string json_key = t::EvidenceFixture::object_key("evidence/", b[static_cast<std::size_t>(i)], ".json");
            const std::string sig_key = t::EvidenceFixture::object_key("evidence/", b[static_cast<std::size_t>(i)], ".sig");
            if (i != 3) t::EvidenceFixture::put_locked(store, json_key, b[static_cast<std::size_t>(i)].json, 100);
            if (i != 2) t::EvidenceFixture::put_locked(store, sig_key, b[static_cast<std::size_t>(i)].sig, 100);
            if (i == 4) t::EvidenceFixture::put_locked(store, json_key, b[static_cast<std::size_t>(i)].json, 100);
        }
    }

    std::vector<std::string> audit_args(const fs::path& out) const {
        return {"audit", "--store", "s3://" + bucket, "--prefix", "evidence/", "--key", ev.keys().public_key.string(),
                "--no-bucket-checks", "--out", out.string()};
    }
};

}  // namespace

TEST_CASE("audit --shard I/N on three machines, then audit merge: the report (and certificate) of one machine's audit") {
    Fleet f(12);
    const t::TempDir& tmp = f.tmp;
    const auto whole = worm_cli(f.audit_args(tmp / "whole"));
    REQUIRE_MESSAGE(whole.exit_code == 1, whole.out << whole.err);

    std::vector<std::string> merge{"audit", "merge", "--out", (tmp / "merged").string()};
    std::int64_t shard_bundles = 0;
    for (int i = 0; i < 3; ++i) {
        const fs::path out = tmp / ("shard" + std::to_string(i));
        auto args = f.audit_args(out);
        args.push_back("--shard");
        args.push_back(std::to_string(i) + "/3");
        const auto r = worm_cli(args);
        CHECK_MESSAGE(r.exit_code <= 1, r.out << r.err);
        const auto shard = t::parse_json(t::read_file(out / "report.json"));
        CHECK(shard["shard"]["index"].GetInt() == i);
        shard_bundles += shard["inventory"]["bundles"].GetInt64();
        merge.push_back((out / "report.json").string());
    }
    const auto a = t::parse_json(t::read_file(tmp / "whole" / "report.json"));
    CHECK(shard_bundles == a["inventory"]["bundles"].GetInt64());  // each bundle in exactly one shard

    const auto merged = worm_cli(merge);
    CHECK_MESSAGE(merged.exit_code == 1, merged.out << merged.err);  // the same failures as the whole audit
    const auto m = t::parse_json(t::read_file(tmp / "merged" / "report.json"));
    for (const char* name : {"result", "store", "range", "policy", "public_key_fingerprint", "inventory", "retain_until_by_month",
                             "manifest_sha256", "manifest", "bucket_verification", "failures", "bundles"})
        CHECK_MESSAGE(member_text(m, name) == member_text(a, name), name);
    CHECK_FALSE(m.HasMember("shard"));
    // The findings the data holds are all there.
    std::set<std::string> checks;
    for (const auto& x : m["failures"].GetArray()) checks.insert(x["check"].GetString());
    for (const char* c : {"hash", "missing_signature", "orphan_signature", "multiple_versions"}) CHECK_MESSAGE(checks.count(c), c);

    // A certificate over the merged report states what one over the whole audit states.
    for (const std::string which : {"whole", "merged"}) {
        const auto issued = worm_cli({"certificate", "issue", "--report", (tmp / which / "report.json").string(), "--key",
                                      f.ev.keys().private_key.string(), "--out", (tmp / ("cert-" + which)).string()});
        REQUIRE_MESSAGE(issued.exit_code == 0, issued.err);
    }
    const auto ca = t::parse_json(t::read_file(tmp / "cert-whole" / "certificate.json"));
    const auto cm = t::parse_json(t::read_file(tmp / "cert-merged" / "certificate.json"));
    for (const char* name : {"store", "inventory", "manifest_sha256", "failures"})
        CHECK_MESSAGE(member_text(cm, name) == member_text(ca, name), name);

    // Refused: a shard missing, a shard twice, a shard whose manifest was edited.
    std::vector<std::string> missing(merge.begin(), merge.end() - 1);
    missing[3] = (tmp / "m2").string();
    const auto r1 = worm_cli(missing);
    CHECK(r1.exit_code == 2);
    CHECK_MESSAGE(r1.err.find("shard 2/3 is missing") != std::string::npos, r1.err);
    std::vector<std::string> twice = merge;
    twice.back() = merge[merge.size() - 2];
    twice[3] = (tmp / "m3").string();
    const auto r2 = worm_cli(twice);
    CHECK(r2.exit_code == 2);
    CHECK_MESSAGE(r2.err.find("is given twice") != std::string::npos, r2.err);
    std::string text = t::read_file(tmp / "shard0" / "report.json");
    const std::size_t at = text.find("\"sha256\": \"");
    REQUIRE(at != std::string::npos);
    const std::size_t digit = at + 11;
    text[digit] = text[digit] == 'a' ? 'b' : 'a';
    write_file_atomic(tmp / "edited.json", text);
    std::vector<std::string> edited = merge;
    edited[4] = (tmp / "edited.json").string();
    edited[3] = (tmp / "m4").string();
    const auto r3 = worm_cli(edited);
    CHECK(r3.exit_code == 2);
    CHECK_MESSAGE(r3.err.find("manifest_sha256 does not match its manifest") != std::string::npos, r3.err);

    const auto bad = worm_cli([&] {
        auto args = f.audit_args(tmp / "bad");
        args.push_back("--shard");
        args.push_back("3/3");
        return args;
    }());
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("0 <= I < N") != std::string::npos);
}

TEST_CASE("an audit reads each object with one GET and no HEAD: two requests per bundle with its signature") {
    t::TempDir tmp("worm-it-audit-fleet");
    t::EvidenceFixture ev(tmp.path());
    const std::string bucket = peer().create_bucket("fleetreq", /*object_lock=*/true);
    auto wire = std::make_shared<t::WireLog>(make_curl_transport());
    s3::ClientConfig config = peer().client_config();
    config.transport = wire;
    auto store = std::make_shared<s3::S3Store>(std::make_shared<s3::S3Client>(config), bucket);
    const int n = 8;
    const auto b = ev.make_bundles(n);
    for (const auto& x : b) {
        t::EvidenceFixture::put_locked(*store, t::EvidenceFixture::object_key("evidence/", x, ".json"), x.json, 100);
        t::EvidenceFixture::put_locked(*store, t::EvidenceFixture::object_key("evidence/", x, ".sig"), x.sig, 100);
    }
    wire->clear();
    compliance::AuditOptions o;
    o.store = store;
    o.prefix = "evidence/";
    o.public_key = load_public_key(ev.keys().public_key);
    o.verify_bucket = false;
    const compliance::AuditReport report = compliance::audit(o);
    CHECK(report.clean());
    CHECK(report.inventory.compliance_mode == n);  // the lock state came through
    std::size_t gets = 0, heads = 0, lists = 0;
    for (const auto& r : wire->requests()) {
        if (r.method == "HEAD") ++heads;
        else if (r.method == "GET" && r.url.find("versions") != std::string::npos) ++lists;
        else if (r.method == "GET") ++gets;
    }
    MESSAGE(peer().kind() << ": " << gets << " GETs, " << heads << " HEADs, " << lists << " listings for " << n << " bundles");
    CHECK(gets == 2 * n);
    CHECK(heads == 0);
    CHECK(lists == 1);
}

TEST_CASE("audit reads every version: a second version of a bundle and a bundle behind a delete marker are reported") {
    t::TempDir tmp("worm-it-audit-versions");
    t::EvidenceFixture ev(tmp.path());
    const auto client = std::make_shared<s3::S3Client>(peer().client_config());
    const std::string bucket = peer().create_bucket("auditv", /*object_lock=*/true);
    s3::S3Store store(client, bucket);
    const auto b = ev.make_bundles(3);
    const std::string prefix = "evidence/";
    for (const auto& x : b) {
        t::EvidenceFixture::put_locked(store, t::EvidenceFixture::object_key(prefix, x, ".json"), x.json, 100);
        t::EvidenceFixture::put_locked(store, t::EvidenceFixture::object_key(prefix, x, ".sig"), x.sig, 100);
    }
    // The same bytes stored a second time under the first bundle's key.
    const std::string twice = t::EvidenceFixture::object_key(prefix, b[0], ".json");
    t::EvidenceFixture::put_locked(store, twice, b[0].json, 100);
    // The third bundle's .json hidden behind a delete marker (allowed on a locked version).
    const std::string hidden = t::EvidenceFixture::object_key(prefix, b[2], ".json");
    client->delete_object({.bucket = bucket, .key = hidden, .version_id = std::nullopt, .bypass_governance = false});

    const auto r = worm_cli({"audit", "--store", "s3://" + bucket, "--prefix", prefix, "--key", ev.keys().public_key.string(),
                             "--no-bucket-checks", "--out", (tmp / "out").string()});
    CHECK_MESSAGE(r.exit_code == 1, r.out << r.err);
    const auto report = t::parse_json(t::read_file(tmp / "out" / "report.json"));
    std::map<std::string, std::set<std::string>> failures;
    for (const auto& f : report["failures"].GetArray()) failures[f["key"].GetString()].insert(f["check"].GetString());
    CHECK(failures.at(twice).count("multiple_versions") == 1);
    CHECK(failures.at(hidden).count("deleted") == 1);
    // Its signature is now without a current bundle.
    CHECK(failures.at(t::EvidenceFixture::object_key(prefix, b[2], ".sig")).count("orphan_signature") == 1);
    // 3 .json versions current or hidden + 1 second version + 3 .sig: 7 versions, as the bucket holds.
    CHECK(report["inventory"]["versions"].GetInt64() == 7);
    std::size_t twice_rows = 0;
    for (const auto& m : report["manifest"].GetArray()) twice_rows += std::string(m["key"].GetString()) == twice;
    CHECK(twice_rows == 2);
}
