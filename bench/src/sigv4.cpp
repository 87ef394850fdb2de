// Scenario 1: SigV4 signatures per second for a PutObject with Object Lock headers,
// and the limit: the hash work alone with OpenSSL.
//
// The request is the anchor's (anchors/sigv4.py): PUT of a 4 KiB body whose SHA-256 is
// already known, COMPLIANCE lock mode, retain-until date, x-amz-checksum-sha256, a key
// that changes with i.
#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "common.hpp"

#ifdef WORM_BENCH_HAVE_SIGV4
#include "worm/crypto.hpp"
#include "worm/s3/sigv4.hpp"
#endif

namespace bench {
namespace {

std::string object_path(long long i) {
    char key[96];
    std::snprintf(key, sizeof key, "/evidence/clinic-001/2025/11/EB-20251101-%04lld.json", i);
    return key;
}

// Signatures per second of `sign(i)` over n requests (its result is kept, never dropped).
template <class Sign>
double signs_per_second(long long n, Sign&& sign) {
    unsigned long long sink = 0;
    Timer timer;
    for (long long i = 0; i < n; ++i) sink += sign(i);
    const double dt = timer.seconds();
    keep(sink);
    return static_cast<double>(n) / dt;
}

int run_sigv4(const Args& args) {
#ifdef WORM_BENCH_HAVE_SIGV4
    const long long n = args.get_int("n", 200000);
    const worm::s3::Credentials credentials{.access_key_id = "AKIDEXAMPLE",
                                            .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
    const std::string body(4096, 'x');
    const std::string digest = worm::sha256_hex(body);
    const double rate = signs_per_second(n, [&](long long i) {
        // Built per request, like the anchor's AWSRequest: the key changes with i.
        const worm::s3::SigningRequest request{
            .method = "PUT",
            .host = "evidence.s3.us-east-1.amazonaws.com",
            .path = object_path(i),
            .query = {},
            .headers = {{"x-amz-object-lock-mode", "COMPLIANCE"},
                        {"x-amz-object-lock-retain-until-date", "2026-02-20T00:00:00Z"},
                        {"x-amz-checksum-sha256", std::string(44, 'x')}},
            .payload_sha256_hex = digest,
        };
        const worm::s3::SigningScope scope{.region = "us-east-1", .service = "s3",
                                           .time = std::chrono::system_clock::now()};
        const auto signed_request = worm::s3::sign_request(request, credentials, scope);
        return static_cast<unsigned char>(signed_request.headers.back().second.back());  // the signature's last digit
    });
    print_figure("libworm_sigv4", rate, "signs/s");
    return 0;
#else
    (void)args;
    unavailable("worm/s3/sigv4.hpp is not in this tree yet");
#endif
}

// --- the limit: SHA-256 and HMAC-SHA256 with OpenSSL, nothing else ---------------------

struct MdCtx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~MdCtx() { EVP_MD_CTX_free(ctx); }
};

// HMAC-SHA256 with the key's inner and outer pad states computed once (a cached signing
// key makes that possible): per message, two SHA-256 finishes and no key schedule.
class CachedHmac {
public:
    CachedHmac(const EVP_MD* md, const unsigned char* key, std::size_t key_len) : md_(md) {
        unsigned char block[64] = {};
        if (key_len > sizeof block) throw std::invalid_argument("key too long for the bench");
        for (std::size_t i = 0; i < key_len; ++i) block[i] = key[i];
        unsigned char pad[64];
        for (int i = 0; i < 64; ++i) pad[i] = block[i] ^ 0x36;
        init(inner_, pad);
        for (int i = 0; i < 64; ++i) pad[i] = block[i] ^ 0x5c;
        init(outer_, pad);
    }
    void mac(const void* data, std::size_t len, unsigned char out[32]) {
        unsigned int n = 0;
        EVP_MD_CTX_copy_ex(work_.ctx, inner_.ctx);
        EVP_DigestUpdate(work_.ctx, data, len);
        EVP_DigestFinal_ex(work_.ctx, out, &n);
        EVP_MD_CTX_copy_ex(work_.ctx, outer_.ctx);
        EVP_DigestUpdate(work_.ctx, out, 32);
        EVP_DigestFinal_ex(work_.ctx, out, &n);
    }

private:
    void init(MdCtx& c, const unsigned char pad[64]) {
        EVP_DigestInit_ex(c.ctx, md_, nullptr);
        EVP_DigestUpdate(c.ctx, pad, 64);
    }
    const EVP_MD* md_;
    MdCtx inner_, outer_, work_;
};

// A canonical request and string to sign of the real size for the anchor's request (the
// bytes differ per i like the key does; their content does not matter to the hash cost).
std::string canonical_request(long long i) {
    return "PUT\n" + object_path(i) +
           "\n\n"
           "host:evidence.s3.us-east-1.amazonaws.com\n"
           "x-amz-checksum-sha256:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
           "x-amz-content-sha256:4c3e5b5c5d1a8b9c2b7b8f4d6a0e3c1f5b9d2e7a4c6f8b0d1e3a5c7e9f1b3d5a\n"
           "x-amz-date:20251101T053000Z\n"
           "x-amz-object-lock-mode:COMPLIANCE\n"
           "x-amz-object-lock-retain-until-date:2026-02-20T00:00:00Z\n"
           "\n"
           "host;x-amz-checksum-sha256;x-amz-content-sha256;x-amz-date;x-amz-object-lock-mode;"
           "x-amz-object-lock-retain-until-date\n"
           "4c3e5b5c5d1a8b9c2b7b8f4d6a0e3c1f5b9d2e7a4c6f8b0d1e3a5c7e9f1b3d5a";
}

// The hash work of one signature: SHA-256 of the canonical request, its hex in the string
// to sign, one HMAC with the signing key. Returns a byte of the MAC.
unsigned char hash_work(long long i, const EVP_MD* md, MdCtx& sha, CachedHmac& signing_key) {
    static const char hex[] = "0123456789abcdef";
    static const std::string sts_prefix = "AWS4-HMAC-SHA256\n20251101T053000Z\n20251101/us-east-1/s3/aws4_request\n";
    const std::string creq = canonical_request(i);
    unsigned char digest[32];
    unsigned int len = 0;
    EVP_DigestInit_ex(sha.ctx, md, nullptr);
    EVP_DigestUpdate(sha.ctx, creq.data(), creq.size());
    EVP_DigestFinal_ex(sha.ctx, digest, &len);
    std::string sts = sts_prefix;
    for (unsigned char b : digest) {
        sts.push_back(hex[b >> 4]);
        sts.push_back(hex[b & 15]);
    }
    unsigned char mac[32];
    signing_key.mac(sts.data(), sts.size(), mac);
    return mac[0];
}

int run_sigv4_limit(const Args& args) {
    const long long n = args.get_int("n", 1000000);
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!md) throw std::runtime_error("OpenSSL has no SHA256");
    MdCtx sha;

