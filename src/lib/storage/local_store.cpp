// LocalWormStore: S3 Object Lock semantics on a local directory (see storage/local.hpp).
#include "worm/storage/local.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <random>

#include <mutex>
#include <set>

#include <rapidjson/document.h>

#include "local_oplog.hpp"
#include "local_store_detail.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/storage/keys.hpp"
#include "../util/percent_encoding.hpp"
#include "../util/posix.hpp"
#include "../util/text.hpp"

namespace worm {

namespace fs = std::filesystem;
using namespace detail;

namespace {

constexpr std::string_view versions_dir_name = "@v";
// Leaves room for the "@" escape within the usual 255-byte file name limit.
constexpr std::size_t max_segment_bytes = 254;

std::vector<std::string> key_segments(std::string_view key) {
    std::vector<std::string> segments;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = key.find('/', start);
        segments.emplace_back(key.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos) return segments;
        start = end + 1;
    }
}

// The local store's own limit, on top of the key rule every store applies (ObjectStore).
void check_segment_lengths(std::string_view key) {
    for (const auto& segment : key_segments(key))
        if (segment.size() > max_segment_bytes)
            throw Error(ErrorCode::invalid_argument,
                        "invalid object key " + quote_key(key) + ": the local store keeps keys as paths, and a "
                        "path segment may hold at most " + std::to_string(max_segment_bytes) + " bytes");
}

// Key segments starting with '@' get another '@', so "@v" can only be the store's own.
std::string escape_segment(const std::string& segment) { return segment.front() == '@' ? "@" + segment : segment; }
std::optional<std::string> unescape_segment(const std::string& name) {
    if (name.empty() || name.front() != '@') return name;
    if (name.size() > 1 && name[1] == '@') return name.substr(1);
    return std::nullopt;  // the store's own "@v", or something that is not a key
}

std::vector<std::string> version_path(std::string_view key) {
    std::vector<std::string> names;
    for (const auto& segment : key_segments(key)) names.push_back(escape_segment(segment));
    names.emplace_back(versions_dir_name);
    return names;
}

// The same from the store's root: versions/<segments>/@v (walking from the root also catches
// a symlink swapped in for versions/ itself).
std::vector<std::string> version_path_from_root(std::string_view key) {
    auto names = version_path(key);
    names.insert(names.begin(), "versions");
    return names;
}

// Version ids are 20 decimal digits of microseconds since the epoch, '-', and 8 hex
// digits: they sort in the order the versions were written.
bool is_version_id(std::string_view v) {
    if (v.size() != 29 || v[20] != '-') return false;
    for (std::size_t i = 0; i < 20; ++i)
        if (v[i] < '0' || v[i] > '9') return false;
    for (std::size_t i = 21; i < 29; ++i)
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f'))) return false;
    return true;
}

std::string new_version_id(TimePoint now, const std::vector<std::string>& existing) {
    static thread_local std::mt19937 rng{std::random_device{}()};
    const auto since_epoch = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    std::uint64_t micros = since_epoch > 0 ? static_cast<std::uint64_t>(since_epoch) : 0;
    if (!existing.empty()) {
        // Strictly after the newest version, even when the clock stands still or went back.
        const std::uint64_t newest = std::stoull(existing.back().substr(0, 20));
        micros = std::max(micros, newest + 1);
    }
    char buf[40];
    std::snprintf(buf, sizeof buf, "%020" PRIu64 "-%08" PRIx32, micros, static_cast<std::uint32_t>(rng()));
    return buf;
}

void check_version_id(const std::string& key, const std::string& version_id) {
    if (!is_version_id(version_id))
        throw Error(ErrorCode::not_found, "no version '" + version_id + "' of key " + quote_key(key));
}

// S3 keeps retention dates in milliseconds; so do the sidecars, and comparisons.
TimePoint to_millis(TimePoint t) { return std::chrono::floor<std::chrono::milliseconds>(t); }

bool retention_active(const Sidecar& s, TimePoint now) { return s.retention && s.retention->retain_until > now; }
bool is_locked(const Sidecar& s, TimePoint now) { return s.legal_hold || retention_active(s, now); }

std::string describe_lock(const Sidecar& s, TimePoint now) {
    std::string what;
    if (retention_active(s, now))
        what = std::string(to_string(s.retention->mode)) + " retention until " +
               format_rfc3339_millis(s.retention->retain_until);
    if (s.legal_hold) what += what.empty() ? "a legal hold" : " and a legal hold";
    return what;
}

std::string etag_of(const std::string& sha256_hex) { return "\"" + sha256_hex + "\""; }

ObjectInfo to_info(const Sidecar& s) {
    return ObjectInfo{.key = s.key,
                      .size = s.size,
                      .etag = etag_of(s.sha256_hex),
                      .sha256_hex = s.sha256_hex,
                      .content_type = s.content_type,
                      .metadata = s.metadata,
                      .retention = s.retention,
                      .legal_hold = s.legal_hold,
                      .version_id = s.version_id,
                      .last_modified = s.last_modified};
}

// Everything the store knows about one key, read under the store lock.
struct KeyState {
    fs::path dir;                       // root/versions/<key>/@v
    std::vector<std::string> versions;  // oldest first
};

}  // namespace

