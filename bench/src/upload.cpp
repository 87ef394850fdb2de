// Scenarios 4 and 5: PutObject throughput and client CPU against the nginx sink, and a
// large multipart upload (MB/s; the harness reads peak RSS from wait4).
//
// Same requests as anchors/upload.py and anchors_extra/multipart.py: COMPLIANCE retention
// 90 days ahead and an x-amz-checksum-sha256 computed per body (per part for multipart),
// the 4 KiB body random, the key changing per request. Content-MD5 is off, as boto3
// sends none when it sends a SHA-256 checksum (multipart parts never carry one).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common.hpp"

#ifdef WORM_BENCH_HAVE_S3CLIENT
#include "loopback_s3.hpp"
#endif

namespace bench {
namespace {

#ifdef WORM_BENCH_HAVE_S3CLIENT
worm::s3::S3Client make_client(const Args& args) {
    worm::s3::ClientConfig config = loopback_s3_config(args.require("endpoint"));
    config.part_size = static_cast<std::uint64_t>(args.get_int("part-size", 16ll << 20));
    config.multipart_threshold = config.part_size;
    config.parallel_parts = static_cast<int>(args.get_int("concurrency", 4));
    return worm::s3::S3Client(std::move(config));
}

worm::ObjectLock compliance_90_days() {
    return {.retention = worm::Retention{.mode = worm::LockMode::compliance,
                                         .retain_until = std::chrono::system_clock::now() + std::chrono::hours(24 * 90)}};
}
#endif

int run_upload(const Args& args) {
#ifdef WORM_BENCH_HAVE_S3CLIENT
    const long long n = args.get_int("n", 10000);
    const auto size = static_cast<std::size_t>(args.get_int("size", 4096));
    const int concurrency = static_cast<int>(args.get_int("concurrency", 8));
    const std::string bucket = args.require("bucket");
    auto client = make_client(args);
    std::string body(size, '\0');
    std::mt19937_64 rng(std::random_device{}());
    for (auto& c : body) c = static_cast<char>(rng());
    const auto lock = compliance_90_days();

    std::atomic<long long> next{0};
    std::atomic<long long> failures{0};
    std::string first_error;
    std::mutex error_mutex;
    auto worker = [&] {
        for (long long i = next++; i < n; i = next++) {
            char key[64];
            std::snprintf(key, sizeof key, "evidence/clinic-001/2025/11/EB-%07lld.json", i);
            worm::s3::PutObjectOptions put;
            put.bucket = bucket;
            put.key = key;
            put.body = worm::s3::S3Body::bytes(body);
            put.content_type = "application/json";
            put.lock = lock;
            put.content_md5 = false;
            try {
                client.put_object(put);
            } catch (const std::exception& e) {
                if (failures++ == 0) {
                    std::lock_guard lk(error_mutex);
                    first_error = e.what();
                }
            }
        }
    };
    Timer timer;
    std::vector<std::thread> threads;
    for (int t = 0; t < concurrency; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    const double dt = timer.seconds();
    if (failures > 0) throw std::runtime_error(std::to_string(failures.load()) + " puts failed; first: " + first_error);
    print_figure("libworm_upload_c" + std::to_string(concurrency), n > 0 ? static_cast<double>(n) / dt : 0.0,
                 "requests/s");
    return 0;
#else
    (void)args;
    unavailable("worm/s3/client.hpp is not in this tree yet");
#endif
}

int run_multipart(const Args& args) {
#ifdef WORM_BENCH_HAVE_S3CLIENT
    const std::filesystem::path file = args.require("file");
    const std::string bucket = args.require("bucket");
    auto client = make_client(args);
    const auto size = std::filesystem::file_size(file);
    // A file body streams from disk; put_object goes multipart at or above the part size.
    worm::s3::PutObjectOptions put;
    put.bucket = bucket;
    put.key = "evidence/clinic-001/2025/11/large.bin";
    put.body = worm::s3::S3Body::file(file);
    put.lock = compliance_90_days();
    put.content_md5 = false;
    Timer timer;
    auto result = client.put_object(put);
    const double dt = timer.seconds();
    if (!result.multipart) throw std::runtime_error("expected a multipart upload");
    std::fprintf(stderr, "parts: %d\n", result.parts);
    print_figure("libworm_multipart", static_cast<double>(size) / 1e6 / dt, "MB/s");
    return 0;
#else
    (void)args;
    unavailable("worm/s3/client.hpp is not in this tree yet");
#endif
}

const Register reg_upload("upload", "--endpoint URL --bucket B [--n N] [--size BYTES] [--concurrency C]", run_upload);
const Register reg_multipart("multipart", "--endpoint URL --bucket B --file F [--part-size BYTES] [--concurrency C]",
                             run_multipart);

}  // namespace
}  // namespace bench
