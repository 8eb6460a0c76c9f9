// Runs one io_context on as few threads as the load needs, up to a maximum.
//
// Why: a server whose handlers run requests synchronously (the WSGI application expects
// a blocking call) needs several threads so one slow request does not hold up the
// others. Running the io_context on all of them at once makes every connection pay for
// it: each completion may wake another thread (a futex wake and a context switch), and
// the scheduler's lock is contended. With a request that takes microseconds, one thread
// doing everything (accept, read the head, run the request inline) is a quarter faster.
//
// So one thread runs the io_context; the others are parked. A request is bracketed by
// Request (a guard): while one thread is inside a request it is "busy". A watchdog
// checks every `tick` whether every running thread has been busy since its last check
// without any request ending (a request blocks: time.sleep, a slow database, a slow
// client); then it unparks one more thread, which runs the io_context alongside (up to
// `max_threads`). A thread leaving a request while another running thread is free parks
// again. So requests that do not block cost no cross-thread hand-off at all, and a
// blocking one delays the others by one or two ticks, never by its whole duration, until
// `max_threads` requests block at once, as before.
//
// Handlers of one connection must still be serialized with a strand when max_threads > 1:
// several threads may run the io_context for a while. Internal.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>

namespace wsgibridge::net {

class IoRunners
{
public:
    static constexpr std::chrono::milliseconds default_tick{2};

    /// `on_error` gets the text of an exception a handler let escape (the thread goes on).
    IoRunners(boost::asio::io_context& io, unsigned max_threads,
              std::function<void(std::string_view)> on_error,
              std::chrono::milliseconds tick = default_tick);
    IoRunners(const IoRunners&) = delete;
    IoRunners& operator=(const IoRunners&) = delete;

    /// Runs the io_context on the calling thread plus up to max_threads - 1 others, until
    /// it runs out of work. Call once.
    void run();

    /// Called on a parked thread each time the watchdog wakes it, before it runs the
    /// io_context: the owner may hand it work a busy thread held back (the HTTP server's
    /// accept loop, lent to a request running inline). Set before run().
    void on_wake(std::function<void()> hook) { on_wake_ = std::move(hook); }

    unsigned max_threads() const noexcept { return max_; }
    /// Threads running the io_context right now (for tests and logs).
    unsigned running() const noexcept { return active_.load(); }

    /// Marks the calling io thread busy (in a request) for its lifetime.
    class Request
    {
    public:
        explicit Request(IoRunners* runners) noexcept : r_(runners)
        {
            if (r_) r_->enter();
        }
        ~Request()
        {
            if (r_) r_->leave();
        }
        Request(const Request&) = delete;
        Request& operator=(const Request&) = delete;

    private:
        IoRunners* r_;
    };

private:
    void enter() noexcept;
    void leave() noexcept;
    void serve(bool first);
    void watch();

    boost::asio::io_context& io_;
    const unsigned max_;
    std::function<void(std::string_view)> on_error_;
    std::function<void()> on_wake_;
    const std::chrono::milliseconds tick_;

    std::atomic<unsigned> active_{1}; ///< threads running the io_context
    std::atomic<unsigned> busy_{0};   ///< of them, inside a request
    std::atomic<std::uint64_t> finished_{0};
    std::atomic<bool> watch_asleep_{false}; ///< the watchdog waits for a request to start

    std::mutex mutex_;
    std::condition_variable parked_;  ///< parked threads wait here
    std::condition_variable watcher_; ///< the watchdog waits here
    unsigned wakeups_ = 0;            ///< parked threads asked to run
    bool done_ = false;               ///< the io_context ran out of work
};

} // namespace wsgibridge::net