namespace {

// The sidecar file names of the versions in a key's @v directory, oldest first.
std::vector<std::string> sidecar_versions(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& name : list_directory(dir))
        if (name.size() == 34 && name.ends_with(".json") && is_version_id(name.substr(0, 29)))
            out.push_back(name.substr(0, 29));
    std::sort(out.begin(), out.end());
    return out;
}

// Every key with a version directory below dir whose keys could start with prefix.
void collect_keys(const fs::path& dir, const std::string& key_path, const std::string& prefix,
                  std::vector<std::string>& keys) {
    for (const auto& name : list_directory(dir)) {
        if (entry_type(dir / name) != EntryType::directory) continue;  // no symlinks, no stray files
        if (name == versions_dir_name) {
            if (!key_path.empty()) {
                std::string key = key_path.substr(0, key_path.size() - 1);
                if (key.starts_with(prefix)) keys.push_back(std::move(key));
            }
            continue;
        }
        const auto segment = unescape_segment(name);
        if (!segment) continue;
        const std::string child = key_path + *segment + "/";
        if (child.starts_with(prefix) || prefix.starts_with(child)) collect_keys(dir / name, child, prefix, keys);
    }
}

// Every key the store has a version directory for, sorted (the adoption of a store from before
// the operation log, and `worm store verify`).
std::vector<std::string> all_keys_sorted(const fs::path& root) {
    std::vector<std::string> keys;
    collect_keys(root / "versions", "", "", keys);
    std::sort(keys.begin(), keys.end());
    return keys;
}

}  // namespace

// The operation log and the mutex that serialises this store object's use of it (the
// store lock only orders processes; threads of one process share the index).
struct detail::LocalStoreLog {
    explicit LocalStoreLog(const fs::path& root) : log(root) {}
    std::mutex mutex;
    OperationLog log;
};

namespace {

// The store lock (between processes), then this object's log mutex, with the log read up
// to date: held for the whole of one operation.
class HeldStore {
public:
    HeldStore(const fs::path& lock_file, StoreLock::Kind kind, detail::LocalStoreLog& store_log)
        : lock_(lock_file, kind), guard_(store_log.mutex) {
        store_log.log.refresh();
    }

private:
    StoreLock lock_;
    std::lock_guard<std::mutex> guard_;
};

}  // namespace

// ---- the store's private operations, kept out of the public header ----------------

struct LocalOps {
    const fs::path& root;
    bool durable;
    detail::LocalStoreLog& store_log;

    fs::path objects() const { return root / "objects"; }
    fs::path versions() const { return root / "versions"; }
    fs::path lock_file() const { return root / ".lock"; }
    OperationLog& log() const { return store_log.log; }

    // The key's directory and the versions the operation log holds for it.
    std::optional<KeyState> key_state(const std::string& key, bool create) const {
        const auto dir = walk_dirs(root, version_path_from_root(key), create, key, durable);
        std::vector<std::string> logged = log().versions(key);
        if (!dir) {
            if (!logged.empty())
                throw Error(ErrorCode::integrity, "the directory of key " + quote_key(key) +
                                                      " is missing from the store at " + root.string() +
                                                      ", but its operation log records version " + logged.back() +
                                                      " (deleted?)");
            return std::nullopt;
        }
        return KeyState{*dir, std::move(logged)};
    }

    // A version's sidecar, as long as it is exactly what the operation log recorded.
    Sidecar load(const KeyState& state, const std::string& key, const std::string& version_id) const {
        const std::string* logged = log().sidecar(key, version_id);
        if (!logged) throw Error(ErrorCode::not_found, "no version " + version_id + " of key " + quote_key(key));
        const fs::path path = state.dir / (version_id + ".json");
        const auto json = read_file_nofollow(path);
        if (!json)
            throw Error(ErrorCode::integrity, "the sidecar of key " + quote_key(key) + " version " + version_id +
                                                  " is missing (" + path.string() +
                                                  "), but the store's operation log records it: deleted?");
        if (*json != *logged)
            throw Error(ErrorCode::integrity, "the sidecar of key " + quote_key(key) + " version " + version_id + " (" +
                                                  path.string() +
                                                  ") differs from what the store's operation log recorded: it was "
                                                  "edited, so it is not used");
        return sidecar_from_json(*json, key, version_id);
    }

