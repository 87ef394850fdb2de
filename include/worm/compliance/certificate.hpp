// compliance/certificate.hpp: signed compliance certificates issued from an audit report.
//
// issue_certificate reads report.json (compliance/audit.hpp), checks that its manifest
// hash matches its own manifest, and writes into a directory:
//   certificate.json      id, issue time, validity, tool version, store identity, the
//                         bucket checks (with the SHA-256 of each raw server answer), the
//                         inventory, the manifest SHA-256, the failures, and a statement
//                         that it attests what was observed, not legal compliance;
//   certificate.sig       the bundle .sig format over certificate.json's bytes, so
//                           base64 -d certificate.sig > raw; openssl pkeyutl -verify -pubin
//                           -inkey public.pem -rawin -in certificate.json -sigfile raw
//                         checks it;
//   certificate.pdf       the same for people (A4, drawn with cairo), stating the id, the
//                         signing key's fingerprint and the figures, and signed inside: an
//                         incremental update with a CMS signature (adbe.pkcs7.detached,
//                         SHA-256) over the whole file, so pdfsig and PDF readers show it
//                         as signed and unchanged (docs/compliance.md);
//   certificate.signer.pem  the X.509 certificate of that PDF signature;
//   certificate.pdf.sig   the same .sig format over the PDF's bytes.
// The PDF signature's certificate is the user's (signing_cert/signing_key, any key type
// OpenSSL's CMS signs with) or, by default, a self-signed one for a new P-256 key made for
// this certificate alone (PDF readers do not accept Ed25519 in CMS). certificate.json names
// it (pdf_signature.certificate_sha256), and certificate.sig binds that to the Ed25519 key.
// An issued certificate's report must be consistent: its result is recomputed from its own
// failures, counts and bucket checks, and an edited report is refused.
// The PDF also carries the figures as one line in its Keywords metadata, so
// verify_certificate can check that the PDF states what the JSON states without a PDF
// text extractor.
//
// Example:
//   worm::compliance::IssuedCertificate issued = worm::compliance::issue_certificate(
//       {.report_path = "audit-out/report.json", .output_dir = "certificate"}, worm::load_private_key("private.pem"));
//   worm::compliance::CertificateVerification check =
//       worm::compliance::verify_certificate("certificate", worm::load_public_key("public.pem"));
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "worm/ed25519.hpp"
#include "worm/export.hpp"
#include "worm/time.hpp"

namespace worm::compliance {

// One evidence item a certificate names (seed 002's certificate request: evidence_ids),
// as the issuer checked it just before issuing.
struct WORM_API CertifiedEvidence {
    std::string evidence_id;
    std::string object_key;
    std::string sha256;  // hex of the stored bytes
    std::string lock_mode;
    std::optional<RetentionDate> retain_until;
    bool compliant = false;  // locked as required and the hash matches what was recorded
};

struct WORM_API CertificateOptions {
    std::filesystem::path report_path{};   // report.json
    std::filesystem::path output_dir{};    // created when missing; existing certificate files are not replaced
    int validity_days = 365;
    // The PDF signature's X.509 certificate and private key (PEM), both or neither;
    // neither: a new P-256 key with a self-signed certificate.
    std::filesystem::path signing_cert{};
    std::filesystem::path signing_key{};
    std::string signing_key_password{};
    // The evidence the certificate is asked for (certificate.json "evidence", and the PDF);
    // empty: the certificate covers the audit alone.
    std::vector<CertifiedEvidence> evidence{};
    const Clock* clock = nullptr;          // nullptr: the system clock

    void validate() const;  // Error(invalid_argument) naming the field
};

struct WORM_API IssuedCertificate {
    std::string certificate_id;
    std::filesystem::path json_path;
    std::filesystem::path sig_path;
    std::filesystem::path pdf_path;
    std::filesystem::path pdf_sig_path;
    std::filesystem::path pdf_signer_path;  // certificate.signer.pem
    std::string key_fingerprint;
    std::string pdf_signer_subject;      // e.g. "O=libworm,CN=libworm certificate WC-..."
    std::string pdf_signer_fingerprint;  // "sha256:" + hex of the X.509 certificate's DER
    bool clean = false;  // the audit found no failure
};

// Throws Error(not_found) for a missing report, Error(parse) for one that is not a report,
// Error(integrity) when its manifest does not hash to its manifest_sha256 or its result,
// counts and failures disagree (it was edited), Error(already_exists) when the output
// directory already holds a certificate, Error(not_found)/Error(crypto) for a signing
// certificate or key that is missing, unreadable or not a pair.
WORM_API IssuedCertificate issue_certificate(const CertificateOptions& options, const Ed25519PrivateKey& key);

struct WORM_API CertificateVerification {
    bool json_signature_valid = false;
    bool pdf_signature_valid = false;
    bool pdf_matches_json = false;  // the PDF states the JSON's id, key and figures
    // The PDF's embedded CMS signature verifies over the whole file, made with the X.509
    // certificate certificate.json names (whether to trust that certificate is the
    // reader's call; the Ed25519 .sig files are what vouch for it).
    bool pdf_embedded_signature_valid = false;
    std::string certificate_id;
    std::string pdf_signer_subject;
    std::vector<std::string> problems;  // one sentence each

    bool ok() const {
        return json_signature_valid && pdf_signature_valid && pdf_matches_json && pdf_embedded_signature_valid;
    }
};

// Checks a certificate directory. Never throws for a bad certificate (that is a
// verification with problems); throws Error(not_found) when the directory does not exist.
WORM_API CertificateVerification verify_certificate(const std::filesystem::path& dir, const Ed25519PublicKey& key);

// The one line of figures both the JSON and the PDF state, e.g.
//   "worm-certificate id=WC-... key=sha256:... bundles=12 failures=0 manifest=ab12..."
// Built from certificate.json's text; throws Error(parse) when it is not a certificate.
WORM_API std::string certificate_figures(std::string_view certificate_json);

}  // namespace worm::compliance
