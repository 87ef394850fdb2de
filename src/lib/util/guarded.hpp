// guarded.hpp (private): fields that carry their guard in their type.
//
// A field shared between threads is only as safe as the rule that says who may touch it and
// when. Written as a comment, the rule is checked by nobody; here each kind of rule is a type
// whose accessors take the proof (the held lock) or check the calling thread:
//
//   Guarded<T>       read and written with one mutex held:      g(lock)->field
//   ThreadOwned<T>   one thread's own, never shared:           o.get().field
//   OwnerWritten<T>  one thread writes it with the mutex held; that thread also reads it
//                    without the mutex, every other thread reads it with the mutex:
//                    w.write(lock).field, w.owner_view().field, w.read(lock).field
//
// The owner of ThreadOwned and OwnerWritten is the thread that constructs the object until
// another one calls take_ownership() (a worker thread taking over what its constructor set
// up). A broken rule is a data race about to happen: it is reported on stderr and aborts, in
// every build, since the checks cost a comparison or two.
#pragma once

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace worm::detail {

[[noreturn]] inline void guard_violation(const char* what) {
    std::fprintf(stderr, "libworm: internal error: %s\n", what);
    std::abort();
}

// What a held lock gives: access to a guarded value, with the lock checked on every access,
// so that a use after lock.unlock() is caught too. Lives no longer than the lock it names.
template <class V, class Mutex>
class LockedAccess {
public:
    using Lock = std::unique_lock<Mutex>;
    LockedAccess(V& value, const Lock& lock, const Mutex* mutex) : value_(value), lock_(lock), mutex_(mutex) {}
    V* operator->() const { return &get(); }
    V& operator*() const { return get(); }

private:
    V& get() const {
        if (!lock_.owns_lock() || lock_.mutex() != mutex_) guard_violation("a guarded field was touched without its mutex");
        return value_;
    }
    V& value_;
    const Lock& lock_;
    const Mutex* mutex_;
};

// Holding `lock` proves the right to touch a Guarded<T> of the same mutex.
template <class T, class Mutex = std::mutex>
class Guarded {
public:
    using Lock = std::unique_lock<Mutex>;

    explicit Guarded(const Mutex& mutex) : mutex_(&mutex) {}
    Guarded(const Guarded&) = delete;
    Guarded& operator=(const Guarded&) = delete;

    LockedAccess<T, Mutex> operator()(const Lock& lock) { return {value_, lock, mutex_}; }
    LockedAccess<const T, Mutex> operator()(const Lock& lock) const { return {value_, lock, mutex_}; }

private:
    const Mutex* mutex_;
    T value_{};
};

// The thread that may touch an object owned by one thread at a time.
class Owner {
public:
    Owner() : id_(std::this_thread::get_id()) {}
    void take() { id_.store(std::this_thread::get_id(), std::memory_order_relaxed); }
    void check(const char* what) const {
        if (id_.load(std::memory_order_relaxed) != std::this_thread::get_id()) guard_violation(what);
    }

private:
    std::atomic<std::thread::id> id_;
};

template <class T>
class ThreadOwned {
public:
    T& get() {
        owner_.check("a thread's own field was touched by another thread");
        return value_;
    }
    void take_ownership() { owner_.take(); }

private:
    Owner owner_;
    T value_{};
};

template <class T, class Mutex = std::mutex>
class OwnerWritten {
public:
    using Lock = std::unique_lock<Mutex>;

    explicit OwnerWritten(const Mutex& mutex) : mutex_(&mutex) {}
    OwnerWritten(const OwnerWritten&) = delete;
    OwnerWritten& operator=(const OwnerWritten&) = delete;

    // The owner writes with the mutex held (the others may be reading it under the mutex).
    LockedAccess<T, Mutex> write(const Lock& lock) {
        owner_.check("a field was written by a thread that does not own it");
        return {value_, lock, mutex_};
    }
    // The owner reads without the mutex: nobody else writes.
    const T& owner_view() const {
        owner_.check("a field was read without its mutex by a thread that does not own it");
        return value_;
    }
    // Any thread reads with the mutex held.
    LockedAccess<const T, Mutex> read(const Lock& lock) const { return {value_, lock, mutex_}; }
    void take_ownership() { owner_.take(); }

private:
    const Mutex* mutex_;
    Owner owner_;
    T value_{};
};

}  // namespace worm::detail
