// The journal's group commit: a thread that fsyncs the journal every fsync_interval (and
// when log() finds a drain due). It waits on its own mutex: waking every interval, it would
// otherwise take the sink's mutex from log() callers, who then pay a futex wake to hand it back.
#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "../util/guarded.hpp"
#include "journal.hpp"

namespace worm::audit_log::detail {

class JournalSyncer {
public:
    // on_error: a failed fsync (the records stay in the page cache; the next one retries).
    JournalSyncer(Journal& journal, std::chrono::milliseconds interval, std::function<void(const std::exception&)> on_error);
    JournalSyncer(const JournalSyncer&) = delete;
    JournalSyncer& operator=(const JournalSyncer&) = delete;

    // owner: kept alive by the thread.
    void start(const std::shared_ptr<const void>& owner);
    void wake() { cv_.notify_one(); }
    // One fsync now, on the caller's thread.
    void sync_now();
    // Stops and joins the thread (a second call finds it stopped).
    void stop();

private:
    void run();

    Journal& journal_;
    std::chrono::milliseconds interval_;
    std::function<void(const std::exception&)> on_error_;
    std::mutex mutex_;
    std::condition_variable cv_;
    struct State {
        bool stopping = false;
        std::thread thread;  // until stop() takes it
    };
    worm::detail::Guarded<State> state_{mutex_};
};

}  // namespace worm::audit_log::detail
