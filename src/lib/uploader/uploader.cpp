// WormUploader: register, upload, verify, retry, sync (see uploader.hpp).
#include "../util/text.hpp"
#include "worm/uploader.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <set>

#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/ids.hpp"
#include "worm/json.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/store.hpp"
#include "worm/signer.hpp"
#include "worm/storage/keys.hpp"
#include "../util/percent_encoding.hpp"

namespace worm {

void UploaderOptions::validate() const {
    if (backoff_base.count() < 0 || backoff_max.count() < 0)
        throw Error(ErrorCode::invalid_argument, "backoff_base and backoff_max must not be negative");
    if (sync_page_size == 0) throw Error(ErrorCode::invalid_argument, "sync_page_size must be at least 1");
    if (lease_duration.count() <= 0) throw Error(ErrorCode::invalid_argument, "lease_duration must be positive");
    if (!clock) throw Error(ErrorCode::invalid_argument, "uploader clock is null (leave it unset for the system clock)");
}

namespace {

using worm::detail::to_lower;

bool is_not_found(const Error& e) {
    if (e.code() == ErrorCode::not_found) return true;
    const auto* s3 = dynamic_cast<const S3Error*>(&e);
    return s3 && s3->http_status() == 404;
}

bool is_transient(const Error& e) {
    if (const auto* s3 = dynamic_cast<const S3Error*>(&e)) return s3->retryable();
    return e.code() == ErrorCode::network || e.code() == ErrorCode::timeout || e.code() == ErrorCode::storage;
}

// Where an upload put the bundle, as the registry records it.
UploadLocation location_of(const UploadResult& r) {
    return {.bundle_uri = r.bundle_uri,
            .sig_uri = r.sig_uri,
            .bundle_version_id = r.bundle_version_id,
            .sig_version_id = r.sig_version_id,
            .replica_bundle_uri = r.replica_bundle_uri,
            .replica_sig_uri = r.replica_sig_uri};
}

struct StoredObject {
    std::string uri;
    std::string version_id;
    bool already_present = false;
};

}  // namespace

// Another live process holds the bundle's upload lease: sync() skips it, upload_bundle()
// reports it as Error(already_exists).
class LeasedElsewhere : public Error {
public:
    using Error::Error;
};

// The configured store cannot be opened (Error(config)): every upload would fail the same
// way, so sync() stops at the first one.
class StoreNotConfigured : public Error {
public:
    using Error::Error;
};

struct WormUploader::Impl {
    WormConfig config;
    std::shared_ptr<ObjectStore> store;
    std::shared_ptr<UploadRegistry> registry;
    UploaderOptions options;
    const Clock* clock;

    std::mutex in_flight_mutex;
    std::set<std::string> in_flight;  // bundles this process is uploading right now

    // Claims a bundle for this process; false when another thread already has it.
    bool claim(const std::string& id) {
        std::lock_guard lock(in_flight_mutex);
        return in_flight.insert(id).second;
    }
    void release(const std::string& id) {
        std::lock_guard lock(in_flight_mutex);
        in_flight.erase(id);
    }

    Backoff backoff;  // options.backoff_base/backoff_max, config.upload_attempts, options.sleep/random

    std::mutex store_mutex;   // guards opening the store (it is written once, under it)
    std::string logged_error;  // the last configuration problem logged, so each is logged once

    // The store given, or the one the configuration names, opened on first use.
    std::shared_ptr<ObjectStore> resolve_store() {
        std::lock_guard lock(store_mutex);
        if (store) return store;
        try {
            if (!config.enabled)
                throw Error(ErrorCode::config,
                            "WORM upload is not enabled (set WORM_ENABLED=true, or MSP_WORM_BUCKET) and no store was given");
            config.validate();
            store = open_configured_store(config);
            return store;
        } catch (const Error& e) {
            const std::string message = std::string(e.what()) + " (bundles stay in the backlog for a later sync)";
            if (message != logged_error) {
                logged_error = message;
                if (options.log) options.log(message);
                else std::cerr << "worm: cannot upload: " << message << "\n";
            }
            throw StoreNotConfigured(ErrorCode::config, e.what());
        }
    }

