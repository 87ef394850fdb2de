// Evidence audits, certificates and Sigstore bundles without S3: a local evidence
// directory (--dir) and a local WORM store (file://), checked by independent tools:
// openssl (signatures), pdftotext (the PDF's text), Debian's chromium (the HTML report
// renders and states report.json's numbers) and the npm package @sigstore/verify 3.0.0
// (the Sigstore bundle). The S3 side is test_it_audit.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <cctype>
#include <cstdlib>
#include <regex>
#include <set>

#include "support/evidence_fixture.hpp"
#include "support/json_output.hpp"
#include "support/test_env.hpp"
#include "worm/compliance.hpp"
#include "worm/error.hpp"
#include "worm/json.hpp"
#include "worm/registry.hpp"
#include "worm/storage/local.hpp"

using namespace worm;
namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

t::CommandResult worm_cli(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), t::cli_path());
    return t::run_command(args, env);
}

rapidjson::Document read_json(const fs::path& p) { return t::parse_json(t::read_file(p)); }

// key -> the checks that failed for it, from report.json.
std::map<std::string, std::set<std::string>> failures_by_key(const rapidjson::Document& report) {
    std::map<std::string, std::set<std::string>> out;
    for (const auto& f : report["failures"].GetArray()) out[f["key"].GetString()].insert(f["check"].GetString());
    return out;
}

std::int64_t inventory(const rapidjson::Document& report, const char* name) {
    return report["inventory"][name].GetInt64();
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// openssl pkeyutl over a file and its .sig-format signature: the check anyone can run.
bool openssl_verifies(const fs::path& public_key, const fs::path& data, const fs::path& sig) {
    t::TempDir tmp("worm-openssl");
    std::string line = t::read_file(sig);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    t::write_file(tmp / "raw.sig", base64_decode(line));
    const auto r = t::run_command({"openssl", "pkeyutl", "-verify", "-pubin", "-inkey", public_key.string(), "-rawin",
                                   "-in", data.string(), "-sigfile", (tmp / "raw.sig").string()});
    return r.exit_code == 0;
}

// pdfsig (poppler-utils), the PDF signature checker people have.
t::CommandResult pdfsig(const fs::path& pdf) {
    const auto r = t::run_command({"pdfsig", pdf.string()});
    REQUIRE_MESSAGE((r.exit_code == 0 || contains(r.out, "Signature #1")), "pdfsig failed: " << r.out << r.err);
    return r;
}

// Where renders for people to look at are kept (build/test-output/<name>).
fs::path test_output(const std::string& name) {
    const char* bin = std::getenv("WORM_BINARY_DIR");
    const fs::path dir = fs::path(bin ? bin : ".") / "test-output" / name;
    fs::create_directories(dir);
    return dir;
}

// root/audit/report.json from a clean audit of n signed bundles.
fs::path clean_report(t::EvidenceFixture& ev, const fs::path& root, int n) {
    ev.make_bundles(n);
    REQUIRE(worm_cli({"audit", "--dir", ev.evidence_dir().string(), "--key", ev.keys().public_key.string(), "--out",
                      (root / "audit").string()})
                .exit_code == 0);
    return root / "audit" / "report.json";
}

// A report from an audit of three bundles, one of them without a signature (result "failures").
fs::path report_with_a_failure(t::EvidenceFixture& ev, const fs::path& root) {
    const auto b = ev.make_bundles(3);
    fs::remove(b[0].sig);
    const auto r = worm_cli({"audit", "--dir", ev.evidence_dir().string(), "--key", ev.keys().public_key.string(),
                             "--out", (root / "audit").string()});
    REQUIRE(r.exit_code == 1);
    return root / "audit" / "report.json";
}

// `worm certificate issue` over the clean report under root/audit into root/cert; returns
// the command's JSON answer (certificate_id, key_fingerprint, ...).
rapidjson::Document issue_certificate(t::EvidenceFixture& ev, const fs::path& root) {
    const auto issued = worm_cli({"certificate", "issue", "--report", (root / "audit" / "report.json").string(), "--key",
                                  ev.keys().private_key.string(), "--out", (root / "cert").string()});
    REQUIRE_MESSAGE(issued.exit_code == 0, issued.err);
    return t::parse_json(issued.out);
}

}  // namespace

