// One slot per worker in memory shared by the master and every worker (mmap'ed
// MAP_SHARED before the first fork): a worker writes its own slot with relaxed atomic
// stores, the master reads them. Nothing is locked on the request path.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace wsgibridge::runtime {

struct Slot
{
    std::atomic<pid_t> pid{0};               ///< 0: free
    std::atomic<int> ready{0};               ///< the worker called worker_ready()
    std::atomic<int> stopping{0};            ///< the master asked it to stop (--health answers 503)
    std::atomic<std::uint64_t> requests{0};  ///< requests answered
    std::atomic<std::uint64_t> in_flight{0}; ///< requests being served now
    std::atomic<std::uint64_t> rss_bytes{0}; ///< resident set after the last request
    std::atomic<std::uint64_t> by_class[6]{}; ///< [0] other, [1..5] 1xx..5xx
    /// Request durations: counts per upper bound of duration_bounds (the last: +Inf)
    /// and their sum in microseconds (Prometheus histogram).
    std::atomic<std::uint64_t> duration_buckets[12]{};
    std::atomic<std::uint64_t> duration_sum_us{0};
    std::atomic<std::int64_t> started_ms{0}; ///< CLOCK_REALTIME at fork, milliseconds
    /// Why the application could not be imported (NUL-terminated), for the master.
    char load_error[512]{};
};

/// Upper bounds in seconds of Slot::duration_buckets; the 12th bucket is +Inf.
inline constexpr double duration_bounds[11] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                               0.5,   1,    2.5,   5,    10};

class Slots
{
public:
    explicit Slots(std::size_t count); ///< throws std::system_error when mmap fails
    ~Slots();
    Slots(const Slots&) = delete;
    Slots& operator=(const Slots&) = delete;

    /// A free slot, reset, or nullptr when all are taken.
    Slot* acquire() noexcept;
    void release(Slot* slot) noexcept;

    /// In a freshly forked worker: the slot worker_ready() and the counters write to.
    static void adopt(Slot* slot) noexcept;
    /// This worker's slot, nullptr outside a supervised worker.
    static Slot* current() noexcept;

    std::size_t size() const noexcept { return count_; }
    Slot& operator[](std::size_t i) noexcept { return slots_[i]; }

private:
    Slot* slots_;
    std::size_t count_;
};

} // namespace wsgibridge::runtime