    // Writes the sidecar (file and directory synced), then records it in the log: the
    // record is the commit point, so a crash in between leaves a sidecar the log does not
    // know, which the store ignores.
    void save(const KeyState& state, const Sidecar& sidecar, std::string_view op) const {
        const std::string text = sidecar_to_json(sidecar);
        write_file_atomic(state.dir / (sidecar.version_id + ".json"), text,
                          WriteOptions{.mode = fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read,
                                       .durable = durable});
        log().append(op, sidecar.key, sidecar.version_id, &text, durable);
    }

    [[noreturn]] void no_such_key(const std::string& key) const {
        throw Error(ErrorCode::not_found, "no object " + quote_key(key) + " in the store at " + root.string());
    }

    // The version a call addresses: the given one, or the latest. Delete markers are
    // not objects: they count as not found unless allow_marker.
    std::pair<KeyState, Sidecar> resolve(const std::string& key, const std::optional<std::string>& version_id,
                                         bool allow_marker = false) const {
        auto state = key_state(key, false);
        if (!state || state->versions.empty()) no_such_key(key);
        if (version_id) {
            check_version_id(key, *version_id);
            Sidecar s = load(*state, key, *version_id);
            if (s.delete_marker && !allow_marker)
                throw Error(ErrorCode::not_found,
                            "version " + *version_id + " of key " + quote_key(key) + " is a delete marker");
            return {std::move(*state), std::move(s)};
        }
        Sidecar s = load(*state, key, state->versions.back());
        if (s.delete_marker && !allow_marker) no_such_key(key);
        return {std::move(*state), std::move(s)};
    }

    // A put must be able to mirror the key under objects/: no file where a folder of
    // the key should be, and no folder where the key's file should be.
    void check_view_free(const std::string& key) const {
        auto segments = key_segments(key);
        const std::string name = segments.back();
        segments.pop_back();
        segments.insert(segments.begin(), "objects");
        const auto parent = walk_dirs(root, segments, false, key);
        if (parent && entry_type(*parent / name) == EntryType::directory)
            throw Error(ErrorCode::already_exists, "key " + quote_key(key) +
                                                       " is a folder of other objects in the local store, "
                                                       "so it cannot also be an object");
    }

    // Points objects/<key> at the latest live body, or removes it. The mirror is a
    // convenience for humans: reads never use it, and a key it cannot hold (a folder
    // is in the way) is simply not mirrored.
    void refresh_view(const std::string& key, const KeyState& state) const {
        auto segments = key_segments(key);
        const std::string name = segments.back();
        segments.pop_back();
        std::optional<Sidecar> live;
        if (!state.versions.empty()) {
            Sidecar latest = load(state, key, state.versions.back());
            if (!latest.delete_marker) live = std::move(latest);
        }
        std::optional<fs::path> parent;
        try {
            auto names = segments;
            names.insert(names.begin(), "objects");
            parent = walk_dirs(root, names, live.has_value(), key, durable);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::already_exists) throw;
            return;
        }
        if (!parent) return;
        const fs::path target = *parent / name;
        const EntryType type = entry_type(target);
        if (type == EntryType::directory) return;
        if (live) {
            static thread_local std::mt19937_64 rng{std::random_device{}()};
            const fs::path tmp = *parent / ("." + name.substr(0, 200) + ".tmp-" + std::to_string(rng()));
            const fs::path body = state.dir / (live->version_id + ".body");
            if (::link(body.c_str(), tmp.c_str()) != 0)
                detail::io_error("cannot link", body, errno);
            if (::rename(tmp.c_str(), target.c_str()) != 0) {
                const int err = errno;
                ::unlink(tmp.c_str());
                detail::io_error("cannot rename into place", target, err);
            }
            // No fsync: the mirror is rebuilt by the next write of the key, reads never need it.
        } else {
            if (type != EntryType::missing && ::unlink(target.c_str()) != 0 && errno != ENOENT)
                detail::io_error("cannot remove", target, errno);
            prune_empty(objects(), segments);
        }
    }

    // Removes now-empty directories base/segments... from the deepest up.
    static void prune_empty(const fs::path& base, std::vector<std::string> segments) {
        while (!segments.empty()) {
            fs::path dir = base;
            for (const auto& s : segments) dir /= s;
            if (::rmdir(dir.c_str()) != 0) return;  // not empty (or gone): stop
            segments.pop_back();
        }
    }

    void forget_key_if_empty(const std::string& key, const KeyState& state) const {
        if (!state.versions.empty()) return;
        // Only the store's own leftovers may remain in an empty @v: remove them first.
        for (const auto& name : list_directory(state.dir)) ::unlink((state.dir / name).c_str());
        auto names = version_path(key);
        prune_empty(versions(), names);
    }
};

