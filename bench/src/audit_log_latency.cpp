// Audit logs end to end at a set S3 latency, with a C++ producer: records offered at a fixed
// rate to an AuditLogSink with one of the seed's presets, and the time from log() to
// "stored in WORM" (the sink's stats().stored, which moves in acceptance order).
//   worm_bench audit-log-latency --endpoint URL --bucket B --dir D [--preset compliance|high-volume]
//                                [--rate R] [--seconds S] [--wait W] [--max-in-flight N]
// bench/audit_log_latency.py runs the same load from Python's logging module; the producer
// here is one thread, so what it measures is the sink, not the interpreter.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common.hpp"

#if __has_include("worm/audit_log.hpp")
#define WORM_BENCH_HAVE_AUDIT_LOG 1
#include "loopback_s3.hpp"
#include "worm/audit_log.hpp"
#include "worm/s3/store.hpp"
#endif

namespace bench {
namespace {

#ifdef WORM_BENCH_HAVE_AUDIT_LOG
using Clock = std::chrono::steady_clock;

// A seed-004-shaped record (the same fields as the audit-log scenario's).
constexpr std::string_view latency_record =
    R"({"level":"WARNING","service_name":"camera_service","request_id":"req-12345-abcde","user_id":"user123",)"
    R"("camera_id":"cam001","action":"motion_detected","message":"Motion detected in camera cam001",)"
    R"("logger_name":"camera_service","module":"motion_detector","function":"process_frame","line":245})";

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return -1;
    const auto at = static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
    std::nth_element(values.begin(), values.begin() + static_cast<long>(at), values.end());
    return values[at];
}

std::shared_ptr<worm::ObjectStore> latency_store(const Args& args) {
    return std::make_shared<worm::s3::S3Store>(std::make_shared<worm::s3::S3Client>(loopback_s3_config(args.require("endpoint"))),
                                               args.require("bucket"));
}

int run_audit_log_latency(const Args& args) {
    const auto dir = args.scratch_dir();
    const std::string preset = args.get("preset", "compliance");
    const double rate = static_cast<double>(args.get_int("rate", 20'000));
    const double seconds = static_cast<double>(args.get_int("seconds", 10));
    const auto wait = std::chrono::seconds(args.get_int("wait", 30));
    if (preset != "compliance" && preset != "high-volume")
        throw std::invalid_argument("--preset is compliance or high-volume");
    auto options = preset == "compliance" ? worm::AuditLogOptions::compliance("camera_service")
                                          : worm::AuditLogOptions::high_volume("camera_service");
    options.journal_dir = dir / "journal";
    if (const auto n = args.get_int("max-in-flight", 0); n > 0) options.max_in_flight = static_cast<std::size_t>(n);

    const auto total = static_cast<std::size_t>(rate * seconds);
    std::vector<Clock::time_point> logged_at(total);
    std::vector<Clock::time_point> stored_at(total);
    std::atomic<std::size_t> produced{0};
    std::atomic<bool> give_up{false};

    worm::AuditLogSink sink(latency_store(args), options);
    // The watcher notes, every millisecond, how far "stored" has moved; records are stored in
    // the order log() accepted them, and one producer makes that order the index order.
    std::atomic<std::size_t> seen{0};  // records the watcher has timed as stored
    std::thread watcher([&] {
        for (std::size_t k = 0; k < total && !give_up.load();) {
            const auto stored = std::min<std::size_t>(sink.stats().stored, produced.load());
            const auto now = Clock::now();
            for (; k < stored; ++k) stored_at[k] = now;
            seen.store(k);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    });

    const auto start = Clock::now();
    for (std::size_t i = 0; i < total;) {
        const auto due = std::min(total, static_cast<std::size_t>(
                                             std::chrono::duration<double>(Clock::now() - start).count() * rate) + 1);
        for (; i < due; ++i) {
            logged_at[i] = Clock::now();
            sink.log_json(latency_record);
            produced.store(i + 1);
        }
        if (i < total) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    const double produce_s = std::chrono::duration<double>(Clock::now() - start).count();
    const auto deadline = Clock::now() + wait;
    while (Clock::now() < deadline && seen.load() < total) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    give_up = true;
    watcher.join();
    const std::size_t timed = seen.load();

    std::vector<double> waits;
    waits.reserve(timed);
    for (std::size_t k = 0; k < timed; ++k)
        waits.push_back(std::chrono::duration<double>(stored_at[k] - logged_at[k]).count());
    // Sustained: records stored while the load ran, per second of load. The last records wait
    // for the preset's interval (a batch closes at max_records or max_interval), so "until the
    // last was stored" would measure the interval, not the throughput.
    const auto load_end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(produce_s));
    const auto in_load = static_cast<double>(std::count_if(stored_at.begin(), stored_at.begin() + static_cast<long>(timed),
                                                           [&](Clock::time_point t) { return t <= load_end; }));
    const double until_last =
        timed ? std::chrono::duration<double>(stored_at[timed - 1] - start).count() : produce_s;
    const auto stats = sink.stats();
    print_figure("latency_offered_records_per_s", rate, "rec/s");
    print_figure("latency_produce_s", produce_s, "s");
    print_figure("latency_sustained_records_per_s", in_load / produce_s, "rec/s");
    print_figure("latency_last_stored_s", until_last, "s");
    print_figure("latency_p50_time_to_worm_s", percentile(waits, 50), "s");
    print_figure("latency_p99_time_to_worm_s", percentile(waits, 99), "s");
    print_figure("latency_not_stored_at_end", static_cast<double>(total - timed), "records");
    print_figure("latency_batches_stored", static_cast<double>(stats.batches_stored), "batches");
    sink.close(std::chrono::seconds(5));
    return 0;
}
#else
int run_audit_log_latency(const Args&) { unavailable("audit_log.hpp"); }
#endif

const Register reg_latency("audit-log-latency",
                           "--endpoint URL --bucket B --dir D [--preset compliance|high-volume] [--rate R] "
                           "[--seconds S] [--wait W] [--max-in-flight N]",
                           run_audit_log_latency);

}  // namespace
}  // namespace bench
