// The journal's group commit thread (journal_syncer.hpp).
#include "journal_syncer.hpp"

#include "background_thread.hpp"

namespace worm::audit_log::detail {

JournalSyncer::JournalSyncer(Journal& journal, std::chrono::milliseconds interval,
                             std::function<void(const std::exception&)> on_error)
    : journal_(journal),
      interval_(interval.count() > 0 ? interval : std::chrono::milliseconds(10)),
      on_error_(std::move(on_error)) {}

void JournalSyncer::start(const std::shared_ptr<const void>& owner) {
    thread_ = background_thread("worm-log-sync", [this, owner] { run(); });
}

void JournalSyncer::sync_now() {
    try {
        journal_.sync();
    } catch (const std::exception& e) {
        on_error_(e);
    }
}

void JournalSyncer::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        cv_.wait_for(lock, interval_, [&] { return stopping_; });
        lock.unlock();
        sync_now();
        lock.lock();
    }
}

void JournalSyncer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

}  // namespace worm::audit_log::detail