// ---- construction ----------------------------------------------------------------

LocalWormStore::LocalWormStore(fs::path root, const Clock& clock, LocalStoreOptions options)
    : ObjectStore(clock), options_(options) {
    if (root.empty()) throw Error(ErrorCode::invalid_argument, "local store root directory is empty");
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) detail::io_error("cannot create store directory", root, ec.value());
    root_ = fs::canonical(root, ec);
    if (ec) detail::io_error("cannot resolve store directory", root, ec.value());
    for (const char* sub : {"objects", "versions", "tmp"}) walk_dirs(root_, {sub}, true, "", options_.durable);
    log_ = std::make_shared<detail::LocalStoreLog>(root_);
    if (options_.start_log && !log_->log.exists()) {
        StoreLock lock(root_ / ".lock", StoreLock::Kind::exclusive);
        if (!log_->log.exists()) {
            // A store from before the log: adopt every version whose sidecar is readable.
            std::vector<OperationLog::Adopted> adopted;
            for (const auto& key : all_keys_sorted(root_)) {
                const auto dir = walk_dirs(root_, version_path_from_root(key), false, key);
                if (!dir) continue;
                for (const auto& version : sidecar_versions(*dir)) {
                    auto text = read_file_nofollow(*dir / (version + ".json"));
                    if (!text) continue;
                    try {
                        (void)sidecar_from_json(*text, key, version);
                    } catch (const Error&) {
                        continue;  // a damaged sidecar stays out of the log: verify reports it
                    }
                    adopted.push_back({key, version, std::move(*text)});
                }
            }
            log_->log.create(adopted, options_.durable);
        }
    }
}

// ---- writes ----------------------------------------------------------------------

PutResult LocalWormStore::do_put(const std::string& key, const PutBody& body, const PutOptions& options) {
    check_segment_lengths(key);
    const TimePoint now = clock().now();
    if (options.encryption.kind != ServerSideEncryption::Kind::none)
        throw Error(ErrorCode::invalid_argument, "the local store cannot apply server-side encryption (key " +
                                                     quote_key(key) + ")");
    const LocalOps ops{root_, options_.durable, *log_};

    // The body is copied and hashed before the lock is taken: a big file does not
    // hold up other writers. Until it is committed, it is only a temp file in tmp/.
    const StagedBody staged = stage_body(*walk_dirs(root_, {"tmp"}, true, key, false), body, options_.durable);
    fs::path uncommitted = staged.path;
    struct Cleanup {
        fs::path* path;
        ~Cleanup() {
            if (!path->empty()) ::unlink(path->c_str());
        }
    } cleanup{&uncommitted};

    if (options.sha256_hex) {
        const std::string expected = detail::to_lower(*options.sha256_hex);
        if (expected != staged.sha256_hex)
            throw Error(ErrorCode::integrity, "body of key " + quote_key(key) + " has sha256 " + staged.sha256_hex +
                                                  ", not the " + expected + " the caller gave");
    }

    const HeldStore held(ops.lock_file(), StoreLock::Kind::exclusive, ops.store_log);
    ops.check_view_free(key);
    KeyState state = *ops.key_state(key, true);
    if (!state.versions.empty()) {
        const Sidecar latest = ops.load(state, key, state.versions.back());
        if (!latest.delete_marker) {
            if (options.if_none_match)
                throw Error(ErrorCode::already_exists, "object " + quote_key(key) + " already exists");
            if (is_locked(latest, now))
                throw Error(ErrorCode::object_locked, "object " + quote_key(key) + " is locked (version " +
                                                          latest.version_id + " is under " +
                                                          describe_lock(latest, now) +
                                                          "); a new version would shadow it");
        }
    }

    const std::string version_id = new_version_id(now, state.versions);
    const fs::path body_path = state.dir / (version_id + ".body");
    if (::rename(staged.path.c_str(), body_path.c_str()) != 0)
        detail::io_error("cannot move body into", body_path, errno);
    uncommitted = body_path;
    // No directory fsync here: save() syncs the directory (body and sidecar names alike)
    // before the log record that commits the version.

    Sidecar sidecar{.key = key,
                    .version_id = version_id,
                    .size = staged.size,
                    .sha256_hex = staged.sha256_hex,
                    .content_type = options.content_type,
                    .metadata = options.metadata,
                    .retention = std::nullopt,
                    .legal_hold = options.lock.legal_hold,
                    .last_modified = to_millis(now)};
    if (options.lock.retention)
        sidecar.retention = *options.lock.retention;
    ops.save(state, sidecar, "put");  // the log record is the commit point
    uncommitted.clear();
    state.versions.push_back(version_id);
    ops.refresh_view(key, state);
    return PutResult{.key = key, .version_id = version_id, .etag = etag_of(staged.sha256_hex),
                     .sha256_hex = staged.sha256_hex};
}

