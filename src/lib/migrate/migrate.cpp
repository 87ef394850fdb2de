// migrate.cpp: the migration run (see migrate.hpp for the steps and their guarantees).
#include <fnmatch.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <optional>
#include <set>

#include "state.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/ids.hpp"
#include "worm/json.hpp"
#include "worm/migrate.hpp"
#include "worm/registry.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/store.hpp"
#include "worm/uploader.hpp"

#include "../s3/client_internal.hpp"
#include "../util/text.hpp"
#include "../util/worker_pool.hpp"

namespace worm {

namespace {

namespace fs = std::filesystem;

// "EB-20251101-0001.json" and its sidecars ("EB-...-0001.sig", ...): the bundle id before
// the first '.', by the one rule for ids (ids.hpp); nullopt for any other name.
std::optional<std::string> evidence_file_id(const std::string& name) {
    const std::size_t dot = name.find('.');
    if (dot == std::string::npos || dot + 1 == name.size()) return std::nullopt;
    std::string id = name.substr(0, dot);
    if (!is_valid_bundle_id(id)) return std::nullopt;
    return id;
}

std::string base_name(const std::string& key) {
    const std::size_t slash = key.rfind('/');
    return slash == std::string::npos ? key : key.substr(slash + 1);
}

std::string dir_part(const std::string& key) {
    const std::size_t slash = key.rfind('/');
    return slash == std::string::npos ? "" : key.substr(0, slash + 1);
}

bool glob_match(const std::vector<std::string>& globs, const std::string& key) {
    return std::any_of(globs.begin(), globs.end(),
                       [&](const std::string& g) { return ::fnmatch(g.c_str(), key.c_str(), 0) == 0; });
}

bool selected(const MigrationOptions& o, const std::string& key) {
    if (!key.starts_with(o.prefix)) return false;
    if (!o.include.empty() && !glob_match(o.include, key)) return false;
    return !glob_match(o.exclude, key);
}

std::string new_migration_id(TimePoint now) {
    unsigned char bytes[4];
    RAND_bytes(bytes, sizeof bytes);
    std::string stamp = format_rfc3339(now);
    stamp.erase(std::remove_if(stamp.begin(), stamp.end(), [](char c) { return c == '-' || c == ':'; }), stamp.end());
    return "mig-" + stamp + "-" + to_hex(std::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
}


// A key as a metadata value: S3 headers carry ASCII only, so a key with other bytes is
// percent-encoded (as in a URL path, '/' kept) instead of refused.
std::string key_as_metadata(const std::string& key) {
    const bool ascii = std::all_of(key.begin(), key.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    return ascii ? key : s3::uri_encode(key, false);
}

std::string unquote(std::string etag) { return worm::detail::to_lower(s3::detail::strip_quotes(std::move(etag))); }

// A large object's scratch file, removed whatever happens (a directory source's own file is never one).
struct ScratchFile {
    fs::path path;
    ~ScratchFile() {
        std::error_code ec;
        if (!path.empty()) fs::remove(path, ec);
    }
};

bool is_ok_status(const std::string& s) {
    return s == "copied" || s == "already_present" || s == "lock_applied" || s == "ok";
}

// What the agents' registry (the source directory's `.upload_registry.json`) says a file's
// SHA-256 is, by file name.
std::map<std::string, std::string> registry_hashes(const fs::path& json_path) {
    std::map<std::string, std::string> out;
    const rapidjson::Document doc = json::parse_strict(read_file(json_path), json_path.string());
    if (!doc.IsObject()) throw Error(ErrorCode::parse, json_path.string() + " is not a JSON object");
    for (const auto& m : doc.GetObject()) {
        if (!m.value.IsObject()) continue;
        const std::string id = m.name.GetString();
        if (const auto* v = json::find_member(m.value, "bundle_sha256"); v && v->IsString())
            out[id + ".json"] = worm::detail::to_lower(v->GetString());
        if (const auto* v = json::find_member(m.value, "sig_sha256"); v && v->IsString())
            out[id + ".sig"] = worm::detail::to_lower(v->GetString());
    }
    return out;
}

class Migration {
public:
    Migration(MigrationSource& source, ObjectStore& dest, const MigrationOptions& options)
        : source_(source), dest_(dest), options_(options), clock_(options.clock ? *options.clock : system_clock()) {}

    MigrationSummary run(bool verify_only) {
        const auto started = std::chrono::steady_clock::now();
        summary_.source = source_.describe();
        summary_.report_bucket = source_.bucket();
        summary_.destination = dest_.uri("x");
        summary_.destination.pop_back();  // the store's URI for an empty key
        if (summary_.destination.ends_with("/")) summary_.destination.pop_back();
        summary_.dry_run = options_.dry_run;
        plan();
        std::map<std::string, MigrationRow> previous;
        if (!verify_only && !options_.dry_run) {
            auto* s3_dest = dynamic_cast<s3::S3Store*>(&dest_);
            state_.emplace(options_.state_file, detail::MigrationState::Side{summary_.source, source_.endpoint()},
                           detail::MigrationState::Side{summary_.destination,
                                                        s3_dest ? detail::endpoint_identity(s3_dest->client().config().endpoint) : ""},
                           new_migration_id(clock_.now()));
            summary_.migration_id = state_->migration_id();
            previous = state_->rows();
            import_registry();
        }
        summary_.total = work_.size();
        for (const auto& w : work_) summary_.total_bytes += w.object.size;

        if (verify_only) {
            run_workers([&](Item& item) { return verify_one(item); });
            add_extra_rows();
        } else if (options_.dry_run) {
            for (auto& item : work_) {
                MigrationRow r = base_row(item);
                r.status = dest_keys_.count(item.dest_key) ? "would_check" : "would_copy";
                item.row = r;
            }
        } else {
            // What an earlier run finished is confirmed at the destination (one HEAD, no read of
            // the source) unless the source changed since; what it had in flight is HEADed.
            for (auto& item : work_) {
                const auto it = previous.find(item.object.key);
                if (it == previous.end()) continue;
                const MigrationRow& was = it->second;
                if (is_ok_status(was.status) && was.dest_key == item.dest_key) {
                    if (source_unchanged(item, was)) item.previous = was;
                    else item.in_flight = true;  // read again; the destination copy is compared with it
                } else if (was.status == "copying") {
                    item.in_flight = true;
                }
            }
            if (options_.verify_signatures) check_signatures();
            choose_server_side();
            run_workers([&](Item& item) { return server_side_ && !needs_bytes(item) ? copy_server_side(item) : copy_one(item); });
            summary_.server_side_copies = server_side_copies_.load();
            mark_registry_uploaded();
        }
        for (auto& item : work_) summary_.rows.push_back(*item.row);
        std::sort(summary_.rows.begin(), summary_.rows.end(),
                  [](const auto& a, const auto& b) { return a.source_key < b.source_key || (a.source_key == b.source_key && a.dest_key < b.dest_key); });
        for (const auto& r : summary_.rows) {
            ++summary_.by_status[r.status];
            if (r.status == "copied") summary_.bytes_copied += r.size;
        }
        summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return std::move(summary_);
    }

private:
    struct Item {
        SourceObject object;
        std::string dest_key;
        bool in_flight = false;              // `copying` when an earlier run stopped
        std::optional<MigrationRow> row;     // set when done
        std::optional<MigrationRow> previous;  // what an earlier run recorded as done, to confirm
        bool gone = false;                   // ... and that the destination no longer holds
    };

    // Whether the source still lists what an earlier run copied: same size, and the same
    // ETag when both listings gave one (a directory gives none: its size is all there is).
    static bool source_unchanged(const Item& item, const MigrationRow& was) {
        if (was.size != item.object.size) return false;
        return was.source_etag.empty() || item.object.etag.empty() || unquote(was.source_etag) == unquote(item.object.etag);
    }

    // Lists both sides and works out each object's destination key.
    void plan() {
        std::vector<SourceObject> objects = source_.list();
        const fs::path dir = source_.directory();
        for (auto& o : objects) {
            if (!selected(options_, o.key)) continue;
            Item item{.object = o, .dest_key = dest_key_for(o.key, dir), .in_flight = false, .row = std::nullopt,
                      .previous = std::nullopt, .gone = false};
            work_.push_back(std::move(item));
        }
        for (const auto& o : dest_.list_all(options_.dest_prefix)) dest_keys_.insert(o.key);
    }

    // Directory sources: EB-* files go to the uploader's layout, the rest keep their path.
    std::string dest_key_for(const std::string& key, const fs::path& dir) {
        const std::string prefix = options_.dest_prefix.empty() ? "" : options_.dest_prefix + "/";
        const auto file_id = evidence_file_id(base_name(key));
        if (dir.empty() || !options_.evidence_layout || !file_id) return prefix + key;
        const std::string id = *file_id;
        auto it = client_ids_.find(dir_part(key) + id);
        if (it == client_ids_.end()) {
            std::string client;
            const fs::path json_path = dir / (dir_part(key) + id + ".json");
            try {
                const rapidjson::Document doc = json::parse_strict(read_file(json_path), json_path.string());
                if (const auto* c = doc.IsObject() ? json::find_member(doc, "client_id") : nullptr; c && c->IsString())
                    client = c->GetString();
            } catch (const Error&) {
                // Not a readable bundle: the file keeps its own path.
            }
            it = client_ids_.emplace(dir_part(key) + id, client).first;
        }
        if (it->second.empty()) return prefix + key;
        return WormUploader::object_key(options_.dest_prefix, it->second, id, base_name(key).substr(id.size()));
    }

    // An agent directory's `.upload_registry.json`: its hashes check the files, and it is
    // merged into the directory's libworm registry so migrated bundles are recorded there.
    void import_registry() {
        const fs::path dir = source_.directory();
        if (dir.empty()) return;
        const fs::path agent_json = dir / ".upload_registry.json";
        const bool has_json = fs::exists(agent_json);
        if (has_json) registry_hashes_ = registry_hashes(agent_json);
        if (!has_json && !fs::exists(dir / UploadRegistry::file_name)) return;
        registry_ = std::make_unique<UploadRegistry>(dir);
        if (has_json) {
            const ImportResult r = registry_->import_json(agent_json);
            summary_.imported_registry_rows = r.imported + r.updated;
        }
    }

    // After the run: bundles whose .json and .sig are both in place are uploaded there.
    void mark_registry_uploaded() {
        if (!registry_) return;
        std::map<std::string, const Item*> by_name;
        for (const auto& item : work_) by_name[item.object.key] = &item;
        for (UploadStatus status : {UploadStatus::pending, UploadStatus::failed, UploadStatus::uploading}) {
            for (const auto& rec : registry_->list_by_status(status, 100000)) {
                auto json = by_name.find(rec.bundle_id + ".json");
                auto sig = by_name.find(rec.bundle_id + ".sig");
                if (json == by_name.end() || sig == by_name.end()) continue;
                const auto& jr = json->second->row;
                const auto& sr = sig->second->row;
                if (!jr || !sr || !is_ok_status(jr->status) || !is_ok_status(sr->status)) continue;
                registry_->mark_uploaded(rec.bundle_id, {.bundle_uri = dest_.uri(jr->dest_key),
                                                          .sig_uri = dest_.uri(sr->dest_key),
                                                          .bundle_version_id = jr->dest_version_id,
                                                          .sig_version_id = sr->dest_version_id,
                                                          .replica_bundle_uri = "",
                                                          .replica_sig_uri = ""});
            }
        }
    }

    // Checks each bundle still to copy against its sidecar before anything is copied, so a
    // bundle and its signature are held back together.
    void check_signatures() {
        const std::string key_pem = read_file(options_.public_key);
        std::map<std::string, Item*> by_key;
        for (auto& item : work_) by_key[item.object.key] = &item;
        for (auto& item : work_) {
            const std::string name = base_name(item.object.key);
            const auto id = evidence_file_id(name);
            if (item.row || !id || name != *id + ".json") continue;
            const std::string stem = dir_part(item.object.key) + *id;
            std::vector<Item*> sidecars;
            for (const std::string& candidate : {stem + ".sig", item.object.key + ".bundle", item.object.key + ".sigstore.json",
                                                 stem + ".sigstore.json"})
                if (auto it = by_key.find(candidate); it != by_key.end()) sidecars.push_back(it->second);
            std::string reason;
            if (sidecars.empty()) {
                reason = "no signature (.sig, .json.bundle or .sigstore.json) beside the bundle";
            } else {
                try {
                    const std::string bundle = source_.read(item.object).body;
                    for (Item* s : sidecars) {
                        const auto check = check_evidence_signature(bundle, s->object.key, source_.read(s->object).body, key_pem);
                        if (!check.valid) reason = s->object.key + ": " + check.reason;
                    }
                } catch (const Error& e) {
                    reason = std::string("cannot check the signature: ") + e.what();
                }
            }
            if (reason.empty()) continue;
            invalid_[item.object.key] = reason;
            for (Item* s : sidecars) invalid_[s->object.key] = reason;
        }
    }

    void run_workers(const std::function<MigrationRow(Item&)>& work) {
        std::atomic<std::size_t> next{0}, done{0};
        std::size_t batch_end = 0;
        std::atomic<std::uint64_t> bytes{0};
        std::mutex progress_mutex;
        auto worker = [&] {
            for (std::size_t i = next++; i < batch_end; i = next++) {
                Item& item = work_[i];
                if (!item.row) {
                    try {
                        item.row = work(item);
                    } catch (const Error& e) {
                        item.row = failure_row(item, "failed", e);
                    } catch (const std::exception& e) {
                        item.row = failure_row(item, "failed", Error(ErrorCode::internal, e.what()));
                    }
                }
                bytes += item.object.size;
                const std::size_t d = ++done;
                if (options_.on_progress) {
                    std::lock_guard lock(progress_mutex);
                    options_.on_progress(d, work_.size(), bytes.load());
                }
            }
        };
        const std::size_t batches = (work_.size() + options_.batch_size - 1) / options_.batch_size;
        for (std::size_t batch_start = 0; batch_start < work_.size(); batch_start += options_.batch_size) {
            batch_end = std::min(work_.size(), batch_start + options_.batch_size);
            if (options_.on_batch) options_.on_batch(batch_start / options_.batch_size + 1, batches, batch_end - batch_start);
            next = batch_start;
            // Everything this batch may put is `copying` before the first put (see state.hpp).
            std::vector<std::size_t> pending;
            for (std::size_t i = batch_start; i < batch_end; ++i)
                if (!work_[i].row) pending.push_back(i);
            if (state_ && !pending.empty()) state_->mark_copying(rows_of(pending, [&](const Item& item) { return base_row(item); }));
            detail::run_workers(std::min<std::size_t>(static_cast<std::size_t>(options_.workers), batch_end - batch_start),
                                [&](std::size_t) { worker(); });
            if (state_ && !pending.empty()) state_->record(rows_of(pending, [](const Item& item) { return *item.row; }));
        }
    }

    std::vector<MigrationRow> rows_of(const std::vector<std::size_t>& indexes,
                                      const std::function<MigrationRow(const Item&)>& row) const {
        std::vector<MigrationRow> out;
        out.reserve(indexes.size());
        for (std::size_t i : indexes) out.push_back(row(work_[i]));
        return out;
    }

    MigrationRow base_row(const Item& item) const {
        return MigrationRow{.source_key = item.object.key, .source_version_id = item.object.version_id,
                            .dest_key = item.dest_key, .dest_version_id = "", .status = "", .error_code = "",
                            .http_status = 200, .message = "", .sha256 = "", .size = item.object.size,
                            .source_etag = item.object.etag};
    }

    MigrationRow failure_row(const Item& item, const std::string& status, const Error& e) const {
        MigrationRow r = base_row(item);
        r.status = status;
        r.error_code = std::string(to_string(e.code()));
        r.message = e.what();
        if (const auto* s3e = dynamic_cast<const S3Error*>(&e)) {
            r.http_status = s3e->http_status();
            if (!s3e->s3_code().empty()) r.error_code = s3e->s3_code();
        } else {
            r.http_status = e.code() == ErrorCode::not_found ? 404 : 500;
        }
        return r;
    }

    MigrationRow problem(const Item& item, const std::string& status, const std::string& code, int http,
                         const std::string& message, const std::string& sha = "") const {
        MigrationRow r = base_row(item);
        r.status = status;
        r.error_code = code;
        r.http_status = http;
        r.message = message;
        r.sha256 = sha;
        return r;
    }

    // The SHA-256 of what the destination holds: its own checksum, else read back.
    std::string stored_sha(const std::string& key, const ObjectInfo& info) {
        if (!info.sha256_hex.empty()) return worm::detail::to_lower(info.sha256_hex);
        GetOptions get;
        if (!info.version_id.empty()) get.version_id = info.version_id;
        return sha256_hex(dest_.get(key, get));
    }

    std::optional<ObjectInfo> head_if_present(const std::string& key) {
        try {
            return dest_.head(key);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::not_found) throw;
            return std::nullopt;
        }
    }

    // Reads the source object and checks it against what the source recorded about it.
    // Returns the problem row, or nothing when the bytes are trustworthy. Without keep_bytes
    // the bytes are only hashed as they arrive (read.body and read.file stay empty).
    std::optional<MigrationRow> read_checked(const Item& item, SourceRead& read, std::string& sha, bool keep_bytes = true) {
        try {
            read = keep_bytes ? source_.read(item.object, scratch_file_for(item)) : source_.digest(item.object);
        } catch (const Error& e) {
            if (e.code() == ErrorCode::not_found)
                return problem(item, "missing", "NoSuchKey", 404, "the object is no longer at the source");
            throw;
        }
        const bool in_file = !read.file.empty();
        const bool checked_on_read = !read.sha256.empty();
        if (checked_on_read) sha = worm::detail::to_lower(read.sha256);
        else sha = in_file ? to_hex(sha256_file(read.file)) : sha256_hex(read.body);
        const std::string etag = unquote(read.etag);
        // (A large object's single-part ETag is not re-hashed: its SHA-256 checks below still apply.)
        if (!checked_on_read && !in_file && etag.size() == 32 && etag.find('-') == std::string::npos &&
            to_hex(md5(read.body)) != etag)
            return problem(item, "source_corrupt", "BadDigest", 400,
                           "the bytes read do not match the source ETag (MD5) " + etag, sha);
        if (!read.recorded_sha256.empty() && worm::detail::to_lower(read.recorded_sha256) != sha)
            return problem(item, "source_corrupt", "BadDigest", 400,
                           "the bytes read have sha256 " + sha + ", the source recorded " + read.recorded_sha256, sha);
        if (auto it = registry_hashes_.find(item.object.key); it != registry_hashes_.end() && it->second != sha)
            return problem(item, "source_corrupt", "BadDigest", 400,
                           "the file has sha256 " + sha + ", the agent registry recorded " + it->second, sha);
        return std::nullopt;
    }

    // The scratch file a read of this item goes to: none for a small object, which is read into memory.
    fs::path scratch_file_for(const Item& item) const {
        return item.object.size >= options_.large_object_bytes ? scratch_file(item) : fs::path();
    }

    // Where a large object's bytes wait between read and put: beside the state file, removed after.
    fs::path scratch_file(const Item& item) const {
        const fs::path dir = options_.state_file.empty() ? fs::temp_directory_path() : options_.state_file.parent_path();
        return (dir.empty() ? fs::path(".") : dir) /
               (".worm-migrate-part-" + sha256_hex(item.object.key).substr(0, 16));
    }

    Retention retention_for(const SourceRead& read) const {
        Retention r;
        r.mode = options_.lock_mode;
        const TimePoint now = std::chrono::floor<std::chrono::seconds>(clock_.now());
        r.retain_until = options_.retain_until ? *options_.retain_until : now + std::chrono::days(*options_.retain_days);
        // Never shorten what the source promised.
        if (options_.retain_from_source && read.retention && read.retention->retain_until > r.retain_until)
            r.retain_until = read.retention->retain_until;
        return r;
    }

    // The destination version must hold these bytes under at least this lock.
    std::optional<std::string> lock_problem(const ObjectInfo& info, const Retention& wanted) const {
        if (!info.retention) return "the destination version has no retention";
        if (info.retention->mode != wanted.mode)
            return "the destination version is locked in " + std::string(to_string(info.retention->mode)) + " mode";
        if (info.retention->retain_until.millis() + std::chrono::seconds(1) < wanted.retain_until.millis())
            return "the destination version is retained only until " + format_rfc3339(info.retention->retain_until);
        if (options_.legal_hold && !info.legal_hold) return "the destination version has no legal hold";
        return std::nullopt;
    }

    // An object an earlier run recorded as done: still at its recorded destination version,
    // locked? Returns the row to keep, or nothing when it must be copied again (gone).
    std::optional<MigrationRow> confirm_previous(Item& item) {
        const MigrationRow& was = *item.previous;
        std::optional<ObjectInfo> info;
        try {
            info = dest_.head(item.dest_key, was.dest_version_id.empty() ? std::nullopt : std::optional(was.dest_version_id));
        } catch (const Error& e) {
            if (e.code() != ErrorCode::not_found) throw;
        }
        if (!info) {
            item.gone = true;
            return std::nullopt;
        }
        // A version id names bytes that never change; without one (a store that keeps no
        // versions) the stored checksum is compared.
        if (was.dest_version_id.empty()) {
            const std::string have = stored_sha(item.dest_key, *info);
            if (have != was.sha256)
                return problem(item, "mismatched", "Mismatch", 409,
                               "the state says sha256 " + was.sha256 + " was copied, the destination now holds " + have, was.sha256);
        }
        if (!info->retention)
            return problem(item, "not_compliant", "LockNotApplied", 409,
                           "the state says this was copied with a lock, but the destination version has no retention", was.sha256);
        return was;
    }

    // The lock a copy already at the destination lacks: nothing when it holds at least the
    // lock asked (a later date, COMPLIANCE for GOVERNANCE, the legal hold asked).
    std::optional<std::string> weaker_lock(const ObjectInfo& info, const Retention& wanted) const {
        if (!info.retention) return "had no retention";
        if (wanted.mode == LockMode::compliance && info.retention->mode != LockMode::compliance)
            return "was locked in " + std::string(to_string(info.retention->mode)) + " mode only";
        if (info.retention->retain_until.millis() + std::chrono::seconds(1) < wanted.retain_until.millis())
            return "was retained only until " + format_rfc3339(info.retention->retain_until);
        if (options_.legal_hold && !info.legal_hold) return "had no legal hold";
        return std::nullopt;
    }

    // The destination already holds these bytes: `already_present` when its lock is at least
    // the one asked, else that lock is applied to that version (`lock_applied`, saying what
    // was missing) or, when the store refuses, the copy is `not_compliant`.
    MigrationRow existing_copy(const Item& item, const ObjectInfo& existing, const Retention& wanted, MigrationRow row) {
        row.dest_version_id = existing.version_id;
        auto lack = weaker_lock(existing, wanted);
        // This migration's own copy (put by a run killed before it recorded it) carries the
        // lock asked then: a date a little earlier than one computed now is not weaker.
        const auto id = existing.metadata.find("migration-id");
        if (lack && id != existing.metadata.end() && id->second == state_->migration_id() && existing.retention &&
            !(wanted.mode == LockMode::compliance && existing.retention->mode != LockMode::compliance) &&
            (!options_.legal_hold || existing.legal_hold))
            lack.reset();
        if (!lack) {
            row.status = "already_present";
            return row;
        }
        const std::optional<std::string> version =
            existing.version_id.empty() ? std::nullopt : std::optional<std::string>(existing.version_id);
        Retention apply = wanted;
        // Never shorten a date the existing lock already holds.
        if (existing.retention && existing.retention->retain_until > apply.retain_until)
            apply.retain_until = existing.retention->retain_until;
        try {
            if (!existing.retention || existing.retention->mode != apply.mode ||
                existing.retention->retain_until < apply.retain_until)
                dest_.put_retention(item.dest_key, apply, RetentionOptions{.version_id = version, .bypass_governance = false});
            if (options_.legal_hold && !existing.legal_hold) dest_.put_legal_hold(item.dest_key, true, version);
            if (auto still = weaker_lock(dest_.head(item.dest_key, version), wanted)) throw Error(ErrorCode::storage, "after setting it, the version " + *still);
        } catch (const Error& e) {
            return problem(item, "not_compliant", "LockNotApplied", 409,
                           "the destination already held these bytes, but the copy " + *lack +
                               "; the lock asked could not be applied: " + e.what(),
                           row.sha256);
        }
        row.status = "lock_applied";
        row.message = "the destination already held these bytes, but the copy " + *lack + "; applied " +
                      std::string(to_string(apply.mode)) + " until " + format_rfc3339(apply.retain_until) +
                      (options_.legal_hold && !existing.legal_hold ? " and a legal hold" : "");
        return row;
    }

    MigrationRow copy_one(Item& item) {
        if (item.previous) {
            if (auto kept = confirm_previous(item)) return *kept;
        }
        SourceRead read;
        std::string sha;
        const ScratchFile scratch{scratch_file_for(item)};
        if (auto bad = read_checked(item, read, sha)) return *bad;
        return put_read(item, read, sha);
    }

    // Puts bytes read and checked by read_checked (SHA-256 `sha`) with the lock, then
    // confirms what the destination holds and its lock.
    MigrationRow put_read(Item& item, SourceRead& read, const std::string& sha) {
        MigrationRow row = base_row(item);
        row.sha256 = sha;
        row.source_version_id = read.version_id;
        if (auto it = invalid_.find(item.object.key); it != invalid_.end() && !options_.copy_invalid)
            return problem(item, "invalid_signature", "InvalidSignature", 400, it->second, sha);

        const Retention retention = retention_for(read);
        // Already there (an earlier run, the agent, or another tool): same bytes or a conflict.
        if (item.in_flight || dest_keys_.count(item.dest_key)) {
            if (const auto existing = head_if_present(item.dest_key)) {
                const std::string have = stored_sha(item.dest_key, *existing);
                if (have != sha)
                    return problem(item, "mismatched", "Mismatch", 409,
                                   "the destination already holds sha256 " + have + " under this key", sha);
                return existing_copy(item, *existing, retention, row);
            }
        }

        PutOptions put;
        put.content_type = item.object.key.ends_with(".json") ? "application/json" : "application/octet-stream";
        put.metadata = {{"source-key", key_as_metadata(source_.full_key(item.object.key))},
                        {"source-etag", unquote(read.etag)},
                        {"sha256", sha},
                        {"migration-id", state_->migration_id()},
                        {"migrated-at", format_rfc3339(clock_.now())}};
        if (!read.version_id.empty()) put.metadata["source-version-id"] = read.version_id;
        put.lock.retention = retention;
        put.lock.legal_hold = options_.legal_hold;
        put.sha256_hex = sha;
        // Create-only, and never re-sent by the client after a failure it may have survived.
        put.if_none_match = true;
        const std::string body_md5 = read.file.empty() ? to_hex(md5(read.body)) : "";
        PutResult result;
        std::string multipart_etag;
        try {
            result = put_to_destination(item, read, sha, put, multipart_etag);
        } catch (const Error& e) {
            // Refused because it is there (412), or maybe applied: look before giving up.
            const auto existing = head_if_present(item.dest_key);
            if (!existing) throw;
            const std::string have = stored_sha(item.dest_key, *existing);
            if (have != sha)
                return problem(item, "mismatched", "Mismatch", 409,
                               "the destination already holds sha256 " + have + " under this key", sha);
            // Put by someone else between our listing and our put: it may lack the lock.
            if (weaker_lock(*existing, retention)) return existing_copy(item, *existing, retention, row);
            result.version_id = existing->version_id;
            result.sha256_hex = have;
        }
        // Verify what the destination holds now, then its lock.
        const std::optional<std::string> version =
            result.version_id.empty() ? std::nullopt : std::optional<std::string>(result.version_id);
        const ObjectInfo info = dest_.head(item.dest_key, version);
        std::string have = worm::detail::to_lower(result.sha256_hex);
        // A server that echoes no SHA-256 (Ceph RGW) still states the stored version's MD5 as
        // its ETag (single PUT, no KMS): equal to the MD5 of the bytes sent, it checks the
        // content without reading it back. Anything else is read back and hashed.
        if (have.empty() && !body_md5.empty() && unquote(info.etag) == body_md5) have = sha;
        // The same for a multipart version: its ETag is the MD5 of its parts' MD5s, each checked
        // by the server against the Content-MD5 sent with the part.
        if (have.empty() && !multipart_etag.empty() && unquote(info.etag) == multipart_etag) have = sha;
        if (have.empty()) {
            GetOptions get;
            get.version_id = version;
            if (read.file.empty()) {
                have = sha256_hex(dest_.get(item.dest_key, get));
            } else {
                const fs::path back = scratch_file(item).string() + ".readback";
                dest_.get_to_file(item.dest_key, back, get);
                have = to_hex(sha256_file(back));
                fs::remove(back);
            }
        }
        if (have != sha)
            return problem(item, "failed", "VerifyFailed", 500, "after the copy the destination holds sha256 " + have, sha);
        if (auto bad = lock_problem(info, retention)) return problem(item, "failed", "LockNotApplied", 500, *bad, sha);
        row.status = "copied";
        row.dest_version_id = result.version_id.empty() ? info.version_id : result.version_id;
        row.message = invalid_.count(item.object.key) ? "copied with an invalid signature (--copy-invalid)" : "";
        if (item.gone)
            row.message = "copied again: the state recorded it as copied, but the destination no longer held that version";
        return row;
    }

    // Server-side copies need both sides on one S3 endpoint under the same credentials
    // (CopyObject reads the source with the destination's): otherwise bytes go through here.
    void choose_server_side() {
        s3_dest_ = dynamic_cast<s3::S3Store*>(&dest_);
        source_client_ = source_.s3_client();
        if (!options_.server_side || !s3_dest_ || !source_client_) return;
        const s3::ClientConfig& from = source_client_->config();
        const s3::ClientConfig& to = s3_dest_->client().config();
        if (detail::endpoint_identity(from.endpoint) != detail::endpoint_identity(to.endpoint) || from.region != to.region) return;
        try {
            if (from.credentials->get().access_key_id != to.credentials->get().access_key_id) return;
        } catch (const Error&) {
            return;  // no credentials yet: the first request says why, through the client path
        }
        server_side_ = true;
    }

    // Evidence whose signature is checked is read, so what is copied is what was checked.
    bool needs_bytes(const Item& item) const {
        return options_.verify_signatures && evidence_file_id(base_name(item.object.key)).has_value();
    }

    // MigrationOptions::trust_listing: the listing stands for the source's HEAD when its ETag
    // is a single-part MD5 (what the copy's ETag is compared with) on a server that computes
    // checksums, for a plain CopyObject to a key not yet at the destination.
    bool listing_suffices(const Item& item) const {
        if (!options_.trust_listing || !source_checksums_.load() || item.in_flight || dest_keys_.count(item.dest_key)) return false;
        return s3::detail::is_md5_etag(unquote(item.object.etag)) && item.object.size <= options_.copy_part_above;
    }

    // S3 to S3 on one endpoint: CopyObject with the lock, verified by checksums the servers
    // state, not by reading. The SHA-256 recorded is the source's (its checksum or
    // x-amz-meta-sha256) when the copy's server-computed SHA-256 confirms it, else the one the
    // server computed for the copy; a server that computes none (Ceph RGW 16) has the source
    // read once to compute it (never uploaded), and the copy's ETag (the MD5 the server
    // computed) must be the source's.
    MigrationRow copy_server_side(Item& item) {
        if (item.previous) {
            if (auto kept = confirm_previous(item)) return *kept;
        }
        // The bytes are kept only where they are used: a small source in memory (it may be put
        // back), a source copied in parts on a scratch file (each part is checked against
        // them). Any other read only hashes them as they arrive, with nothing written.
        const bool in_memory = item.object.size < options_.large_object_bytes;
        const bool keep_bytes = in_memory || item.object.size > options_.copy_part_above;
        const ScratchFile scratch{keep_bytes ? scratch_file_for(item) : fs::path()};
        SourceRead facts;
        SourceRead bytes;      // the source's bytes when read (checked by read_checked)
        std::string read_sha;  // their SHA-256 ("" when not read)
        // A source whose server keeps no SHA-256 (Ceph RGW 16, objects put without one) is
        // read once, before the copy: once one such object is seen, the next ones are read
        // straight away instead of HEADed first.
        const bool from_listing = listing_suffices(item);
        const bool headed = source_checksums_.load() && !from_listing;
        if (from_listing) {
            facts.etag = item.object.etag;
            facts.version_id = item.object.version_id;
        } else if (headed) {
            try {
                facts = source_.stat(item.object);
            } catch (const Error& e) {
                if (e.code() == ErrorCode::not_found)
                    return problem(item, "missing", "NoSuchKey", 404, "the object is no longer at the source");
                throw;
            }
        }
        if (!from_listing && (!headed || facts.checksum_sha256.empty())) {
            if (headed) source_checksums_.store(false);
            if (auto bad = read_checked(item, bytes, read_sha, keep_bytes)) return *bad;
            // Small, read anyway, and the server ignores the lock on a copy: putting the bytes
            // back costs it less (see MigrationOptions::put_back_up_to).
            if (copies_ignore_lock_.load() && item.object.size <= options_.put_back_up_to && in_memory)
                return put_read(item, bytes, read_sha);
            facts = bytes;
            facts.body.clear();
        }
        const std::string recorded = worm::detail::to_lower(facts.recorded_sha256);
        const std::string checksum = worm::detail::to_lower(facts.checksum_sha256);
        // What the writer recorded (x-amz-meta-sha256) must be what the source server checked
        // on upload (without a server checksum, read_checked compared it with the bytes), so
        // a corrupt source is never locked at the destination.
        if (!checksum.empty() && !recorded.empty() && recorded != checksum)
            return problem(item, "source_corrupt", "BadDigest", 400,
                           "the source's checksum is sha256 " + checksum + ", its writer recorded " + recorded, checksum);
        // The source's SHA-256 as known before the copy: read here, or its server's checksum.
        const std::string claimed = read_sha.empty() ? checksum : read_sha;
        MigrationRow row = base_row(item);
        row.source_version_id = facts.version_id;
        const Retention retention = retention_for(facts);

        auto source_sha = [&]() -> std::optional<MigrationRow> {
            if (!read_sha.empty()) return std::nullopt;
            return read_checked(item, bytes, read_sha, keep_bytes);
        };
        // After the copy a source that fails its read is the copy's failure (the copy exists).
        auto source_sha_after_copy = [&](const std::string& version) -> std::optional<MigrationRow> {
            auto bad = source_sha();
            if (!bad) return std::nullopt;
            bad->status = "failed";
            bad->dest_version_id = version;
            bad->message += " (the copy is version " + version + ")";
            return bad;
        };
        // The key already at the destination (an earlier run, the agent, another tool): the
        // same bytes (its lock then checked, see existing_copy) or a conflict.
        auto already_there = [&](const ObjectInfo& existing) {
            if (claimed.empty()) {
                if (auto bad = source_sha()) return *bad;
            }
            const std::string want = claimed.empty() ? read_sha : claimed;
            const std::string have = stored_sha(item.dest_key, existing);
            if (have != want)
                return problem(item, "mismatched", "Mismatch", 409,
                               "the destination already holds sha256 " + have + " under this key", want);
            row.sha256 = want;
            return existing_copy(item, existing, retention, row);
        };
        if (item.in_flight || dest_keys_.count(item.dest_key)) {
            if (const auto existing = head_if_present(item.dest_key)) return already_there(*existing);
        }

        s3::CopyObjectOptions copy;
        copy.source_bucket = source_.bucket();
        copy.source_key = source_.full_key(item.object.key);
        if (!facts.version_id.empty()) copy.source_version_id = facts.version_id;
        copy.source_if_match = facts.etag;
        copy.source_size = item.object.size;
        copy.bucket = s3_dest_->bucket();
        copy.key = s3_dest_->prefix() + item.dest_key;
        copy.content_type = item.object.key.ends_with(".json") ? "application/json" : "application/octet-stream";
        copy.metadata = {{"source-key", key_as_metadata(source_.full_key(item.object.key))},
                         {"source-etag", unquote(facts.etag)},
                         {"migration-id", state_->migration_id()},
                         {"migrated-at", format_rfc3339(clock_.now())}};
        if (!claimed.empty()) copy.metadata["sha256"] = claimed;
        if (!facts.version_id.empty()) copy.metadata["source-version-id"] = facts.version_id;
        copy.lock.retention = retention;
        copy.lock.legal_hold = options_.legal_hold;
        copy.multipart_above = options_.copy_part_above;
        copy.part_size = options_.part_size;
        s3::CopyObjectResult result;
        try {
            result = s3_dest_->client().copy_object(copy);
        } catch (const Error& e) {
            // Maybe applied before the error (a copy is never re-sent): look before giving up.
            const auto existing = head_if_present(item.dest_key);
            if (existing) return already_there(*existing);
            if (!from_listing) throw;
            // Not HEADed first: what the copy's refusal says about the source is the row.
            const auto* s3e = dynamic_cast<const S3Error*>(&e);
            const std::string code = s3e ? s3e->s3_code() : "";
            if (code == "NoSuchKey") return problem(item, "missing", "NoSuchKey", 404, "the object is no longer at the source");
            if (code == "PreconditionFailed")
                return problem(item, "failed", "PreconditionFailed", 412,
                               "the source changed after it was listed (its ETag is no longer " + unquote(facts.etag) +
                                   "): nothing copied; run again to copy what it holds now");
            throw;
        }
        if (result.lock_set_after_copy) copies_ignore_lock_.store(true);
        if (row.source_version_id.empty()) row.source_version_id = result.source_version_id;
        const std::string copy_version = result.version_id;
        auto failed = [&](const std::string& code, const std::string& message, const std::string& sha) {
            MigrationRow bad = problem(item, "failed", code, 500, message + " (the copy is version " + copy_version + ")", sha);
            bad.dest_version_id = copy_version;
            return bad;
        };

        std::string sha;
        if (result.multipart) {
            // Each part's ETag is the MD5 of the range the server copied: the source is read
            // once and each range hashed the same way.
            if (auto bad = source_sha_after_copy(copy_version)) return *bad;
            if (auto wrong = parts_differ(item, bytes, result)) return failed("VerifyFailed", *wrong, read_sha);
            sha = read_sha;
        } else if (const std::string stated = worm::detail::to_lower(result.checksum_sha256_hex); !stated.empty()) {
            if (!claimed.empty() && claimed != stated)
                return failed("BadDigest", "the server computed sha256 " + stated + " for the copy, the source's is " + claimed,
                              claimed);
            // Listed, not HEADed: the copy's MD5 must be the listed one; an ETag that is not the
            // content's MD5 (SSE-KMS) has the source read to compare SHA-256s instead.
            if (from_listing && unquote(result.etag) != unquote(facts.etag)) {
                if (auto bad = source_sha_after_copy(copy_version)) return *bad;
                if (read_sha != stated)
                    return failed("VerifyFailed", "the server computed sha256 " + stated + " for the copy, the source's bytes have " + read_sha,
                                  read_sha);
            }
            sha = stated;
        } else {
            if (from_listing) source_checksums_.store(false);  // no SHA-256 from this server: HEAD or read the next
            // No SHA-256 from the server: the copy's ETag is the MD5 it computed for the
            // bytes, and must be the source's; the SHA-256 comes from one read of the source.
            if (auto bad = source_sha_after_copy(copy_version)) return *bad;
            if (unquote(result.etag) != unquote(facts.etag)) {
                ObjectInfo copied;
                copied.version_id = copy_version;
                const std::string have = stored_sha(item.dest_key, copied);
                if (have != read_sha)
                    return failed("VerifyFailed", "after the copy the destination holds sha256 " + have, read_sha);
            }
            sha = read_sha;
        }
        ObjectInfo lock_state;
        lock_state.retention = result.retention;
        lock_state.legal_hold = result.legal_hold;
        if (auto bad = lock_problem(lock_state, retention)) return failed("LockNotApplied", *bad, sha);
        ++server_side_copies_;
        row.status = "copied";
        row.sha256 = sha;
        row.dest_version_id = copy_version;
        if (item.gone)
            row.message = "copied again: the state recorded it as copied, but the destination no longer held that version";
        return row;
    }

    // A multipart copy's parts against the source bytes as read (memory or scratch file).
    static std::optional<std::string> parts_differ(const Item& item, const SourceRead& bytes, const s3::CopyObjectResult& result) {
        std::ifstream in;
        if (!bytes.file.empty()) in.open(bytes.file, std::ios::binary);
        for (const auto& part : result.parts) {
            const std::uint64_t first = static_cast<std::uint64_t>(part.number - 1) * result.part_size;
            const std::uint64_t length = std::min(result.part_size, item.object.size - first);
            std::string range;
            if (!bytes.file.empty()) {
                range.resize(length);
                in.seekg(static_cast<std::streamoff>(first));
                in.read(range.data(), static_cast<std::streamsize>(length));
                if (static_cast<std::uint64_t>(in.gcount()) != length) return "the source read back short";
            } else {
                range = bytes.body.substr(first, length);
            }
            const std::string have = to_hex(md5(range));
            if (have != unquote(part.etag))
                return "part " + std::to_string(part.number) + " of the copy has ETag " + unquote(part.etag) +
                       ", the source's bytes there have MD5 " + have;
        }
        return std::nullopt;
    }

    // A large object to an S3 destination continues the multipart upload an earlier run left
    // (its parts recorded in the state as they finish); anything else is one put.
    // multipart_etag: for a multipart upload, the ETag its parts give (each part was sent with
    // Content-MD5, so the server checked it and answered with that MD5 as its ETag).
    PutResult put_to_destination(const Item& item, SourceRead& read, const std::string& sha, const PutOptions& put,
                                 std::string& multipart_etag) {
        auto* s3 = read.file.empty() ? nullptr : dynamic_cast<s3::S3Store*>(&dest_);
        if (!s3) return dest_.put(item.dest_key, read.file.empty() ? PutBody::from_bytes(std::move(read.body)) : PutBody::from_file(read.file), put);
        const std::string& source_key = item.object.key;
        detail::MigrationState::Upload upload = state_->upload_for(source_key, item.dest_key, sha);
        if (!upload.stale_upload_id.empty()) {
            // Started for other bytes (the source changed) or another key: its parts are useless.
            try {
                s3->client().abort_multipart_upload(s3->bucket(), s3->prefix() + upload.stale_dest_key, upload.stale_upload_id);
            } catch (const Error&) {
                // Already gone, or left to the bucket's AbortIncompleteMultipartUpload rule.
            }
            state_->forget_upload(source_key);
        }
        s3::MultipartCheckpoint& checkpoint = upload.checkpoint;
        if (checkpoint.upload_id.empty()) checkpoint.part_size = options_.part_size;
        checkpoint.on_created = [&](const s3::MultipartCheckpoint& c) { state_->record_upload(source_key, item.dest_key, sha, c); };
        checkpoint.on_part = [&](const s3::CompletedPart& part) { state_->record_part(source_key, part); };
        PutResult result = s3->put_resumable(item.dest_key, read.file, put, checkpoint);
        state_->forget_upload(source_key);
        std::vector<s3::CompletedPart> parts = checkpoint.parts;
        std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.number < b.number; });
        std::string md5s;
        for (const auto& p : parts) {
            const std::string etag = unquote(p.etag);
            if (!s3::detail::is_md5_etag(etag)) return result;
            md5s += from_hex(etag);
        }
        multipart_etag = to_hex(md5(md5s)) + "-" + std::to_string(parts.size());
        return result;
    }

