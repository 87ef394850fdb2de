// Ed25519 keys, key files and .sig files: published vectors (RFC 8032, Wycheproof),
// interop with the reference verifiers (openssl CLI, Python cryptography), key file
// permissions and passphrases, and tamper detection.
#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <thread>
#include <vector>

#include "support/error_code.hpp"
#include "support/test_env.hpp"
#include "worm/crypto.hpp"
#include "worm/ed25519.hpp"
#include "worm/error.hpp"
#include "worm/signer.hpp"

namespace fs = std::filesystem;
using namespace worm;
using worm::test::error_of;

namespace {

rapidjson::Document load_json(const fs::path& path) {
    const std::string text = test::read_file(path);
    rapidjson::Document doc;
    doc.Parse(text.c_str(), text.size());
    REQUIRE_FALSE(doc.HasParseError());
    return doc;
}

std::string str(const rapidjson::Value& v, const char* name) {
    REQUIRE(v.HasMember(name));
    return std::string(v[name].GetString(), v[name].GetStringLength());
}

unsigned file_mode(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

void set_mode(const fs::path& p, unsigned mode) { REQUIRE(::chmod(p.c_str(), static_cast<mode_t>(mode)) == 0); }

// Python's cryptography, the reference verifier the existing agents use.
test::CommandResult python(const std::string& script, const std::vector<std::string>& args,
                           const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv{test::python3(), "-c", script};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_command(argv, env);
}

const char* const small_json = R"({"bundle_id":"EB-20250101-0001","client_id":"acme","ok":true})";

}  // namespace

TEST_CASE("RFC 8032 section 7.1 vectors: sign from the seed gives the published key and signature") {
    const auto doc = load_json(test::testdata_dir() / "ed25519" / "rfc8032.json");
    const auto& vectors = doc["vectors"];
    REQUIRE(vectors.Size() == 5);
    for (const auto& v : vectors.GetArray()) {
        CAPTURE(str(v, "name"));
        std::string seed = from_hex(str(v, "secret_key"));
        const std::string pub = from_hex(str(v, "public_key"));
        const std::string msg = from_hex(str(v, "message"));
        const std::string sig = from_hex(str(v, "signature"));
        REQUIRE(msg.size() == v["message_length"].GetUint());

        const auto key = Ed25519PrivateKey::from_raw_seed(seed);
        CHECK(to_hex(key.public_key().raw()) == to_hex(pub));
        CHECK(to_hex(key.sign(msg)) == to_hex(sig));

        const auto pk = Ed25519PublicKey::from_raw(pub);
        CHECK(pk.verify(msg, sig));
        std::string bad = sig;
        bad[63] = static_cast<char>(bad[63] ^ 0x01);
        CHECK_FALSE(pk.verify(msg, bad));
        // A round trip through PEM keeps the same key.
        const auto again = Ed25519PrivateKey::from_pem(key.to_pem());
        CHECK(to_hex(again.sign(msg)) == to_hex(sig));
        CHECK(Ed25519PublicKey::from_pem(pk.to_pem()) == pk);
    }
}

TEST_CASE("Wycheproof ed25519_test.json: every valid case accepted, every invalid case rejected") {
    const auto doc = load_json(test::testdata_dir() / "ed25519" / "wycheproof" / "ed25519_test.json");
    std::map<std::string, int> by_flag;
    int valid = 0, invalid = 0, wrong_length = 0;
    for (const auto& group : doc["testGroups"].GetArray()) {
        const auto pk = Ed25519PublicKey::from_raw(from_hex(str(group["publicKey"], "pk")));
        // The PEM form of the group's key is the same key.
        CHECK(Ed25519PublicKey::from_pem(str(group, "publicKeyPem")) == pk);
        for (const auto& t : group["tests"].GetArray()) {
            const int id = t["tcId"].GetInt();
            const std::string msg = from_hex(str(t, "msg"));
            const std::string sig = from_hex(str(t, "sig"));
            const std::string result = str(t, "result");
            REQUIRE((result == "valid" || result == "invalid"));
            const bool expected = result == "valid";
            CHECK_MESSAGE(pk.verify(msg, sig) == expected, "tcId " << id << ": " << str(t, "comment"));
            // The .sig line path must agree with the raw verifier (when base64 can carry it).
            if (!sig.empty())
                CHECK_MESSAGE(verify_signature_line(pk, msg, base64_encode(sig) + "\n") == expected, "tcId " << id);
            (expected ? valid : invalid)++;
            if (sig.size() != 64) ++wrong_length;
            for (const auto& f : t["flags"].GetArray()) by_flag[f.GetString()]++;
        }
    }
    CHECK(valid + invalid == doc["numberOfTests"].GetInt());
    CHECK(valid == 88);
    CHECK(invalid == 63);
    CHECK(wrong_length > 0);
    // The hard categories are really in the run: non-canonical S, bad encodings, lengths.
    CHECK(by_flag["SignatureMalleability"] == 8);
    CHECK(by_flag["InvalidEncoding"] == 22);
    CHECK(by_flag["TruncatedSignature"] == 3);
    CHECK(by_flag["SignatureWithGarbage"] == 5);
}

TEST_CASE("verify: keys taken in turn on one thread, keys freed and made anew, and threads verifying at once") {
    // Each thread keeps a verification context for the key it used last: switching keys,
    // and a new key object (possibly at a freed key's address), must still verify against
    // the key asked, never the one kept.
    const std::string message = "evidence bundle bytes";
    std::vector<Ed25519PrivateKey> signers;
    for (int i = 0; i < 3; ++i) signers.push_back(Ed25519PrivateKey::generate());
    std::vector<std::string> signatures;
    for (const auto& k : signers) signatures.push_back(k.sign(message));
    for (int round = 0; round < 3; ++round)
        for (std::size_t k = 0; k < signers.size(); ++k)
            for (std::size_t s = 0; s < signatures.size(); ++s) {
                CAPTURE(round);
                CAPTURE(k);
                CAPTURE(s);
                // A fresh object each time: freed at the end of the statement, then made again.
                CHECK(Ed25519PublicKey::from_raw(signers[k].public_key().raw()).verify(message, signatures[s]) == (k == s));
            }
    const Ed25519PublicKey key = signers[1].public_key();
    std::string bad = signatures[1];
    bad[10] ^= 1;
    CHECK(key.verify(message, signatures[1]));
    CHECK_FALSE(key.verify(message, bad));
    CHECK_FALSE(key.verify(message + ".", signatures[1]));
    CHECK(key.verify(message, signatures[1]));

    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            const Ed25519PublicKey own = signers[static_cast<std::size_t>(t) % 3].public_key();
            for (int i = 0; i < 200; ++i) {
                const std::size_t s = static_cast<std::size_t>(i) % 3;
                const bool expected = s == static_cast<std::size_t>(t) % 3;
                if ((i % 2 ? own : key).verify(message, signatures[s]) != (i % 2 ? expected : s == 1)) wrong++;
            }
        });
    for (auto& th : threads) th.join();
    CHECK(wrong == 0);
}