TEST_CASE("audit --dir: a clean evidence directory is clean; report.json and report.html are written") {
    t::TempDir tmp("worm-audit");
    t::EvidenceFixture ev(tmp.path());
    ev.make_bundles(3);
    const auto r = worm_cli({"audit", "--dir", ev.evidence_dir().string(), "--key", ev.keys().public_key.string(),
                             "--out", (tmp / "out").string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
    CHECK(contains(r.out, "clean: 3 bundles"));
    const auto report = read_json(tmp / "out" / "report.json");
    CHECK(std::string(report["result"].GetString()) == "clean");
    CHECK(inventory(report, "bundles") == 3);
    CHECK(inventory(report, "bundles_ok") == 3);
    CHECK(inventory(report, "objects") == 6);
    CHECK(report["failures"].Size() == 0);
    CHECK(fs::exists(tmp / "out" / "report.html"));
}

TEST_CASE("audit --dir names an edited bundle, a missing signature and an orphan signature, and nothing else") {
    t::TempDir tmp("worm-audit");
    t::EvidenceFixture ev(tmp.path());
    const auto b = ev.make_bundles(6);
    t::EvidenceFixture::edit_one_byte(b[1].json);
    fs::remove(b[2].sig);
    fs::remove(b[3].json);
    const auto r = worm_cli({"audit", "--dir", ev.evidence_dir().string(), "--key", ev.keys().public_key.string(),
                             "--workers", "3", "--out", (tmp / "out").string()});
    CHECK_MESSAGE(r.exit_code == 1, r.out << r.err);
    const auto report = read_json(tmp / "out" / "report.json");
    const auto failures = failures_by_key(report);
    const std::string edited = b[1].json.filename().string(), unsigned_ = b[2].json.filename().string(),
                      orphan = b[3].sig.filename().string();
    CHECK(failures.size() == 3);
    CHECK(failures.at(edited) == std::set<std::string>{"hash", "signature"});
    CHECK(failures.at(unsigned_) == std::set<std::string>{"missing_signature"});
    CHECK(failures.at(orphan) == std::set<std::string>{"orphan_signature"});
    CHECK(inventory(report, "bundles") == 5);
    CHECK(inventory(report, "bundles_ok") == 3);
    CHECK(inventory(report, "missing_signatures") == 1);
    CHECK(inventory(report, "orphan_signatures") == 1);
    for (const auto& key : {edited, unsigned_, orphan}) CHECK(contains(r.out, key));
}

TEST_CASE("audit of a local WORM store: edited, unsigned and short-retention objects are named, nothing else") {
    t::TempDir tmp("worm-audit");
    t::EvidenceFixture ev(tmp.path());
    const auto b = ev.make_bundles(6);
    LocalWormStore store(tmp / "store");
    const std::string prefix = "evidence/";
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (i == 1) t::EvidenceFixture::edit_one_byte(b[i].json);  // stored after an edit: the .sig no longer fits
        const int days = i == 3 ? 30 : 120;                         // shorter than the 90-day policy
        t::EvidenceFixture::put_locked(store, t::EvidenceFixture::object_key(prefix, b[i], ".json"), b[i].json, days);
        if (i != 2) t::EvidenceFixture::put_locked(store, t::EvidenceFixture::object_key(prefix, b[i], ".sig"), b[i].sig, days);
    }
    const std::string url = "file://" + (tmp / "store").string();
    const auto r = worm_cli({"audit", "--store", url, "--prefix", prefix, "--key", ev.keys().public_key.string(),
                             "--out", (tmp / "out").string()});
    CHECK_MESSAGE(r.exit_code == 1, r.out << r.err);
    const auto report = read_json(tmp / "out" / "report.json");
    const auto failures = failures_by_key(report);
    const std::string edited = t::EvidenceFixture::object_key(prefix, b[1], ".json");
    const std::string unsigned_ = t::EvidenceFixture::object_key(prefix, b[2], ".json");
    const std::string short_json = t::EvidenceFixture::object_key(prefix, b[3], ".json");
    const std::string short_sig = t::EvidenceFixture::object_key(prefix, b[3], ".sig");
    // Three bundles: the short-retention one is named for its .json and its .sig.
    CHECK(failures.size() == 4);
    CHECK(failures.at(edited) == std::set<std::string>{"hash", "signature"});
    CHECK(failures.at(unsigned_) == std::set<std::string>{"missing_signature"});
    CHECK(failures.at(short_json) == std::set<std::string>{"retention_short"});
    CHECK(failures.at(short_sig) == std::set<std::string>{"retention_short"});
    CHECK(report["inventory"]["modes"]["COMPLIANCE"].GetInt64() == 6);
    CHECK(report["inventory"]["earliest_retain_until"].IsString());

    SUBCASE("the same store with the policy at 30 days: only the edited and the unsigned bundle") {
        const auto r30 = worm_cli({"audit", "--store", url, "--prefix", prefix, "--key", ev.keys().public_key.string(),
                                   "--min-retention-days", "30", "--out", (tmp / "out30").string()});
        CHECK(r30.exit_code == 1);
        const auto f30 = failures_by_key(read_json(tmp / "out30" / "report.json"));
        CHECK(f30.size() == 2);
        CHECK(f30.count(edited) == 1);
        CHECK(f30.count(unsigned_) == 1);
    }
}

TEST_CASE("audit: the date range, the registry comparison, and usage errors") {
    t::TempDir tmp("worm-audit");
    t::EvidenceFixture ev(tmp.path());
    const auto b = ev.make_bundles(2);
    const std::string key = ev.keys().public_key.string();
    const std::string day = b[0].bundle_id.substr(3, 4) + "-" + b[0].bundle_id.substr(7, 2) + "-" + b[0].bundle_id.substr(9, 2);

    SUBCASE("bundles outside --from/--to are not audited") {
        auto r = worm_cli({"audit", "--dir", ev.evidence_dir().string(), "--key", key, "--from", day, "--to", day,
                           "--out", (tmp / "in").string()});
        CHECK(r.exit_code == 0);
        CHECK(inventory(read_json(tmp / "in" / "report.json"), "bundles") == 2);
        r = worm_cli({"audit", "--dir", ev.evidence_dir().string(), "--key", key, "--to", "2001-01-01", "--out",
                      (tmp / "out").string()});
        CHECK(r.exit_code == 0);
        CHECK(inventory(read_json(tmp / "out" / "report.json"), "bundles") == 0);
    }
    SUBCASE("a bundle whose bytes differ from the registry's hash is named") {
        // The registry records the hashes of the files as signed; a copy of the evidence
        // directory where one bundle was edited and re-signed by another key disagrees.
        compliance::AuditOptions o;
        o.directory = ev.evidence_dir();
        o.public_key = load_public_key(ev.keys().public_key);
        o.registry_dir = tmp / "registry";
        CHECK_THROWS_AS(compliance::audit(o), Error);  // no registry there
        {
            fs::create_directories(tmp / "registry");
            UploadRegistry registry(tmp / "registry");
            for (const auto& x : b) {
                RegistryRecord record;
                record.bundle_id = x.bundle_id;
                record.client_id = "clinic-001";
                record.bundle_path = x.json.string();
                record.sig_path = x.sig.string();
                record.bundle_sha256 = to_hex(sha256_file(x.json));
                record.sig_sha256 = to_hex(sha256_file(x.sig));
                registry.add_pending(record);
            }
        }
        CHECK(compliance::audit(o).clean());
        t::EvidenceFixture::edit_one_byte(b[0].json);
        const auto report = compliance::audit(o);
        std::set<std::string> checks;
        for (const auto& f : report.failures) checks.insert(f.check);
        CHECK(checks == std::set<std::string>{"hash", "sha256_registry", "signature"});
    }
    SUBCASE("usage errors exit 2 and name the problem") {
        auto r = worm_cli({"audit", "--key", key, "--out", (tmp / "x").string()});
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, "--store URL or --dir DIR"));
        r = worm_cli({"audit", "--dir", ev.evidence_dir().string(), "--key", key, "--workers", "0", "--out",
                      (tmp / "x").string()});
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, "--workers"));
        r = worm_cli({"audit", "--dir", (tmp / "nope").string(), "--key", key, "--out", (tmp / "x").string()});
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, "does not exist"));
        r = worm_cli({"audit", "--dir", ev.evidence_dir().string(), "--key", key, "--from", "yesterday", "--out",
                      (tmp / "x").string()});
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, "yesterday"));
    }
}

