// Audit logs: AuditLogSink::log() throughput and p99 latency from 1..N threads (memory and
// journal mode) beside spdlog's async logger with a file sink; end-to-end records/s into an
// S3-shaped sink; memory during an outage backlog.
//   worm_bench audit-log --threads T --records N --mode memory|disk --dir D [--store-dir S | --endpoint URL --bucket B]
//   worm_bench spdlog-async --threads T --records N --dir D
//   worm_bench audit-log-outage --seconds S --rate R --dir D
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "common.hpp"

#if __has_include("worm/audit_log.hpp")
#define WORM_BENCH_HAVE_AUDIT_LOG 1
#include "audit_log/log_value.hpp"  // the record as a parsed document, as the Python handler logs it
#include "loopback_s3.hpp"
#include "worm/audit_log.hpp"
#include "worm/s3/store.hpp"
#include "worm/storage/local.hpp"
#endif
#ifdef WORM_BENCH_HAVE_SPDLOG
#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#endif

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

// A seed-004-shaped record (~330 bytes as JSON).
constexpr const char* sample_record =
    R"({"level":"INFO","service_name":"camera_service","request_id":"req-12345-abcde","user_id":"user123",)"
    R"("camera_id":"cam001","action":"motion_detected","message":"Motion detected in camera cam001",)"
    R"("logger_name":"camera_service","module":"motion_detector","function":"process_frame","line":245,)"
    R"("confidence":0.92,"detection_count":3})";

long long resident_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
    return 0;
}

// Runs `call` records/threads times on each thread; prints rate and p99 of single calls.
template <class Call>
void measure_calls(const std::string& name, int threads, long long records, Call call) {
    const long long per_thread = records / threads;
    std::vector<std::vector<std::uint32_t>> latencies(static_cast<size_t>(threads));
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            auto& lat = latencies[static_cast<size_t>(t)];
            lat.reserve(static_cast<size_t>(per_thread));
            ++ready;
            while (!go) std::this_thread::yield();
            for (long long i = 0; i < per_thread; ++i) {
                const auto a = Clock::now();
                call();
                lat.push_back(static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - a).count()));
            }
        });
    while (ready < threads) std::this_thread::yield();
    const auto start = Clock::now();
    go = true;
    for (auto& w : workers) w.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::vector<std::uint32_t> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::nth_element(all.begin(), all.begin() + static_cast<long>(all.size() * 99 / 100), all.end());
    print_figure(name + "_records_per_s", static_cast<double>(per_thread * threads) / seconds, "rec/s");
    print_figure(name + "_p99_us", all[all.size() * 99 / 100] / 1000.0, "us");
}

#ifdef WORM_BENCH_HAVE_AUDIT_LOG
std::shared_ptr<worm::ObjectStore> make_store(const Args& args, const std::filesystem::path& dir) {
    // --store-dir puts the local store elsewhere than the journal (bench/run.py: /dev/shm),
    // so that what the store's file creations cost on this disk stays out of log()'s figure.
    if (args.get("endpoint").empty())
        return std::make_shared<worm::LocalWormStore>(args.get("store-dir", (dir / "store").string()),
                                                      worm::system_clock(), worm::LocalStoreOptions{.durable = false});
    worm::s3::ClientConfig config = loopback_s3_config(args.require("endpoint"));
    config.retry.base_delay = std::chrono::milliseconds(20);
    return std::make_shared<worm::s3::S3Store>(std::make_shared<worm::s3::S3Client>(std::move(config)),
                                               args.get("bucket", "bench"));
}

