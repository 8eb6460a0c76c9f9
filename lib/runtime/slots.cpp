#include "runtime/slots.hpp"

#include "wsgibridge/workers.hpp"

#include <cerrno>
#include <chrono>
#include <new>
#include <sys/mman.h>
#include <system_error>

namespace wsgibridge {
namespace runtime {
namespace {
Slot* current_slot = nullptr;
}

Slots::Slots(std::size_t count) : count_(count)
{
    void* p = ::mmap(nullptr, sizeof(Slot) * count, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        throw std::system_error(errno, std::generic_category(), "mmap of the worker slots");
    slots_ = static_cast<Slot*>(p);
    for (std::size_t i = 0; i < count; ++i)
        new (&slots_[i]) Slot();
}

Slots::~Slots()
{
    ::munmap(slots_, sizeof(Slot) * count_);
}

Slot* Slots::acquire() noexcept
{
    for (std::size_t i = 0; i < count_; ++i) {
        Slot& s = slots_[i];
        if (s.pid.load() != 0) continue;
        s.pid.store(-1); // taken; the real pid is stored after fork()
        s.ready.store(0);
        s.stopping.store(0);
        s.requests.store(0);
        s.in_flight.store(0);
        s.rss_bytes.store(0);
        for (auto& c : s.by_class)
            c.store(0);
        for (auto& b : s.duration_buckets)
            b.store(0);
        s.duration_sum_us.store(0);
        s.load_error[0] = '\0';
        s.started_ms.store(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
        return &s;
    }
    return nullptr;
}

void Slots::release(Slot* slot) noexcept
{
    slot->pid.store(0);
}

void Slots::adopt(Slot* slot) noexcept
{
    current_slot = slot;
}

Slot* Slots::current() noexcept
{
    return current_slot;
}

} // namespace runtime

void worker_ready() noexcept
{
    if (auto* s = runtime::Slots::current()) s->ready.store(1, std::memory_order_release);
}

} // namespace wsgibridge