TEST_CASE("report.html renders in headless chromium and its summary states report.json's numbers") {
    t::TempDir tmp("worm-audit");
    t::EvidenceFixture ev(tmp.path());
    const auto b = ev.make_bundles(4);
    LocalWormStore store(tmp / "store");
    for (std::size_t i = 0; i < b.size(); ++i) {
        const int days = i == 0 ? 30 : 100 + 40 * static_cast<int>(i);  // three months in the chart
        t::EvidenceFixture::put_locked(store, t::EvidenceFixture::object_key("evidence/", b[i], ".json"), b[i].json, days);
        if (i != 1) t::EvidenceFixture::put_locked(store, t::EvidenceFixture::object_key("evidence/", b[i], ".sig"), b[i].sig, days);
    }
    const auto r = worm_cli({"audit", "--store", "file://" + (tmp / "store").string(), "--key",
                             ev.keys().public_key.string(), "--out", (tmp / "out").string()});
    REQUIRE(r.exit_code == 1);
    const auto report = read_json(tmp / "out" / "report.json");
    const std::string html = t::read_file(tmp / "out" / "report.html");
    // Self-contained: nothing to fetch, nothing to run.
    CHECK_FALSE(contains(html, "<script"));
    CHECK_FALSE(std::regex_search(html, std::regex(R"((src|href)\s*=)")));

    t::TempDir profile("worm-chromium");
    const auto dom = t::run_command({"timeout", "120", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                     "--no-first-run", "--user-data-dir=" + profile.path().string(), "--dump-dom",
                                     "file://" + (tmp / "out" / "report.html").string()});
    REQUIRE_MESSAGE(dom.exit_code == 0, "chromium (scripts/install-deps.sh --with-peers) failed: " << dom.err);
    auto cell = [&](const std::string& id) {
        std::smatch m;
        const std::regex re("id=\"" + id + "\">([^<]*)<");
        if (!std::regex_search(dom.out, m, re)) FAIL("no #" << id << " in the rendered DOM");
        return m[1].str();
    };
    // The summary comes first in the rendered page.
    CHECK(dom.out.find("id=\"summary\"") < dom.out.find("id=\"failure-list\""));
    CHECK(dom.out.find("id=\"failure-list\"") < dom.out.find("id=\"retain-until-chart\""));
    CHECK(cell("bundles") == std::to_string(inventory(report, "bundles")));
    CHECK(cell("bundles-ok") == std::to_string(inventory(report, "bundles_ok")));
    CHECK(cell("bundles-failed") == std::to_string(inventory(report, "bundles_failed")));
    CHECK(cell("failures") == std::to_string(report["failures"].Size()));
    CHECK(cell("missing-signatures") == std::to_string(inventory(report, "missing_signatures")));
    CHECK(cell("manifest-sha256") == report["manifest_sha256"].GetString());
    CHECK(cell("earliest-retain-until") == report["inventory"]["earliest_retain_until"].GetString());
    // One bar per retain-until month, with the report's counts.
    std::int64_t bars = 0;
    for (const auto& m : report["retain_until_by_month"].GetObject()) {
        ++bars;
        CHECK(contains(dom.out, "data-month=\"" + std::string(m.name.GetString()) + "\" data-count=\"" +
                                    std::to_string(m.value.GetInt64()) + "\""));
    }
    CHECK(bars >= 3);
    for (const auto& f : report["failures"].GetArray()) CHECK(contains(dom.out, f["key"].GetString()));
}