    std::string sha_of_stored(ObjectStore& target, const std::string& key, const ObjectInfo& info) {
        // Only a checksum the store computed counts; x-amz-meta-sha256 is just what a writer claimed.
        if (!info.sha256_hex.empty()) return to_lower(info.sha256_hex);
        GetOptions get;
        if (!info.version_id.empty()) get.version_id = info.version_id;
        return sha256_hex(target.get(key, get));
    }

    // The lock on a stored version must be the configured mode, until at least min_until.
    void verify_lock(const std::string& key, const ObjectInfo& info, TimePoint min_until) {
        if (!info.retention)
            throw Error(ErrorCode::integrity, "stored object " + key + " has no object lock retention; asked for " +
                                                  std::string(to_string(config.lock_mode)) + " until " +
                                                  format_rfc3339(min_until));
        if (info.retention->mode != config.lock_mode)
            throw Error(ErrorCode::integrity, "stored object " + key + " is locked in " +
                                                  std::string(to_string(info.retention->mode)) + " mode, not " +
                                                  std::string(to_string(config.lock_mode)));
        if (info.retention->retain_until < min_until)
            throw Error(ErrorCode::integrity, "stored object " + key + " is retained until " +
                                                  format_rfc3339_millis(info.retention->retain_until) +
                                                  ", earlier than the " + format_rfc3339(min_until) + " asked for");
    }

    std::optional<ObjectInfo> head_if_stored(ObjectStore& target, const std::string& key) {
        try {
            return target.head(key);
        } catch (const Error& e) {
            if (!is_not_found(e)) throw;
        }
        return std::nullopt;
    }

    // An object already under the key must be this file, locked as configured.
    StoredObject accept_stored(ObjectStore& target, const std::string& key, const std::filesystem::path& path, const std::string& sha,
                               const ObjectInfo& existing) {
        const std::string have = sha_of_stored(target, key, existing);
        if (have != sha)
            throw Error(ErrorCode::integrity, "key " + key + " already holds different content (sha256 " + have +
                                                  ", this file " + sha + ", " + path.string() +
                                                  "); the stored version is locked and is left as it is");
        // Protected for the configured days from when it was written (1 s for rounding).
        TimePoint written = existing.last_modified;
        const auto ts = existing.metadata.find("upload-timestamp");
        if (ts != existing.metadata.end()) {
            try {
                written = parse_rfc3339(ts->second);
            } catch (const Error&) {
            }
        }
        verify_lock(key, existing, written + std::chrono::days(config.retention_days) - std::chrono::seconds(1));
        return {target.uri(key), existing.version_id, true};
    }

    StoredObject store_object(ObjectStore& target, const std::string& key, const std::filesystem::path& path, const std::string& sha,
                              const std::string& content_type) {
        // An earlier attempt may have stored it already (crash, or a lost response).
        if (const auto existing = head_if_stored(target, key)) return accept_stored(target, key, path, sha, *existing);

        const TimePoint now = clock->now();
        const TimePoint retain_until = std::chrono::floor<std::chrono::seconds>(now) +
                                       std::chrono::days(config.retention_days);
        PutOptions put;
        put.content_type = content_type;
        put.metadata = {{"upload-timestamp", format_rfc3339(now)},
                        {"retention-days", std::to_string(config.retention_days)},
                        {"original-path", detail::percent_encode(path.string(), detail::PercentKeep::printable_ascii)},
                        {"sha256", sha}};
        put.lock.retention = Retention{config.lock_mode, retain_until};
        put.encryption = config.encryption;
        put.sha256_hex = sha;
        // Create-only (If-None-Match: *): a server that honours it refuses a second version
        // (412: an earlier try of ours or another writer got there first; checked below).
        // It also keeps the S3 client from re-sending the PUT after a failure it may have
        // survived (lost response, timeout, 500), which would add a second, permanently
        // locked version on servers that ignore the header; the next attempt HEADs first.
        put.if_none_match = true;
        PutResult result;
        try {
            result = target.put(key, PutBody::from_file(path), put);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::already_exists) throw;
            const auto existing = head_if_stored(target, key);
            if (!existing) throw;
            StoredObject stored = accept_stored(target, key, path, sha, *existing);
            stored.already_present = false;  // most likely our own first try: it was sent
            return stored;
        }

