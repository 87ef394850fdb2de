// Compliance commands for auditors: `worm audit` (evidence audit with report.json and
// report.html), `worm certificate issue` and `worm certificate verify`.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "worm/compliance/audit.hpp"
#include "worm/compliance/certificate.hpp"
#include "worm/signer.hpp"

namespace worm::cli {

namespace fs = std::filesystem;

namespace {

// Files the user named are input: a missing one, or an output that is already there,
// is exit 2, not a storage failure.
template <typename F>
auto user_file(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const Error& e) {
        if (e.code() == ErrorCode::not_found || e.code() == ErrorCode::already_exists) throw UsageError(e.what());
        throw;
    }
}

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

int run_audit(const ParsedArgs& a) {
    compliance::AuditOptions o;
    if (a.has("--store") == a.has("--dir")) throw UsageError("give either --store URL or --dir DIR");
    o.store_url = a.value_or("--store", "");
    o.directory = a.value_or("--dir", "");
    if (!o.directory.empty() && !fs::is_directory(o.directory))
        throw UsageError("evidence directory " + o.directory.string() + " does not exist");
    o.prefix = a.value_or("--prefix", "");
    o.public_key = user_file([&] { return load_public_key(a.require("--key")); });
    if (auto v = a.get("--from")) o.from = compliance::parse_audit_date(*v, false);
    if (auto v = a.get("--to")) o.to = compliance::parse_audit_date(*v, true);
    o.registry_dir = a.value_or("--registry", "");
    if (auto v = a.get("--workers")) o.workers = whole_number(*v, "--workers", 1, 64);
    if (auto v = a.get("--min-retention-days")) o.policy.min_retention_days = days_value(*v, "--min-retention-days", 0);
    if (auto v = a.get("--lock-mode")) o.policy.mode = parse_lock_mode(*v);
    if (a.has("--no-bucket-checks")) o.verify_bucket = false;
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
    const compliance::AuditReport& report = *kept_until_exit;
    const fs::path json = compliance::write_audit_report(report, out);
    const auto& inv = report.inventory;
    std::cout << (report.clean() ? "clean" : "FAILURES") << ": " << inv.bundles << " bundles, " << inv.bundles_ok
              << " verified, " << inv.bundles_failed << " with failures, " << inv.failures << " failures\n";
    for (const auto& f : report.failures) std::cout << "  " << f.key << ": " << f.check << ": " << f.reason << "\n";
    if (!report.bucket_verification_passed) std::cout << "  bucket verification failed (see report.json)\n";
    std::cout << "report: " << json.string() << " and " << (out / "report.html").string() << "\n";
    return report.clean() ? exit_ok : exit_verification_failed;
}

int run_certificate_issue(const ParsedArgs& a) {
    const Ed25519PrivateKey key =
        user_file([&] { return load_private_key(a.require("--key"), key_password_from_env()); });
    compliance::CertificateOptions o;
    o.report_path = a.require("--report");
    o.output_dir = a.require("--out");
    if (auto v = a.get("--validity-days")) o.validity_days = whole_number(*v, "--validity-days", 1, 3650, "days");
    const compliance::IssuedCertificate c = user_file([&] { return compliance::issue_certificate(o, key); });
    std::cout << "{\"certificate_id\":" << json_string(c.certificate_id) << ",\"clean\":" << (c.clean ? "true" : "false")
              << ",\"key_fingerprint\":" << json_string(c.key_fingerprint) << ",\"json\":" << json_string(c.json_path)
              << ",\"sig\":" << json_string(c.sig_path) << ",\"pdf\":" << json_string(c.pdf_path)
              << ",\"pdf_sig\":" << json_string(c.pdf_sig_path) << "}\n";
    return exit_ok;
}

int run_certificate_verify(const ParsedArgs& a) {
    const Ed25519PublicKey key = user_file([&] { return load_public_key(a.require("--key")); });
    const fs::path dir = a.positionals().at(0);
    const compliance::CertificateVerification v = user_file([&] { return compliance::verify_certificate(dir, key); });
    if (v.ok()) {
        std::cout << "valid: " << v.certificate_id << " (certificate.json, certificate.pdf and both signatures)\n";
        return exit_ok;
    }
    std::cout << "INVALID: " << dir.string() << "\n";
    std::cout << "  certificate.sig:     " << (v.json_signature_valid ? "ok" : "INVALID") << "\n";
    std::cout << "  certificate.pdf.sig: " << (v.pdf_signature_valid ? "ok" : "INVALID") << "\n";
    std::cout << "  PDF states the JSON: " << (v.pdf_matches_json ? "ok" : "NO") << "\n";
    for (const auto& p : v.problems) std::cerr << "worm certificate verify: " << p << "\n";
    return exit_verification_failed;
}

}  // namespace

std::vector<Command> compliance_commands() {
    std::vector<Command> c;
    c.push_back({{"audit", "", "audit stored evidence: hashes, signatures, schema, locks; writes report.json and report.html",
                  {{"--store", "URL", "the store: s3://bucket[/prefix], file:///dir, mcp+https://host"},
                   {"--dir", "DIR", "a local evidence directory instead of a store (no locks to check)"},
                   {"--prefix", "PREFIX", "only keys starting with PREFIX (e.g. evidence/clinic-001/)"},
                   {"--key", "PUB", "Ed25519 public key the evidence was signed with", true},
                   {"--from", "DATE", "first day (YYYY-MM-DD or RFC 3339) of bundles to audit"},
                   {"--to", "DATE", "last day of bundles to audit"},
                   {"--registry", "DIR", "evidence directory whose upload registry the hashes are compared with"},
                   {"--workers", "N", "parallel downloads and checks (default 4)"},
                   {"--min-retention-days", "N", "policy: retain-until at least upload + N days (default " + std::to_string(default_retention_days) + ")"},
                   {"--lock-mode", "MODE", "policy: required lock mode (default COMPLIANCE)", false, "--mode"},
                   {"--no-bucket-checks", "", "S3: skip the bucket verification section"},
                   {"--out", "DIR", "where report.json and report.html go", true}},
                  0, 0,
                  "Checks every bundle (.json) and its .sig or .sigstore.json: SHA-256 against the store's checksum,\n"
                  "x-amz-meta-sha256 and the registry; signature, canonical hash and schema; lock mode and\n"
                  "retain-until against the policy; notes legal holds; flags a .json without signature and the\n"
                  "reverse. A bundle's date is the one in its id (EB-YYYYMMDD-NNNN).\n"
                  "Exit 0 clean, 1 failures found (each printed), 2 usage, 3 the store could not be read."},
                 run_audit});
    c.push_back({{"certificate issue", "", "issue a signed certificate (JSON + PDF) from an audit's report.json",
                  {{"--report", "FILE", "report.json written by worm audit", true},
                   {"--key", "PRIV", "Ed25519 private key to sign with", true},
                   {"--validity-days", "N", "how long the certificate is valid (default 365)"},
                   {"--out", "DIR", "directory for certificate.json/.sig and certificate.pdf/.pdf.sig", true}},
                  0, 0,
                  "Prints one JSON object: certificate_id, clean, key_fingerprint and the four paths.\n"
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