TEST_CASE("certificate: issued from a report, verified by worm and by openssl; a one-byte edit is caught") {
    t::TempDir tmp("worm-cert");
    t::EvidenceFixture ev(tmp.path());
    clean_report(ev, tmp.path(), 3);
    const fs::path cert = tmp / "cert";
    const auto out = issue_certificate(ev, tmp.path());
    const std::string id = t::str(out, "certificate_id");
    const std::string fingerprint = t::str(out, "key_fingerprint");

    auto verify = [&] { return worm_cli({"certificate", "verify", "--key", ev.keys().public_key.string(), cert.string()}); };
    const auto ok = verify();
    CHECK_MESSAGE(ok.exit_code == 0, ok.out << ok.err);
    CHECK(contains(ok.out, id));
    CHECK(openssl_verifies(ev.keys().public_key, cert / "certificate.json", cert / "certificate.sig"));
    CHECK(openssl_verifies(ev.keys().public_key, cert / "certificate.pdf", cert / "certificate.pdf.sig"));

    // The JSON carries the fields the issue lists.
    const auto json = read_json(cert / "certificate.json");
    for (const char* field : {"certificate_id", "issued_at", "valid_until", "tool", "store", "bucket_verification",
                              "inventory", "manifest_sha256", "failures", "statement", "signing_key_fingerprint"})
        CHECK_MESSAGE(json.HasMember(field), field);
    CHECK(contains(json["statement"].GetString(), "not a statement of legal"));
    const std::string key_der_sha = t::run_command({"sh", "-c", "openssl pkey -pubin -in '" + ev.keys().public_key.string() +
                                                                    "' -outform DER | sha256sum"})
                                        .out.substr(0, 64);
    CHECK(fingerprint == "sha256:" + key_der_sha);

    // The PDF states the id, the key and the figures (read back by poppler's pdftotext).
    const auto text = t::run_command({"pdftotext", "-layout", (cert / "certificate.pdf").string(), "-"});
    REQUIRE_MESSAGE(text.exit_code == 0, "pdftotext (poppler-utils) failed: " << text.err);
    CHECK(contains(text.out, id));
    CHECK(contains(text.out, fingerprint));
    CHECK(contains(text.out, json["manifest_sha256"].GetString()));
    CHECK(std::regex_search(text.out, std::regex(R"(Bundles audited:\s+3\b)")));
    CHECK(std::regex_search(text.out, std::regex(R"(Failures found:\s+0\b)")));

    SUBCASE("one byte of certificate.json changed") {
        t::EvidenceFixture::edit_one_byte(cert / "certificate.json");
        const auto bad = verify();
        CHECK(bad.exit_code == 1);
        CHECK(contains(bad.out, "certificate.sig:     INVALID"));
        CHECK_FALSE(openssl_verifies(ev.keys().public_key, cert / "certificate.json", cert / "certificate.sig"));
    }
    SUBCASE("one byte of certificate.pdf changed") {
        std::string pdf = t::read_file(cert / "certificate.pdf");
        pdf[pdf.size() / 2] = static_cast<char>(pdf[pdf.size() / 2] ^ 0x01);
        t::write_file(cert / "certificate.pdf", pdf);
        const auto bad = verify();
        CHECK(bad.exit_code == 1);
        CHECK(contains(bad.out, "certificate.pdf.sig: INVALID"));
    }
    SUBCASE("a PDF from another certificate, signed by the same key, does not state this JSON") {
        // Issue a second certificate (another id) and move its signed PDF in.
        const fs::path other = tmp / "other";
        REQUIRE(worm_cli({"certificate", "issue", "--report", (tmp / "audit" / "report.json").string(), "--key",
                          ev.keys().private_key.string(), "--validity-days", "30", "--out", other.string()})
                    .exit_code == 0);
        fs::copy_file(other / "certificate.pdf", cert / "certificate.pdf", fs::copy_options::overwrite_existing);
        fs::copy_file(other / "certificate.pdf.sig", cert / "certificate.pdf.sig", fs::copy_options::overwrite_existing);
        const auto bad = verify();
        CHECK(bad.exit_code == 1);
        CHECK(contains(bad.out, "PDF states the JSON: NO"));
    }
    SUBCASE("an edited report is refused, and an existing certificate is not replaced") {
        std::string report = t::read_file(tmp / "audit" / "report.json");
        const auto at = report.find("\"sha256\": \"") + 11;
        report[at] = report[at] == 'a' ? 'b' : 'a';
        t::write_file(tmp / "edited.json", report);
        auto r = worm_cli({"certificate", "issue", "--report", (tmp / "edited.json").string(), "--key",
                           ev.keys().private_key.string(), "--out", (tmp / "c2").string()});
        CHECK(r.exit_code != 0);
        CHECK(contains(r.err, "edited"));
        CHECK_FALSE(fs::exists(tmp / "c2" / "certificate.json"));
        r = worm_cli({"certificate", "issue", "--report", (tmp / "audit" / "report.json").string(), "--key",
                      ev.keys().private_key.string(), "--out", cert.string()});
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, "already exists"));
    }
}

