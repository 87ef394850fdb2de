// cosign's X.json.bundle (see compliance/cosign.hpp): reading both forms, writing v0.3,
// and verify_evidence_files, the one check of a bundle whatever signed it.
#include "sigstore_json.hpp"
#include "worm/compliance/cosign.hpp"
#include "worm/compliance/sigstore.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/signer.hpp"

namespace worm::compliance {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMediaTypePrefix = "application/vnd.dev.sigstore.bundle";

CosignCheck fail(CosignCheck c, std::string reason) {
    c.valid = false;
    c.reason = std::move(reason);
    return c;
}

bool decode(std::string_view text, std::string& out) {
    try {
        out = base64_decode(text);
        return true;
    } catch (const Error&) {
        return false;
    }
}

const rapidjson::Value* object_member(const rapidjson::Value& obj, std::string_view name) {
    const rapidjson::Value* v = obj.IsObject() ? json::find_member(obj, name) : nullptr;
    return v && v->IsObject() ? v : nullptr;
}

std::string string_member(const rapidjson::Value& obj, std::string_view name) {
    const rapidjson::Value* v = obj.IsObject() ? json::find_member(obj, name) : nullptr;
    return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}

// The Sigstore bundle (v0.1 to v0.3) with a messageSignature.
CosignCheck check_sigstore_form(const CosignPublicKey& key, std::string_view bytes, const rapidjson::Document& doc) {
    CosignCheck c;
    c.format = CosignBundleFormat::sigstore_v03;
    if (const rapidjson::Value* material = object_member(doc, "verificationMaterial")) {
        if (const auto* tlog = json::find_member(*material, "tlogEntries"); tlog && tlog->IsArray())
            c.tlog_entries = tlog->Size();
        c.has_certificate = object_member(*material, "certificate") || object_member(*material, "x509CertificateChain");
    }
    const rapidjson::Value* message = object_member(doc, "messageSignature");
    if (!message) {
        if (object_member(doc, "dsseEnvelope"))
            return fail(c, "the bundle holds a DSSE envelope (cosign attest-blob), not a blob signature");
        return fail(c, "the Sigstore bundle has no messageSignature");
    }
    const rapidjson::Value* digest = object_member(*message, "messageDigest");
    if (!digest) return fail(c, "the Sigstore bundle has no messageSignature.messageDigest");
    if (string_member(*digest, "algorithm") != "SHA2_256")
        return fail(c, "the Sigstore bundle's digest algorithm is '" + string_member(*digest, "algorithm") +
                           "', expected SHA2_256");
    std::string digest_raw, signature;
    if (!decode(string_member(*digest, "digest"), digest_raw) || !decode(string_member(*message, "signature"), signature))
        return fail(c, "the Sigstore bundle's digest or signature is not valid base64");
    if (signature.empty()) return fail(c, "the Sigstore bundle has no messageSignature.signature");
    if (!constant_time_equal(digest_raw, sha256(bytes)))
        return fail(c, "the bundle's message digest is not the SHA-256 of the file: it was changed after signing");
    if (!key.verify(bytes, signature))
        return fail(c, "the signature does not match: the file was changed after signing, or another key signed it");
    c.valid = true;
    return c;
}

// cosign 2's --bundle: {"base64Signature", "cert", "rekorBundle"}.
CosignCheck check_v2_form(const CosignPublicKey& key, std::string_view bytes, const rapidjson::Document& doc) {
    CosignCheck c;
    c.format = CosignBundleFormat::cosign_v2;
    c.tlog_entries = object_member(doc, "rekorBundle") ? 1 : 0;
    c.has_certificate = !string_member(doc, "cert").empty();
    std::string signature;
    if (!decode(string_member(doc, "base64Signature"), signature) || signature.empty())
        return fail(c, "the cosign bundle's base64Signature is not valid base64");
    if (!key.verify(bytes, signature))
        return fail(c, "the signature does not match: the file was changed after signing, or another key signed it");
    c.valid = true;
    return c;
}

const char* format_name(const CosignCheck& c) {
    return c.format == CosignBundleFormat::cosign_v2 ? "cosign-bundle-v2" : "cosign-bundle-v0.3";
}

}  // namespace

fs::path cosign_bundle_path_for(const fs::path& data_path) {
    fs::path out = data_path;
    out += std::string(kCosignBundleSuffix);
    return out;
}

bool is_cosign_bundle_name(std::string_view name) { return name.ends_with(".json.bundle"); }