    // With a cached signing key: its pads are computed once.
    const unsigned char cached_key[32] = {1, 2, 3};
    CachedHmac cached(md, cached_key, sizeof cached_key);
    const double with_cache = signs_per_second(n, [&](long long i) { return hash_work(i, md, sha, cached); });

    // Without a cache, as botocore signs: four more HMACs derive the key from the secret
    // per request (each with its own key schedule).
    const long long n2 = n / 4 > 0 ? n / 4 : 1;
    const double derived = signs_per_second(n2, [&](long long i) {
        static const std::string secret = "AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        unsigned char k[32];
        CachedHmac(md, reinterpret_cast<const unsigned char*>(secret.data()), secret.size()).mac("20251101", 8, k);
        CachedHmac(md, k, 32).mac("us-east-1", 9, k);
        CachedHmac(md, k, 32).mac("s3", 2, k);
        CachedHmac(md, k, 32).mac("aws4_request", 12, k);
        CachedHmac signing_key(md, k, 32);
        return hash_work(i, md, sha, signing_key);
    });
    EVP_MD_free(md);
    print_figure("limit_sigv4_cached_key", with_cache, "signs/s");
    print_figure("limit_sigv4_derived_key", derived, "signs/s");
    return 0;
}

const Register reg_sigv4("sigv4", "[--n N]", run_sigv4);
const Register reg_limit("sigv4-limit", "[--n N]", run_sigv4_limit);

}  // namespace
}  // namespace bench
