// Sigstore bundle v0.3 with a message signature (see compliance/sigstore.hpp).
#include "worm/compliance/sigstore.hpp"

#include "json_read.hpp"
#include "sigstore_json.hpp"
#include "worm/compliance/cosign.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"

namespace worm::compliance {

namespace fs = std::filesystem;
using namespace detail;

namespace {

constexpr std::string_view kSigstoreBundleMediaTypeV02 = "application/vnd.dev.sigstore.bundle.v0.2+json";

SignatureCheck invalid(std::string reason) { return {.valid = false, .reason = std::move(reason)}; }

}  // namespace

bool is_sigstore_bundle_name(std::string_view name) { return name.ends_with(kSigstoreSuffix); }

fs::path sigstore_path_for(const fs::path& data_path) {
    fs::path out = data_path;
    if (out.extension() == ".json") out.replace_extension();
    out += std::string(kSigstoreSuffix);
    return out;
}

std::string detail::message_signature_bundle(std::string_view key_hint, std::string_view bytes,
                                            std::string_view signature) {
    json::Writer w(json::Writer::Style::pretty);
    w.begin_object().member("mediaType", kSigstoreBundleMediaType);
    w.key("verificationMaterial").begin_object();
    w.key("publicKey").begin_object().member("hint", key_hint).end_object();
    w.key("tlogEntries").begin_array().end_array();
    w.key("timestampVerificationData").begin_object();
    w.key("rfc3161Timestamps").begin_array().end_array();
    w.end_object();
    w.end_object();
    w.key("messageSignature").begin_object();
    w.key("messageDigest").begin_object();
    w.member("algorithm", "SHA2_256").member("digest", base64_encode(sha256(bytes)));
    w.end_object();
    w.member("signature", base64_encode(signature));
    w.end_object();
    w.end_object();
    return w.take() + "\n";
}

std::string make_sigstore_bundle(const Ed25519PrivateKey& key, std::string_view bytes) {
    return detail::message_signature_bundle(public_key_fingerprint(key.public_key()), bytes, key.sign(bytes));
}

SignatureCheck check_sigstore_bundle(const Ed25519PublicKey& key, std::string_view bytes,
                                     std::string_view bundle_text) {
    rapidjson::Document doc;
    try {
        doc = json::parse_strict(bundle_text, "Sigstore bundle");
    } catch (const Error& e) {
        return invalid(e.what());
    }
    if (!doc.IsObject()) return invalid("Sigstore bundle is not a JSON object");
    const std::string media = get_string(doc, "mediaType");
    if (media != kSigstoreBundleMediaType && media != kSigstoreBundleMediaTypeV02)
        return invalid("Sigstore bundle mediaType is '" + media + "', expected " + std::string(kSigstoreBundleMediaType));
    const auto* material = json::find_member(doc, "verificationMaterial");
    const auto* public_key = material ? json::find_member(*material, "publicKey") : nullptr;
    if (!public_key || !public_key->IsObject())
        return invalid("Sigstore bundle has no verificationMaterial.publicKey (certificate bundles are not supported)");
    const std::string hint = get_string(*public_key, "hint");
    if (!hint.empty() && hint != public_key_fingerprint(key))
        return invalid("Sigstore bundle names key " + hint + ", not the given key " + public_key_fingerprint(key));
    // The message signature itself is read where cosign's bundles are (cosign_bundle.cpp).
    const CosignCheck check = check_cosign_bundle(CosignPublicKey::from_pem(key.to_pem()), bytes, bundle_text);
    if (!check.valid) return invalid("Sigstore bundle: " + check.reason);
    return {.valid = true, .reason = {}};
}

fs::path write_sigstore_bundle(const Ed25519PrivateKey& key, const fs::path& data_path) {
    const std::string text = make_sigstore_bundle(key, read_file(data_path));
    const fs::path path = sigstore_path_for(data_path);
    try {
        write_file_atomic(path, text, {.mode = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                                 fs::perms::others_read,
                                       .durable = true,
                                       .no_overwrite = true});
    } catch (const Error& e) {
        if (e.code() != ErrorCode::already_exists || read_file(path) != text) {
            if (e.code() == ErrorCode::already_exists)
                throw Error(ErrorCode::already_exists,
                            "Sigstore bundle " + path.string() + " already exists with different content; refusing to replace it");
            throw;
        }
    }
    return path;
}

SignatureCheck check_detached_signature(const Ed25519PublicKey& key, std::string_view bytes,
                                        std::string_view signature_name, std::string_view signature_text) {
    return is_sigstore_bundle_name(signature_name) ? check_sigstore_bundle(key, bytes, signature_text)
                                                   : check_signature_line(key, bytes, signature_text);
}

}  // namespace worm::compliance
