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
    std::atomic<std::uint64_t> requests{0};  ///< requests answered
    std::atomic<std::int64_t> started_ms{0}; ///< CLOCK_REALTIME at fork, milliseconds
    /// Why the application could not be imported (NUL-terminated), for the master.
    char load_error[512]{};
};

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

private:
    Slot* slots_;
    std::size_t count_;
};

} // namespace wsgibridge::runtime
