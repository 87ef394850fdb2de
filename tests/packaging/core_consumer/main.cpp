// Uses worm::core only (built with WORM_CONSUMER_S3, the control also calls worm::s3): canonical JSON, SHA-256, Ed25519 and the local WORM store.
#include <worm/crypto.hpp>
#include <worm/ed25519.hpp>
#include <worm/canonical_json.hpp>
#include <worm/storage/local.hpp>
#ifdef WORM_CONSUMER_S3
#include <worm/storage.hpp>
#endif

#include <filesystem>
#include <iostream>

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    if (worm::sha256_hex("abc") != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") return 1;
    if (worm::json::canonicalize(std::string_view(R"({"b":1,"a":2})")) != R"({"a":2,"b":1})") return 1;
    const worm::Ed25519PrivateKey key = worm::Ed25519PrivateKey::generate();
    const std::string message = "evidence";
    if (!key.public_key().verify(message, key.sign(message))) return 1;
    worm::LocalWormStore store{std::filesystem::path(argv[1])};
    store.put("evidence/c1/EB-1.json", worm::PutBody::from_bytes("{}"), worm::PutOptions{});
    if (store.get("evidence/c1/EB-1.json") != "{}") return 1;
#ifdef WORM_CONSUMER_S3
    // The control build (worm::s3) opens a store through open_store, which reaches libcurl.
    if (worm::open_store("file://" + std::filesystem::absolute(argv[1]).string())->get("evidence/c1/EB-1.json") != "{}") return 1;
#endif
    std::cout << "consumer ok\n";
    return 0;
}
