// signatures.cpp: checks an evidence bundle against the signature formats the agents
// leave beside it, for migrate: libworm's `.sig` (base64 Ed25519) and the cosign forms
// (X.json.bundle / X.sigstore.json), which compliance/cosign.hpp reads.
#include "../util/text.hpp"
#include "worm/compliance/cosign.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/migrate.hpp"

namespace worm {

EvidenceSignatureCheck check_evidence_signature(std::string_view bundle_bytes, std::string_view sidecar_name,
                                                std::string_view sidecar_bytes, std::string_view public_key_pem) {
    EvidenceSignatureCheck out;
    const auto key = compliance::CosignPublicKey::from_pem(public_key_pem);
    if (sidecar_name.ends_with(".sig")) {
        out.format = SignatureFormat::ed25519_sig;
        std::string signature;
        try {
            signature = base64_decode(detail::trim(sidecar_bytes));
        } catch (const Error&) {
            out.reason = "the signature is not valid base64";
            return out;
        }
        out.valid = key.verify(bundle_bytes, signature);
        if (!out.valid) out.reason = "the signature does not match the file and key";
        return out;
    }
    const compliance::CosignCheck check = compliance::check_cosign_bundle(key, bundle_bytes, sidecar_bytes);
    if (check.format)
        out.format = *check.format == compliance::CosignBundleFormat::cosign_v2 ? SignatureFormat::cosign_bundle
                                                                                : SignatureFormat::sigstore_bundle;
    out.valid = check.valid;
    out.reason = check.reason;
    return out;
}

}  // namespace worm
