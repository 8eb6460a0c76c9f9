#include "body_queue.hpp"

#include <atomic>
#include <gtest/gtest.h>
#include <string>
#include <thread>

using namespace wsgibridge;
using namespace wsgibridge::fastcgi;
using namespace std::chrono_literals;

namespace {
std::string read_all(BodyQueue& q, std::error_code& ec)
{
    std::string out;
    char buf[3];
    for (;;) {
        auto n = q.read(buf);
        if (!n) return ec = n.error(), out;
        if (*n == 0) return out;
        out.append(buf, *n);
    }
}
} // namespace

TEST(BodyQueue, ReadsAcrossChunksAndStopsAtContentLength)
{
    BodyQueue q(5, 1000, 1s);
    q.push(std::string_view("abcd"));
    q.push(std::string_view("efgh")); // beyond CONTENT_LENGTH: never handed to the app
    q.end_of_stream();
    std::error_code ec;
    EXPECT_EQ(read_all(q, ec), "abcde");
    EXPECT_FALSE(ec);
    EXPECT_EQ(q.remaining(), 0u);
}

TEST(BodyQueue, ReaderWaitsForTheWriter)
{
    BodyQueue q(std::nullopt, 1000, 2s);
    std::thread writer([&] {
        std::this_thread::sleep_for(50ms);
        q.push(std::string_view("late"));
        q.end_of_stream();
    });
    std::error_code ec;
    EXPECT_EQ(read_all(q, ec), "late");
    writer.join();
}

TEST(BodyQueue, ErrorsReachTheReader)
{
    BodyQueue small(std::nullopt, 4, 1s);
    EXPECT_FALSE(small.push(std::string_view("12345")));
    std::error_code ec;
    read_all(small, ec);
    EXPECT_EQ(ec, errc::body_too_large);

    BodyQueue truncated(10, 100, 1s);
    truncated.push(std::string_view("abc"));
    truncated.end_of_stream();
    ec = {};
    EXPECT_EQ(read_all(truncated, ec), "abc");
    EXPECT_EQ(ec, errc::body_truncated);

    BodyQueue stalled(std::nullopt, 100, 50ms);
    ec = {};
    read_all(stalled, ec);
    EXPECT_EQ(ec, errc::timeout);

    BodyQueue aborted(std::nullopt, 100, 1s);
    aborted.fail(errc::peer_gone);
    ec = {};
    read_all(aborted, ec);
    EXPECT_EQ(ec, errc::peer_gone);
}

TEST(BodyQueue, HighWaterPausesAndDrainResumes)
{
    BodyQueue q(std::nullopt, 1ull << 30, 1s);
    std::atomic<int> resumed{0};
    q.set_on_low_water([&] { ++resumed; });
    std::string chunk(64 * 1024, 'x');
    bool paused = false;
    for (int i = 0; i < 20 && !paused; ++i)
        paused = q.push(chunk);
    EXPECT_TRUE(paused);
    std::thread writer([&] {
        std::this_thread::sleep_for(30ms);
        q.end_of_stream();
    });
    EXPECT_TRUE(q.drain(10 * 1024 * 1024));
    writer.join();
    EXPECT_EQ(resumed, 1);
    EXPECT_TRUE(q.complete());
}

TEST(BodyQueue, DrainGivesUpOverTheLimit)
{
    BodyQueue q(std::nullopt, 1ull << 30, 100ms);
    q.push(std::string(5000, 'x'));
    EXPECT_FALSE(q.drain(1000)); // over --max-drain and no end in sight
}

TEST(BodyQueue, CompleteOnceNothingMoreComesOffTheConnection)
{
    // complete() is read without the queue's lock: it must turn true on every way a
    // body ends (CONTENT_LENGTH reached, empty STDIN, failure, over the limit).
    EXPECT_TRUE(BodyQueue(0, 100, 1s).complete()); // CONTENT_LENGTH 0, or an Authorizer

    BodyQueue sized(5, 100, 1s);
    EXPECT_FALSE(sized.complete());
    sized.push(std::string_view("abc"));
    EXPECT_FALSE(sized.complete());
    sized.push(std::string_view("de"));
    EXPECT_TRUE(sized.complete());

    BodyQueue streamed(std::nullopt, 100, 1s);
    streamed.push(std::string_view("abc"));
    EXPECT_FALSE(streamed.complete());
    streamed.end_of_stream();
    EXPECT_TRUE(streamed.complete());

    BodyQueue aborted(std::nullopt, 100, 1s);
    aborted.fail(errc::peer_gone);
    EXPECT_TRUE(aborted.complete());

    BodyQueue too_big(std::nullopt, 4, 1s);
    too_big.push(std::string_view("abcde"));
    EXPECT_TRUE(too_big.complete());
}