worm::AuditLogOptions bench_options(const Args& args, const std::filesystem::path& dir) {
    worm::AuditLogOptions o;
    o.service_name = "camera_service";
    o.journal_mode = args.get("mode", "disk") == "memory" ? worm::JournalMode::memory : worm::JournalMode::disk;
    o.journal_dir = dir / "journal";
    o.max_records = static_cast<std::size_t>(args.get_int("batch", 1000));
    o.advanced.create_only = args.get("endpoint").empty();  // the nginx sink answers If-None-Match with 304
    o.max_journal_bytes = 16ull << 30;
    o.block_timeout = std::chrono::milliseconds(60'000);
    if (const auto ring_mib = args.get_int("ring-mib", 0); ring_mib > 0)
        o.advanced.journal_ring_bytes = static_cast<std::uint64_t>(ring_mib) << 20;
    return o;
}
#endif

int run_audit_log(const Args& args) {
#ifdef WORM_BENCH_HAVE_AUDIT_LOG
    const auto dir = args.scratch_dir();
    const int threads = static_cast<int>(args.get_int("threads", 1));
    const long long records = args.get_int("records", 200'000);
    const rapidjson::Document record = [] {
        rapidjson::Document d;
        d.Parse(sample_record);
        return d;
    }();
    const auto start = Clock::now();
    worm::AuditLogSink sink(make_store(args, dir), bench_options(args, dir));
    measure_calls("audit_log", threads, records, [&] { worm::audit_log::detail::log_value(sink, record); });
    if (!sink.close(std::chrono::minutes(10))) throw std::runtime_error("the sink did not drain");
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    print_figure("audit_log_end_to_end_records_per_s", static_cast<double>(sink.stats().stored) / seconds, "rec/s");
    return 0;
#else
    (void)args;
    unavailable("audit_log.hpp");
#endif
}

int run_spdlog(const Args& args) {
#ifdef WORM_BENCH_HAVE_SPDLOG
    const auto dir = args.scratch_dir();
    const int threads = static_cast<int>(args.get_int("threads", 1));
    const long long records = args.get_int("records", 200'000);
    spdlog::init_thread_pool(8192, 1);
    // Blocking overflow (nothing dropped), as a lossless audit log needs.
    auto logger = std::make_shared<spdlog::async_logger>("bench-block", std::make_shared<spdlog::sinks::basic_file_sink_mt>(
                                                                       (dir / "spdlog-block.log").string()),
                                                    spdlog::thread_pool(), spdlog::async_overflow_policy::block);
    logger->set_pattern("%v");
    measure_calls("spdlog_async", threads, records, [&] { logger->info(sample_record); });
    logger->flush();
    spdlog::shutdown();
    return 0;
#else
    (void)args;
    unavailable("spdlog (apt-get install libspdlog-dev)");
#endif
}

int run_outage(const Args& args) {
#ifdef WORM_BENCH_HAVE_AUDIT_LOG
    // The store is a port nothing listens on: every PUT fails, the backlog stays on disk.
    const auto dir = args.scratch_dir();
    const double seconds = static_cast<double>(args.get_int("seconds", 600));
    const long long rate = args.get_int("rate", 20'000);
    auto store = std::make_shared<worm::s3::S3Store>(
        std::make_shared<worm::s3::S3Client>(loopback_s3_config("http://127.0.0.1:" + args.get("port", "9"))), "bench");
    auto options = bench_options(args, dir);
    options.max_records = 50;
    worm::AuditLogSink sink(store, options);
    rapidjson::Document record;
    record.Parse(sample_record);
    const long long rss_start = resident_kib();
    long long peak = rss_start, logged = 0;
    const auto start = Clock::now();
    for (;;) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        if (elapsed >= seconds) break;
        const long long due = static_cast<long long>(elapsed * static_cast<double>(rate));
        for (; logged < due; ++logged) worm::audit_log::detail::log_value(sink, record);
        peak = std::max(peak, resident_kib());
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const auto s = sink.stats();
    print_figure("outage_records", static_cast<double>(logged), "records");
    print_figure("outage_backlog_mib", static_cast<double>(s.journal_bytes) / (1 << 20), "MiB");
    print_figure("outage_rss_start_mib", static_cast<double>(rss_start) / 1024, "MiB");
    print_figure("outage_rss_peak_mib", static_cast<double>(peak) / 1024, "MiB");
    print_figure("outage_rss_growth_mib", static_cast<double>(peak - rss_start) / 1024, "MiB");
    sink.close(std::chrono::milliseconds(200));
    return 0;
#else
    (void)args;
    unavailable("audit_log.hpp");
#endif
}

const Register reg_audit_log("audit-log", "--dir D [--threads T] [--records N] [--mode memory|disk] [--ring-mib M] [--store-dir S | --endpoint URL --bucket B]",
                             run_audit_log);
const Register reg_spdlog("spdlog-async", "--dir D [--threads T] [--records N]", run_spdlog);
const Register reg_outage("audit-log-outage", "--dir D [--seconds S] [--rate R]", run_outage);

}  // namespace
}  // namespace bench
