// Fields that carry their guard in their type (util/guarded.hpp): each kept rule gives access,
// each broken one (no lock, another mutex's lock, a lock let go, another thread) aborts with
// a message naming the rule. A broken rule is tried in a forked child, whose end is checked.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "util/guarded.hpp"

using worm::detail::Guarded;
using worm::detail::OwnerWritten;
using worm::detail::ThreadOwned;
using Lock = std::unique_lock<std::mutex>;

namespace {

struct Counters {
    int a = 0;
    std::string note;
};

// Runs `body` in a child process; true when it ended by SIGABRT (stderr is silenced).
bool aborts(const std::function<void()>& body) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (freopen("/dev/null", "w", stderr) == nullptr) _exit(3);
        body();
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

}  // namespace

TEST_CASE("Guarded: the held lock of its own mutex gives access, checked on every access") {
    std::mutex mutex, other;
    Guarded<Counters> counters{mutex};
    {
        Lock lock(mutex);
        const auto c = counters(lock);
        c->a = 2;
        c->note = "kept";
        CHECK((*c).a == 2);
    }
    {
        const Guarded<Counters>& view = counters;
        Lock lock(mutex);
        CHECK(view(lock)->note == "kept");
    }
    CHECK(aborts([&] {
        Lock unlocked(mutex, std::defer_lock);
        counters(unlocked)->a = 1;
    }));
    CHECK(aborts([&] {
        Lock wrong(other);
        counters(wrong)->a = 1;
    }));
    CHECK(aborts([&] {  // a use after the lock was let go
        Lock lock(mutex);
        const auto c = counters(lock);
        c->a = 3;
        lock.unlock();
        c->a = 4;
    }));
    CHECK_FALSE(aborts([&] {  // relocked: the same access is good again
        Lock lock(mutex);
        const auto c = counters(lock);
        lock.unlock();
        lock.lock();
        c->a = 5;
    }));
}

TEST_CASE("ThreadOwned: the constructing thread until another takes it over") {
    ThreadOwned<Counters> own;
    own.get().a = 1;
    CHECK(aborts([&] { std::thread([&] { own.get().a = 2; }).join(); }));
    std::thread([&] {
        own.take_ownership();
        own.get().a = 3;
    }).join();
    CHECK(aborts([&] { own.get().a = 4; }));  // this thread handed it over
}

TEST_CASE("OwnerWritten: the owner writes under the mutex and reads without it; others read under it") {
    std::mutex mutex;
    OwnerWritten<Counters> state{mutex};
    std::thread owner([&] {
        state.take_ownership();
        {
            Lock lock(mutex);
            state.write(lock)->a = 7;
        }
        CHECK(state.owner_view().a == 7);
    });
    owner.join();
    {
        Lock lock(mutex);
        CHECK(state.read(lock)->a == 7);  // another thread, with the mutex
    }
    CHECK(aborts([&] { (void)state.owner_view().a; }));  // another thread, without the mutex
    CHECK(aborts([&] {
        Lock lock(mutex);
        state.write(lock)->a = 8;  // another thread writing, even with the mutex
    }));
    CHECK(aborts([&] {
        std::thread([&] {
            state.take_ownership();
            Lock unlocked(mutex, std::defer_lock);
            state.write(unlocked)->a = 9;  // the owner writing without the mutex
        }).join();
    }));
}