    MigrationRow verify_one(Item& item) {
        SourceRead read;
        std::string sha;
        const ScratchFile scratch{scratch_file_for(item)};
        if (auto bad = read_checked(item, read, sha)) return *bad;
        const auto existing = dest_keys_.count(item.dest_key) ? head_if_present(item.dest_key) : std::nullopt;
        if (!existing) return problem(item, "missing", "NoSuchKey", 404, "not at the destination", sha);
        const std::string have = stored_sha(item.dest_key, *existing);
        if (have != sha)
            return problem(item, "mismatched", "Mismatch", 409, "the destination holds sha256 " + have, sha);
        MigrationRow row = base_row(item);
        row.status = "ok";
        row.sha256 = sha;
        row.dest_version_id = existing->version_id;
        if (!existing->retention) {
            row.status = "mismatched";
            row.error_code = "NoRetention";
            row.message = "the destination version has no retention";
        }
        return row;
    }

    // Destination keys no source object maps to.
    void add_extra_rows() {
        std::set<std::string> mapped;
        for (const auto& item : work_) mapped.insert(item.dest_key);
        for (const auto& key : dest_keys_) {
            if (mapped.count(key)) continue;
            Item item{.object = {.key = "", .size = 0, .etag = "", .version_id = ""}, .dest_key = key, .in_flight = false,
                      .row = std::nullopt, .previous = std::nullopt, .gone = false};
            item.row = problem(item, "extra", "Extra", 200, "at the destination, not at the source");
            work_.push_back(std::move(item));
        }
    }

