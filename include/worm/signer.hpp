// signer.hpp: key files, and the .sig format over evidence files.
//
// `.sig` (DESIGN.md, "Data formats"): one line, base64 of the raw 64-byte Ed25519
// signature over the exact bytes of the .json file, then "\n". Anyone can check it:
//   base64 -d bundle.sig > raw.sig
//   openssl pkeyutl -verify -pubin -inkey public.pem -rawin -in bundle.json -sigfile raw.sig
//
// Key files: private.pem (PKCS#8, mode 0400, optionally encrypted) and public.pem (SPKI,
// mode 0644). Like ssh, a private key that group or others can access is refused.
//
// This header checks signatures only; hashes and schemas are checked elsewhere and the
// pipeline reports the three separately.
//
// Example:
//   worm::KeyPaths keys = worm::generate_key_files("keys");  // keys/private.pem 0400, public.pem 0644
//   std::filesystem::path sig = worm::sign_file(worm::load_private_key(keys.private_key), "bundle.json");
//   worm::SignatureCheck check = worm::verify_file_signature(worm::load_public_key(keys.public_key), "bundle.json");
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "worm/ed25519.hpp"
#include "worm/export.hpp"

namespace worm {

struct KeyPaths {
    std::filesystem::path private_key;  // <dir>/private.pem
    std::filesystem::path public_key;   // <dir>/public.pem
};

// Creates dir (mode 0700) if needed and writes a fresh key pair, each file atomically.
// Encrypts the private key when a (non-empty) passphrase is given. Throws
// Error(already_exists) if either file is already there (nothing is overwritten).
WORM_API KeyPaths generate_key_files(const std::filesystem::path& dir, std::optional<std::string> passphrase = {});

// Reads a private key file. Throws Error(config) when the file is missing or not a
// regular file, when group or others can access it (the message says which chmod to
// run), when it is encrypted and no passphrase is given, or the passphrase is wrong;
// Error(parse) when it is not a PEM private key; Error(crypto) for a non-Ed25519 key.
WORM_API Ed25519PrivateKey load_private_key(const std::filesystem::path& path,
                                   const std::optional<std::string>& passphrase = {});

// Reads an SPKI PEM public key. Throws Error(config) when the file is missing,
// Error(parse)/Error(crypto) as Ed25519PublicKey::from_pem.
WORM_API Ed25519PublicKey load_public_key(const std::filesystem::path& path);

// "sha256:" + lower-case hex SHA-256 of the key's SPKI DER encoding: what
//   openssl pkey -pubin -in public.pem -outform DER | sha256sum
// prints. Certificates and Sigstore bundles name the signing key by it.
std::string public_key_fingerprint(const Ed25519PublicKey& key);

// WORM_KEY_PASSWORD, if set and non-empty. Configuration code reads it; this is the
// one place that knows the variable's name.
WORM_API std::optional<std::string> key_password_from_env();

// Where the signature of a file lives: "x.json" -> "x.sig"; any other name gets
// ".sig" appended ("x.log" -> "x.log.sig").
WORM_API std::filesystem::path signature_path_for(const std::filesystem::path& data_path);

// base64(sign(bytes)) + "\n": the whole content of a .sig file.
WORM_API std::string make_signature_line(const Ed25519PrivateKey& key, std::string_view bytes);

// Signs the exact bytes of data_path and writes signature_path_for(data_path) atomically
// (mode 0644). Signing is deterministic, so an existing .sig with the same content is
// left as it is; a different existing .sig throws Error(already_exists). Returns the path.
WORM_API std::filesystem::path sign_file(const Ed25519PrivateKey& key, const std::filesystem::path& data_path);

struct SignatureCheck {
    bool valid = false;
    std::string reason;  // empty when valid; otherwise what is wrong, for a person
    explicit operator bool() const noexcept { return valid; }
};

// Strict parse of a .sig file's text: exactly one base64 line (a single trailing "\n"
// allowed, nothing else: no CR, spaces or extra lines) decoding to 64 bytes, and a
// valid signature over bytes. Never throws for bad input; the reason says what failed.
WORM_API SignatureCheck check_signature_line(const Ed25519PublicKey& key, std::string_view bytes,
                                    std::string_view sig_file_text);
WORM_API bool verify_signature_line(const Ed25519PublicKey& key, std::string_view bytes, std::string_view sig_file_text);

// Verifies data_path against its .sig (sig_path, or signature_path_for(data_path) when
// empty). A missing .sig is an invalid result, not an exception. Throws Error(not_found)
// when data_path is missing and Error(io) when a file cannot be read.
WORM_API SignatureCheck verify_file_signature(const Ed25519PublicKey& key, const std::filesystem::path& data_path,
                                     const std::filesystem::path& sig_path = {});
// The same check for bytes already read from data_path (so a caller that also parses
// them reads the file once).
WORM_API SignatureCheck verify_file_signature(const Ed25519PublicKey& key, std::string_view data_bytes,
                                     const std::filesystem::path& data_path, const std::filesystem::path& sig_path);

}  // namespace worm