TEST_CASE("Sigstore bundle: written by worm bundle --sigstore, accepted by worm verify and by @sigstore/verify 3.0.0") {
    t::TempDir tmp("worm-sigstore");
    t::EvidenceFixture ev(tmp.path());
    const auto b = ev.make_bundles(1, /*sigstore=*/true).at(0);
    const fs::path sigstore = compliance::sigstore_path_for(b.json);
    REQUIRE(fs::exists(sigstore));
    const auto bundle = read_json(sigstore);
    CHECK(std::string(bundle["mediaType"].GetString()) == "application/vnd.dev.sigstore.bundle.v0.3+json");
    CHECK(std::string(bundle["messageSignature"]["messageDigest"]["algorithm"].GetString()) == "SHA2_256");
    CHECK(bundle["verificationMaterial"]["tlogEntries"].Size() == 0);
    // The signature is the .sig's: Ed25519 is deterministic.
    CHECK(std::string(bundle["messageSignature"]["signature"].GetString()) + "\n" == t::read_file(b.sig));

    // worm verify takes the .sigstore.json instead of the .sig, and falls back to it.
    auto r = worm_cli({"verify", "--key", ev.keys().public_key.string(), b.json.string(), sigstore.string()});
    CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
    fs::remove(b.sig);
    r = worm_cli({"verify", "--key", ev.keys().public_key.string(), b.json.string()});
    CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
    // ... and so does the audit.
    r = worm_cli({"audit", "--dir", ev.evidence_dir().string(), "--key", ev.keys().public_key.string(), "--out",
                  (tmp / "audit").string()});
    CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
    CHECK(std::string(read_json(tmp / "audit" / "report.json")["bundles"][0]["signature_key"].GetString()) ==
          sigstore.filename().string());

    // With both a .sig and a .sigstore.json, the audit checks both.
    const auto second = ev.make_bundles(1, /*sigstore=*/true).at(0);
    t::write_file(compliance::sigstore_path_for(second.json), t::read_file(sigstore));  // another file's bundle
    r = worm_cli({"audit", "--dir", ev.evidence_dir().string(), "--key", ev.keys().public_key.string(), "--out",
                  (tmp / "audit2").string()});
    CHECK(r.exit_code == 1);
    CHECK(contains(r.out, compliance::sigstore_path_for(second.json).filename().string() + ": signature:"));

    // The independent verifier: sigstore-js's @sigstore/verify, public key + message signature path.
    const fs::path npm_dir = fs::path(t::env_or("WORM_BINARY_DIR", tmp.path().string())) / "npm-sigstore-verify-3.0.0";
    if (!fs::exists(npm_dir / "node_modules" / "@sigstore" / "verify" / "package.json")) {
        const auto install = t::run_command({"npm", "install", "--prefix", npm_dir.string(), "--no-audit", "--no-fund",
                                             "--no-save", "@sigstore/verify@3.0.0"});
        REQUIRE_MESSAGE(install.exit_code == 0, "npm install @sigstore/verify@3.0.0 failed: " << install.err);
    }
    const fs::path script = tmp / "verify.js";
    t::write_file(script, R"JS(
const fs = require('fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');
const { crypto } = require('@sigstore/core');
const [bundlePath, artifactPath, pemPath, expectedHint] = process.argv.slice(2);
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
const keys = (hint) => {
  if (hint !== expectedHint) throw new Error('unknown key hint ' + hint);
  return { publicKey: crypto.createPublicKey(fs.readFileSync(pemPath, 'utf8')), validFor: () => true };
};
const trust = toTrustMaterial({ certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] }, keys);
const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, tsaThreshold: 0 });
verifier.verify(toSignedEntity(bundle, fs.readFileSync(artifactPath)));
console.log('verified');
)JS");
    const std::string hint = bundle["verificationMaterial"]["publicKey"]["hint"].GetString();
    const std::vector<std::string> node_env{"NODE_PATH=" + (npm_dir / "node_modules").string()};
    auto node = [&](const fs::path& artifact) {
        return t::run_command({"node", script.string(), sigstore.string(), artifact.string(),
                               ev.keys().public_key.string(), hint},
                              node_env);
    };
    const auto good = node(b.json);
    CHECK_MESSAGE(good.exit_code == 0, good.err);
    CHECK(contains(good.out, "verified"));

    // A one-byte edit of the bundle: both verifiers refuse it.
    t::EvidenceFixture::edit_one_byte(b.json);
    const auto bad = node(b.json);
    CHECK(bad.exit_code != 0);
    CHECK(contains(bad.err, "signature verification failed"));
    r = worm_cli({"verify", "--key", ev.keys().public_key.string(), b.json.string(), sigstore.string()});
    CHECK(r.exit_code == 1);
}

