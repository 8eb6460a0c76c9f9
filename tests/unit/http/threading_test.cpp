// The io threads (net::IoRunners): one thread accepts, reads heads and runs requests
// inline while they do not block; a request that blocks (/sleep: 300 ms) gets another
// thread to take over within a few milliseconds, up to --threads requests at once.
#include "loopback.hpp"

#include <future>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

using namespace wsgibridge;
using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

std::string get(unsigned short port, std::string_view path)
{
    RawClient c(port);
    c.send("GET " + std::string(path) + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    return c.read_until_close(5s);
}

} // namespace

TEST(HttpThreads, SleepingRequestDoesNotHoldUpNewOrKeptAliveConnections)
{
    LoopbackServer s({}, "127.0.0.1:0", "", 4);
    RawClient kept(s.port()); // kept alive: its second request comes during the sleep
    kept.send("GET /first HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(body_of(kept.read_response()), "GET |/first?");

    auto sleeper = std::async(std::launch::async, [&] { return get(s.port(), "/sleep"); });
    std::this_thread::sleep_for(50ms); // the only running thread is now inside /sleep

    auto start = Clock::now();
    std::vector<std::future<std::string>> fast;
    for (int i = 0; i < 3; ++i)
        fast.push_back(std::async(std::launch::async, [&] { return get(s.port(), "/fast"); }));
    for (auto& f : fast)
        EXPECT_EQ(body_of(f.get()), "GET |/fast?");
    kept.send("GET /second HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(body_of(kept.read_response()), "GET |/second?");
    auto took = Clock::now() - start;
    // Served while /sleep still runs (250 ms left), not after it.
    EXPECT_LT(took, 150ms) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
    EXPECT_EQ(body_of(sleeper.get()), "slept");
}

TEST(HttpThreads, BlockingRequestsRunInParallelUpToThreads)
{
    LoopbackServer s({}, "127.0.0.1:0", "", 4);
    auto start = Clock::now();
    std::vector<std::future<std::string>> sleeps;
    for (int i = 0; i < 4; ++i)
        sleeps.push_back(std::async(std::launch::async, [&] { return get(s.port(), "/sleep"); }));
    for (auto& f : sleeps)
        EXPECT_EQ(body_of(f.get()), "slept");
    auto took = Clock::now() - start;
    EXPECT_LT(took, 700ms) << "4 x 300 ms with 4 threads: "
                           << std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
}

TEST(HttpThreads, OneThreadRunsOneRequestAtATime)
{
    // --threads is still the bound: with 1, a second blocking request waits its turn.
    LoopbackServer s({}, "127.0.0.1:0", "", 1);
    auto start = Clock::now();
    auto a = std::async(std::launch::async, [&] { return get(s.port(), "/sleep"); });
    auto b = std::async(std::launch::async, [&] { return get(s.port(), "/sleep"); });
    EXPECT_EQ(body_of(a.get()), "slept");
    EXPECT_EQ(body_of(b.get()), "slept");
    EXPECT_GE(Clock::now() - start, 590ms);
}

TEST(HttpThreads, ManyConnectionsAtOnceAreEachServed)
{
    LoopbackServer s({}, "127.0.0.1:0", "", 4);
    constexpr int clients = 8, each = 25;
    std::vector<std::future<int>> workers;
    for (int w = 0; w < clients; ++w)
        workers.push_back(std::async(std::launch::async, [&, w] {
            int ok = 0;
            for (int i = 0; i < each; ++i) {
                auto path = "/c" + std::to_string(w) + "-" + std::to_string(i);
                ok += body_of(get(s.port(), path)) == "GET |" + path + "?";
            }
            return ok;
        }));
    // Meanwhile a blocking request: served alongside, not in the way.
    auto sleeper = std::async(std::launch::async, [&] { return get(s.port(), "/sleep"); });
    int ok = 0;
    for (auto& f : workers)
        ok += f.get();
    EXPECT_EQ(ok, clients * each);
    EXPECT_EQ(body_of(sleeper.get()), "slept");
}