        // Verify what the store holds now, not what we meant to send.
        const std::optional<std::string> version =
            result.version_id.empty() ? std::nullopt : std::optional<std::string>(result.version_id);
        std::string stored_sha = to_lower(result.sha256_hex);
        if (stored_sha.empty()) {
            GetOptions get;
            get.version_id = version;
            stored_sha = sha256_hex(target.get(key, get));
        }
        if (stored_sha != sha)
            throw Error(ErrorCode::integrity, "after the put, " + key + " holds sha256 " + stored_sha + ", not " + sha);
        const ObjectInfo info = target.head(key, version);
        if (!info.sha256_hex.empty() && to_lower(info.sha256_hex) != sha)
            throw Error(ErrorCode::integrity,
                        "after the put, HEAD " + key + " reports sha256 " + info.sha256_hex + ", not " + sha);
        verify_lock(key, info, retain_until);
        return {target.uri(key), result.version_id.empty() ? info.version_id : result.version_id, false};
    }

    // One try at both objects of a bundle.
    UploadResult try_once(const RegistryRecord& r) {
        if (r.client_id.empty())
            throw Error(ErrorCode::invalid_argument, "bundle " + r.bundle_id + " has no client_id in the registry");
        if (r.bundle_path.empty() || r.sig_path.empty())
            throw Error(ErrorCode::invalid_argument, "bundle " + r.bundle_id + " has no local .json/.sig path");
        validate_bundle_id(r.bundle_id);
        validate_client_id(r.client_id);
        // The files must still be what was registered (evidence is never edited after signing).
        const std::string json_sha = to_hex(sha256_file(r.bundle_path));
        const std::string sig_sha = to_hex(sha256_file(r.sig_path));
        if (!r.bundle_sha256.empty() && json_sha != r.bundle_sha256)
            throw Error(ErrorCode::integrity, "bundle file " + r.bundle_path + " changed since it was registered (sha256 " +
                                                  json_sha + ", registered " + r.bundle_sha256 + ")");
        if (!r.sig_sha256.empty() && sig_sha != r.sig_sha256)
            throw Error(ErrorCode::integrity, "signature file " + r.sig_path +
                                                  " changed since it was registered (sha256 " + sig_sha +
                                                  ", registered " + r.sig_sha256 + ")");
        const std::string json_key = object_key(config.s3_prefix, r.client_id, r.bundle_id, ".json");
        const std::string sig_key = object_key(config.s3_prefix, r.client_id, r.bundle_id, ".sig");
        const auto json = store_object(*store, json_key, r.bundle_path, json_sha, "application/json");
        const auto sig = store_object(*store, sig_key, r.sig_path, sig_sha, "text/plain");
        UploadResult out;
        out.bundle_id = r.bundle_id;
        out.bundle_uri = json.uri;
        out.sig_uri = sig.uri;
        out.bundle_version_id = json.version_id;
        out.sig_version_id = sig.version_id;
        // The duplicate copy: same keys, same lock, verified the same way. A bundle counts
        // as uploaded only when both copies are in place.
        if (options.replica) {
            out.replica_bundle_uri = store_object(*options.replica, json_key, r.bundle_path, json_sha, "application/json").uri;
            out.replica_sig_uri = store_object(*options.replica, sig_key, r.sig_path, sig_sha, "text/plain").uri;
        }
        out.already_present = json.already_present && sig.already_present;
        return out;
    }

