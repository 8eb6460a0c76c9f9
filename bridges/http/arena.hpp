// A per-connection bump allocator for Beast's header fields. basic_fields allocates one
// node per field; with std::allocator that is ~10 mallocs per request. The arena hands
// out memory from one block owned by the connection and starts over once every node of
// the previous request was freed (the parser dies after each request), as Beast's
// fast/http_server_fast.cpp fields_alloc does. Heads larger than the block fall back to
// the heap. Internal.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <new>

namespace wsgibridge::http {

class Arena
{
public:
    explicit Arena(std::size_t size) : block_(new std::byte[size]), size_(size) {}

    void* allocate(std::size_t bytes, std::size_t align)
    {
        std::size_t start = (used_ + align - 1) & ~(align - 1);
        if (start + bytes > size_) return ::operator new(bytes);
        used_ = start + bytes;
        ++live_;
        return block_.get() + start;
    }

    void deallocate(void* p) noexcept
    {
        // std::less gives a total order even for pointers into different objects.
        auto* b = static_cast<std::byte*>(p);
        std::less<const std::byte*> before;
        if (before(b, block_.get()) || !before(b, block_.get() + size_)) {
            ::operator delete(p);
            return;
        }
        if (--live_ == 0) used_ = 0;
    }

private:
    std::unique_ptr<std::byte[]> block_;
    std::size_t size_;
    std::size_t used_ = 0;
    std::size_t live_ = 0;
};

template <class T>
class ArenaAllocator
{
public:
    using value_type = T;

    explicit ArenaAllocator(Arena& arena) noexcept : arena_(&arena) {}
    template <class U>
    ArenaAllocator(const ArenaAllocator<U>& other) noexcept : arena_(other.arena())
    {
    }

    T* allocate(std::size_t n)
    {
        return static_cast<T*>(arena_->allocate(n * sizeof(T), alignof(T)));
    }
    void deallocate(T* p, std::size_t) noexcept { arena_->deallocate(p); }

    Arena* arena() const noexcept { return arena_; }
    template <class U>
    bool operator==(const ArenaAllocator<U>& o) const noexcept
    {
        return arena_ == o.arena();
    }

private:
    Arena* arena_;
};

} // namespace wsgibridge::http
