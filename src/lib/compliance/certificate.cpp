// Compliance certificates: issue from report.json, verify a certificate directory.
#include "worm/compliance/certificate.hpp"

#include <openssl/rand.h>

#include "certificate_pdf.hpp"
#include "certificate_pdf_sign.hpp"
#include "certificate_report.hpp"
#include "json_read.hpp"
#include "worm/compliance/audit.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/signer.hpp"

namespace worm::compliance {

namespace fs = std::filesystem;
using namespace detail;

namespace {

constexpr const char* kJsonName = "certificate.json";
constexpr const char* kSigName = "certificate.sig";
constexpr const char* kPdfName = "certificate.pdf";
constexpr const char* kPdfSigName = "certificate.pdf.sig";
constexpr const char* kSignerName = "certificate.signer.pem";

constexpr std::string_view kStatement =
    "This certificate attests what libworm observed when it audited the store named above at the time stated: "
    "the objects listed in the manifest, their signatures, hashes, schema and Object Lock settings, and the "
    "bucket configuration. It is not a statement of legal or regulatory compliance, and it says nothing about "
    "objects or changes outside the audited prefix and range.";

// Copies a member of the report (or null when absent) into the certificate.
void copy_member(json::Writer& w, const rapidjson::Value& from, std::string_view name) {
    w.key(name);
    if (const auto* v = json::find_member(from, name)) w.value(*v);
    else w.null();
}

SignatureCheck check_sig_file(const Ed25519PublicKey& key, const std::string& bytes, const fs::path& sig_path) {
    try {
        return check_signature_line(key, bytes, read_file(sig_path));
    } catch (const Error& e) {
        if (e.code() != ErrorCode::not_found) throw;
        return {.valid = false, .reason = "does not exist"};
    }
}

}  // namespace

void CertificateOptions::validate() const {
    if (report_path.empty()) throw Error(ErrorCode::invalid_argument, "certificate: no audit report given");
    if (output_dir.empty()) throw Error(ErrorCode::invalid_argument, "certificate: no output directory given");
    for (const auto& e : evidence)
        if (e.evidence_id.empty()) throw Error(ErrorCode::invalid_argument, "certificate: an evidence item has no evidence_id");
    if (signing_cert.empty() != signing_key.empty())
        throw Error(ErrorCode::invalid_argument, "certificate: give both the PDF signing certificate and its key, or neither");
    if (validity_days < 1 || validity_days > 3650)
        throw Error(ErrorCode::invalid_argument,
                    "certificate validity must be from 1 to 3650 days, got " + std::to_string(validity_days));
}

std::string certificate_figures(std::string_view certificate_json) {
    const rapidjson::Document cert = json::parse_strict(certificate_json, "certificate.json");
    const std::string id = json::require_string(cert, "certificate_id", "", ErrorCode::parse);
    const auto& inv = json::require_object(cert, "inventory", "", ErrorCode::parse);
    const auto& audit = json::require_object(cert, "audit", "", ErrorCode::parse);
    auto n = [&](const char* name) { return std::to_string(get_int(inv, name)); };
    auto t = [&](const char* name) { return get_string(inv, name, "-"); };
    return "worm-certificate id=" + id + " key=" + get_string(cert, "signing_key_fingerprint") +
           " result=" + get_string(audit, "result") + " bundles=" + n("bundles") + " failed=" + n("bundles_failed") +
           " failures=" + n("failures") + " versions=" + n("versions") + " legal_holds=" + n("legal_holds") +
           " earliest=" + t("earliest_retain_until") + " latest=" + t("latest_retain_until") +
           " manifest=" + get_string(cert, "manifest_sha256");
}

IssuedCertificate issue_certificate(const CertificateOptions& options, const Ed25519PrivateKey& key) {
    options.validate();
    const Clock& clock = options.clock ? *options.clock : system_clock();
    const std::string report_text = read_file(options.report_path);
    const rapidjson::Document report = json::parse_strict(report_text, options.report_path.string());
    if (!report.IsObject() || get_int(report, "report_version") != 1)
        throw Error(ErrorCode::parse, options.report_path.string() + " is not a libworm audit report (report_version 1)");
    // Before anything is written: the report is intact and its result follows from its contents.
    const std::string result = checked_report_result(report, options.report_path);

    IssuedCertificate issued;
    issued.json_path = options.output_dir / kJsonName;
    issued.sig_path = options.output_dir / kSigName;
    issued.pdf_path = options.output_dir / kPdfName;
    issued.pdf_sig_path = options.output_dir / kPdfSigName;
    issued.pdf_signer_path = options.output_dir / kSignerName;
    for (const auto& p : {issued.json_path, issued.sig_path, issued.pdf_path, issued.pdf_sig_path, issued.pdf_signer_path})
        if (fs::exists(p)) throw Error(ErrorCode::already_exists, p.string() + " already exists; choose a new directory");

    const TimePoint issued_at = std::chrono::floor<std::chrono::seconds>(clock.now());
    issued.key_fingerprint = public_key_fingerprint(key.public_key());
    const std::string report_sha = sha256_hex(report_text);
    // Unique even for two certificates of one report issued in the same second.
    unsigned char nonce[16];
    if (RAND_bytes(nonce, sizeof nonce) != 1) throw Error(ErrorCode::crypto, "no random bytes for the certificate id");
    issued.certificate_id =
        "WC-" + format_amz_day(issued_at) + "-" +
        sha256_hex(report_sha + format_rfc3339(issued_at) + std::string(reinterpret_cast<char*>(nonce), sizeof nonce))
            .substr(0, 16);
    issued.clean = result == "clean";
    const TimePoint valid_until = issued_at + std::chrono::days(options.validity_days);
    const PdfSigningIdentity signer =
        options.signing_cert.empty()
            ? PdfSigningIdentity::self_signed("libworm certificate " + issued.certificate_id, issued_at, valid_until)
            : PdfSigningIdentity::from_files(options.signing_cert, options.signing_key, options.signing_key_password);
    issued.pdf_signer_subject = signer.subject();
    issued.pdf_signer_fingerprint = signer.certificate_fingerprint();

    json::Writer w(json::Writer::Style::pretty);
    w.begin_object();
    w.member("certificate_version", 1).member("certificate_id", issued.certificate_id);
    w.member("issued_at", format_rfc3339(issued_at)).member("valid_until", format_rfc3339(valid_until));
    w.key("tool").begin_object().member("name", "libworm").member("version", tool_version()).end_object();
    w.member("signing_key_fingerprint", issued.key_fingerprint);
    w.key("pdf_signature").begin_object();
    w.member("sub_filter", "adbe.pkcs7.detached").member("certificate_subject", issued.pdf_signer_subject);
    w.member("certificate_sha256", issued.pdf_signer_fingerprint).member("self_signed", options.signing_cert.empty());
    w.end_object();
    copy_member(w, report, "store");
    w.key("audit").begin_object();
    w.member("report_sha256", report_sha).member("result", result);
    for (const char* name : {"started_at", "finished_at", "range", "policy", "public_key_fingerprint"})
        copy_member(w, report, name);
    w.end_object();
    for (const char* name : {"bucket_verification", "inventory", "manifest_sha256", "failures", "database"})
        copy_member(w, report, name);
    w.key("evidence").begin_array();
    for (const auto& e : options.evidence) {
        w.begin_object();
        w.member("evidence_id", e.evidence_id).member("object_key", e.object_key).member("sha256", e.sha256);
        w.member("lock_mode", e.lock_mode);
        w.key("retain_until");
        if (e.retain_until) w.value(format_rfc3339(*e.retain_until));
        else w.null();
        w.member("compliant", e.compliant);
        w.end_object();
    }
    w.end_array();
    w.member("statement", kStatement);
    w.end_object();

    const std::string json_text = w.take() + "\n";
    const std::string figures = certificate_figures(json_text);
    const std::string pdf =
        sign_pdf(render_certificate_pdf(json::parse_strict(json_text, kJsonName), figures), signer,
                 {.name = issued.pdf_signer_subject,
                  .reason = "libworm evidence certificate " + issued.certificate_id + " (" + result + ")",
                  .signing_time = issued_at});

    std::error_code ec;
    fs::create_directories(options.output_dir, ec);
    if (ec) throw Error(ErrorCode::io, "cannot create " + options.output_dir.string() + ": " + ec.message());
    const WriteOptions create_only{.no_overwrite = true};
    write_file_atomic(issued.json_path, json_text, create_only);
    write_file_atomic(issued.sig_path, make_signature_line(key, json_text), create_only);
    write_file_atomic(issued.pdf_path, pdf, create_only);
    write_file_atomic(issued.pdf_sig_path, make_signature_line(key, pdf), create_only);
    write_file_atomic(issued.pdf_signer_path, signer.certificate_pem(), create_only);
    return issued;
}

CertificateVerification verify_certificate(const fs::path& dir, const Ed25519PublicKey& key) {
    if (!fs::is_directory(dir)) throw Error(ErrorCode::not_found, "certificate directory " + dir.string() + " does not exist");
    CertificateVerification v;
    std::string json_text, pdf;
    try {
        json_text = read_file(dir / kJsonName);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::not_found) throw;
        v.problems.push_back(std::string(kJsonName) + " does not exist");
    }
    try {
        pdf = read_file(dir / kPdfName);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::not_found) throw;
        v.problems.push_back(std::string(kPdfName) + " does not exist");
    }

    const SignatureCheck json_sig = check_sig_file(key, json_text, dir / kSigName);
    v.json_signature_valid = json_sig.valid && !json_text.empty();
    if (!json_sig.valid) v.problems.push_back(std::string(kSigName) + ": " + json_sig.reason);
    const SignatureCheck pdf_sig = check_sig_file(key, pdf, dir / kPdfSigName);
    v.pdf_signature_valid = pdf_sig.valid && !pdf.empty();
    if (!pdf_sig.valid) v.problems.push_back(std::string(kPdfSigName) + ": " + pdf_sig.reason);

    if (json_text.empty() || pdf.empty()) return v;
    std::string figures;
    try {
        figures = certificate_figures(json_text);
        v.certificate_id = get_string(json::parse_strict(json_text, kJsonName), "certificate_id");
    } catch (const Error& e) {
        v.problems.push_back(std::string(kJsonName) + " is not a certificate: " + e.what());
        return v;
    }
    const PdfSignatureCheck embedded = check_pdf_signature(pdf);
    v.pdf_signer_subject = embedded.signer_subject;
    const rapidjson::Document cert_doc = json::parse_strict(json_text, kJsonName);
    const auto* named = json::find_member(cert_doc, "pdf_signature");
    const std::string named_cert = named && named->IsObject() ? get_string(*named, "certificate_sha256") : "";
    if (!embedded.valid) {
        v.problems.push_back(std::string(kPdfName) + " embedded signature: " + embedded.reason);
    } else if (embedded.signer_fingerprint != named_cert) {
        v.problems.push_back(std::string(kPdfName) + " is signed with another certificate (" + embedded.signer_fingerprint +
                             ") than " + kJsonName + " names (" + (named_cert.empty() ? "none" : named_cert) + ")");
    } else {
        v.pdf_embedded_signature_valid = true;
    }
    const auto stated = detail::pdf_keywords(pdf);
    if (!stated) {
        v.problems.push_back(std::string(kPdfName) + " carries no certificate figures");
    } else if (*stated != figures) {
        v.problems.push_back(std::string(kPdfName) + " states other figures than " + kJsonName + " (PDF: " + *stated +
                             "; JSON: " + figures + ")");
    } else {
        v.pdf_matches_json = true;
    }
    return v;
}

}  // namespace worm::compliance
