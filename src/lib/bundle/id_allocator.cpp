// BundleIdAllocator: EB-YYYYMMDD-NNNN ids, unique across processes via flock() on a lock
// file that is never replaced (the counter itself is rewritten by rename, so it cannot
// carry the lock), with the counter made durable before an id is handed out.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <sstream>

#include "worm/bundle.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "../util/posix.hpp"

namespace worm {

namespace fs = std::filesystem;
using detail::io_error;

namespace {

// Days kept in the counter file; older days can no longer be allocated for anyway.
constexpr std::size_t kDaysKept = 400;


bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::uint64_t to_number(std::string_view s) {
    std::uint64_t n = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), n);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) throw std::out_of_range("number");
    return n;
}

// "YYYYMMDD N" per line -> day -> last number issued.
std::map<std::string, std::uint64_t> read_counter(const fs::path& path) {
    std::map<std::string, std::uint64_t> days;
    std::string text;
    try {
        text = read_file(path);
    } catch (const Error& e) {
        if (e.code() == ErrorCode::not_found) return days;
        throw;
    }
    std::istringstream in(text);
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        const auto space = line.find(' ');
        bool ok = space == 8 && all_digits(std::string_view(line).substr(0, 8)) &&
                  all_digits(std::string_view(line).substr(9));
        if (ok) {
            try {
                days[line.substr(0, 8)] = to_number(std::string_view(line).substr(9));
            } catch (const std::out_of_range&) {
                ok = false;
            }
        }
        if (!ok)
            throw Error(ErrorCode::integrity,
                        "bundle id counter " + path.string() + " is corrupt at line " + std::to_string(line_no) +
                            "; refusing to guess (ids must never be reused). Restore it, or remove it to "
                            "continue after the highest bundle file found in the directory");
    }
    return days;
}

std::string format_id(const std::string& day, std::uint64_t n) {
    std::string digits = std::to_string(n);
    if (digits.size() < 4) digits.insert(0, 4 - digits.size(), '0');
    return "EB-" + day + "-" + digits;
}

// Highest N of any file named EB-<day>-N.<ext> under dir (any depth).
std::uint64_t highest_existing(const fs::path& dir, const std::string& day) {
    const std::string prefix = "EB-" + day + "-";
    std::uint64_t best = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        const std::string id = name.substr(0, name.find('.'));
        if (!is_valid_bundle_id(id)) continue;
        const std::string number = id.substr(prefix.size());
        try {
            best = std::max(best, to_number(number));
        } catch (const std::out_of_range&) {
        }
    }
    if (ec) io_error("cannot scan", dir, ec.value());
    return best;
}

bool id_taken(const fs::path& dir, const std::string& id) {
    std::error_code ec;
    return fs::exists(dir / (id + ".json"), ec) || fs::exists(dir / (id + ".sig"), ec);
}

}  // namespace

BundleIdAllocator::BundleIdAllocator(fs::path evidence_dir, const Clock& clock, bool durable, std::uint64_t max_lease)
    : dir_(std::move(evidence_dir)), clock_(&clock), durable_(durable), max_lease_(std::max<std::uint64_t>(max_lease, 1)) {
    if (dir_.empty()) throw Error(ErrorCode::invalid_argument, "evidence directory is empty");
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) io_error("cannot create evidence directory", dir_, ec.value());
    if (!fs::is_directory(dir_, ec))
        throw Error(ErrorCode::io, "evidence directory " + dir_.string() + " is not a directory");
}

BundleIdAllocator::~BundleIdAllocator() { return_unused_lease(); }

std::string BundleIdAllocator::next() {
    const std::lock_guard<std::mutex> guard(mutex_);
    const std::string day = format_amz_day(clock_->now());
    for (;;) {
        if (lease_.day != day || lease_.empty()) {
            return_unused_lease();
            take_lease(day);
        }
        const std::string id = format_id(day, lease_.next++);
        // Checked again for every id of a lease: a file may have appeared since it was taken.
        if (!id_taken(dir_, id)) return id;
    }
}

namespace {

void write_counter(const fs::path& path, std::map<std::string, std::uint64_t> days, bool durable) {
    // Keep the most recent days only; the map is ordered by day.
    while (days.size() > kDaysKept) days.erase(days.begin());
    std::string text;
    for (const auto& [d, last] : days) text += d + " " + std::to_string(last) + "\n";
    // Written beside the counter and renamed over it, durable before an id of it leaves.
    // One fixed temporary name, reused under the lock: a process killed mid-write leaves at
    // most this one file, which the next write replaces.
    // A write that fails (ENOSPC: the file is created, its bytes are not) removes it again.
    const fs::path tmp = path.string() + ".tmp";
    detail::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) io_error("cannot create", tmp, errno);
    const auto fail = [&](const char* what, const fs::path& named) {
        const int err = errno;
        fd.close();
        ::unlink(tmp.c_str());
        io_error(what, named, err);
    };
    for (std::size_t done = 0; done < text.size();) {
        const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("cannot write", tmp);
        done += static_cast<std::size_t>(n);
    }
    if (durable && ::fsync(fd.get()) != 0) fail("cannot fsync", tmp);
    if (fd.close() != 0) fail("cannot close", tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename into place", path);
    if (durable) fsync_directory(path.parent_path());
}

}  // namespace

void BundleIdAllocator::take_lease(const std::string& day) {
    const fs::path counter_path = dir_ / kCounterFile;
    detail::FileLock lock(dir_ / kLockFile, detail::FileLock::Kind::exclusive);

    auto days = read_counter(counter_path);
    const auto found = days.find(day);
    // A day without an entry (new day, or the counter was lost): continue after what exists.
    std::uint64_t n = (found != days.end() ? found->second : highest_existing(dir_, day)) + 1;
    while (id_taken(dir_, format_id(day, n))) ++n;
    // Leases grow while ids keep being asked for, so a one-shot `worm bundle` takes one id
    // and a busy pipeline touches the counter once per max_lease_ bundles.
    lease_size_ = std::min(lease_size_ == 0 ? 1 : lease_size_ * 2, max_lease_);
    days[day] = n + lease_size_ - 1;
    write_counter(counter_path, days, durable_);
    lease_ = {day, n, n + lease_size_ - 1};
}

void BundleIdAllocator::return_unused_lease() noexcept {
    if (lease_.day.empty() || lease_.empty()) return;
    try {
        const fs::path counter_path = dir_ / kCounterFile;
        detail::FileLock lock(dir_ / kLockFile, detail::FileLock::Kind::exclusive);
        auto days = read_counter(counter_path);
        const auto found = days.find(lease_.day);
        // Only when nobody took ids after this lease: otherwise the tail stays a gap.
        if (found != days.end() && found->second == lease_.end) {
            found->second = lease_.next - 1;
            write_counter(counter_path, days, durable_);
        }
    } catch (...) {
        // Leaving the tail unused is safe: a gap, never a reuse.
    }
    lease_.next = lease_.end + 1;
}

}  // namespace worm