void LocalWormStore::do_remove(const std::string& key, const DeleteOptions& options) {
    check_segment_lengths(key);
    const TimePoint now = clock().now();
    const LocalOps ops{root_, options_.durable, *log_};
    const HeldStore held(ops.lock_file(), StoreLock::Kind::exclusive, ops.store_log);
    auto [state, target] = ops.resolve(key, options.version_id, /*allow_marker=*/options.version_id.has_value());

    const bool governance_only = !target.legal_hold && retention_active(target, now) &&
                                 target.retention->mode == LockMode::governance;
    if (!target.delete_marker && is_locked(target, now) && !(governance_only && options.bypass_governance))
        throw Error(ErrorCode::object_locked,
                    "cannot delete object " + quote_key(key) + " version " + target.version_id + ": it is under " +
                        describe_lock(target, now) +
                        (governance_only ? " (GOVERNANCE retention can be bypassed with bypass_governance)" : ""));

    if (!options.version_id) {
        // As in a versioned bucket: a delete marker hides the object; its versions stay.
        Sidecar marker;
        marker.key = key;
        marker.version_id = new_version_id(now, state.versions);
        marker.delete_marker = true;
        marker.last_modified = to_millis(now);
        ops.save(state, marker, "delete_marker");
        state.versions.push_back(marker.version_id);
        ops.refresh_view(key, state);
        return;
    }

    // Deleting one version for good: the log record first (a crash then leaves files the
    // log does not know, which the store ignores), then the sidecar, then the body.
    ops.log().append("remove", key, target.version_id, nullptr, options_.durable);
    const fs::path sidecar_path = state.dir / (target.version_id + ".json");
    if (::unlink(sidecar_path.c_str()) != 0)
        detail::io_error("cannot remove", sidecar_path, errno);
    if (options_.durable) fsync_directory(state.dir);
    if (!target.delete_marker) ::unlink((state.dir / (target.version_id + ".body")).c_str());
    std::erase(state.versions, target.version_id);
    ops.refresh_view(key, state);
    ops.forget_key_if_empty(key, state);
}

void LocalWormStore::do_put_retention(const std::string& key, const Retention& retention,
                                   const RetentionOptions& options) {
    check_segment_lengths(key);
    const TimePoint now = clock().now();
    const Retention& wanted = retention;
    const LocalOps ops{root_, options_.durable, *log_};
    const HeldStore held(ops.lock_file(), StoreLock::Kind::exclusive, ops.store_log);
    auto [state, sidecar] = ops.resolve(key, options.version_id);
    if (retention_active(sidecar, now)) {
        const Retention& current = *sidecar.retention;
        const std::string what = "retention of object " + quote_key(key) + " version " + sidecar.version_id;
        const bool shorter = wanted.retain_until < current.retain_until;
        if (current.mode == LockMode::compliance) {
            if (wanted.mode != LockMode::compliance)
                throw Error(ErrorCode::object_locked, "COMPLIANCE " + what + " cannot be changed to GOVERNANCE");
            if (shorter)
                throw Error(ErrorCode::object_locked, "COMPLIANCE " + what + " can only be extended (it runs until " +
                                                          format_rfc3339_millis(current.retain_until) + ")");
        } else if (shorter && !options.bypass_governance) {
            throw Error(ErrorCode::object_locked, "shortening GOVERNANCE " + what + " (until " +
                                                      format_rfc3339_millis(current.retain_until) +
                                                      ") needs bypass_governance");
        }
    }
    sidecar.retention = wanted;
    ops.save(state, sidecar, "retention");
}

void LocalWormStore::clear_retention(const std::string& key, const RetentionOptions& options) {
    validate_object_key(key);
    check_segment_lengths(key);
    const TimePoint now = clock().now();
    const LocalOps ops{root_, options_.durable, *log_};
    const HeldStore held(ops.lock_file(), StoreLock::Kind::exclusive, ops.store_log);
    auto [state, sidecar] = ops.resolve(key, options.version_id);
    if (!sidecar.retention) return;
    if (retention_active(sidecar, now)) {
        const std::string what = "retention of object " + quote_key(key) + " version " + sidecar.version_id;
        if (sidecar.retention->mode == LockMode::compliance)
            throw Error(ErrorCode::object_locked, "COMPLIANCE " + what + " cannot be removed");
        if (!options.bypass_governance)
            throw Error(ErrorCode::object_locked, "removing GOVERNANCE " + what + " needs bypass_governance");
    }
    sidecar.retention.reset();
    ops.save(state, sidecar, "retention");
}