    MigrationSource& source_;
    ObjectStore& dest_;
    const MigrationOptions& options_;
    const Clock& clock_;
    MigrationSummary summary_;
    std::vector<Item> work_;
    std::set<std::string> dest_keys_;
    std::map<std::string, std::string> client_ids_;       // directory + bundle id -> client id
    std::map<std::string, std::string> registry_hashes_;  // file name -> sha256 the agent recorded
    std::map<std::string, std::string> invalid_;          // source key -> why its signature failed
    std::optional<detail::MigrationState> state_;
    std::unique_ptr<UploadRegistry> registry_;
    bool server_side_ = false;
    s3::S3Store* s3_dest_ = nullptr;
    s3::S3Client* source_client_ = nullptr;
    // false once a source's HEAD, or (--trust-listing) a copy's answer, came without a server
    // SHA-256: the next are read, not HEADed or taken from the listing.
    std::atomic<bool> source_checksums_{true};
    std::atomic<std::size_t> server_side_copies_{0};
    std::atomic<bool> copies_ignore_lock_{false};  // a copy's lock was set after it (put_back_up_to)
};

}  // namespace

void MigrationOptions::validate() const {
    if (workers < 1 || workers > 256) throw Error(ErrorCode::invalid_argument, "workers must be 1 to 256");
    if (batch_size < 1) throw Error(ErrorCode::invalid_argument, "batch size must be at least 1");
    if (part_size != 0 && (part_size < (5ull << 20) || part_size > (5ull << 30)))
        throw Error(ErrorCode::invalid_argument, "part size must be 5 MiB to 5 GiB");
    if (copy_part_above < (5ull << 20) || copy_part_above > (5ull << 30))
        throw Error(ErrorCode::invalid_argument, "server-side copies go multipart above 5 MiB to 5 GiB, not more or less");
    if (large_object_bytes < 1) throw Error(ErrorCode::invalid_argument, "the large object size must be at least 1 byte");
    if (retain_days && retain_until)
        throw Error(ErrorCode::invalid_argument, "give either retain days or retain until, not both");
    if (!retain_days && !retain_until)
        throw Error(ErrorCode::invalid_argument, "a migration needs a retention: --retain-days N or --retain-until TIME");
    if (retain_days && (*retain_days < 1 || *retain_days > 36500))
        throw Error(ErrorCode::invalid_argument, "retain days must be 1 to 36500");
    if (retain_until && *retain_until <= (clock ? *clock : system_clock()).now())
        throw Error(ErrorCode::invalid_argument, "retain until " + format_rfc3339(*retain_until) + " is not in the future");
    if (!dry_run && state_file.empty()) throw Error(ErrorCode::invalid_argument, "a migration needs a state file");
    if (verify_signatures && public_key.empty())
        throw Error(ErrorCode::invalid_argument, "verifying signatures needs a public key (--key PUB)");
    if (copy_invalid && !verify_signatures)
        throw Error(ErrorCode::invalid_argument, "--copy-invalid only applies with --verify-signatures");
    if (trust_listing && !server_side)
        throw Error(ErrorCode::invalid_argument, "--trust-listing only applies to server-side copies, not with --client-copy");
    if (trust_listing && retain_from_source)
        throw Error(ErrorCode::invalid_argument,
                    "--trust-listing cannot keep the source's retain-until (--retain-from-source): that needs a HEAD of each source");
}

MigrationSummary migrate(MigrationSource& source, ObjectStore& destination, const MigrationOptions& options) {
    options.validate();
    return Migration(source, destination, options).run(false);
}

MigrationSummary verify_migration(MigrationSource& source, ObjectStore& destination, const MigrationOptions& options) {
    MigrationOptions o = options;
    o.dry_run = true;  // nothing written: no state file needed
    if (!o.retain_days && !o.retain_until) o.retain_days = 1;  // not used by a verify
    o.validate();
    return Migration(source, destination, o).run(true);
}

}  // namespace worm
