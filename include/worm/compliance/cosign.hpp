// compliance/cosign.hpp: evidence signed with cosign (seed 003), read and written offline.
//
// Seed 003's agents sign each bundle with `cosign sign-blob --key private-key.key --bundle
// X.json.bundle X.json` (an ECDSA P-256 key from `cosign generate-key-pair`, encrypted with
// COSIGN_PASSWORD). Two forms of X.json.bundle exist:
//   cosign 3: a Sigstore bundle v0.3 with a messageSignature
//     {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
//      "verificationMaterial": {"publicKey": {"hint": ...}, "tlogEntries": [...]},
//      "messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": b64},
//                           "signature": b64(ECDSA P-256 SHA-256, DER)}}
//   cosign 2: {"base64Signature": b64(DER signature), "cert": "", "rekorBundle": {...}}
// Checking is offline: the signature against the given public key (ECDSA P-256 or
// Ed25519, SPKI PEM as cosign.pub), and the v0.3 digest against the file. A Rekor entry
// (tlogEntries / rekorBundle) or a certificate is reported as present, never checked.
//
// Signing keeps the key the user already has: CosignPrivateKey loads cosign's
// "ENCRYPTED SIGSTORE PRIVATE KEY" (or the older "ENCRYPTED COSIGN PRIVATE KEY") PEM: a
// JSON envelope, scrypt (N, r, p from the file) derives a NaCl secretbox key from the
// password, the box holds the PKCS#8 DER key. The bundle written is the v0.3 form
// without a transparency log entry (offline), so cosign checks it with
//   cosign verify-blob --key private-key.pub --bundle X.json.bundle --insecure-ignore-tlog X.json
//
// Example:
//   auto key = worm::compliance::CosignPrivateKey::load("private-key.key");  // COSIGN_PASSWORD
//   auto bundle = worm::compliance::write_cosign_bundle(key, "EB-20251101-0001.json");
//   auto pub = worm::compliance::CosignPublicKey::load("private-key.pub");
//   worm::compliance::CosignCheck c = worm::compliance::check_cosign_bundle(
//       pub, worm::read_file("EB-20251101-0001.json"), worm::read_file(bundle));
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worm/ed25519.hpp"
#include "worm/export.hpp"
#include "worm/pipeline.hpp"

namespace worm::compliance {

inline constexpr std::string_view kCosignBundleSuffix = ".bundle";  // X.json -> X.json.bundle

// "x.json" -> "x.json.bundle" (cosign's --bundle name in seed 003).
WORM_API std::filesystem::path cosign_bundle_path_for(const std::filesystem::path& data_path);
WORM_API bool is_cosign_bundle_name(std::string_view name);

// A public key that checks cosign signatures: ECDSA P-256 (SHA-256, DER signatures) or
// Ed25519 (the message itself).
class WORM_API CosignPublicKey {
public:
    // SPKI PEM ("BEGIN PUBLIC KEY"); throws Error(parse) for anything else, Error(crypto)
    // for another key type or curve.
    static CosignPublicKey from_pem(std::string_view pem);
    static CosignPublicKey load(const std::filesystem::path& path);  // + Error(not_found)

    bool verify(std::string_view message, std::string_view signature) const;  // never throws
    bool is_ecdsa() const;
    std::string algorithm() const;  // "ECDSA P-256" or "Ed25519"
    std::string hint() const;       // base64(SHA-256(SPKI DER)), cosign's publicKey.hint
    std::string to_pem() const;

private:
    explicit CosignPublicKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
    friend class CosignPrivateKey;
    std::shared_ptr<evp_pkey_st> key_;  // shared: verification never changes it
};

// COSIGN_PASSWORD, when set (cosign's own variable; empty is a valid password).
WORM_API std::optional<std::string> cosign_password_from_env();

class WORM_API CosignPrivateKey {
public:
    // The encrypted PEM cosign writes. A wrong password is Error(crypto) "wrong password
    // or damaged key"; no part of the password or key is ever in a message.
    static CosignPrivateKey from_pem(std::string_view pem, std::string_view password);
    // password unset: COSIGN_PASSWORD (Error(config) when neither is given). A key file
    // readable by group or others is refused, as for libworm's own keys.
    static CosignPrivateKey load(const std::filesystem::path& path, std::optional<std::string> password = {});

    std::string sign(std::string_view message) const;  // DER ECDSA (SHA-256), or raw Ed25519
    CosignPublicKey public_key() const;

private:
    explicit CosignPrivateKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
    std::shared_ptr<evp_pkey_st> key_;
};

enum class CosignBundleFormat { sigstore_v03, cosign_v2 };

// What checking one X.json.bundle found. `valid` covers the signature (and the v0.3
// digest); the transparency log and the certificate are only reported.
struct WORM_API CosignCheck {
    bool valid = false;
    std::string reason;  // why not, when !valid
    std::optional<CosignBundleFormat> format;
    std::size_t tlog_entries = 0;    // Rekor entries present (not checked offline)
    bool has_certificate = false;    // a signing certificate present (not checked)
    // Sentences for people: "1 transparency-log entry present, not checked (offline)".
    std::vector<std::string> notes() const;
};

// Never throws for bad input; the reason says what failed.
WORM_API CosignCheck check_cosign_bundle(const CosignPublicKey& key, std::string_view bytes, std::string_view bundle_text);

// The v0.3 bundle text (pretty, ending in "\n") for a signature over bytes, no tlog entry.
WORM_API std::string make_cosign_bundle(const CosignPrivateKey& key, std::string_view bytes);

// Signs the bytes of data_path and writes cosign_bundle_path_for(data_path) atomically,
// mode 0644; an existing different file is Error(already_exists). Returns the path.
WORM_API std::filesystem::path write_cosign_bundle(const CosignPrivateKey& key, const std::filesystem::path& data_path);

// ---- verifying evidence whatever signed it ------------------------------------------

// The signature file of a bundle: the one given, else the first of X.sig,
// X.sigstore.json and X.json.bundle that exists (X.sig when none does).
WORM_API std::filesystem::path find_signature_file(const std::filesystem::path& bundle_path,
                                                   const std::filesystem::path& sig_path = {});

struct WORM_API EvidenceVerification {
    VerificationReport report;
    std::filesystem::path signature_path;
    std::string signature_format;  // "ed25519-sig", "sigstore-bundle", "cosign-bundle-v0.3", "cosign-bundle-v2"
    std::vector<std::string> notes;  // transparency log / certificate present, not checked
};

// verify_bundle_files for every signature kind: a cosign X.json.bundle is checked with
// public_key_path read as a cosign key (ECDSA P-256 or Ed25519), a .sig or .sigstore.json
// with it read as libworm's Ed25519 key. Hash and schema are checked as always. Throws
// only when the bundle or the key cannot be read (not_found, parse, crypto).
WORM_API EvidenceVerification verify_evidence_files(const std::filesystem::path& bundle_path,
                                                    const std::filesystem::path& sig_path,
                                                    const std::filesystem::path& public_key_path);

}  // namespace worm::compliance