void LocalWormStore::do_put_legal_hold(const std::string& key, bool on, const std::optional<std::string>& version_id) {
    check_segment_lengths(key);
    const LocalOps ops{root_, options_.durable, *log_};
    const HeldStore held(ops.lock_file(), StoreLock::Kind::exclusive, ops.store_log);
    auto [state, sidecar] = ops.resolve(key, version_id);
    if (sidecar.legal_hold == on) return;
    sidecar.legal_hold = on;
    ops.save(state, sidecar, "legal_hold");
}

// ---- reads -----------------------------------------------------------------------

namespace {

// Opens the addressed version's body under a shared lock; the descriptor stays valid
// even if the version is deleted while it is being read.
std::pair<Sidecar, int> open_version(const LocalOps& ops, const std::string& key,
                                     const std::optional<std::string>& version_id) {
    const HeldStore held(ops.lock_file(), StoreLock::Kind::shared, ops.store_log);
    auto [state, sidecar] = ops.resolve(key, version_id);
    const fs::path body = state.dir / (sidecar.version_id + ".body");
    const int fd = open_nofollow(body);
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP)
            throw Error(ErrorCode::integrity, "object " + quote_key(key) + " version " + sidecar.version_id +
                                                  " is damaged: its body file is missing or replaced");
        detail::io_error("cannot open", body, errno);
    }
    return {std::move(sidecar), fd};
}

std::pair<std::uint64_t, std::uint64_t> byte_range(const std::string& key, const Sidecar& s,
                                                   const GetOptions& options) {
    if (!options.range) return {0, UINT64_MAX};
    const auto [first, last] = *options.range;
    if (first >= s.size)
        throw Error(ErrorCode::invalid_argument, "byte range starting at " + std::to_string(first) +
                                                     " is not satisfiable for object " + quote_key(key) + " of " +
                                                     std::to_string(s.size) + " bytes");
    return {first, last ? std::min(*last, s.size - 1) : UINT64_MAX};
}

void check_integrity(const std::string& key, const Sidecar& s, const StreamResult& r) {
    if (r.size != s.size || r.sha256_hex != s.sha256_hex)
        throw Error(ErrorCode::integrity,
                    "object " + quote_key(key) + " version " + s.version_id + " is corrupt: its body on disk (" +
                        std::to_string(r.size) + " bytes, sha256 " + r.sha256_hex + ") does not match its sidecar (" +
                        std::to_string(s.size) + " bytes, sha256 " + s.sha256_hex + ")");
}

}  // namespace

std::string LocalWormStore::do_get(const std::string& key, const GetOptions& options) {
    check_segment_lengths(key);
    const LocalOps ops{root_, options_.durable, *log_};
    auto [sidecar, fd] = open_version(ops, key, options.version_id);
    const detail::UniqueFd guard{fd};
    const auto [first, last] = byte_range(key, sidecar, options);
    std::string out;
    // Every byte is hashed, also outside a range: a read never returns unverified data.
    const StreamResult r = stream_fd(fd, first, last, [&](std::string_view piece) { out.append(piece); });
    check_integrity(key, sidecar, r);
    return out;
}

