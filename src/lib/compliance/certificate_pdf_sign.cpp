// The certificate PDF's embedded signature (see certificate_pdf_sign.hpp): an incremental
// update with a /Sig dictionary whose /Contents is a detached CMS signature (OpenSSL).
#include "certificate_pdf_sign.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <charconv>
#include <climits>
#include <cstdio>
#include <map>
#include <optional>
#include <vector>

#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"

namespace worm::compliance::detail {

namespace {

// Room for the DER of the CMS signature in /Contents: a signer certificate with a
// 4096-bit RSA key and a chain of two more fit with room to spare.
constexpr std::size_t kContentsBytes = 16384;
// "/ByteRange [0 a b c]" with each number padded to this many digits.
constexpr int kByteRangeDigits = 10;

// Drops what OpenSSL queued so it never leaks into a later, unrelated error.
[[noreturn]] void fail(ErrorCode code, const std::string& message) {
    const unsigned long e = ERR_peek_last_error();
    std::string detail;
    if (e != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        detail = std::string(" (") + buf + ")";
    }
    ERR_clear_error();
    throw Error(code, message + detail);
}

struct BioFree {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct CmsFree {
    void operator()(CMS_ContentInfo* c) const noexcept { CMS_ContentInfo_free(c); }
};
using CmsPtr = std::unique_ptr<CMS_ContentInfo, CmsFree>;

BioPtr memory_bio(std::string_view data) {
    if (data.size() > static_cast<std::size_t>(INT_MAX)) throw Error(ErrorCode::invalid_argument, "PDF too large to sign");
    BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    if (!bio) fail(ErrorCode::crypto, "OpenSSL could not allocate a memory BIO");
    return bio;
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

std::string fingerprint_of(X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(cert, EVP_sha256(), md, &n) != 1) fail(ErrorCode::crypto, "cannot hash the certificate");
    return "sha256:" + to_hex(std::string_view(reinterpret_cast<char*>(md), n));
}

std::string name_text(const X509_NAME* name) {
    BioPtr out(BIO_new(BIO_s_mem()));
    if (!out || X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253) < 0) fail(ErrorCode::crypto, "cannot print an X.509 name");
    return bio_text(out.get());
}

// ---- reading the PDF cairo wrote ------------------------------------------------------

[[noreturn]] void not_updatable(const std::string& what) {
    throw Error(ErrorCode::internal, "cannot sign the certificate PDF: " + what);
}

std::optional<long long> number_after(std::string_view text, std::string_view marker, std::size_t from = 0) {
    const std::size_t at = text.find(marker, from);
    if (at == std::string_view::npos) return std::nullopt;
    std::size_t i = at + marker.size();
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    long long n = 0;
    const auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
    if (ec != std::errc() || end == text.data() + i) return std::nullopt;
    return n;
}

// "/Name 17 0 R" -> 17.
long long reference_after(std::string_view dict, std::string_view name) {
    const auto n = number_after(dict, std::string(name) + " ");
    if (!n) not_updatable("no " + std::string(name) + " reference");
    return *n;
}

struct PdfIndex {
    std::map<long long, std::size_t> offsets;  // object number -> offset of "N 0 obj"
    long long size = 0;                        // trailer /Size
    long long root = 0;
    std::optional<long long> info;
    std::size_t xref_offset = 0;
};

// The last classic cross-reference table and its trailer (cairo writes one of each).
PdfIndex index_of(std::string_view pdf) {
    PdfIndex ix;
    const std::size_t sx = pdf.rfind("startxref");
    const auto xref = sx == std::string_view::npos ? std::nullopt : number_after(pdf, "startxref", sx);
    if (!xref || *xref < 0 || static_cast<std::size_t>(*xref) >= pdf.size()) not_updatable("no startxref");
    ix.xref_offset = static_cast<std::size_t>(*xref);
    if (pdf.substr(ix.xref_offset, 4) != "xref") not_updatable("no classic xref table");
    const std::size_t trailer = pdf.find("trailer", ix.xref_offset);
    if (trailer == std::string_view::npos) not_updatable("no trailer");
    // Subsections: "first count" then count 20-byte entries.
    std::size_t i = ix.xref_offset + 4;
    auto skip_space = [&] {
        while (i < trailer && std::isspace(static_cast<unsigned char>(pdf[i]))) ++i;
    };
    auto read_number = [&]() -> long long {
        skip_space();
        long long n = 0;
        const auto [end, ec] = std::from_chars(pdf.data() + i, pdf.data() + trailer, n);
        if (ec != std::errc()) not_updatable("a malformed xref table");
        i = static_cast<std::size_t>(end - pdf.data());
        return n;
    };
    for (skip_space(); i < trailer; skip_space()) {
        const long long first = read_number(), count = read_number();
        for (long long k = 0; k < count; ++k) {
            skip_space();
            if (i + 18 > trailer) not_updatable("a short xref table");
            const std::string_view entry = pdf.substr(i, 18);
            if (entry[17] == 'n') {
                long long off = 0;
                std::from_chars(entry.data(), entry.data() + 10, off);
                ix.offsets[first + k] = static_cast<std::size_t>(off);
            }
            i += 18;
        }
    }
    const std::string_view trailer_dict = pdf.substr(trailer, pdf.size() - trailer);
    const auto size = number_after(trailer_dict, "/Size");
    if (!size) not_updatable("no /Size in the trailer");
    ix.size = *size;
    ix.root = reference_after(trailer_dict, "/Root");
    if (trailer_dict.find("/Info ") != std::string_view::npos) ix.info = reference_after(trailer_dict, "/Info");
    return ix;
}

// The dictionary text of object `n` ("<< ... >>"), without "n 0 obj" and "endobj".
std::string_view object_dict(std::string_view pdf, const PdfIndex& ix, long long n) {
    const auto it = ix.offsets.find(n);
    if (it == ix.offsets.end()) not_updatable("object " + std::to_string(n) + " is not in the xref table");
    const std::size_t open = pdf.find("<<", it->second);
    const std::size_t end = pdf.find("endobj", it->second);
    if (open == std::string_view::npos || end == std::string_view::npos || open > end)
        not_updatable("object " + std::to_string(n) + " is not a dictionary");
    const std::size_t close = pdf.rfind(">>", end);
    if (close == std::string_view::npos || close < open) not_updatable("object " + std::to_string(n) + " is not a dictionary");
    return pdf.substr(open, close + 2 - open);
}

// The same dictionary with `entries` added before its closing ">>".
std::string with_entries(std::string_view dict, const std::string& entries) {
    return std::string(dict.substr(0, dict.size() - 2)) + "\n   " + entries + "\n>>";
}

std::string pdf_literal(std::string_view text) {
    std::string out = "(";
    for (const char c : text) {
        if (c == '(' || c == ')' || c == '\\') out += '\\';
        out += (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) ? '?' : c;
    }
    return out + ")";
}

// "D:20261206041600Z" (PDF date, UTC).
std::string pdf_date(TimePoint t) {
    const std::string s = format_rfc3339(TimePoint(std::chrono::floor<std::chrono::seconds>(t)));  // 2026-12-06T04:16:00Z
    return "D:" + s.substr(0, 4) + s.substr(5, 2) + s.substr(8, 2) + s.substr(11, 2) + s.substr(14, 2) + s.substr(17, 2) + "Z";
}

std::string padded(std::size_t n) {
    std::string s = std::to_string(n);
    return s.size() < kByteRangeDigits ? s + std::string(kByteRangeDigits - s.size(), ' ') : s;
}

std::string cms_signature(std::string_view signed_bytes, const PdfSigningIdentity& identity) {
    BioPtr data = memory_bio(signed_bytes);
    // Detached, binary (no MIME canonicalisation), SHA-256; the signed attributes carry the
    // content type, the signing time and the message digest.
    CmsPtr cms(CMS_sign(identity.certificate(), identity.key(), nullptr, data.get(),
                        CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP));
    if (!cms) fail(ErrorCode::crypto, "OpenSSL could not make the PDF's CMS signature");
    unsigned char* der = nullptr;
    const int n = i2d_CMS_ContentInfo(cms.get(), &der);
    if (n <= 0) fail(ErrorCode::crypto, "OpenSSL could not encode the PDF's CMS signature");
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    return out;
}

}  // namespace

void PdfSigningIdentity::KeyFree::operator()(evp_pkey_st* k) const noexcept { EVP_PKEY_free(k); }
void PdfSigningIdentity::CertFree::operator()(x509_st* c) const noexcept { X509_free(c); }
PdfSigningIdentity::PdfSigningIdentity(PdfSigningIdentity&&) noexcept = default;
PdfSigningIdentity& PdfSigningIdentity::operator=(PdfSigningIdentity&&) noexcept = default;
PdfSigningIdentity::~PdfSigningIdentity() = default;

PdfSigningIdentity PdfSigningIdentity::from_files(const std::filesystem::path& cert_pem,
                                                  const std::filesystem::path& key_pem, const std::string& password) {
    const std::string cert_text = read_file(cert_pem);
    const std::string key_text = read_file(key_pem);
    PdfSigningIdentity id;
    BioPtr cb = memory_bio(cert_text);
    id.cert_.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    if (!id.cert_) fail(ErrorCode::crypto, cert_pem.string() + " is not a PEM X.509 certificate");
    BioPtr kb = memory_bio(key_text);
    id.key_.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr,
                                          password.empty() ? nullptr : const_cast<char*>(password.c_str())));
    if (!id.key_) fail(ErrorCode::crypto, key_pem.string() + " is not a PEM private key (or its password is wrong)");
    if (X509_check_private_key(id.cert_.get(), id.key_.get()) != 1)
        fail(ErrorCode::crypto, key_pem.string() + " is not the private key of the certificate " + cert_pem.string());
    return id;
}

