// An allocator that keeps the last block it freed for the next allocation of the same
// type: behind nginx without fastcgi_keep_conn (or Apache mod_fcgid) every request comes
// on a connection of its own, so the Connection (with its shared_ptr control block,
// through std::allocate_shared) was a malloc and a free per request. One block per type,
// handed over with atomics: the last reference to a connection may be dropped on a
// worker thread while the io thread accepts the next one.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

namespace wsgibridge::fastcgi {

template <class T>
class RecyclingAllocator
{
public:
    using value_type = T;

    RecyclingAllocator() noexcept = default;
    template <class U>
    RecyclingAllocator(const RecyclingAllocator<U>&) noexcept
    {
    }

    T* allocate(std::size_t n)
    {
        if (n == 1)
            if (void* p = spare().exchange(nullptr, std::memory_order_acquire))
                return static_cast<T*>(p);
        return std::allocator<T>{}.allocate(n);
    }

    void deallocate(T* p, std::size_t n) noexcept
    {
        void* none = nullptr;
        if (n == 1 && spare().compare_exchange_strong(none, p, std::memory_order_release,
                                                      std::memory_order_relaxed))
            return;
        std::allocator<T>{}.deallocate(p, n);
    }

    template <class U>
    bool operator==(const RecyclingAllocator<U>&) const noexcept
    {
        return true;
    }

private:
    /// The spare block of this type (reachable until exit, so no leak is reported).
    static std::atomic<void*>& spare() noexcept
    {
        static std::atomic<void*> block{nullptr};
        return block;
    }
};

} // namespace wsgibridge::fastcgi
