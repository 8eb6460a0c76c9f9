#include "stdin_body.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <string>
#include <thread>
#include <unistd.h>

using namespace wsgibridge;
using namespace std::chrono_literals;

namespace {

// A pipe whose ends close with the test, the writer possibly kept open on purpose.
struct Pipe
{
    int r = -1, w = -1;
    Pipe()
    {
        int fds[2];
        EXPECT_EQ(::pipe(fds), 0);
        r = fds[0];
        w = fds[1];
    }
    ~Pipe()
    {
        close_writer();
        ::close(r);
    }
    void put(const std::string& s)
    {
        EXPECT_EQ(::write(w, s.data(), s.size()), static_cast<ssize_t>(s.size()));
    }
    void close_writer()
    {
        if (w >= 0) ::close(w);
        w = -1;
    }
};

std::string read_all(cgi::StdinBody& body, std::error_code& ec)
{
    std::string out;
    char buf[7];
    for (;;) {
        auto n = body.read(buf);
        if (!n) {
            ec = n.error();
            return out;
        }
        if (*n == 0) return out;
        out.append(buf, *n);
    }
}

} // namespace

TEST(StdinBody, ReadsExactlyContentLengthWithoutWaitingForEof)
{
    Pipe p;
    p.put("hello world, and more the server never promised");
    cgi::StdinBody body(p.r, 11, 1 << 20, 5s);
    EXPECT_EQ(body.remaining(), 11u);
    auto start = std::chrono::steady_clock::now();
    std::error_code ec;
    EXPECT_EQ(read_all(body, ec), "hello world");
    EXPECT_FALSE(ec);
    EXPECT_EQ(body.remaining(), 0u);
    // The writer is still open: returning at all proves no read waited for EOF.
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    char c;
    EXPECT_EQ(*body.read({&c, 1}), 0u);
}

TEST(StdinBody, AbsentLengthIsAnEmptyBody)
{
    Pipe p;
    p.put("ignored");
    cgi::StdinBody body(p.r, 0, 1 << 20, 5s);
    char buf[8];
    auto n = body.read(buf);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0u);
}

TEST(StdinBody, ShortBodyIsTruncatedNotAHang)
{
    Pipe p;
    p.put("abc");
    p.close_writer();
    cgi::StdinBody body(p.r, 10, 1 << 20, 5s);
    std::error_code ec;
    EXPECT_EQ(read_all(body, ec), "abc");
    EXPECT_EQ(ec, errc::body_truncated);
    EXPECT_EQ(http_status_for(ec), 400);
}

TEST(StdinBody, StalledBodyTimesOut)
{
    Pipe p; // the writer stays open and silent
    p.put("ab");
    cgi::StdinBody body(p.r, 10, 1 << 20, 100ms);
    auto start = std::chrono::steady_clock::now();
    std::error_code ec;
    EXPECT_EQ(read_all(body, ec), "ab");
    EXPECT_EQ(ec, errc::timeout);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, 90ms);
    EXPECT_LT(took, 2s);
}

TEST(StdinBody, UntilEofModeStopsAtEofAndAtTheLimit)
{
    {
        Pipe p;
        p.put("streamed body");
        p.close_writer();
        cgi::StdinBody body(p.r, std::nullopt, 100, 5s);
        EXPECT_FALSE(body.remaining());
        std::error_code ec;
        EXPECT_EQ(read_all(body, ec), "streamed body");
        EXPECT_FALSE(ec);
    }
    {
        Pipe p;
        p.put(std::string(50, 'x'));
        p.close_writer();
        cgi::StdinBody body(p.r, std::nullopt, 20, 5s);
        std::error_code ec;
        read_all(body, ec);
        EXPECT_EQ(ec, errc::body_too_large);
    }
}

TEST(StdinBody, DrainDiscardsTheUnreadRestBounded)
{
    Pipe p;
    const std::string data(200000, 'd'); // more than a pipe holds: needs a writer thread
    std::thread writer([&] {
        std::size_t sent = 0;
        while (sent < data.size()) {
            ssize_t n = ::write(p.w, data.data() + sent, data.size() - sent);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
        }
    });
    cgi::StdinBody body(p.r, data.size(), 1 << 20, 5s);
    char buf[10];
    ASSERT_EQ(*body.read(buf), 10u);
    bool complete = false;
    EXPECT_EQ(body.drain(1000, complete), 1000u);
    EXPECT_FALSE(complete);
    EXPECT_EQ(body.drain(1 << 20, complete), data.size() - 1010);
    EXPECT_TRUE(complete);
    writer.join();
}