std::vector<std::string> CosignCheck::notes() const {
    std::vector<std::string> out;
    if (tlog_entries > 0)
        out.push_back(std::to_string(tlog_entries) + " transparency-log (Rekor) entr" + (tlog_entries == 1 ? "y" : "ies") +
                      " present, not checked (offline verification)");
    if (has_certificate) out.push_back("a signing certificate is present, not checked: the signature was checked with the given key");
    return out;
}

CosignCheck check_cosign_bundle(const CosignPublicKey& key, std::string_view bytes, std::string_view bundle_text) {
    rapidjson::Document doc;
    try {
        doc = json::parse_strict(bundle_text, "the cosign bundle");
    } catch (const Error& e) {
        return fail({}, std::string("not JSON: ") + e.what());
    }
    if (!doc.IsObject()) return fail({}, "the cosign bundle is not a JSON object");
    const std::string media = string_member(doc, "mediaType");
    if (!media.empty() && !media.starts_with(kMediaTypePrefix))
        return fail({}, "the bundle's mediaType is '" + media + "', not a Sigstore bundle");
    if (!media.empty() || json::find_member(doc, "messageSignature")) return check_sigstore_form(key, bytes, doc);
    if (json::find_member(doc, "base64Signature")) return check_v2_form(key, bytes, doc);
    return fail({}, "neither a Sigstore bundle (mediaType, messageSignature) nor a cosign 2 bundle (base64Signature)");
}

std::string make_cosign_bundle(const CosignPrivateKey& key, std::string_view bytes) {
    return detail::message_signature_bundle(key.public_key().hint(), bytes, key.sign(bytes));
}

fs::path write_cosign_bundle(const CosignPrivateKey& key, const fs::path& data_path) {
    const std::string bytes = read_file(data_path);
    const fs::path path = cosign_bundle_path_for(data_path);
    // ECDSA signatures differ on every run: an existing bundle that already verifies for
    // these bytes and this key is kept; any other is never replaced.
    if (fs::exists(path)) {
        if (check_cosign_bundle(key.public_key(), bytes, read_file(path)).valid) return path;
        throw Error(ErrorCode::already_exists,
                    "cosign bundle " + path.string() + " already exists and does not sign this file with this key; "
                    "refusing to replace it");
    }
    write_file_atomic(path, make_cosign_bundle(key, bytes),
                      {.mode = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read,
                       .durable = true,
                       .no_overwrite = true});
    return path;
}

fs::path find_signature_file(const fs::path& bundle_path, const fs::path& sig_path) {
    if (!sig_path.empty()) return sig_path;
    for (const fs::path& candidate :
         {signature_path_for(bundle_path), sigstore_path_for(bundle_path), cosign_bundle_path_for(bundle_path)}) {
        std::error_code ec;  // an unusable name is not found here; reading the bundle names the problem
        if (fs::exists(candidate, ec)) return candidate;
    }
    return signature_path_for(bundle_path);
}

EvidenceVerification verify_evidence_files(const fs::path& bundle_path, const fs::path& sig_path,
                                           const fs::path& public_key_path) {
    EvidenceVerification out;
    out.signature_path = find_signature_file(bundle_path, sig_path);
    if (!is_cosign_bundle_name(out.signature_path.filename().string())) {
        out.signature_format = is_sigstore_bundle_name(out.signature_path.filename().string()) ? "sigstore-bundle" : "ed25519-sig";
        out.report = verify_bundle_files(bundle_path, out.signature_path, load_public_key(public_key_path));
        return out;
    }
    const CosignPublicKey key = CosignPublicKey::load(public_key_path);
    const std::string bytes = read_file(bundle_path);
    SignatureCheck signature;
    std::string text;
    try {
        text = read_file(out.signature_path);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::not_found) throw;
        signature.reason = out.signature_path.string() + ": the cosign bundle does not exist";
    }
    if (!text.empty()) {
        const CosignCheck check = check_cosign_bundle(key, bytes, text);
        out.signature_format = check.format ? format_name(check) : "cosign-bundle";
        out.notes = check.notes();
        signature.valid = check.valid;
        if (!check.valid) signature.reason = out.signature_path.string() + ": " + check.reason;
    } else {
        out.signature_format = "cosign-bundle";
        if (signature.reason.empty()) signature.reason = out.signature_path.string() + ": the cosign bundle is empty";
    }
    out.report = verify_bundle_bytes(bytes, signature, bundle_path.string());
    return out;
}

}  // namespace worm::compliance
