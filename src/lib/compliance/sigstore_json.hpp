// sigstore_json.hpp (private): the Sigstore bundle v0.3 message-signature document, one
// writer for libworm's X.sigstore.json (Ed25519) and cosign's X.json.bundle (ECDSA).
#pragma once

#include <string>
#include <string_view>

namespace worm::compliance::detail {

// {"mediaType": v0.3, "verificationMaterial": {"publicKey": {"hint"}, "tlogEntries": [],
//  "timestampVerificationData": {...}}, "messageSignature": {SHA2_256 digest of bytes,
//  signature}} as pretty JSON ending in "\n". signature is the raw signature bytes.
std::string message_signature_bundle(std::string_view key_hint, std::string_view bytes, std::string_view signature);

}  // namespace worm::compliance::detail