    // Bundles uploaded while the replica was behind (down, or configured later): copies them
    // there (HEAD first, so nothing is put twice) and records the replica URIs.
    void catch_up_replica(SyncResult& result) {
        std::string after;
        for (;;) {
            const auto page = registry->list_missing_replica(options.sync_page_size, after);
            if (page.empty()) return;
            after = page.back().bundle_id;
            for (const auto& r : page) {
                try {
                    if (r.bundle_path.empty() || r.sig_path.empty())
                        throw Error(ErrorCode::invalid_argument, "no local .json/.sig path to copy from");
                    const std::string json_sha = to_hex(sha256_file(r.bundle_path));
                    const std::string sig_sha = to_hex(sha256_file(r.sig_path));
                    if (json_sha != r.bundle_sha256 || (!r.sig_sha256.empty() && sig_sha != r.sig_sha256))
                        throw Error(ErrorCode::integrity, "the local files changed since they were uploaded");
                    UploadLocation where{.bundle_uri = r.bundle_uri, .sig_uri = r.sig_uri,
                                         .bundle_version_id = r.bundle_version_id, .sig_version_id = r.sig_version_id,
                                         .replica_bundle_uri = "", .replica_sig_uri = ""};
                    where.replica_bundle_uri =
                        store_object(*options.replica, object_key(config.s3_prefix, r.client_id, r.bundle_id, ".json"),
                                     r.bundle_path, json_sha, "application/json").uri;
                    where.replica_sig_uri =
                        store_object(*options.replica, object_key(config.s3_prefix, r.client_id, r.bundle_id, ".sig"),
                                     r.sig_path, sig_sha, "text/plain").uri;
                    registry->mark_uploaded(r.bundle_id, where);
                    ++result.replicated;
                } catch (const Error& e) {
                    ++result.replica_failed;
                    if (result.errors.size() < 20) result.errors.push_back(r.bundle_id + " (replica): " + e.what());
                    if (is_transient(e)) return;  // the replica is unreachable: next sync
                }
            }
        }
    }

    // Takes or renews the registry lease; throws LeasedElsewhere when another live process has it.
    void take_lease(const std::string& bundle_id) {
        const LeaseClaim claim = registry->acquire_lease(bundle_id, options.lease_duration);
        if (claim.acquired) return;
        throw LeasedElsewhere(ErrorCode::already_exists,
                              "bundle " + bundle_id + " is being uploaded by another process (" + claim.holder +
                                  (claim.until ? ", lease until " + format_rfc3339_millis(*claim.until) : "") + ")");
    }

    // Tries up to config.upload_attempts times under the registry lease; records every
    // attempt and the outcome.
    UploadResult upload(const std::string& bundle_id) {
        const auto rec = registry->get(bundle_id);
        if (!rec) throw Error(ErrorCode::not_found, "bundle " + bundle_id + " is not in the upload registry");
        if (rec->status == UploadStatus::uploaded) {
            UploadResult done;
            done.bundle_id = bundle_id;
            done.bundle_uri = rec->bundle_uri;
            done.sig_uri = rec->sig_uri;
            done.bundle_version_id = rec->bundle_version_id;
            done.sig_version_id = rec->sig_version_id;
            done.already_present = true;
            return done;
        }
        try {
            resolve_store();
        } catch (const StoreNotConfigured& e) {
            registry->mark_failed(bundle_id, e.what());  // that upload's error: last_error, `worm status`
            throw;
        }
        try {
            take_lease(bundle_id);
        } catch (const LeasedElsewhere&) {
            throw;
        } catch (const Error& e) {
            // Another process finished it between our read and our claim.
            const auto now = registry->get(bundle_id);
            if (e.code() != ErrorCode::invalid_argument || !now || now->status != UploadStatus::uploaded) throw;
            return upload(bundle_id);
        }
        // Every way out that did not mark the bundle (an exception from the registry itself)
        // drops the lease, so the next sync need not wait for it to expire.
        struct LeaseGuard {
            UploadRegistry& registry;
            const std::string& id;
            bool settled = false;
            ~LeaseGuard() {
                if (settled) return;
                try {
                    registry.release_lease(id);
                } catch (...) {
                    // The lease expires (or its dead owner is noticed) anyway.
                }
            }
        } guard{*registry, bundle_id};
        for (int attempt = 1;; ++attempt) {
            const TimePoint started = clock->now();
            UploadAttempt a;
            a.bundle_id = bundle_id;
            a.started_at = started;
            if (attempt > 1) take_lease(bundle_id);  // renew: the backoff may have been long
            try {
                UploadResult result = try_once(*rec);
                result.attempts = attempt;
                a.finished_at = clock->now();
                a.outcome = result.already_present ? "already_present" : "uploaded";
                registry->record_attempt(a);
                registry->mark_uploaded(bundle_id, location_of(result));
                guard.settled = true;
                return result;
            } catch (const std::exception& e) {
                const auto* err = dynamic_cast<const Error*>(&e);
                const bool transient = err && is_transient(*err);
                a.finished_at = clock->now();
                a.outcome = err ? std::string(to_string(err->code())) : "internal";
                a.error = e.what();
                registry->record_attempt(a);
                if (!transient || !backoff.allows_another(attempt)) {
                    registry->mark_failed(bundle_id, e.what());
                    guard.settled = true;
                    if (err) throw;
                    throw Error(ErrorCode::internal, "uploading " + bundle_id + ": " + e.what());
                }
                backoff.wait(attempt);
            }
        }
    }
};