PdfSigningIdentity PdfSigningIdentity::self_signed(const std::string& common_name, TimePoint not_before,
                                                   TimePoint not_after) {
    PdfSigningIdentity id;
    // P-256: every PDF reader's CMS code checks ECDSA on it; Ed25519 in CMS (RFC 8419) is
    // not accepted by poppler or Acrobat.
    id.key_.reset(EVP_EC_gen("P-256"));
    if (!id.key_) fail(ErrorCode::crypto, "OpenSSL could not generate a P-256 key");
    id.cert_.reset(X509_new());
    X509* x = id.cert_.get();
    if (!x || X509_set_version(x, 2) != 1) fail(ErrorCode::crypto, "OpenSSL could not make an X.509 certificate");
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) fail(ErrorCode::crypto, "no random bytes for a certificate serial");
    serial[0] &= 0x7f;  // a positive serial
    std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_bin2bn(serial, sizeof serial, nullptr), BN_free);
    if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x))) fail(ErrorCode::crypto, "cannot set the serial");
    const auto secs = [](TimePoint t) {
        return static_cast<time_t>(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
    };
    if (!ASN1_TIME_set(X509_getm_notBefore(x), secs(not_before)) || !ASN1_TIME_set(X509_getm_notAfter(x), secs(not_after)))
        fail(ErrorCode::crypto, "cannot set the certificate's validity");
    X509_NAME* name = X509_get_subject_name(x);
    const auto add = [&](const char* field, const std::string& value) {
        if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()),
                                       -1, -1, 0) != 1)
            fail(ErrorCode::crypto, std::string("cannot set the certificate's ") + field);
    };
    add("CN", common_name.substr(0, 64));  // X.520 upper bound
    add("O", "libworm");
    if (X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, id.key_.get()) != 1)
        fail(ErrorCode::crypto, "cannot set the certificate's issuer and key");
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                                     std::pair{NID_key_usage, "critical,digitalSignature,nonRepudiation"},
                                     std::pair{NID_subject_key_identifier, "hash"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        if (!ext) fail(ErrorCode::crypto, "cannot make a certificate extension");
        const int added = X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        if (added != 1) fail(ErrorCode::crypto, "cannot add a certificate extension");
    }
    if (X509_sign(x, id.key_.get(), EVP_sha256()) <= 0) fail(ErrorCode::crypto, "cannot self-sign the certificate");
    return id;
}

