// Compliance commands for auditors: `worm audit` (evidence audit with report.json and
// report.html), `worm certificate issue` and `worm certificate verify`.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "commands.hpp"
#include "worm/platform_env.hpp"
#include "worm/compliance/audit.hpp"
#include "worm/compliance/certificate.hpp"
#include "worm/json.hpp"
#include "worm/signer.hpp"

namespace worm::cli {

namespace fs = std::filesystem;

namespace {

// A one-line progress bar on stderr, only when stderr is a terminal.
class ProgressBar {
public:
    ProgressBar() : enabled_(::isatty(STDERR_FILENO) == 1) {}
    ~ProgressBar() {
        if (enabled_ && drawn_) std::fputc('\n', stderr);
    }
    void update(const compliance::AuditProgress& p) {
        if (!enabled_ || p.total == 0) return;
        constexpr std::size_t width = 30;
        const std::size_t filled = p.done * width / p.total;
        std::fprintf(stderr, "\r[%s%s] %zu/%zu", std::string(filled, '#').c_str(), std::string(width - filled, ' ').c_str(),
                     p.done, p.total);
        std::fflush(stderr);
        drawn_ = true;
    }

private:
    bool enabled_;
    bool drawn_ = false;
};

int write_and_tell(const ParsedArgs& a, const compliance::AuditReport& report, const fs::path& out);

// Seed 002's reports bucket: --upload-to URL (a bare bucket name is s3://NAME), else
// WORM_REPORTS_BUCKET. nullopt: nothing is uploaded.
std::optional<std::string> reports_destination(const ParsedArgs& a) {
    if (auto url = a.get("--upload-to")) return store_url(*url);
    const std::string env = PlatformEnv::from_env().reports_store();
    if (env.empty()) return std::nullopt;
    return env;
}

// Stores `files` under `key_prefix` write-once and locked like evidence: COMPLIANCE for
// WORM_RETENTION_YEARS (default 7, seed 002's). Returns the URLs written.
std::vector<std::string> upload_locked(const std::string& url, const std::string& key_prefix,
                                       const std::vector<fs::path>& files) {
    const int years = PlatformEnv::from_env().retention_years().value_or(7);
    auto store = open_store(url);
    const TimePoint now = std::chrono::floor<std::chrono::seconds>(system_clock().now());
    std::vector<std::string> written;
    for (const fs::path& file : files) {
        PutOptions o;
        const std::string ext = file.extension().string();
        o.content_type = ext == ".json" ? "application/json" : ext == ".html" ? "text/html; charset=utf-8"
                       : ext == ".pdf"  ? "application/pdf"  : "text/plain";
        // Years as days with the leap days they may hold: never shorter than the years.
        o.lock.retention = Retention{LockMode::compliance, now + std::chrono::days(years * 365 + (years + 3) / 4)};
        o.if_none_match = true;
        const std::string key = key_prefix + file.filename().string();
        store->put(key, PutBody::from_file(file), o);
        written.push_back(url + (url.ends_with('/') ? "" : "/") + key);
    }
    return written;
}

int run_audit(const ParsedArgs& a) {
    compliance::AuditOptions o;
    if (a.has("--store") == a.has("--dir")) throw UsageError("give either --store URL or --dir DIR");
    o.store_url = a.value_or("--store", "");
    o.directory = a.value_or("--dir", "");
    if (!o.directory.empty() && !fs::is_directory(o.directory))
        throw UsageError("evidence directory " + o.directory.string() + " does not exist");
    o.prefix = a.value_or("--prefix", "");
    o.public_key = user_file([&] { return load_public_key(a.require("--key")); });
    if (auto v = a.get("--cosign-key"))
        o.cosign_public_key = user_file([&] { return compliance::CosignPublicKey::load(*v); });
    o.from = date_arg(a, "--from", false);
    o.to = date_arg(a, "--to", true);
    o.registry_dir = a.value_or("--registry", "");
    // The evidence database: --database, else DATABASE_URL (seed 002) for store audits.
    if (auto v = a.get("--database")) {
        if (!o.directory.empty()) throw UsageError("--database compares the database with a store: give --store, not --dir");
        o.database_url = *v;
    } else if (const char* env = std::getenv("DATABASE_URL"); env && *env && o.directory.empty()) {
        o.database_url = env;
    }
    if (auto v = a.get("--workers")) o.workers = whole_number(*v, "--workers", 1, 64);
    if (auto days = days_arg(a, "--min-retention-days", 0)) o.policy.min_retention_days = *days;
    if (auto mode = lock_mode_arg(a)) o.policy.mode = *mode;
    if (a.has("--no-bucket-checks")) o.verify_bucket = false;
    if (auto v = a.get("--shard")) {
        try {
            o.shard = compliance::AuditShard::parse(*v);
        } catch (const Error& e) {
            throw UsageError(std::string("--shard: ") + e.what());
        }
    }
    const fs::path out = a.require("--out");
    ProgressBar bar;
    o.on_progress = [&bar](const compliance::AuditProgress& p) { bar.update(p); };

    // A large audit's report is about a million small strings. The process ends right after
    // writing and printing it, and freeing them one by one cost a tenth of a second per
    // 50,000 bundles on one core with nothing else to run: the report is kept until exit
    // (reachable from a static, so leak checkers do not count it; volatile, or the compiler
    // drops the store nobody reads and LeakSanitizer reports the report) and the system takes
    // the memory back at once.
    static const compliance::AuditReport* volatile kept_until_exit = nullptr;
    kept_until_exit = new compliance::AuditReport(compliance::audit(o));
    return write_and_tell(a, *kept_until_exit, out);
}

// Writes report.json and report.html, prints the summary and the failures; the exit code.
int write_and_tell(const ParsedArgs& a, const compliance::AuditReport& report, const fs::path& out) {
    const fs::path json = compliance::write_audit_report(report, out);
    const auto& inv = report.inventory;
    if (report.shard.count > 1)
        std::cout << "shard " << report.shard.index << "/" << report.shard.count << " (join the shards with worm audit merge)\n";
    std::cout << (report.clean() ? "clean" : "FAILURES") << ": " << inv.bundles << " bundles, " << inv.bundles_ok
              << " verified, " << inv.bundles_failed << " with failures, " << inv.failures << " failures\n";
    for (const auto& f : report.failures) std::cout << "  " << f.key << ": " << f.check << ": " << f.reason << "\n";
    if (!report.bucket_verification_passed) std::cout << "  bucket verification failed (see report.json)\n";
    if (const auto& d = report.database)
        std::cout << "database " << d->url << ": " << d->rows << " rows, " << d->matched << " match, "
                  << d->rows_without_objects << " without object, " << d->objects_without_rows << " objects without row, "
                  << d->sha256_mismatches << " SHA-256 and " << d->retention_mismatches << " retain-until disagreements\n";
    std::cout << "report: " << json.string() << " and " << (out / "report.html").string() << "\n";
    if (const auto destination = reports_destination(a)) {
        std::string stamp = format_rfc3339(system_clock().now());  // 2026-12-06T04:40:00Z -> 20261206T044000Z
        std::erase_if(stamp, [](char c) { return c == '-' || c == ':'; });
        for (const auto& u : upload_locked(*destination, "reports/audit-" + stamp + "/", {json, out / "report.html"}))
            std::cout << "uploaded: " << u << "\n";
    }
    return report.clean() ? exit_ok : exit_verification_failed;
}

// The shards' report.json files into the report of the whole audit.
int run_audit_merge(const ParsedArgs& a) {
    std::vector<compliance::AuditReport> shards;
    for (const std::string& path : a.positionals()) {
        try {
            shards.push_back(compliance::read_audit_report(path));
        } catch (const Error& e) {
            throw UsageError(e.what());
        }
    }
    compliance::AuditReport merged;
    try {
        merged = compliance::merge_audit_reports(shards);
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
    return write_and_tell(a, merged, a.require("--out"));
}

int run_certificate_issue(const ParsedArgs& a) {
    // Seed 002 names the signing key with COMPLIANCE_SIGNING_KEY_PATH.
    std::string key_path = a.value_or("--key", PlatformEnv::from_env().get("COMPLIANCE_SIGNING_KEY_PATH"));
    if (key_path.empty()) throw UsageError("missing required option --key PRIV (or set COMPLIANCE_SIGNING_KEY_PATH)");
    const Ed25519PrivateKey key = user_file([&] { return load_private_key(key_path, key_password_from_env()); });
    compliance::CertificateOptions o;
    o.report_path = a.require("--report");
    o.output_dir = a.require("--out");
    if (auto v = a.get("--validity-days")) o.validity_days = whole_number(*v, "--validity-days", 1, 3650, "days");
    if (a.has("--signing-cert") != a.has("--signing-key"))
        throw UsageError("give --signing-cert and --signing-key together (or neither: a self-signed P-256 certificate)");
    o.signing_cert = a.value_or("--signing-cert", "");
    o.signing_key = a.value_or("--signing-key", "");
    if (!o.signing_key.empty()) o.signing_key_password = key_password_from_env().value_or("");
    const compliance::IssuedCertificate c = user_file([&] { return compliance::issue_certificate(o, key); });
    json::Writer w;
    w.begin_object().member("certificate_id", c.certificate_id).member("clean", c.clean);
    w.member("key_fingerprint", c.key_fingerprint).member("json", c.json_path.string()).member("sig", c.sig_path.string());
    w.member("pdf", c.pdf_path.string()).member("pdf_sig", c.pdf_sig_path.string());
    w.member("pdf_signer", c.pdf_signer_path.string()).member("pdf_signer_subject", c.pdf_signer_subject);
    w.member("pdf_signer_fingerprint", c.pdf_signer_fingerprint).end_object();
    std::cout << w.take() << "\n";
    if (const auto destination = reports_destination(a)) {
        std::vector<fs::path> files{c.json_path, c.sig_path, c.pdf_path, c.pdf_sig_path};
        if (!c.pdf_signer_path.empty()) files.push_back(c.pdf_signer_path);
        for (const auto& u : upload_locked(*destination, "certificates/" + c.certificate_id + "/", files))
            std::cerr << "worm certificate issue: uploaded " << u << "\n";
    }
    return exit_ok;
}

int run_certificate_verify(const ParsedArgs& a) {
    const Ed25519PublicKey key = user_file([&] { return load_public_key(a.require("--key")); });
    const fs::path dir = a.positionals().at(0);
    const compliance::CertificateVerification v = user_file([&] { return compliance::verify_certificate(dir, key); });
    if (v.ok()) {
        std::cout << "valid: " << v.certificate_id
                  << " (certificate.json, certificate.pdf, both .sig files and the PDF's own signature by "
                  << v.pdf_signer_subject << ")\n";
        return exit_ok;
    }
    std::cout << "INVALID: " << dir.string() << "\n";
    std::cout << "  certificate.sig:     " << (v.json_signature_valid ? "ok" : "INVALID") << "\n";
    std::cout << "  certificate.pdf.sig: " << (v.pdf_signature_valid ? "ok" : "INVALID") << "\n";
    std::cout << "  PDF states the JSON: " << (v.pdf_matches_json ? "ok" : "NO") << "\n";
    std::cout << "  PDF's own signature: " << (v.pdf_embedded_signature_valid ? "ok" : "INVALID") << "\n";
    for (const auto& p : v.problems) std::cerr << "worm certificate verify: " << p << "\n";
    return exit_verification_failed;
}

}  // namespace

std::vector<Command> compliance_commands() {
    std::vector<Command> c;
    c.push_back({{"audit", "", "audit stored evidence: hashes, signatures, schema, locks; writes report.json and report.html",
                  {with_help(not_required(store_option), "the store: s3://bucket[/prefix], file:///dir, mcp+https://host"),
                   {"--dir", "DIR", "a local evidence directory instead of a store (no locks to check)"},
                   {"--prefix", "PREFIX", "only keys starting with PREFIX (e.g. evidence/clinic-001/)"},
                   {"--key", "PUB", "Ed25519 public key the evidence was signed with", true},
                   {"--cosign-key", "KEY", "cosign public key (cosign.pub: ECDSA P-256 or Ed25519) for X.json.bundle signatures"},
                   {"--from", "DATE", "first day (YYYY-MM-DD or RFC 3339) of bundles to audit"},
                   {"--to", "DATE", "last day of bundles to audit"},
                   {"--registry", "DIR", "evidence directory whose upload registry the hashes are compared with"},
                   {"--database", "URL", "evidence database to compare with the store both ways: postgresql://... or "
                                         "sqlite:///path (default: DATABASE_URL)"},
                   {"--workers", "N", "parallel downloads and checks (default 4)"},
                   {"--min-retention-days", "N", "policy: retain-until at least upload + N days (default " + std::to_string(default_retention_days) + ")"},
                   with_help(lock_mode_option, "policy: required lock mode (default COMPLIANCE)"),
                   {"--no-bucket-checks", "", "S3: skip the bucket verification section"},
                   {"--shard", "I/N", "audit only shard I (0 .. N-1) of N, split by the bundle key's SHA-256; join with audit merge"},
                   {"--out", "DIR", "where report.json and report.html go", true},

                   {"--upload-to", "URL", "also store what is written here, locked COMPLIANCE (default $WORM_REPORTS_BUCKET)"}},
                  0, 0,
                  "Checks every bundle (.json) and its .sig or .sigstore.json: SHA-256 against the store's checksum,\n"
                  "x-amz-meta-sha256 and the registry; signature, canonical hash and schema; lock mode and\n"
                  "retain-until against the policy; notes legal holds; flags a .json without signature and the\n"
                  "reverse. A bundle's date is the one in its id (EB-YYYYMMDD-NNNN).\n"
                  "Exit 0 clean, 1 failures found (each printed), 2 usage, 3 the store could not be read."},
                 run_audit});
    c.push_back({{"audit merge", "REPORT...", "join the report.json of every shard (audit --shard I/N) into one report",
                  {{"--out", "DIR", "where the merged report.json and report.html go", true}},
                  1, 100000,
                  "Needs every shard 0..N-1 exactly once, all of one source, prefix, range, policy and key.\n"
                  "Bundles, failures and manifest are the union; the inventory and manifest_sha256 are recounted,\n"
                  "so the report (and a certificate issued from it) is the one a single machine would write.\n"
                  "A shard report whose manifest_sha256 does not match its manifest is refused.\n"
                  "Exit 0 clean, 1 failures found, 2 usage (a shard missing, twice, or of another audit)."},
                 run_audit_merge});
    c.push_back({{"certificate issue", "", "issue a signed certificate (JSON + PDF) from an audit's report.json",
                  {{"--report", "FILE", "report.json written by worm audit", true},
                   {"--key", "PRIV", "Ed25519 private key to sign with (default $COMPLIANCE_SIGNING_KEY_PATH)"},
                   {"--validity-days", "N", "how long the certificate is valid (default 365)"},
                   {"--signing-cert", "PEM", "X.509 certificate for the PDF's embedded signature (default: self-signed P-256)"},
                   {"--signing-key", "PEM", "its private key (RSA or EC; password from WORM_KEY_PASSWORD)"},
                   {"--out", "DIR", "directory for certificate.json/.sig and certificate.pdf/.pdf.sig", true},

                   {"--upload-to", "URL", "also store what is written here, locked COMPLIANCE (default $WORM_REPORTS_BUCKET)"}},
                  0, 0,
                  "Prints one JSON object: certificate_id, clean, key_fingerprint, the paths, and the PDF signer.\n"
                  "The PDF is signed inside (CMS, adbe.pkcs7.detached): pdfsig certificate.pdf shows it; with the\n"
                  "default self-signed certificate it says the signer is not trusted, which is expected.\n"
                  "The report must be consistent: an edited result, count or failure list is refused.\n"
                  "Check a signature with openssl alone:\n"
                  "  base64 -d certificate.sig > raw.sig\n"
                  "  openssl pkeyutl -verify -pubin -inkey public.pem -rawin -in certificate.json -sigfile raw.sig"},
                 run_certificate_issue});
    c.push_back({{"certificate verify", "DIR", "check a certificate's two signatures and that its PDF states its JSON",
                  {{"--key", "PUB", "Ed25519 public key of the issuer", true}},
                  1, 1, "Exit 0 when valid, 1 when not (each failing check is named)."},
                 run_certificate_verify});
    return c;
}

}  // namespace worm::cli