WormUploader::WormUploader(WormConfig config, std::shared_ptr<ObjectStore> store,
                           std::shared_ptr<UploadRegistry> registry, UploaderOptions options)
    : impl_(std::make_unique<Impl>()) {
    if (!registry) throw Error(ErrorCode::invalid_argument, "WormUploader needs a registry");
    options.validate();
    // Check everything but how the store is reached (endpoint, bucket): the caller already
    // opened the store, and may have done so from a URL rather than from these settings.
    WormConfig checked = config;
    checked.enabled = false;
    checked.validate();
    impl_->config = std::move(config);
    impl_->store = std::move(store);
    impl_->registry = std::move(registry);
    impl_->options = std::move(options);
    impl_->clock = impl_->options.clock;
    RetryPolicy policy;
    policy.max_attempts = impl_->config.upload_attempts;
    policy.base_delay = impl_->options.backoff_base;
    policy.max_delay = impl_->options.backoff_max;
    impl_->backoff = Backoff(policy, impl_->options.sleep, impl_->options.random);
}

WormUploader::~WormUploader() = default;

const WormConfig& WormUploader::config() const noexcept { return impl_->config; }

std::shared_ptr<ObjectStore> WormUploader::store() { return impl_->resolve_store(); }

void WormUploader::check_object_lock() {
    const auto target = impl_->resolve_store();
    auto* bucket_store = dynamic_cast<s3::S3Store*>(target.get());
    if (!bucket_store) return;
    const std::string& bucket = bucket_store->bucket();
    s3::ObjectLockConfiguration lock;
    try {
        lock = bucket_store->client().get_object_lock_configuration(bucket);
    } catch (const S3Error& e) {
        if (e.http_status() == 404 && e.s3_code() == "NoSuchBucket")
            throw Error(ErrorCode::config, "bucket " + bucket + " does not exist (create it with Object Lock: `worm bucket setup`)");
        throw;
    }
    if (!lock.enabled)
        throw Error(ErrorCode::config, "Bucket does not have Object Lock enabled: " + bucket +
                                           " (it can only be enabled when a bucket is created: create a new one "
                                           "with `worm bucket setup` or the Terraform module)");
}

std::string WormUploader::object_key(std::string_view prefix, std::string_view client_id, std::string_view bundle_id,
                                     std::string_view extension) {
    validate_bundle_id(bundle_id);
    validate_client_id(client_id);
    std::string key;
    if (!prefix.empty()) key = std::string(prefix) + "/";
    key += "evidence/" + std::string(client_id) + "/" + std::string(bundle_id.substr(3, 4)) + "/" +
           std::string(bundle_id.substr(7, 2)) + "/" + std::string(bundle_id) + std::string(extension);
    return key;
}

std::string WormUploader::enqueue(const std::filesystem::path& bundle_path, const std::filesystem::path& sig_path,
                                  const std::string& client_id) {
    validate_client_id(client_id);
    const std::string text = read_file(bundle_path);
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError() || !doc.IsObject())
        throw Error(ErrorCode::parse, "bundle " + bundle_path.string() + " is not a JSON object");
    if (!doc.HasMember("bundle_id") || !doc["bundle_id"].IsString())
        throw Error(ErrorCode::invalid_argument, "bundle " + bundle_path.string() + " has no string /bundle_id");
    const std::string id = doc["bundle_id"].GetString();
    validate_bundle_id(id);
    const std::string stem = bundle_path.stem().string();
    if (is_valid_bundle_id(stem) && stem != id)
        throw Error(ErrorCode::invalid_argument,
                    "bundle " + bundle_path.string() + " holds bundle_id " + id + ", not the " + stem + " its name says");
    if (doc.HasMember("client_id") && doc["client_id"].IsString() && client_id != doc["client_id"].GetString())
        throw Error(ErrorCode::invalid_argument, "bundle " + id + " belongs to client " + doc["client_id"].GetString() +
                                                     ", not " + client_id);
    RegistryRecord r;
    r.bundle_id = id;
    r.client_id = client_id;
    r.bundle_path = std::filesystem::absolute(bundle_path).lexically_normal().string();
    r.sig_path = std::filesystem::absolute(sig_path).lexically_normal().string();
    r.bundle_sha256 = sha256_hex(text);
    r.sig_sha256 = to_hex(sha256_file(sig_path));
    impl_->registry->add_pending(r);
    return id;
}

