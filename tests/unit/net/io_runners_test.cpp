// net::IoRunners: one thread runs the io_context until requests block, then more, up to
// the maximum, and back to one when they no longer block.
#include "net/io_runners.hpp"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <thread>

using namespace wsgibridge;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

struct Fixture
{
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
        io.get_executor()};
    net::IoRunners runners;
    std::jthread thread;

    explicit Fixture(unsigned max) : runners(io, max, [](std::string_view) {})
    {
        thread = std::jthread([this] { runners.run(); });
    }
    ~Fixture()
    {
        work.reset(); // out of work: run() returns, parked threads and the watchdog end
    }

    /// A "request" of `d` on whichever thread runs it.
    void post_request(std::chrono::milliseconds d, std::atomic<int>& done)
    {
        boost::asio::post(io, [this, d, &done] {
            net::IoRunners::Request busy(&runners);
            std::this_thread::sleep_for(d);
            ++done;
        });
    }
};

bool wait_for(const std::function<bool()>& ok, std::chrono::milliseconds limit)
{
    auto end = Clock::now() + limit;
    while (!ok()) {
        if (Clock::now() > end) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

} // namespace

TEST(IoRunners, ShortRequestsRunOnOneThread)
{
    Fixture f(4);
    std::atomic<int> done{0};
    for (int i = 0; i < 200; ++i)
        f.post_request(0ms, done);
    ASSERT_TRUE(wait_for([&] { return done == 200; }, 2s));
    // A runner preempted for two ticks on a loaded machine looks blocked and may get a
    // helper; the helper parks again after a request of its own.
    int posted = 200;
    EXPECT_TRUE(wait_for(
        [&] {
            if (f.runners.running() == 1) return true;
            f.post_request(0ms, done);
            ++posted;
            return false;
        },
        1s))
        << f.runners.running();
    ASSERT_TRUE(wait_for([&] { return done == posted; }, 2s));
}

TEST(IoRunners, BlockingRequestsGetMoreThreadsUpToTheMaximumThenOneAgain)
{
    Fixture f(3);
    std::atomic<int> done{0};
    auto start = Clock::now();
    for (int i = 0; i < 3; ++i)
        f.post_request(300ms, done);
    ASSERT_TRUE(wait_for([&] { return done == 3; }, 2s));
    EXPECT_LT(Clock::now() - start, 500ms) << "three blocking requests ran one after another";
    EXPECT_LE(f.runners.running(), 3u);
    // Nothing blocks any more: the extra threads park again after their next request.
    std::atomic<int> more{0};
    for (int i = 0; i < 3; ++i)
        f.post_request(0ms, more);
    ASSERT_TRUE(wait_for([&] { return more == 3; }, 2s));
    EXPECT_TRUE(wait_for([&] { return f.runners.running() == 1; }, 1s)) << f.runners.running();
}

TEST(IoRunners, OneThreadMaximumNeverAddsOne)
{
    Fixture f(1);
    std::atomic<int> done{0};
    auto start = Clock::now();
    f.post_request(100ms, done);
    f.post_request(100ms, done);
    ASSERT_TRUE(wait_for([&] { return done == 2; }, 2s));
    EXPECT_GE(Clock::now() - start, 195ms);
    EXPECT_EQ(f.runners.running(), 1u);
}

TEST(IoRunners, WokenThreadRunsTheWakeHookFirst)
{
    // The HTTP server lends its accept loop to a request running inline; the thread the
    // watchdog wakes because that request blocks must get the chance to take it over.
    boost::asio::io_context io;
    auto work = boost::asio::make_work_guard(io);
    net::IoRunners runners(io, 2, [](std::string_view) {});
    std::atomic<int> woken{0};
    std::atomic<std::thread::id> hook_thread{};
    runners.on_wake([&] {
        hook_thread = std::this_thread::get_id();
        ++woken;
    });
    std::jthread thread([&] { runners.run(); });
    std::atomic<std::thread::id> blocked_thread{};
    std::atomic<int> done{0};
    boost::asio::post(io, [&] {
        net::IoRunners::Request busy(&runners);
        blocked_thread = std::this_thread::get_id();
        std::this_thread::sleep_for(200ms);
        ++done;
    });
    EXPECT_TRUE(wait_for([&] { return woken.load() == 1; }, 150ms));
    EXPECT_NE(hook_thread.load(), blocked_thread.load());
    EXPECT_TRUE(wait_for([&] { return done.load() == 1; }, 2s));
    work.reset();
}
