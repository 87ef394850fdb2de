// signatures.cpp: checks an evidence bundle against the signature formats the agents
// leave beside it: libworm's `.sig` (base64 Ed25519), cosign v2 `.json.bundle`
// ({"base64Signature": ...}: ECDSA P-256 / SHA-256 DER signature over the file, cosign.pub),
// and the Sigstore bundle v0.3 (messageSignature with a SHA2_256 message digest).
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "../util/text.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/json.hpp"
#include "worm/migrate.hpp"

namespace worm {

namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct BioFree {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};

std::unique_ptr<EVP_PKEY, PkeyFree> load_public_key_pem(std::string_view pem) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    EVP_PKEY* key = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (!key) throw Error(ErrorCode::parse, "the public key is not a PEM public key (SPKI \"BEGIN PUBLIC KEY\")");
    return std::unique_ptr<EVP_PKEY, PkeyFree>(key);
}

// Ed25519 keys verify the message itself (PureEdDSA); EC keys an ECDSA SHA-256 signature.
bool verify_with_key(EVP_PKEY* key, std::string_view message, std::string_view signature) {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    const bool ed25519 = EVP_PKEY_is_a(key, "ED25519");
    if (!ed25519 && !EVP_PKEY_is_a(key, "EC"))
        throw Error(ErrorCode::crypto, "the public key must be Ed25519 or ECDSA P-256");
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, ed25519 ? nullptr : EVP_sha256(), nullptr, key) != 1) return false;
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

std::string decode_b64(std::string_view text, std::string& reason) {
    try {
        return base64_decode(detail::trim(text));
    } catch (const Error&) {
        reason = "the signature is not valid base64";
        return {};
    }
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

EvidenceSignatureCheck check_evidence_signature(std::string_view bundle_bytes, std::string_view sidecar_name,
                                                std::string_view sidecar_bytes, std::string_view public_key_pem) {
    EvidenceSignatureCheck out;
    auto key = load_public_key_pem(public_key_pem);
    std::string signature;
    if (ends_with(sidecar_name, ".sig")) {
        out.format = SignatureFormat::ed25519_sig;
        signature = decode_b64(sidecar_bytes, out.reason);
    } else {
        rapidjson::Document doc;
        try {
            doc = json::parse_strict(sidecar_bytes, std::string(sidecar_name));
        } catch (const Error& e) {
            out.reason = e.what();
            return out;
        }
        const rapidjson::Value* b64 = doc.IsObject() ? json::find_member(doc, "base64Signature") : nullptr;
        const rapidjson::Value* message = doc.IsObject() ? json::find_member(doc, "messageSignature") : nullptr;
        if (b64 && b64->IsString()) {
            out.format = SignatureFormat::cosign_bundle;
            signature = decode_b64(b64->GetString(), out.reason);
        } else if (message && message->IsObject()) {
            out.format = SignatureFormat::sigstore_bundle;
            const rapidjson::Value* digest = json::find_member(*message, "messageDigest");
            const rapidjson::Value* sig = json::find_member(*message, "signature");
            if (!sig || !sig->IsString()) {
                out.reason = "the Sigstore bundle has no messageSignature.signature";
                return out;
            }
            if (digest && digest->IsObject()) {
                const rapidjson::Value* algorithm = json::find_member(*digest, "algorithm");
                const rapidjson::Value* value = json::find_member(*digest, "digest");
                if (!algorithm || !algorithm->IsString() || std::string_view(algorithm->GetString()) != "SHA2_256" ||
                    !value || !value->IsString()) {
                    out.reason = "the Sigstore bundle's messageDigest is not a SHA2_256 digest";
                    return out;
                }
                std::string expected = decode_b64(value->GetString(), out.reason);
                if (!out.reason.empty()) return out;
                if (!constant_time_equal(expected, sha256(bundle_bytes))) {
                    out.reason = "the Sigstore bundle's message digest is not the SHA-256 of the file";
                    return out;
                }
            }
            signature = decode_b64(sig->GetString(), out.reason);
        } else {
            out.reason = "neither a cosign bundle (base64Signature) nor a Sigstore bundle (messageSignature)";
            return out;
        }
    }
    if (!out.reason.empty()) return out;
    out.valid = verify_with_key(key.get(), bundle_bytes, signature);
    if (!out.valid) out.reason = "the signature does not match the file and key";
    return out;
}

}  // namespace worm
