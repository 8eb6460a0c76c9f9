#include "net/io_runners.hpp"

#include <exception>
#include <thread>
#include <vector>

namespace wsgibridge::net {
namespace {

/// Ticks without any request in progress before the watchdog stops ticking and waits
/// for the next request to start (an idle server wakes nobody).
constexpr unsigned quiet_ticks = 50;

/// Set by leave() on a thread that should park once the handler it is in returns.
thread_local bool park_after_handler = false;

} // namespace

IoRunners::IoRunners(boost::asio::io_context& io, unsigned max_threads,
                     std::function<void(std::string_view)> on_error, std::chrono::milliseconds tick)
    : io_(io), max_(max_threads < 1 ? 1 : max_threads), on_error_(std::move(on_error)), tick_(tick)
{
}

void IoRunners::enter() noexcept
{
    busy_.fetch_add(1);
    // Both sides use sequentially consistent accesses: either the watchdog sees busy_ > 0
    // before it sleeps, or this thread sees it asleep and wakes it.
    if (watch_asleep_.load()) {
        std::lock_guard lock(mutex_);
        watcher_.notify_one();
    }
}

void IoRunners::leave() noexcept
{
    busy_.fetch_sub(1);
    finished_.fetch_add(1, std::memory_order_relaxed);
    if (active_.load(std::memory_order_relaxed) <= 1) return; // the usual case: no lock
    std::lock_guard lock(mutex_);
    const unsigned a = active_.load(), b = busy_.load();
    // Another running thread is free to take the next connection: this one is not needed.
    if (a > b + 1) {
        active_.store(a - 1);
        park_after_handler = true;
    }
}

void IoRunners::serve(bool first)
{
    bool running = first;
    for (;;) {
        if (!running) {
            std::unique_lock lock(mutex_);
            parked_.wait(lock, [this] { return done_ || wakeups_ > 0; });
            if (done_) return;
            --wakeups_; // active_ was counted up by the watchdog
            running = true;
            lock.unlock();
            if (on_wake_) on_wake_();
        }
        try {
            while (!park_after_handler)
                if (io_.run_one() == 0) break;
        } catch (const std::exception& e) {
            // One connection's failure (out of memory building a head) must not take the
            // server down; its session is gone with the stack that threw.
            on_error_(e.what());
            continue;
        }
        if (park_after_handler) {
            park_after_handler = false;
            running = false;
            continue;
        }
        // run_one() returned 0: the io_context ran out of work (the server stopped).
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        parked_.notify_all();
        watcher_.notify_all();
        return;
    }
}

void IoRunners::watch()
{
    std::unique_lock lock(mutex_);
    std::uint64_t seen = finished_.load();
    bool all_busy_before = false;
    unsigned quiet = 0;
    while (!done_) {
        if (quiet >= quiet_ticks) {
            watch_asleep_.store(true);
            watcher_.wait(lock, [this] { return done_ || busy_.load() > 0; });
            watch_asleep_.store(false);
            quiet = 0;
            all_busy_before = false;
            seen = finished_.load();
            continue;
        }
        watcher_.wait_for(lock, tick_);
        const unsigned a = active_.load(), b = busy_.load();
        const std::uint64_t f = finished_.load();
        const bool all_busy = b > 0 && b >= a;
        // Every running thread has been inside a request for a whole tick and none ended:
        // they block, and whatever else is ready waits. One more thread runs the io_context.
        if (all_busy && all_busy_before && f == seen && a < max_) {
            active_.store(a + 1);
            ++wakeups_;
            parked_.notify_one();
            all_busy_before = false;
        } else {
            all_busy_before = all_busy;
        }
        seen = f;
        quiet = b == 0 ? quiet + 1 : 0;
    }
}

void IoRunners::run()
{
    std::vector<std::jthread> others;
    if (max_ > 1) {
        others.reserve(max_);
        for (unsigned i = 1; i < max_; ++i)
            others.emplace_back([this] { serve(false); });
        others.emplace_back([this] { watch(); });
    }
    serve(true);
    others.clear(); // joins
}

} // namespace wsgibridge::net