std::vector<std::filesystem::path> WormUploader::unregistered_bundles(const std::filesystem::path& evidence_dir) {
    std::vector<std::filesystem::path> found;
    for (const auto& entry : std::filesystem::directory_iterator(evidence_dir)) {
        const std::filesystem::path& path = entry.path();
        if (path.extension() != ".json" || !is_valid_bundle_id(path.stem().string()) || !entry.is_regular_file())
            continue;
        if (!std::filesystem::is_regular_file(signature_path_for(path))) continue;  // unsigned: not evidence yet
        if (!impl_->registry->get(path.stem().string())) found.push_back(path);
    }
    std::sort(found.begin(), found.end());
    return found;
}

std::vector<std::string> WormUploader::reconcile(const std::filesystem::path& evidence_dir) {
    std::vector<std::string> queued;
    for (const auto& path : unregistered_bundles(evidence_dir)) {
        const rapidjson::Document doc = json::parse_strict(read_file(path), path.string());
        const auto* client = json::find_member(doc, "client_id");
        if (!client || !client->IsString())
            throw Error(ErrorCode::invalid_argument, "bundle " + path.string() + " has no string /client_id");
        queued.push_back(enqueue(path, signature_path_for(path), client->GetString()));
    }
    return queued;
}

UploadResult WormUploader::upload_registered(const std::string& bundle_id) {
    if (!impl_->claim(bundle_id))
        throw Error(ErrorCode::already_exists, "bundle " + bundle_id + " is being uploaded by another thread");
    struct Release {
        Impl& impl;
        const std::string& id;
        ~Release() { impl.release(id); }
    } release{*impl_, bundle_id};
    return impl_->upload(bundle_id);
}

UploadResult WormUploader::upload_bundle(const std::filesystem::path& bundle_path,
                                         const std::filesystem::path& sig_path, const std::string& client_id) {
    return upload_registered(enqueue(bundle_path, sig_path, client_id));
}

SyncResult WormUploader::sync() {
    Impl& impl = *impl_;
    SyncResult result;
    std::mutex result_mutex;
    std::atomic<std::size_t> transient_streak{0};
    std::atomic<bool> stop{false};
    std::size_t done = 0;
    const std::size_t total = static_cast<std::size_t>(impl.registry->counts().backlog());

    // failed first, then interrupted, then pending: a bundle that fails during this sync
    // becomes `failed` after that scan has passed, so each bundle is tried once per sync.
    for (const UploadStatus status : {UploadStatus::failed, UploadStatus::uploading, UploadStatus::pending}) {
        std::string after;
        while (!stop) {
            const auto page = impl.registry->list_by_status(status, impl.options.sync_page_size, after);
            if (page.empty()) break;
            after = page.back().bundle_id;
            boost::asio::thread_pool pool(static_cast<std::size_t>(impl.config.sync_concurrency));
            for (const auto& rec : page) {
                boost::asio::post(pool, [&, id = rec.bundle_id] {
                    if (stop || !impl.claim(id)) return;  // stopped, or another thread has it
                    bool ok = false;
                    std::string error;
                    try {
                        impl.upload(id);
                        ok = true;
                        transient_streak = 0;
                    } catch (const LeasedElsewhere&) {
                        // Another process is on it: still pending for us, not a failure.
                        impl.release(id);
                        return;
                    } catch (const StoreNotConfigured& e) {
                        error = e.what();
                        stop = true;  // every other bundle would fail the same way
                    } catch (const Error& e) {
                        error = e.what();
                        if (is_transient(e)) {
                            const std::size_t limit = impl.options.sync_stop_after_failures;
                            if (limit > 0 && ++transient_streak >= limit) stop = true;
                        } else {
                            transient_streak = 0;
                        }
                    } catch (const std::exception& e) {
                        error = e.what();
                    }
                    impl.release(id);
                    std::lock_guard lock(result_mutex);
                    ++done;
                    if (ok) {
                        ++result.uploaded;
                    } else {
                        ++result.failed;
                        if (result.errors.size() < 20) result.errors.push_back(id + ": " + error);
                    }
                    if (impl.options.on_progress) {
                        SyncProgress p;
                        p.done = done;
                        p.total = std::max(total, done);
                        p.uploaded = result.uploaded;
                        p.failed = result.failed;
                        p.bundle_id = id;
                        p.ok = ok;
                        impl.options.on_progress(p);
                    }
                });
            }
            pool.join();
        }
    }
    if (impl.options.replica && !stop) impl.catch_up_replica(result);
    const auto backlog = static_cast<std::size_t>(impl.registry->counts().backlog());
    result.pending = backlog > result.failed ? backlog - result.failed : 0;
    return result;
}