ObjectInfo LocalWormStore::do_get_to_file(const std::string& key, const fs::path& destination,
                                       const GetOptions& options) {
    check_segment_lengths(key);
    const LocalOps ops{root_, options_.durable, *log_};
    auto [sidecar, fd] = open_version(ops, key, options.version_id);
    const detail::UniqueFd guard{fd};
    const auto [first, last] = byte_range(key, sidecar, options);

    static thread_local std::mt19937_64 rng{std::random_device{}()};
    const fs::path dir = destination.has_parent_path() ? destination.parent_path() : fs::path(".");
    const fs::path tmp = dir / ("." + destination.filename().string() + ".tmp-" + std::to_string(rng()));
    detail::UniqueFd out{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
    if (!out) detail::io_error("cannot create", tmp, errno);
    try {
        const StreamResult r = stream_fd(fd, first, last, [&](std::string_view piece) {
            while (!piece.empty()) {
                const ssize_t n = ::write(out.get(), piece.data(), piece.size());
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) detail::io_error("cannot write", tmp, errno);
                piece.remove_prefix(static_cast<std::size_t>(n));
            }
        });
        check_integrity(key, sidecar, r);  // before the file appears under its name
        if (options_.durable && ::fsync(out.get()) != 0) detail::io_error("cannot fsync", tmp, errno);
        if (out.close() != 0) detail::io_error("cannot close", tmp, errno);
        if (::rename(tmp.c_str(), destination.c_str()) != 0)
            detail::io_error("cannot rename into place", destination, errno);
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    if (options_.durable) fsync_directory(dir);
    return to_info(sidecar);
}

ObjectInfo LocalWormStore::do_head(const std::string& key, const std::optional<std::string>& version_id) {
    check_segment_lengths(key);
    const LocalOps ops{root_, options_.durable, *log_};
    const HeldStore held(ops.lock_file(), StoreLock::Kind::shared, ops.store_log);
    return to_info(ops.resolve(key, version_id).second);
}

std::optional<Retention> LocalWormStore::do_get_retention(const std::string& key,
                                                       const std::optional<std::string>& version_id) {
    return do_head(key, version_id).retention;
}

bool LocalWormStore::do_get_legal_hold(const std::string& key, const std::optional<std::string>& version_id) {
    return do_head(key, version_id).legal_hold;
}

std::vector<VersionSummary> LocalWormStore::list_versions(const std::string& key) {
    validate_object_key(key);
    check_segment_lengths(key);
    const LocalOps ops{root_, options_.durable, *log_};
    const HeldStore held(ops.lock_file(), StoreLock::Kind::shared, ops.store_log);
    const auto state = ops.key_state(key, false);
    if (!state || state->versions.empty()) ops.no_such_key(key);
    std::vector<VersionSummary> out;
    for (auto it = state->versions.rbegin(); it != state->versions.rend(); ++it) {
        const Sidecar s = ops.load(*state, key, *it);
        out.push_back(VersionSummary{.version_id = s.version_id,
                                     .delete_marker = s.delete_marker,
                                     .is_latest = it == state->versions.rbegin(),
                                     .size = s.size,
                                     .last_modified = s.last_modified});
    }
    return out;
}

// ---- listing ---------------------------------------------------------------------

ListPage LocalWormStore::do_list(const ListOptions& options) {
    const int max_keys = options.max_keys;
    const std::string& prefix = options.prefix;
    const std::string& delimiter = options.delimiter;

    // The token names the last entry returned: 'K' + key, or 'P' + common prefix.
    char token_kind = 0;
    std::string token_value;
    if (!options.continuation_token.empty()) {
        std::string decoded;
        try {
            decoded = base64_decode(options.continuation_token);
        } catch (const Error&) {
        }
        if (decoded.size() < 2 || (decoded[0] != 'K' && decoded[0] != 'P'))
            throw Error(ErrorCode::invalid_argument, "continuation token is not one this store issued");
        token_kind = decoded[0];
        token_value = decoded.substr(1);
    }

    const LocalOps ops{root_, options_.durable, *log_};
    const HeldStore held(ops.lock_file(), StoreLock::Kind::shared, ops.store_log);

    // Keys come from the operation log (sorted), not from the directories: a deleted
    // sidecar cannot hide an object. Each latest version is the sidecar text the log holds.
    const OperationLog::Index& index = ops.log().index();
    (void)walk_dirs(root_, {"versions"}, false, prefix);  // versions/ swapped for a link is damage: say so

    ListPage page;
    std::string last_entry;  // 'K' + key or 'P' + common prefix, as the token spells it
    int emitted = 0;
    auto it = index.lower_bound(prefix);
    if (token_kind != 0 && token_value > prefix) it = index.upper_bound(token_value);  // resume after the token
    for (; it != index.end() && it->first.starts_with(prefix); ++it) {
        const std::string& key = it->first;
        if (it->second.empty()) continue;
        if (token_kind == 'K' && key <= token_value) continue;
        if (token_kind == 'P' && (key <= token_value || key.starts_with(token_value))) continue;
        std::string common;
        if (!delimiter.empty()) {
            const std::size_t pos = key.find(delimiter, prefix.size());
            if (pos != std::string::npos) common = key.substr(0, pos + delimiter.size());
        }
        if (!common.empty() && last_entry == "P" + common) continue;
        // Only keys whose latest version is not a delete marker are listed.
        const auto& [latest_version, latest_text] = *it->second.rbegin();
        const Sidecar latest = sidecar_from_json(latest_text, key, latest_version);
        if (latest.delete_marker) continue;
        if (emitted == max_keys) {
            page.next_continuation_token = base64_encode(last_entry);
            break;
        }
        ++emitted;
        if (!common.empty()) {
            page.common_prefixes.push_back(common);
            last_entry = "P" + common;
        } else {
            page.objects.push_back(ObjectSummary{.key = key,
                                                 .size = latest.size,
                                                 .etag = etag_of(latest.sha256_hex),
                                                 .last_modified = latest.last_modified});
            last_entry = "K" + key;
        }
    }
    return page;
}

// ---- verification ----------------------------------------------------------------

namespace {

// Which top-level fields of two sidecar texts differ ("retention, legal_hold"), for the report.
std::string changed_fields(const std::string& logged, const std::string& on_disk) {
    rapidjson::Document a, b;
    a.Parse(logged.data(), logged.size());
    b.Parse(on_disk.data(), on_disk.size());
    if (b.HasParseError() || !b.IsObject()) return "the file is not a JSON object";
    if (a.HasParseError() || !a.IsObject()) return "the logged text is not a JSON object";
    std::string out;
    const auto add = [&](std::string_view name) { out += (out.empty() ? "" : ", ") + std::string(name); };
    for (const auto& m : a.GetObject()) {
        const auto other = b.FindMember(m.name);
        if (other == b.MemberEnd() || other->value != m.value) add(m.name.GetString());
    }
    for (const auto& m : b.GetObject())
        if (!a.HasMember(m.name)) add(m.name.GetString());
    return out.empty() ? "formatting" : out;
}

}  // namespace

LocalStoreVerification LocalWormStore::verify() {
    LocalStoreVerification report;
    const auto problem = [&](std::string kind, const std::string& key, const std::string& version, std::string detail) {
        report.problems.push_back({std::move(kind), key, version, std::move(detail)});
    };
    StoreLock lock(root_ / ".lock", StoreLock::Kind::shared);
    // A fresh read of the whole log: the chain is checked from the first record.
    OperationLog log(root_);
    if (!log.exists()) {
        problem("log", "", "", "the store has no operation log " + (root_ / OperationLog::file_name).string() +
                                   " (a store from before the log gets one when it is first opened; otherwise "
                                   "it was deleted)");
    } else {
        try {
            log.refresh();
        } catch (const Error& e) {
            problem("log", "", "", e.what());
        }
    }
    report.records = log.records();
    report.log_head = log.head();

    for (const auto& [key, versions] : log.index()) {
        report.versions += versions.size();
        std::optional<fs::path> dir;
        try {
            dir = walk_dirs(root_, version_path_from_root(key), false, key);
        } catch (const Error& e) {
            problem("missing", key, "", e.what());
            continue;
        }
        for (const auto& [version, logged] : versions) {
            const fs::path sidecar_path = dir ? *dir / (version + ".json") : fs::path();
            const auto on_disk = dir ? read_file_nofollow(sidecar_path) : std::nullopt;
            if (!on_disk) {
                problem("missing", key, version, "the sidecar is gone (the log records this version)");
                continue;
            }
            if (*on_disk != logged) {
                problem("edited", key, version, "the sidecar differs from the log: " + changed_fields(logged, *on_disk));
                continue;
            }
            const Sidecar s = sidecar_from_json(logged, key, version);
            if (s.delete_marker) continue;
            const fs::path body = *dir / (version + ".body");
            const detail::UniqueFd fd{open_nofollow(body)};
            if (!fd) {
                problem("missing", key, version, "the body " + body.string() + " is gone");
                continue;
            }
            const StreamResult r = stream_fd(fd.get(), 0, UINT64_MAX, [](std::string_view) {});
            if (r.size != s.size || r.sha256_hex != s.sha256_hex)
                problem("body", key, version, "the body has " + std::to_string(r.size) + " bytes, sha256 " +
                                                  r.sha256_hex + "; the log records " + std::to_string(s.size) +
                                                  " bytes, sha256 " + s.sha256_hex);
        }
    }

    // Files of versions the log does not know: planted, or left by a crash before the
    // log record (which the store ignores).
    for (const auto& key : all_keys_sorted(root_)) {
        std::optional<fs::path> dir;
        try {
            dir = walk_dirs(root_, version_path_from_root(key), false, key);
        } catch (const Error&) {
            continue;  // reported above if the log knows the key
        }
        if (!dir) continue;
        std::set<std::string> unknown;
        for (const auto& name : list_directory(*dir)) {
            const std::size_t dot = name.rfind('.');
            if (dot == std::string::npos) continue;
            const std::string version = name.substr(0, dot), ext = name.substr(dot);
            if ((ext == ".json" || ext == ".body") && is_version_id(version) && !log.sidecar(key, version))
                unknown.insert(version);
        }
        for (const auto& version : unknown)
            problem("orphaned", key, version, "files of a version the operation log does not record");
    }
    return report;
}

std::string LocalWormStore::uri(const std::string& key) const {
    validate_object_key(key);
    check_segment_lengths(key);
    return "file://" + detail::percent_encode((root_ / "objects").string() + "/" + key, detail::PercentKeep::unreserved_and_slash);
}

}  // namespace worm
