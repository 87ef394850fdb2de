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
    const std::unique_lock lock(mutex_);
    state_(lock)->thread = background_thread("worm-log-sync", [this, owner] { run(); });
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
    const auto state = state_(lock);
    while (!state->stopping) {
        cv_.wait_for(lock, interval_, [&] { return state->stopping; });
        lock.unlock();
        sync_now();
        lock.lock();
    }
}

void JournalSyncer::stop() {
    std::thread thread;
    {
        const std::unique_lock lock(mutex_);
        const auto state = state_(lock);
        state->stopping = true;
        thread = std::move(state->thread);
    }
    cv_.notify_all();
    if (thread.joinable()) thread.join();
}

}  // namespace worm::audit_log::detail