UploaderStats WormUploader::stats() {
    const RegistryStats rs = impl_->registry->stats();
    UploaderStats s;
    s.enabled = impl_->config.enabled;
    s.mode = impl_->config.mode;
    s.total_uploaded = rs.counts.uploaded;
    s.pending_count = rs.counts.pending + rs.counts.uploading;
    s.failed_count = rs.counts.failed;
    s.last_error = rs.last_error;
    s.last_error_at = rs.last_error_at;
    if (!rs.last_error.empty())
        s.last_error_current = rs.last_error_at ? rs.oldest_backlog_created_at &&
                                                      *rs.oldest_backlog_created_at <= *rs.last_error_at
                                                : rs.counts.backlog() > 0;
    s.consecutive_failures = rs.consecutive_failures;
    if (const auto tried = rs.counts.uploaded + rs.counts.failed; tried > 0)
        s.upload_success_rate = 100.0 * static_cast<double>(rs.counts.uploaded) / static_cast<double>(tried);
    s.pending_queue_depth = rs.counts.backlog();
    const auto seconds = [](std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1000.0; };
    if (rs.mean_upload_latency) s.upload_latency = seconds(*rs.mean_upload_latency);
    if (rs.max_upload_latency) s.upload_latency_max = seconds(*rs.max_upload_latency);
    s.retry_count = rs.retried_bundles;
    if (rs.oldest_backlog_created_at)
        s.oldest_pending_age_s = std::max(
            0.0, std::chrono::duration<double>(impl_->clock->now() - *rs.oldest_backlog_created_at).count());
    const auto& o = impl_->options;
    s.health.backlog_high = rs.counts.backlog() > o.backlog_alert_above;
    s.health.repeated_failures = rs.consecutive_failures > o.failures_alert_above;
    if (impl_->options.replica) {
        s.replica_configured = true;
        s.replica_behind = impl_->registry->count_missing_replica();
    }
    s.health.stale_pending =
        s.oldest_pending_age_s && *s.oldest_pending_age_s > static_cast<double>(o.stale_after.count());
    return s;
}

std::string UploaderStats::to_json() const {
    json::Writer w;
    w.begin_object().member("enabled", enabled).member("mode", to_string(mode));
    w.member("total_uploaded", total_uploaded).member("pending_count", pending_count).member("failed_count", failed_count);
    w.member("last_error", last_error);
    w.key("last_error_at");
    if (last_error_at) w.value(format_rfc3339_millis(*last_error_at));
    else w.null();
    w.member("last_error_current", last_error_current).member("oldest_pending_age_s", oldest_pending_age_s);
    w.member("consecutive_failures", consecutive_failures).member("upload_success_rate", upload_success_rate);
    w.member("pending_queue_depth", pending_queue_depth).member("upload_latency", upload_latency);
    w.member("upload_latency_max", upload_latency_max).member("retry_count", retry_count);
    w.key("replica_behind");
    if (replica_configured) w.value(replica_behind);
    else w.null();
    w.key("health").begin_object();
    w.member("ok", health.ok()).member("backlog_high", health.backlog_high);
    w.member("repeated_failures", health.repeated_failures).member("stale_pending", health.stale_pending);
    w.end_object();
    w.end_object();
    return w.take();
}

}  // namespace worm
