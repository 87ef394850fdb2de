// fault_store.hpp: an ObjectStore decorator that injects faults in front of a real store
// (LocalWormStore, S3Store), and counts what reached it. For fault injection only: the
// bytes and locks still live in the real store underneath.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "worm/error.hpp"
#include "worm/storage.hpp"

namespace worm::test {

class FaultStore final : public ObjectStore {
public:
    // clock: the one the inner store judges retention by (ObjectStore checks dates with it).
    explicit FaultStore(std::shared_ptr<ObjectStore> inner, const Clock& clock = system_clock())
        : ObjectStore(clock), inner_(std::move(inner)) {}

    // Every call fails with Error(network) while down (the server is unreachable).
    std::atomic<bool> down{false};
    // The next N puts fail with Error(network) before reaching the store.
    std::atomic<int> fail_puts{0};
    // The next N puts reach the store, then the response is "lost" (Error(network)).
    std::atomic<int> lose_put_responses{0};
    // The next N puts fail with a non-transient error.
    std::atomic<int> refuse_puts{0};
    // head() reports a wrong sha256 (as if the stored bytes differed).
    std::atomic<bool> corrupt_head_sha{false};
    // head() reports retain-until one day earlier than stored.
    std::atomic<bool> weaken_head_retention{false};
    // head() reports GOVERNANCE instead of the stored mode.
    std::atomic<bool> wrong_head_mode{false};
    // Stores that echo no checksum: put/head return no sha256 and no sha256 metadata.
    std::atomic<bool> hide_sha{false};
    // get() returns flipped bytes.
    std::atomic<bool> corrupt_get{false};

    // Puts hang (as on a server that accepts the connection and never answers) until
    // release_puts(); then they fail with Error(timeout).
    void hold_puts() {
        std::lock_guard lock(mutex_);
        holding_ = true;
    }
    void release_puts() {
        {
            std::lock_guard lock(mutex_);
            holding_ = false;
        }
        released_.notify_all();
    }
    int held_puts() const { return held_; }

    // Puts that reached the inner store, per key.
    std::map<std::string, int> puts_per_key() const {
        std::lock_guard lock(mutex_);
        return puts_;
    }
    int put_calls() const { return put_calls_; }
    int head_calls() const { return head_calls_; }
    int get_calls() const { return get_calls_; }

    std::string uri(const std::string& key) const override { return inner_->uri(key); }

private:
    // The hooks run after ObjectStore checked the key and options; the inner store checks again.
    PutResult do_put(const std::string& key, const PutBody& body, const PutOptions& options) override {
        ++put_calls_;
        check_up("PUT", key);
        {
            std::unique_lock lock(mutex_);
            if (holding_) {
                ++held_;
                released_.wait(lock, [&] { return !holding_; });
                throw Error(ErrorCode::timeout, "injected: PUT " + key + " timed out");
            }
        }
        if (take(fail_puts)) throw Error(ErrorCode::network, "injected: connection reset during PUT " + key);
        if (take(refuse_puts)) throw Error(ErrorCode::object_locked, "injected: PUT " + key + " refused");
        PutResult r = inner_->put(key, body, options);
        {
            std::lock_guard lock(mutex_);
            ++puts_[key];
        }
        if (take(lose_put_responses)) throw Error(ErrorCode::timeout, "injected: response to PUT " + key + " lost");
        if (hide_sha) r.sha256_hex.clear();
        return r;
    }
    std::string do_get(const std::string& key, const GetOptions& options) override {
        ++get_calls_;
        check_up("GET", key);
        std::string s = inner_->get(key, options);
        if (corrupt_get && !s.empty()) s[0] = static_cast<char>(s[0] ^ 1);
        return s;
    }
    ObjectInfo do_get_to_file(const std::string& key, const std::filesystem::path& destination,
                              const GetOptions& options) override {
        check_up("GET", key);
        return inner_->get_to_file(key, destination, options);
    }
    ObjectInfo do_head(const std::string& key, const std::optional<std::string>& version_id) override {
        ++head_calls_;
        check_up("HEAD", key);
        ObjectInfo info = inner_->head(key, version_id);
        if (corrupt_head_sha) {
            info.sha256_hex = std::string(64, 'f');
            info.metadata["sha256"] = std::string(64, 'f');
        }
        if (hide_sha) {
            info.sha256_hex.clear();
            info.metadata.erase("sha256");
        }
        if (weaken_head_retention && info.retention) info.retention->retain_until = RetentionDate(info.retention->retain_until.millis() - std::chrono::hours(24));
        if (wrong_head_mode && info.retention) info.retention->mode = LockMode::governance;
        return info;
    }
    ListPage do_list(const ListOptions& options) override {
        check_up("LIST", options.prefix);
        return inner_->list(options);
    }
    void do_remove(const std::string& key, const DeleteOptions& options) override {
        check_up("DELETE", key);
        inner_->remove(key, options);
    }
    std::optional<Retention> do_get_retention(const std::string& key,
                                              const std::optional<std::string>& version_id) override {
        check_up("GET retention", key);
        return inner_->get_retention(key, version_id);
    }
    void do_put_retention(const std::string& key, const Retention& retention,
                          const RetentionOptions& options) override {
        check_up("PUT retention", key);
        inner_->put_retention(key, retention, options);
    }
    bool do_get_legal_hold(const std::string& key, const std::optional<std::string>& version_id) override {
        check_up("GET legal hold", key);
        return inner_->get_legal_hold(key, version_id);
    }
    void do_put_legal_hold(const std::string& key, bool on, const std::optional<std::string>& version_id) override {
        check_up("PUT legal hold", key);
        inner_->put_legal_hold(key, on, version_id);
    }

    static bool take(std::atomic<int>& n) {
        int v = n.load();
        while (v > 0)
            if (n.compare_exchange_weak(v, v - 1)) return true;
        return false;
    }
    void check_up(const char* op, const std::string& key) const {
        if (down) throw Error(ErrorCode::network, std::string("injected: connection refused (") + op + " " + key + ")");
    }

    std::shared_ptr<ObjectStore> inner_;
    mutable std::mutex mutex_;
    std::map<std::string, int> puts_;
    std::atomic<int> put_calls_{0}, head_calls_{0}, get_calls_{0}, held_{0};
    std::condition_variable released_;
    bool holding_ = false;
};

}  // namespace worm::test
