// Scenario 6: the upload registry. The cost of marking one bundle uploaded as the
// registry grows (10k, 100k, 1M rows), a sync scan of every pending row, and the limit
// for a durable mark: one small overwrite + fdatasync on the same disk.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.hpp"

#ifdef WORM_BENCH_HAVE_REGISTRY
#include "worm/registry.hpp"
#endif

namespace bench {
namespace {

#ifdef WORM_BENCH_HAVE_REGISTRY
std::string bundle_id(long long i) {
    char id[32];
    std::snprintf(id, sizeof id, "EB-20251101-%07lld", i);
    return id;
}

// Fills the registry with `rows` pending bundles, shaped like anchors/registry.py's
// records. Not timed, and not durable (scratch data), in batches of one transaction.
void fill(const std::filesystem::path& dir, long long rows) {
    worm::UploadRegistry registry(dir, worm::RegistryOptions{.durable = false});
    std::vector<worm::RegistryRecord> batch;
    const std::string sha(64, 'a');
    for (long long i = 0; i < rows; ++i) {
        worm::RegistryRecord r;
        r.bundle_id = bundle_id(i);
        r.client_id = "clinic-001";
        r.bundle_path = "/var/lib/evidence/" + std::to_string(i) + ".json";
        r.sig_path = "/var/lib/evidence/" + std::to_string(i) + ".sig";
        r.bundle_sha256 = sha;
        r.sig_sha256 = sha;
        batch.push_back(std::move(r));
        if (batch.size() == 10000 || i + 1 == rows) {
            registry.add_pending_batch(batch);
            batch.clear();
        }
    }
}

// Flushes the filled registry to disk before timing starts. Otherwise the first durable
// checkpoint in the timed loop pays for writing back the whole fill (hundreds of MB at
// 1M rows), which is setup cost, not the cost of a mark.
void flush_to_disk(const std::filesystem::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || ::syncfs(fd) != 0) throw std::runtime_error("cannot sync " + dir.string());
    ::close(fd);
}
#endif

int run_registry(const Args& args) {
#ifdef WORM_BENCH_HAVE_REGISTRY
    const long long rows = args.get_int("rows", 10000);
    const long long updates = args.get_int("updates", 200);
    const std::filesystem::path dir = args.scratch_dir();
    fill(dir, rows);
    flush_to_disk(dir);
    // What an upload acknowledges: one durable transaction (synchronous=FULL) per mark.
    // --no-sync leaves the flush out, to show the SQLite work alone (the disk's flush
    // latency is the noisiest part of the durable figure).
    const bool no_sync = args.flag("no-sync");
    // Which bundles get marked: "oldest" (the default) takes them in id order from the
    // oldest pending, as anchors/registry.py does and as a catch-up sync does (it pages by
    // id); "spread" takes them evenly over the whole table, each on its own pages: the
    // worst case, no locality between marks.
    const std::string order = args.get("order", "oldest");
    if (order != "oldest" && order != "spread") throw std::runtime_error("--order must be oldest or spread");
    const bool spread = order == "spread";
    worm::UploadRegistry registry(dir, worm::RegistryOptions{.durable = !no_sync});
    Timer timer;
    for (long long u = 0; u < updates; ++u) {
        const std::string id = bundle_id(spread ? u * rows / updates : u);
        registry.mark_uploaded(id, {.bundle_uri = "s3://b/evidence/" + id + ".json",
                                    .sig_uri = "s3://b/evidence/" + id + ".sig",
                                    .bundle_version_id = "v1",
                                    .sig_version_id = "v1"});
    }
    const double dt = timer.seconds();
    print_figure(std::string(no_sync ? "libworm_registry_update_nosync_" : "libworm_registry_update_") +
                     (spread ? "spread_" : "") + std::to_string(rows),
                 dt / static_cast<double>(updates) * 1e3, "ms/update");
    return 0;
#else
    (void)args;
    unavailable("worm/registry.hpp is not in this tree yet");
#endif
}

int run_registry_scan(const Args& args) {
#ifdef WORM_BENCH_HAVE_REGISTRY
    const long long rows = args.get_int("rows", 100000);
    const long long scans = args.get_int("scans", 5);
    const std::filesystem::path dir = args.scratch_dir();
    fill(dir, rows);
    worm::UploadRegistry registry(dir);
    Timer timer;
    for (long long s = 0; s < scans; ++s) {
        // What a catch-up sync does before uploading: page through everything pending.
        long long seen = 0;
        std::string after;
        for (;;) {
            auto page = registry.list_by_status(worm::UploadStatus::pending, 1000, after);
            if (page.empty()) break;
            seen += static_cast<long long>(page.size());
            after = page.back().bundle_id;
        }
        if (seen != rows) throw std::runtime_error("scan saw " + std::to_string(seen) + " rows");
    }
    const double dt = timer.seconds();
    print_figure("libworm_registry_scan_" + std::to_string(rows), dt / static_cast<double>(scans) * 1e3, "ms/scan");
    return 0;
#else
    (void)args;
    unavailable("worm/registry.hpp is not in this tree yet");
#endif
}

// The floor under any durable mark: overwrite a few bytes of a file and fdatasync it.
int run_fsync_limit(const Args& args) {
    const long long n = args.get_int("n", 200);
    const std::filesystem::path dir = args.scratch_dir();
    const auto path = dir / "fsync-probe";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) throw std::runtime_error("cannot open " + path.string());
    char buf[128] = {};
    if (::pwrite(fd, buf, sizeof buf, 0) != static_cast<ssize_t>(sizeof buf) || ::fsync(fd) != 0)
        throw std::runtime_error("write/fsync failed on " + path.string());
    Timer timer;
    for (long long i = 0; i < n; ++i) {
        buf[0] = static_cast<char>(i);
        if (::pwrite(fd, buf, sizeof buf, 0) != static_cast<ssize_t>(sizeof buf) || ::fdatasync(fd) != 0)
            throw std::runtime_error("write/fdatasync failed on " + path.string());
    }
    const double dt = timer.seconds();
    ::close(fd);
    std::filesystem::remove(path);
    print_figure("limit_fsync", dt / static_cast<double>(n) * 1e3, "ms/update");
    return 0;
}

const Register reg_registry("registry", "--dir D [--rows N] [--updates U] [--no-sync] [--order oldest|spread]", run_registry);
const Register reg_scan("registry-scan", "--dir D [--rows N] [--scans S]", run_registry_scan);
const Register reg_fsync("fsync-limit", "--dir D [--n N]", run_fsync_limit);

}  // namespace
}  // namespace bench