TEST_CASE("check_sigstore_bundle refuses another key, a wrong digest and a foreign media type") {
    const auto key = Ed25519PrivateKey::generate();
    const auto other = Ed25519PrivateKey::generate();
    const std::string data = "{\"a\":1}\n";
    const std::string bundle = compliance::make_sigstore_bundle(key, data);
    CHECK(compliance::check_sigstore_bundle(key.public_key(), data, bundle).valid);
    const auto wrong_key = compliance::check_sigstore_bundle(other.public_key(), data, bundle);
    CHECK_FALSE(wrong_key.valid);
    CHECK(contains(wrong_key.reason, "names key"));
    CHECK_FALSE(compliance::check_sigstore_bundle(key.public_key(), data + " ", bundle).valid);
    std::string foreign = bundle;
    foreign.replace(foreign.find("v0.3"), 4, "v9.9");
    CHECK(contains(compliance::check_sigstore_bundle(key.public_key(), data, foreign).reason, "mediaType"));
    CHECK_FALSE(compliance::check_sigstore_bundle(key.public_key(), data, "not json").valid);
}

TEST_CASE("certificate.pdf is signed inside: pdfsig finds it valid over the whole file, and a one-byte edit is reported") {
    t::TempDir tmp("worm-cert-sig");
    t::EvidenceFixture ev(tmp.path());
    clean_report(ev, tmp.path(), 2);
    const fs::path cert = tmp / "cert";
    const auto out = issue_certificate(ev, tmp.path());
    const std::string id = t::str(out, "certificate_id");

    const auto sig = pdfsig(cert / "certificate.pdf");
    CHECK_MESSAGE(contains(sig.out, "Signature Validation: Signature is Valid."), sig.out);
    CHECK_MESSAGE(contains(sig.out, "Total document signed"), sig.out);
    CHECK(contains(sig.out, "adbe.pkcs7.detached"));
    CHECK(contains(sig.out, "libworm certificate " + id));
    // Self-signed: valid, but nobody has said to trust its issuer (docs/compliance.md).
    CHECK_MESSAGE(contains(sig.out, "Certificate Validation: Certificate issuer is unknown."), sig.out);
    // openssl agrees on the signer certificate written beside it, and certificate.json names it.
    const auto fp = t::run_command({"openssl", "x509", "-in", (cert / "certificate.signer.pem").string(), "-noout",
                                    "-fingerprint", "-sha256"});
    REQUIRE(fp.exit_code == 0);
    std::string hex;
    for (const char c : fp.out.substr(fp.out.find('=') + 1))
        if (std::isxdigit(static_cast<unsigned char>(c))) hex += static_cast<char>(std::tolower(c));
    const auto json = read_json(cert / "certificate.json");
    CHECK(std::string(json["pdf_signature"]["certificate_sha256"].GetString()) == "sha256:" + hex);
    CHECK(t::str(out, "pdf_signer_fingerprint") == "sha256:" + hex);
    // The .sig files stay for openssl users; worm verify checks the embedded signature too.
    CHECK(openssl_verifies(ev.keys().public_key, cert / "certificate.pdf", cert / "certificate.pdf.sig"));
    const auto ok = worm_cli({"certificate", "verify", "--key", ev.keys().public_key.string(), cert.string()});
    CHECK_MESSAGE(ok.exit_code == 0, ok.out << ok.err);

    SUBCASE("one byte of the drawn page changed") {
        std::string pdf = t::read_file(cert / "certificate.pdf");
        const std::size_t at = pdf.find("/Title (");  // in the signed range, before the update
        REQUIRE(at != std::string::npos);
        pdf[at + 8] = static_cast<char>(pdf[at + 8] ^ 0x01);
        t::write_file(cert / "certificate.pdf", pdf);
        const auto bad = pdfsig(cert / "certificate.pdf");
        CHECK_FALSE(contains(bad.out, "Signature is Valid."));
        CHECK_MESSAGE(contains(bad.out, "Digest Mismatch"), bad.out);
        const auto v = worm_cli({"certificate", "verify", "--key", ev.keys().public_key.string(), cert.string()});
        CHECK(v.exit_code == 1);
        CHECK(contains(v.out, "PDF's own signature: INVALID"));
    }
    SUBCASE("bytes appended after the signature") {
        std::string pdf = t::read_file(cert / "certificate.pdf");
        t::write_file(cert / "certificate.pdf", pdf + "\n% appended\n");
        const auto bad = pdfsig(cert / "certificate.pdf");
        CHECK_FALSE(contains(bad.out, "Total document signed"));
        CHECK(worm_cli({"certificate", "verify", "--key", ev.keys().public_key.string(), cert.string()}).exit_code == 1);
    }
}

