// certificate_pdf_sign.hpp: the certificate PDF's own signature. The PDF cairo wrote gets
// an incremental update (ISO 32000-1 7.5.6) that adds, without touching a byte before it:
//   - a signature dictionary (/Type /Sig, /Filter /Adobe.PPKLite, /SubFilter
//     /adbe.pkcs7.detached) whose /ByteRange covers the whole file except its own
//     /Contents, and whose /Contents holds a detached CMS SignedData (OpenSSL's CMS API,
//     SHA-256, with the signer's X.509 certificate) over those bytes;
//   - an invisible signature field (widget annotation) on the first page, listed in a new
//     /AcroForm of the catalog (/SigFlags 3: signed, append only).
// Readers (pdfsig, Acrobat, Okular) then show the document as signed and whether any byte
// changed since.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "worm/time.hpp"

struct evp_pkey_st;
struct x509_st;

namespace worm::compliance::detail {

// The key and X.509 certificate the PDF is signed with.
class PdfSigningIdentity {
public:
    // The user's certificate and private key (PEM files). Throws Error(not_found) for a
    // missing file, Error(crypto) when they do not parse or the key is not the
    // certificate's.
    static PdfSigningIdentity from_files(const std::filesystem::path& cert_pem, const std::filesystem::path& key_pem,
                                         const std::string& password = {});
    // A new P-256 key and a self-signed certificate for it, valid [not_before, not_after],
    // with `common_name` as subject (and issuer). Nobody trusts it until told to: readers
    // say the signature is valid and the signer unknown.
    static PdfSigningIdentity self_signed(const std::string& common_name, TimePoint not_before, TimePoint not_after);

    PdfSigningIdentity(PdfSigningIdentity&&) noexcept;
    PdfSigningIdentity& operator=(PdfSigningIdentity&&) noexcept;
    ~PdfSigningIdentity();

    std::string certificate_pem() const;
    std::string subject() const;  // one line, e.g. "CN=libworm certificate WC-..., O=libworm"
    // "sha256:" + hex of the certificate's DER.
    std::string certificate_fingerprint() const;

    evp_pkey_st* key() const { return key_.get(); }
    x509_st* certificate() const { return cert_.get(); }

private:
    struct KeyFree {
        void operator()(evp_pkey_st* k) const noexcept;
    };
    struct CertFree {
        void operator()(x509_st* c) const noexcept;
    };
    PdfSigningIdentity() = default;
    std::unique_ptr<evp_pkey_st, KeyFree> key_;
    std::unique_ptr<x509_st, CertFree> cert_;
};

struct PdfSignatureText {
    std::string name;      // /Name: who signed
    std::string reason;    // /Reason
    TimePoint signing_time;
};

// The PDF with the incremental update appended. Throws Error(internal) when the PDF is not
// one this library can update (no classic xref table, no catalog or page), Error(crypto)
// when signing fails.
std::string sign_pdf(std::string_view pdf, const PdfSigningIdentity& identity, const PdfSignatureText& text);

struct PdfSignatureCheck {
    bool present = false;
    bool valid = false;            // the CMS signature verifies over the byte range
    bool covers_whole_file = false;  // the byte range ends at the file's end
    std::string signer_subject;    // of the certificate in the CMS
    std::string signer_fingerprint;  // "sha256:" + hex of that certificate's DER
    std::string reason;            // why not valid (a sentence), "" when valid
};

// Checks the last signature dictionary of a PDF: its byte range, and the CMS signature
// over it with the certificate it carries (trust in that certificate is not checked).
PdfSignatureCheck check_pdf_signature(std::string_view pdf);

}  // namespace worm::compliance::detail