TEST_CASE("keys: PEM forms, bad input, and moved-from objects") {
    const auto key = Ed25519PrivateKey::generate();
    const std::string pem = key.to_pem();
    CHECK(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0) == 0);
    CHECK(key.public_key().to_pem().rfind("-----BEGIN PUBLIC KEY-----\n", 0) == 0);
    CHECK(Ed25519PrivateKey::from_pem(pem).public_key() == key.public_key());
    CHECK_FALSE(Ed25519PrivateKey::generate().public_key() == key.public_key());

    error_of([] { (void)Ed25519PrivateKey::from_raw_seed(std::string(31, 'x')); }, ErrorCode::invalid_argument);
    error_of([] { (void)Ed25519PublicKey::from_raw(std::string(33, 'x')); }, ErrorCode::invalid_argument);
    error_of([] { (void)Ed25519PrivateKey::from_pem("not a key"); }, ErrorCode::parse);
    error_of([] { (void)Ed25519PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"); },
             ErrorCode::parse);
    error_of([] { (void)Ed25519PrivateKey::generate().to_pem(std::string{}); },
             ErrorCode::invalid_argument);

    // A signature of the wrong length is just invalid, never an exception.
    const std::string sig = key.sign("m");
    CHECK_FALSE(key.public_key().verify("m", sig.substr(0, 63)));
    CHECK_FALSE(key.public_key().verify("m", sig + "x"));
    CHECK_FALSE(key.public_key().verify("m", ""));

    auto moved = Ed25519PrivateKey::generate();
    auto taker = std::move(moved);
    CHECK(taker.sign("x").size() == 64);
    error_of([&] { (void)moved.sign("x"); }, ErrorCode::invalid_argument);  // NOLINT(bugprone-use-after-move)

    auto pk = key.public_key();
    const auto copy = pk;  // copies share the key
    CHECK(copy == pk);
    CHECK(copy.verify("m", sig));
}