TEST_CASE("certificate.pdf signed with the user's RSA certificate; a key that is not the certificate's is refused") {
    t::TempDir tmp("worm-cert-user");
    t::EvidenceFixture ev(tmp.path());
    clean_report(ev, tmp.path(), 1);
    const auto mk = [&](const std::string& name) {
        return t::run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                               (tmp / (name + ".key")).string(), "-out", (tmp / (name + ".pem")).string(), "-days",
                               "30", "-subj", "/CN=Compliance Officer " + name + "/O=FireMode"});
    };
    REQUIRE(mk("a").exit_code == 0);
    REQUIRE(mk("b").exit_code == 0);
    const std::string report = (tmp / "audit" / "report.json").string();
    const auto issued = worm_cli({"certificate", "issue", "--report", report, "--key", ev.keys().private_key.string(),
                                  "--signing-cert", (tmp / "a.pem").string(), "--signing-key", (tmp / "a.key").string(),
                                  "--out", (tmp / "cert").string()});
    REQUIRE_MESSAGE(issued.exit_code == 0, issued.err);
    const auto sig = pdfsig(tmp / "cert" / "certificate.pdf");
    CHECK_MESSAGE(contains(sig.out, "Signature is Valid."), sig.out);
    CHECK(contains(sig.out, "Compliance Officer a"));
    CHECK(read_json(tmp / "cert" / "certificate.json")["pdf_signature"]["self_signed"].GetBool() == false);

    auto r = worm_cli({"certificate", "issue", "--report", report, "--key", ev.keys().private_key.string(),
                       "--signing-cert", (tmp / "a.pem").string(), "--signing-key", (tmp / "b.key").string(), "--out",
                       (tmp / "c2").string()});
    CHECK(r.exit_code != 0);
    CHECK(contains(r.err, "is not the private key of the certificate"));
    CHECK_FALSE(fs::exists(tmp / "c2" / "certificate.json"));
    r = worm_cli({"certificate", "issue", "--report", report, "--key", ev.keys().private_key.string(), "--signing-cert",
                  (tmp / "a.pem").string(), "--out", (tmp / "c3").string()});
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "--signing-key"));
}

TEST_CASE("certificate issue recomputes the result: a report edited to say clean is refused") {
    t::TempDir tmp("worm-cert-edit");
    t::EvidenceFixture ev(tmp.path());
    const fs::path report_path = report_with_a_failure(ev, tmp.path());
    const std::string original = t::read_file(report_path);
    const auto key = ev.keys().private_key.string();
    auto issue = [&](const std::string& text, const std::string& out) {
        t::write_file(tmp / (out + ".json"), text);
        return worm_cli({"certificate", "issue", "--report", (tmp / (out + ".json")).string(), "--key", key, "--out",
                         (tmp / out).string()});
    };
    auto replaced = [&](std::string text, const std::string& from, const std::string& to) {
        const auto at = text.find(from);
        REQUIRE_MESSAGE(at != std::string::npos, from);
        return text.replace(at, from.size(), to);
    };
    // The honest report: issued, and not clean.
    const auto honest = issue(original, "honest");
    REQUIRE_MESSAGE(honest.exit_code == 0, honest.err);
    CHECK(contains(honest.out, "\"clean\":false"));

    SUBCASE("result edited") {
        const auto r = issue(replaced(original, "\"result\": \"failures\"", "\"result\": \"clean\""), "c1");
        CHECK(r.exit_code != 0);
        CHECK_MESSAGE(contains(r.err, "inconsistent: its result says \"clean\" but its failures and checks make it \"failures\""),
                      r.err);
        CHECK_FALSE(fs::exists(tmp / "c1" / "certificate.json"));
    }
    SUBCASE("failures removed and result edited: the inventory still counts them") {
        rapidjson::Document doc = t::parse_json(original);
        doc["failures"].Clear();
        doc["result"].SetString("clean");
        const auto r = issue(json::to_pretty(doc), "c2");
        CHECK(r.exit_code != 0);
        CHECK_MESSAGE(contains(r.err, "inventory.failures says 1 but the report lists 0 failures"), r.err);
    }
    SUBCASE("a failed bundle marked ok") {
        rapidjson::Document doc = t::parse_json(original);
        for (auto& b : doc["bundles"].GetArray()) b["ok"].SetBool(true);
        const auto r = issue(json::to_pretty(doc), "c3");
        CHECK(r.exit_code != 0);
        CHECK(contains(r.err, "is marked ok but a failure names it"));
    }
}