std::string PdfSigningIdentity::certificate_pem() const {
    BioPtr out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_X509(out.get(), cert_.get()) != 1) fail(ErrorCode::crypto, "cannot write the certificate as PEM");
    return bio_text(out.get());
}

std::string PdfSigningIdentity::subject() const { return name_text(X509_get_subject_name(cert_.get())); }

std::string PdfSigningIdentity::certificate_fingerprint() const { return fingerprint_of(cert_.get()); }

std::string sign_pdf(std::string_view pdf, const PdfSigningIdentity& identity, const PdfSignatureText& text) {
    const PdfIndex ix = index_of(pdf);
    const std::string_view catalog = object_dict(pdf, ix, ix.root);
    if (catalog.find("/AcroForm") != std::string_view::npos) not_updatable("the catalog already has a form");
    const long long pages = reference_after(catalog, "/Pages");
    const std::string_view pages_dict = object_dict(pdf, ix, pages);
    const long long page = reference_after(pages_dict, "/Kids [");
    const std::string_view page_dict = object_dict(pdf, ix, page);
    if (page_dict.find("/Annots") != std::string_view::npos) not_updatable("the first page already has annotations");

    const long long sig = ix.size, widget = ix.size + 1;
    std::string out(pdf);
    if (out.back() != '\n') out += '\n';
    std::map<long long, std::size_t> offsets;
    const auto object = [&](long long n, const std::string& body) {
        offsets[n] = out.size();
        out += std::to_string(n) + " 0 obj\n" + body + "\nendobj\n";
    };

    const std::string byte_range_placeholder = "/ByteRange [0 " + padded(0) + " " + padded(0) + " " + padded(0) + "]";
    offsets[sig] = out.size();
    out += std::to_string(sig) + " 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached\n   /Name " +
           pdf_literal(text.name) + "\n   /Reason " + pdf_literal(text.reason) + "\n   /M " +
           pdf_literal(pdf_date(text.signing_time)) + "\n   ";
    const std::size_t byte_range_at = out.size();
    out += byte_range_placeholder + "\n   /Contents ";
    const std::size_t contents_at = out.size();
    out += "<" + std::string(2 * kContentsBytes, '0') + ">";
    const std::size_t contents_end = out.size();
    out += "\n>>\nendobj\n";

    // An invisible field (zero rectangle, /F 132: print + locked) on the first page.
    object(widget, "<< /Type /Annot /Subtype /Widget /FT /Sig /Rect [0 0 0 0] /F 132\n   /T " +
                       pdf_literal("Certificate signature") + " /V " + std::to_string(sig) + " 0 R /P " +
                       std::to_string(page) + " 0 R\n>>");
    object(page, with_entries(page_dict, "/Annots [" + std::to_string(widget) + " 0 R]"));
    // SigFlags 3: the document holds signatures and must only be appended to.
    object(ix.root, with_entries(catalog, "/AcroForm << /Fields [" + std::to_string(widget) + " 0 R] /SigFlags 3 >>"));

    const std::size_t xref_at = out.size();
    out += "xref\n0 1\n0000000000 65535 f \n";
    for (const auto& [n, off] : offsets) {
        char entry[32];
        std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", off);
        out += std::to_string(n) + " 1\n" + entry;
    }
    out += "trailer\n<< /Size " + std::to_string(widget + 1) + "\n   /Root " + std::to_string(ix.root) + " 0 R\n" +
           (ix.info ? "   /Info " + std::to_string(*ix.info) + " 0 R\n" : std::string()) +
           "   /Prev " + std::to_string(ix.xref_offset) + "\n>>\nstartxref\n" + std::to_string(xref_at) + "\n%%EOF\n";

    // Everything but the <...> of /Contents is signed: the whole file, including what follows.
    const std::string byte_range = "/ByteRange [0 " + padded(contents_at) + " " + padded(contents_end) + " " +
                                   padded(out.size() - contents_end) + "]";
    if (byte_range.size() != byte_range_placeholder.size()) not_updatable("the PDF is too large for its byte range");
    out.replace(byte_range_at, byte_range.size(), byte_range);

    const std::string der =
        cms_signature(out.substr(0, contents_at) + out.substr(contents_end), identity);
    if (der.size() > kContentsBytes)
        throw Error(ErrorCode::crypto, "the PDF's CMS signature (" + std::to_string(der.size()) +
                                           " bytes) is larger than the room reserved for it; use a shorter certificate chain");
    const std::string hex = to_hex(der);
    out.replace(contents_at + 1, hex.size(), hex);
    return out;
}