TEST_CASE("keys of another type are refused with Error(crypto)") {
    test::TempDir dir;
    const auto r = test::run_command({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                                      "ec_paramgen_curve:P-256", "-out", (dir / "ec.pem").string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto pub = test::run_command(
        {"openssl", "pkey", "-in", (dir / "ec.pem").string(), "-pubout", "-out", (dir / "ec.pub").string()});
    REQUIRE(pub.exit_code == 0);
    set_mode(dir / "ec.pem", 0400);
    CHECK(error_of([&] { (void)load_private_key(dir / "ec.pem"); }, ErrorCode::crypto).find("not an Ed25519 key") !=
          std::string::npos);
    error_of([&] { (void)load_public_key(dir / "ec.pub"); }, ErrorCode::crypto);
}

TEST_CASE("generate_key_files: modes 0400/0644, PKCS#8/SPKI, and never overwrites") {
    test::TempDir tmp;
    const fs::path dir = tmp / "keys";
    const auto paths = generate_key_files(dir);
    CHECK(paths.private_key == dir / "private.pem");
    CHECK(paths.public_key == dir / "public.pem");
    CHECK(file_mode(paths.private_key) == 0400);
    CHECK(file_mode(paths.public_key) == 0644);
    CHECK(file_mode(dir) == 0700);
    CHECK(test::read_file(paths.private_key).rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
    const auto key = load_private_key(paths.private_key);
    CHECK(load_public_key(paths.public_key) == key.public_key());

    const std::string before = test::read_file(paths.private_key);
    CHECK(error_of([&] { generate_key_files(dir); }, ErrorCode::already_exists).find("private.pem") !=
          std::string::npos);
    CHECK(test::read_file(paths.private_key) == before);

    // Only a public.pem present is refused too, and nothing is written.
    const fs::path dir2 = tmp / "half";
    test::write_file(dir2 / "public.pem", "x");
    error_of([&] { generate_key_files(dir2); }, ErrorCode::already_exists);
    CHECK_FALSE(fs::exists(dir2 / "private.pem"));
    CHECK(test::read_file(dir2 / "public.pem") == "x");
}

TEST_CASE("load_private_key: 0400 and 0600 accepted; group/other access refused like ssh") {
    test::TempDir tmp;
    const auto paths = generate_key_files(tmp / "k");
    const auto expected = load_public_key(paths.public_key);
    for (unsigned ok : {0400u, 0600u}) {
        CAPTURE(ok);
        set_mode(paths.private_key, ok);
        CHECK(load_private_key(paths.private_key).public_key() == expected);
    }
    const std::map<unsigned, std::string> refused{{0640, "readable"}, {0644, "readable"}, {0604, "readable"},
                                                  {0620, "writable"}, {0660, "readable and writable"},
                                                  {0610, "accessible"}};
    for (const auto& [mode, word] : refused) {
        CAPTURE(mode);
        set_mode(paths.private_key, mode);
        const std::string msg = error_of([&] { (void)load_private_key(paths.private_key); }, ErrorCode::config);
        char mode_text[8];
        std::snprintf(mode_text, sizeof mode_text, "%04o", mode);
        CHECK(msg == "private key " + paths.private_key.string() + " is " + word + " by group or others (mode " +
                         mode_text + "); run chmod 400 " + paths.private_key.string());
    }
    set_mode(paths.private_key, 0400);

    const std::string missing = error_of([&] { (void)load_private_key(tmp / "nope.pem"); }, ErrorCode::config);
    CHECK(missing.find("does not exist") != std::string::npos);
    error_of([&] { (void)load_public_key(tmp / "nope.pub"); }, ErrorCode::config);
    error_of([&] { (void)load_private_key(tmp.path()); }, ErrorCode::config);  // a directory

    // The key bytes never show up in an error message.
    test::write_file(tmp / "garbage.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    set_mode(tmp / "garbage.pem", 0400);
    error_of([&] { (void)load_private_key(tmp / "garbage.pem"); }, ErrorCode::parse);
}

TEST_CASE("passphrase: encrypted round trip, missing or wrong passphrase refused without echoing it") {
    test::TempDir tmp;
    const std::string pass = "correct horse battery staple";
    const auto paths = generate_key_files(tmp / "k", pass);
    const std::string pem = test::read_file(paths.private_key);
    CHECK(pem.rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----", 0) == 0);
    const auto expected = load_public_key(paths.public_key);
    CHECK(load_private_key(paths.private_key, pass).public_key() == expected);

    const std::string no_pass = error_of([&] { (void)load_private_key(paths.private_key); }, ErrorCode::config);
    CHECK(no_pass.find("encrypted") != std::string::npos);
    CHECK(no_pass.find("WORM_KEY_PASSWORD") != std::string::npos);

    const std::string wrong_pass = "Tr0ub4dor&3-wrong";
    const std::string wrong =
        error_of([&] { (void)load_private_key(paths.private_key, wrong_pass); }, ErrorCode::config);
    CHECK(wrong.find("wrong passphrase") != std::string::npos);
    CHECK(wrong.find(wrong_pass) == std::string::npos);
    CHECK(wrong.find(pass) == std::string::npos);

    // openssl reads the scrypt/AES-256-CBC PKCS#8 file and derives the same public key.
    const auto r = test::run_command({"openssl", "pkey", "-in", paths.private_key.string(), "-passin",
                                      "env:WORM_TEST_PASS", "-pubout"},
                                     {"WORM_TEST_PASS=" + pass});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out == expected.to_pem());
    const auto asn1 = test::run_command({"openssl", "asn1parse", "-in", paths.private_key.string()});
    CHECK(asn1.out.find(":scrypt") != std::string::npos);
    CHECK(asn1.out.find("INTEGER           :4000") != std::string::npos);  // N = 2^14
    CHECK(asn1.out.find("aes-256-cbc") != std::string::npos);
}

TEST_CASE("key_password_from_env reads WORM_KEY_PASSWORD, empty means unset") {
    ::unsetenv("WORM_KEY_PASSWORD");
    CHECK_FALSE(key_password_from_env().has_value());
    ::setenv("WORM_KEY_PASSWORD", "", 1);
    CHECK_FALSE(key_password_from_env().has_value());
    ::setenv("WORM_KEY_PASSWORD", "s3cret", 1);
    CHECK(key_password_from_env() == std::optional<std::string>("s3cret"));
    ::unsetenv("WORM_KEY_PASSWORD");
}

TEST_CASE("sign_file writes <name>.sig (0644) over the exact bytes; re-signing is idempotent") {
    test::TempDir tmp;
    CHECK(signature_path_for("/a/EB-1.json") == fs::path("/a/EB-1.sig"));
    CHECK(signature_path_for("/a/log.ndjson") == fs::path("/a/log.ndjson.sig"));
    CHECK(signature_path_for("/a/noext") == fs::path("/a/noext.sig"));

    const auto key = Ed25519PrivateKey::generate();
    const fs::path json = tmp / "EB-20250101-0001.json";
    test::write_file(json, small_json);
    const fs::path sig = sign_file(key, json);
    CHECK(sig == tmp / "EB-20250101-0001.sig");
    CHECK(file_mode(sig) == 0644);
    const std::string line = test::read_file(sig);
    CHECK(line == make_signature_line(key, small_json));
    CHECK(line.size() == 89);  // 88 base64 characters and "\n"
    CHECK(base64_decode(line.substr(0, 88)) == key.sign(small_json));

    CHECK(sign_file(key, json) == sig);  // same key, same bytes: fine
    error_of([&] { (void)sign_file(Ed25519PrivateKey::generate(), json); }, ErrorCode::already_exists);
    CHECK(test::read_file(sig) == line);

    const auto check = verify_file_signature(key.public_key(), json);
    CHECK(check.valid);
    CHECK(check.reason.empty());
    CHECK(verify_file_signature(key.public_key(), json, sig).valid);
    error_of([&] { (void)sign_file(key, tmp / "missing.json"); }, ErrorCode::not_found);
}

TEST_CASE("verify_file_signature: missing .sig is invalid, missing data is not_found, wrong key is invalid") {
    test::TempDir tmp;
    const auto key = Ed25519PrivateKey::generate();
    const fs::path json = tmp / "b.json";
    test::write_file(json, small_json);
    auto missing = verify_file_signature(key.public_key(), json);
    CHECK_FALSE(missing.valid);
    CHECK(missing.reason.find("does not exist") != std::string::npos);
    error_of([&] { (void)verify_file_signature(key.public_key(), tmp / "none.json"); }, ErrorCode::not_found);

    sign_file(key, json);
    const auto other = verify_file_signature(Ed25519PrivateKey::generate().public_key(), json);
    CHECK_FALSE(other.valid);
    CHECK(other.reason.find("does not match") != std::string::npos);
}

TEST_CASE(".sig parsing is strict: one base64 line of 64 bytes, optional trailing newline") {
    const auto key = Ed25519PrivateKey::generate();
    const auto pk = key.public_key();
    const std::string data = small_json;
    const std::string b64 = base64_encode(key.sign(data));
    CHECK(check_signature_line(pk, data, b64 + "\n").valid);
    CHECK(check_signature_line(pk, data, b64).valid);

    const std::map<std::string, std::string> bad{
        {"", "empty"},
        {"\n", "empty"},
        {b64 + "\r\n", "outside base64"},
        {b64 + "\n\n", "more than one line"},
        {b64 + "\n" + b64 + "\n", "more than one line"},
        {" " + b64 + "\n", "outside base64"},
        {b64 + " \n", "outside base64"},
        {b64.substr(0, 86) + "\n", "not valid base64"},
        {base64_encode(key.sign(data).substr(0, 63)) + "\n", "63 bytes"},
        {base64_encode(key.sign(data) + "x") + "\n", "65 bytes"},
        {"=" + b64.substr(1) + "\n", "not valid base64"},
        {base64_encode(std::string(64, '\0')) + "\n", "does not match"},
    };
    for (const auto& [text, why] : bad) {
        CAPTURE(text);
        const auto c = check_signature_line(pk, data, text);
        CHECK_FALSE(c.valid);
        CHECK_MESSAGE(c.reason.find(why) != std::string::npos, c.reason);
        CHECK_FALSE(verify_signature_line(pk, data, text));
    }
}

TEST_CASE("every single-byte change of a signed file is caught") {
    test::TempDir tmp;
    const auto key = Ed25519PrivateKey::generate();
    const auto pk = key.public_key();
    const std::string data = small_json;
    const std::string line = make_signature_line(key, data);
    REQUIRE(verify_signature_line(pk, data, line));
    int caught = 0, tried = 0;
    for (size_t i = 0; i < data.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {  // every other value of byte i differs in some bit; try each bit
            std::string changed = data;
            changed[i] = static_cast<char>(changed[i] ^ (1 << bit));
            ++tried;
            if (!verify_signature_line(pk, changed, line)) ++caught;
        }
    }
    CHECK(caught == tried);
    CHECK(tried == static_cast<int>(data.size()) * 8);
    CHECK_FALSE(verify_signature_line(pk, data + "\n", line));
    CHECK_FALSE(verify_signature_line(pk, data.substr(0, data.size() - 1), line));

    // And through files on disk, for each byte position.
    const fs::path json = tmp / "t.json";
    test::write_file(json, data);
    sign_file(key, json);
    for (size_t i = 0; i < data.size(); ++i) {
        std::string changed = data;
        changed[i] = static_cast<char>(changed[i] ^ 0x20);
        test::write_file(json, changed);
        CHECK_FALSE(verify_file_signature(pk, json).valid);
    }
    test::write_file(json, data);
    CHECK(verify_file_signature(pk, json).valid);
}

TEST_CASE("interop: a libworm .sig verifies with openssl pkeyutl and with Python cryptography") {
    test::TempDir tmp;
    const auto paths = generate_key_files(tmp / "keys");
    const auto key = load_private_key(paths.private_key);
    const fs::path json = tmp / "EB-20250101-0001.json";
    test::write_file(json, small_json);
    const fs::path sig = sign_file(key, json);

    // openssl wants the raw 64 bytes: decode the .sig line first.
    const std::string line = test::read_file(sig);
    test::write_file(tmp / "raw.sig", base64_decode(line.substr(0, line.size() - 1)));
    const std::vector<std::string> verify{"openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                                          paths.public_key.string(), "-rawin", "-in", json.string(),
                                          "-sigfile", (tmp / "raw.sig").string()};
    auto r = test::run_command(verify);
    CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
    CHECK(r.out.find("Signature Verified Successfully") != std::string::npos);

    const std::string py_verify = R"(
import base64, sys
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from cryptography.exceptions import InvalidSignature
pub = load_pem_public_key(open(sys.argv[1], 'rb').read())
data = open(sys.argv[2], 'rb').read()
sig = base64.b64decode(open(sys.argv[3], 'rb').read().removesuffix(b'\n'), validate=True)
try:
    pub.verify(sig, data)
    print('valid')
except InvalidSignature:
    print('invalid')
    sys.exit(1)
)";
    r = python(py_verify, {paths.public_key.string(), json.string(), sig.string()});
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out == "valid\n");

    // Both peers reject the same signature once the file changes (the checks are real).
    std::string changed = small_json;
    changed[10] = 'X';
    test::write_file(json, changed);
    r = test::run_command(verify);
    CHECK(r.exit_code != 0);
    r = python(py_verify, {paths.public_key.string(), json.string(), sig.string()});
    CHECK(r.out == "invalid\n");
}

TEST_CASE("interop: libworm's encrypted key loads in Python cryptography with the passphrase") {
    test::TempDir tmp;
    const auto paths = generate_key_files(tmp / "keys", std::string("pass phrase"));
    const auto r = python(R"(
import sys
from cryptography.hazmat.primitives.serialization import load_pem_private_key, Encoding, PublicFormat
key = load_pem_private_key(open(sys.argv[1], 'rb').read(), password=b'pass phrase')
sys.stdout.write(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode())
)",
                          {paths.private_key.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out == test::read_file(paths.public_key));
}

TEST_CASE("interop: openssl-generated keys and Python-made signatures are accepted by libworm") {
    test::TempDir tmp;
    // A key from `openssl genpkey`: libworm loads it and signs exactly as openssl does.
    const fs::path priv = tmp / "ossl.pem", pub = tmp / "ossl.pub", data = tmp / "d.json";
    auto r = test::run_command({"openssl", "genpkey", "-algorithm", "ed25519", "-out", priv.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    r = test::run_command({"openssl", "pkey", "-in", priv.string(), "-pubout", "-out", pub.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    set_mode(priv, 0600);
    const auto key = load_private_key(priv);
    const auto pk = load_public_key(pub);
    CHECK(key.public_key() == pk);
    CHECK(pk.to_pem() == test::read_file(pub));

    test::write_file(data, small_json);
    r = test::run_command({"openssl", "pkeyutl", "-sign", "-inkey", priv.string(), "-rawin", "-in", data.string(),
                           "-out", (tmp / "ossl.raw").string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const std::string ossl_sig = test::read_file(tmp / "ossl.raw");
    CHECK(ossl_sig == key.sign(small_json));  // Ed25519 is deterministic
    CHECK(pk.verify(small_json, ossl_sig));

    // A key and a .sig line made by Python cryptography.
    const fs::path py_dir = tmp / "py";
    fs::create_directories(py_dir);
    r = python(R"(
import base64, os, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (Encoding, PrivateFormat, PublicFormat,
                                                          BestAvailableEncryption, NoEncryption)
d = sys.argv[1]
key = Ed25519PrivateKey.generate()
open(os.path.join(d, 'private.pem'), 'wb').write(
    key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b'py-pass')))
os.chmod(os.path.join(d, 'private.pem'), 0o400)
open(os.path.join(d, 'public.pem'), 'wb').write(
    key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
data = open(sys.argv[2], 'rb').read()
open(os.path.join(d, 'd.sig'), 'wb').write(base64.b64encode(key.sign(data)) + b'\n')
)",
               {py_dir.string(), data.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto py_pub = load_public_key(py_dir / "public.pem");
    const auto check = verify_file_signature(py_pub, data, py_dir / "d.sig");
    CHECK_MESSAGE(check.valid, check.reason);
    // Python's encrypted PKCS#8 key loads too and signs the same bytes identically.
    const auto py_key = load_private_key(py_dir / "private.pem", std::string("py-pass"));
    CHECK(py_key.public_key() == py_pub);
    CHECK(make_signature_line(py_key, small_json) == test::read_file(py_dir / "d.sig"));
    error_of([&] { (void)load_private_key(py_dir / "private.pem", std::string("nope")); }, ErrorCode::config);
}