TEST_CASE("report.html and certificate.pdf read as words for an auditor; PNG renders kept in test-output") {
    t::TempDir tmp("worm-wording");
    t::EvidenceFixture ev(tmp.path());
    const auto b = ev.make_bundles(3);
    LocalWormStore store(tmp / "store");
    for (std::size_t i = 0; i < b.size(); ++i) {
        t::EvidenceFixture::put_locked(store, t::EvidenceFixture::object_key("evidence/", b[i], ".json"), b[i].json,
                                       i == 0 ? 30 : 400);
        t::EvidenceFixture::put_locked(store, t::EvidenceFixture::object_key("evidence/", b[i], ".sig"), b[i].sig, 400);
    }
    const auto r = worm_cli({"audit", "--store", "file://" + (tmp / "store").string(), "--key",
                             ev.keys().public_key.string(), "--out", (tmp / "out").string()});
    REQUIRE(r.exit_code == 1);
    const std::string html = t::read_file(tmp / "out" / "report.html");
    CHECK(contains(html, "<td id=\"range\">all dates</td>"));
    CHECK_FALSE(contains(html, "- to -"));
    for (const std::string section : {"<h2>Storage</h2>", "<h2>Retention</h2>", "<h2>Recommendations</h2>",
                                      "<h2>Failures</h2>", "<h2>Checks</h2>"})
        CHECK_MESSAGE(contains(html, section), section);
    CHECK(contains(html, "<td id=\"mode-COMPLIANCE\">3</td>"));
    CHECK(contains(html, "Apply the required Object Lock retention"));  // retention_short's recommendation

    const auto issued = worm_cli({"certificate", "issue", "--report", (tmp / "out" / "report.json").string(), "--key",
                                  ev.keys().private_key.string(), "--out", (tmp / "cert").string()});
    REQUIRE_MESSAGE(issued.exit_code == 0, issued.err);
    const auto text = t::run_command({"pdftotext", "-layout", (tmp / "cert" / "certificate.pdf").string(), "-"});
    REQUIRE(text.exit_code == 0);
    CHECK(std::regex_search(text.out, std::regex(R"(Date range:\s+all dates)")));
    CHECK(std::regex_search(text.out, std::regex(R"(Lock modes:\s+Lock mode\s+Bundles)")));
    CHECK(std::regex_search(text.out, std::regex(R"(COMPLIANCE\s+3\b)")));
    CHECK(std::regex_search(text.out, std::regex(R"(Not locked\s+0\b)")));
    for (const std::string heading : {"Storage", "Retention", "Recommendations", "Failures: 1", "Signatures"})
        CHECK_MESSAGE(contains(text.out, heading), heading);
    // No raw JSON, no snake_case labels.
    CHECK_FALSE(contains(text.out, "{\""));
    CHECK_FALSE(std::regex_search(text.out, std::regex(R"(\b(bundles_ok|bundles_failed|missing_signatures|legal_holds|earliest_retain_until):)")));

    // Renders for people (and for the reviewer's eyes): the PDF's pages and the HTML page.
    const fs::path renders = test_output("auditor-wording");
    for (const auto& f : fs::directory_iterator(renders)) fs::remove(f.path());
    const auto png = t::run_command({"pdftoppm", "-png", "-r", "70", (tmp / "cert" / "certificate.pdf").string(),
                                     (renders / "certificate").string()});
    REQUIRE_MESSAGE(png.exit_code == 0, png.err);
    CHECK(fs::exists(renders / "certificate-1.png"));
    t::TempDir profile("worm-chromium");
    const auto shot = t::run_command({"timeout", "120", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                      "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                      "--no-first-run", "--user-data-dir=" + profile.path().string(),
                                      "--window-size=1100,1800", "--screenshot=" + (renders / "report.png").string(),
                                      "file://" + (tmp / "out" / "report.html").string()});
    REQUIRE_MESSAGE(shot.exit_code == 0, shot.err);
    CHECK(fs::file_size(renders / "report.png") > 10000);
}

