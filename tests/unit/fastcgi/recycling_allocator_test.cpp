// RecyclingAllocator: the block a connection leaves is the next connection's, never
// two owners at once, and whatever it does not keep goes back to the heap.
#include "recycling_allocator.hpp"

#include <gtest/gtest.h>
#include <memory>
#include <set>
#include <thread>
#include <vector>

using namespace wsgibridge::fastcgi;

namespace {
struct Block
{
    char bytes[200];
    int value = 0;
};
} // namespace

TEST(RecyclingAllocator, NextAllocationGetsTheBlockJustFreed)
{
    RecyclingAllocator<Block> a;
    Block* first = a.allocate(1);
    a.deallocate(first, 1);
    Block* second = a.allocate(1);
    EXPECT_EQ(second, first);
    // Only one block is kept: two live at once are two blocks.
    Block* third = a.allocate(1);
    EXPECT_NE(third, second);
    a.deallocate(second, 1);
    a.deallocate(third, 1); // the spare is taken: back to the heap
    Block* again = a.allocate(1);
    EXPECT_EQ(again, second);
    a.deallocate(again, 1);
    // Arrays are never cached.
    Block* many = a.allocate(3);
    a.deallocate(many, 3);
    Block* one = a.allocate(1);
    EXPECT_EQ(one, second);
    a.deallocate(one, 1);
}

TEST(RecyclingAllocator, SharedPtrsFreedOnOtherThreadsNeverShareABlock)
{
    // Connections are made on the io thread and may die on a worker: allocate and free
    // from several threads, every live object must have a block of its own.
    RecyclingAllocator<Block> a;
    std::vector<std::thread> threads;
    std::atomic<int> overlaps{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20000; ++i) {
                auto p = std::allocate_shared<Block>(a);
                p->value = t * 1000000 + i;
                std::this_thread::yield();
                if (p->value != t * 1000000 + i) ++overlaps;
            }
        });
    for (auto& th : threads)
        th.join();
    EXPECT_EQ(overlaps, 0);
}
