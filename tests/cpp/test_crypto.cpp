// test_crypto.cpp: SHA-256 and HMAC-SHA256 (worm/crypto.hpp) against the published
// vectors and Python's hashlib/hmac, including the per-thread context reuse the signer
// relies on: a repeated key, a key swapped for another of the same length, long keys.
#include <doctest/doctest.h>

#include <sstream>
#include <thread>
#include <vector>

#include "support/test_env.hpp"
#include "worm/crypto.hpp"

using namespace worm;

namespace {

struct HmacVector {
    std::string key, data, mac_hex;
};

// RFC 4231 test cases 1, 2, 3, 4, 6 and 7 (5 is a truncated MAC).
std::vector<HmacVector> rfc4231() {
    return {
        {std::string(20, '\x0b'), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {std::string(20, '\xaa'), std::string(50, '\xdd'),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {from_hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::string(50, '\xcd'),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {std::string(131, '\xaa'),
         "This is a test using a larger than block-size key and a larger than block-size data. The key needs "
         "to be hashed before being used by the HMAC algorithm.",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
}

}  // namespace

TEST_CASE("SHA-256 matches the FIPS 180-2 vectors") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    CHECK(to_hex(sha256("abc")) == sha256_hex("abc"));
}

TEST_CASE("HMAC-SHA256 matches RFC 4231, with the same key repeated and keys swapped") {
    const auto vectors = rfc4231();
    // Each vector alone, twice in a row (the second call re-uses the keyed context).
    for (const auto& v : vectors) {
        CAPTURE(v.data);
        CHECK(to_hex(hmac_sha256(v.key, v.data)) == v.mac_hex);
        CHECK(to_hex(hmac_sha256(v.key, v.data)) == v.mac_hex);
    }
    // Interleaved: every switch of key must re-key, every repeat must keep it.
    for (std::size_t round = 0; round < 3; ++round)
        for (std::size_t i = 0; i < vectors.size(); ++i) {
            const auto& v = vectors[(i * 5 + round) % vectors.size()];
            CAPTURE(v.data);
            CHECK(to_hex(hmac_sha256(v.key, v.data)) == v.mac_hex);
        }
    // Two keys of the same length that differ in the last byte only.
    std::string k1(32, 'k'), k2 = k1;
    k2.back() = 'K';
    const std::string m1 = hmac_sha256(k1, "message"), m2 = hmac_sha256(k2, "message");
    CHECK(m1 != m2);
    CHECK(hmac_sha256(k1, "message") == m1);
    CHECK(hmac_sha256(k2, "message") == m2);
    CHECK(hmac_sha256("", "message").size() == 32);  // an empty key is allowed by HMAC
}

TEST_CASE("HMAC-SHA256 agrees with Python's hmac over keys of 0-200 bytes, in any order, on several threads") {
    // Keys and messages derived from a counter: lengths cross the 64-byte block size, and
    // neighbours often share a length (the context-reuse check must compare bytes).
    struct Case {
        std::string key, data;
    };
    std::vector<Case> cases;
    for (int i = 0; i < 120; ++i) {
        const std::string seed = sha256("case-" + std::to_string(i));
        std::string key;
        const std::size_t key_len = static_cast<std::size_t>(i % 3 == 0 ? 32 : (i * 7) % 201);
        while (key.size() < key_len) key += sha256(seed + key);
        key.resize(key_len);
        cases.push_back({key, seed + std::string(static_cast<std::size_t>(i), 'm')});
    }
    std::ostringstream script_input;
    for (const auto& c : cases) script_input << to_hex(c.key) << ' ' << to_hex(c.data) << '\n';
    const std::string script =
        "import hmac, hashlib, sys\n"
        "for line in sys.stdin:\n"
        "    k, d = line.split()\n"
        "    print(hmac.new(bytes.fromhex(k), bytes.fromhex(d), hashlib.sha256).hexdigest())\n";
    const auto result = test::run_command({test::python3(), "-c", script}, {}, script_input.str());
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    std::vector<std::string> expected;
    std::istringstream lines(result.out);
    for (std::string line; std::getline(lines, line);) expected.push_back(line);
    REQUIRE(expected.size() == cases.size());

    // Each thread walks the cases in its own order, repeating some keys back to back.
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            const auto stride = static_cast<std::size_t>(2 * t + 1), start = static_cast<std::size_t>(t);
            for (std::size_t n = 0; n < cases.size() * 2; ++n) {
                const std::size_t i = (n / 2 * stride + start) % cases.size();  // each case twice in a row
                if (to_hex(hmac_sha256(cases[i].key, cases[i].data)) != expected[i])
                    ++mismatches[static_cast<std::size_t>(t)];
            }
        });
    for (auto& th : threads) th.join();
    CHECK(mismatches == std::vector<int>(4, 0));
}