PdfSignatureCheck check_pdf_signature(std::string_view pdf) {
    PdfSignatureCheck c;
    const std::size_t at = pdf.rfind("/ByteRange [");
    if (at == std::string_view::npos) {
        c.reason = "the PDF carries no signature";
        return c;
    }
    c.present = true;
    std::size_t i = at + std::string_view("/ByteRange [").size();
    long long r[4] = {0, 0, 0, 0};
    for (auto& n : r) {
        while (i < pdf.size() && pdf[i] == ' ') ++i;
        const auto [end, ec] = std::from_chars(pdf.data() + i, pdf.data() + pdf.size(), n);
        if (ec != std::errc() || n < 0) {
            c.reason = "its /ByteRange is malformed";
            return c;
        }
        i = static_cast<std::size_t>(end - pdf.data());
    }
    const auto size = static_cast<long long>(pdf.size());
    if (r[0] != 0 || r[1] < 2 || r[2] <= r[1] || r[2] + r[3] > size || pdf[r[1]] != '<' || pdf[r[2] - 1] != '>') {
        c.reason = "its /ByteRange does not frame its /Contents";
        return c;
    }
    c.covers_whole_file = r[2] + r[3] == size;
    std::string der;
    try {
        std::string hex(pdf.substr(r[1] + 1, r[2] - r[1] - 2));
        der = from_hex(hex);
    } catch (const Error&) {
        c.reason = "its /Contents is not hex";
        return c;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
    if (!cms) {
        ERR_clear_error();
        c.reason = "its /Contents is not a CMS signature";
        return c;
    }
    const std::string signed_bytes = std::string(pdf.substr(0, r[1])) + std::string(pdf.substr(r[2], r[3]));
    BioPtr data = memory_bio(signed_bytes);
    // The signature over the bytes, with the certificate it carries; whether to trust that
    // certificate is the reader's decision (the .sig files carry libworm's Ed25519 key).
    const bool ok = CMS_verify(cms.get(), nullptr, nullptr, data.get(), nullptr, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) == 1;
    ERR_clear_error();
    // The certificate that made the signature (the CMS may carry a chain too).
    if (STACK_OF(X509)* certs = CMS_get1_certs(cms.get())) {
        STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms.get());
        CMS_SignerInfo* si = infos && sk_CMS_SignerInfo_num(infos) > 0 ? sk_CMS_SignerInfo_value(infos, 0) : nullptr;
        for (int k = 0; si && k < sk_X509_num(certs); ++k) {
            X509* cert = sk_X509_value(certs, k);
            if (CMS_SignerInfo_cert_cmp(si, cert) != 0) continue;
            c.signer_subject = name_text(X509_get_subject_name(cert));
            c.signer_fingerprint = fingerprint_of(cert);
            break;
        }
        sk_X509_pop_free(certs, X509_free);
    }
    c.valid = ok && c.covers_whole_file;
    if (!ok) c.reason = "its CMS signature does not verify over the signed bytes (the PDF was changed)";
    else if (!c.covers_whole_file) c.reason = "bytes were appended after the signed range";
    return c;
}

}  // namespace worm::compliance::detail
