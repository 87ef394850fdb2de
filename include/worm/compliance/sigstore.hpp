// compliance/sigstore.hpp: Sigstore bundles (v0.3) for auditors who verify with cosign.
//
// `X.sigstore.json` sits beside `X.json` (and its `.sig`) and carries the same signature
// in the form Sigstore tools read:
//   {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
//    "verificationMaterial": {"publicKey": {"hint": "sha256:<SPKI fingerprint>"},
//                             "tlogEntries": [], "timestampVerificationData": {"rfc3161Timestamps": []}},
//    "messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": base64(SHA-256(X.json))},
//                         "signature": base64(pure Ed25519 over the bytes of X.json)}}
// No transparency log entry: the key is the trust anchor, so cosign needs
//   cosign verify-blob --key public.pem --bundle X.sigstore.json --insecure-ignore-tlog X.json
// The signature is the same 64 bytes as in X.sig (Ed25519 is deterministic).
//
// Example:
//   worm::Ed25519PrivateKey key = worm::load_private_key("private.pem");
//   std::filesystem::path bundle = worm::compliance::write_sigstore_bundle(key, "EB-20261122-0001.json");
//   worm::SignatureCheck check = worm::compliance::check_sigstore_bundle(
//       key.public_key(), worm::read_file("EB-20261122-0001.json"), worm::read_file(bundle));
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "worm/ed25519.hpp"
#include "worm/export.hpp"
#include "worm/signer.hpp"

namespace worm::compliance {

inline constexpr std::string_view kSigstoreBundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json";
inline constexpr std::string_view kSigstoreSuffix = ".sigstore.json";

// "x.json" -> "x.sigstore.json"; any other name gets ".sigstore.json" appended.
WORM_API std::filesystem::path sigstore_path_for(const std::filesystem::path& data_path);
WORM_API bool is_sigstore_bundle_name(std::string_view name);

// The bundle's JSON text (pretty, ending in "\n") for a signature over bytes.
WORM_API std::string make_sigstore_bundle(const Ed25519PrivateKey& key, std::string_view bytes);

// Checks a Sigstore bundle's text against bytes: media type v0.3 (v0.2 accepted), a
// messageSignature whose SHA2_256 digest is the digest of bytes and whose signature
// verifies with key, and a publicKey hint, when present, that names key. Never throws
// for bad input; the reason says what failed.
WORM_API SignatureCheck check_sigstore_bundle(const Ed25519PublicKey& key, std::string_view bytes,
                                     std::string_view bundle_text);

// Signs the bytes of data_path and writes sigstore_path_for(data_path) atomically, mode
// 0644. An existing file with the same content is left as it is; a different one throws
// Error(already_exists). Returns the path.
WORM_API std::filesystem::path write_sigstore_bundle(const Ed25519PrivateKey& key, const std::filesystem::path& data_path);

// Checks bytes against a signature file's text of either kind, chosen by its name: a
// Sigstore bundle for "*.sigstore.json", else a `.sig` line.
WORM_API SignatureCheck check_detached_signature(const Ed25519PublicKey& key, std::string_view bytes,
                                        std::string_view signature_name, std::string_view signature_text);

}  // namespace worm::compliance
