// The shared write loop (lib/net/write_all): writev(2) and sendmsg(2) may write part of
// the list (POSIX: "may write fewer bytes than requested"), a signal may interrupt them,
// and a non-blocking socket answers EAGAIN when its buffer is full.
#include "net/write_all.hpp"
#include "util/unique_fd.hpp"
#include "wsgibridge/error.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge;
using util::UniqueFd;

namespace {

iovec iov(std::string& s)
{
    return {s.data(), s.size()};
}

std::string read_all(int fd)
{
    std::string out;
    std::array<char, 65536> buf;
    for (;;) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n <= 0) return out;
        out.append(buf.data(), static_cast<std::size_t>(n));
    }
}

struct SocketPair
{
    UniqueFd a, b;
    SocketPair()
    {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        a.reset(fds[0]);
        b.reset(fds[1]);
    }
};

void set_nonblocking(int fd)
{
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void small_send_buffer(int fd)
{
    int size = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

} // namespace

TEST(SkipWritten, DropsWholeEntriesThenPartOfTheNext)
{
    std::string x = "abc", y = "defg", z = "hi";
    std::array<iovec, 3> v{iov(x), iov(y), iov(z)};
    std::span<iovec> s(v);
    net::skip_written(s, 5); // "abc" and "de"
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(std::string(static_cast<char*>(s[0].iov_base), s[0].iov_len), "fg");
    net::skip_written(s, 2); // exactly the end of an entry
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].iov_base, z.data());
    net::skip_written(s, 2);
    EXPECT_TRUE(s.empty());
}

TEST(SkipWritten, SkipsEmptyEntries)
{
    std::string empty, x = "ab";
    std::array<iovec, 3> v{iov(empty), iov(empty), iov(x)};
    std::span<iovec> s(v);
    net::skip_written(s, 0);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].iov_len, 2u);
}

TEST(WriteAll, PartialWritesOnANonBlockingSocketAreResumed)
{
    // 1 MiB through a 4 KiB send buffer: sendmsg writes a part, then EAGAIN, many times.
    SocketPair p;
    small_send_buffer(p.a.get());
    set_nonblocking(p.a.get());
    std::string head = "HEAD:", body(1 << 20, 'x'), tail = ":END";
    for (std::size_t i = 0; i < body.size(); i += 4093)
        body[i] = static_cast<char>('a' + i % 26);
    std::string got;
    std::thread reader([&] { got = read_all(p.b.get()); });
    std::array<iovec, 4> v{iov(head), iovec{nullptr, 0}, iov(body), iov(tail)};
    auto ec = net::write_all(p.a.get(), v, {.socket = true, .timeout = std::chrono::seconds(10)});
    p.a.reset();
    reader.join();
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(got, head + body + tail);
}

TEST(WriteAll, ANonBlockingSocketNobodyReadsTimesOut)
{
    SocketPair p;
    small_send_buffer(p.a.get());
    set_nonblocking(p.a.get());
    std::string big(1 << 20, 'x');
    auto start = std::chrono::steady_clock::now();
    auto ec = net::write_all(p.a.get(), big, {.timeout = std::chrono::milliseconds(100)});
    EXPECT_EQ(ec, errc::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// The SCGI and uwsgi connections are blocking sockets: a time limit must hold for them
// too (MSG_DONTWAIT), or a peer that stops reading holds the thread in sendmsg forever.
TEST(WriteAll, ABlockingSocketNobodyReadsTimesOutToo)
{
    SocketPair p;
    small_send_buffer(p.a.get());
    std::string big(1 << 20, 'x');
    auto start = std::chrono::steady_clock::now();
    auto ec = net::write_all(p.a.get(), big, {.timeout = std::chrono::milliseconds(100)});
    EXPECT_EQ(ec, errc::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_EQ(::fcntl(p.a.get(), F_GETFL) & O_NONBLOCK, 0)
        << "the descriptor's flags are left as they are";
}

TEST(WriteAll, APeerThatHungUpIsEpipeNotSigpipe)
{
    // MSG_NOSIGNAL: the default SIGPIPE action would end the test program here.
    SocketPair p;
    p.b.reset();
    std::string data = "hello";
    auto ec = net::write_all(p.a.get(), data);
    EXPECT_EQ(ec, std::errc::broken_pipe);
}

TEST(WriteAll, WritevServesPipes)
{
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    UniqueFd r(fds[0]), w(fds[1]);
    std::string a = "Status: 200 OK\r\n\r\n", b(200'000, 'b'); // more than a pipe holds
    std::string got;
    std::thread reader([&] { got = read_all(r.get()); });
    std::array<iovec, 2> v{iov(a), iov(b)};
    auto ec = net::write_all(w.get(), v, {.socket = false});
    w.reset();
    reader.join();
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(got, a + b);
}

namespace {
bool stop_requested = false;
bool stop_now() noexcept
{
    return stop_requested;
}
void on_alarm(int) {}
} // namespace

/// A pipe whose buffer is already full: the next blocking write waits with nothing
/// written, so a signal makes it fail with EINTR (a partial write would return a count).
static void full_pipe(UniqueFd& r, UniqueFd& w)
{
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    r.reset(fds[0]);
    w.reset(fds[1]);
    set_nonblocking(w.get());
    std::array<char, 4096> chunk{};
    while (::write(w.get(), chunk.data(), chunk.size()) > 0) {
    }
    ::fcntl(w.get(), F_SETFL, ::fcntl(w.get(), F_GETFL) & ~O_NONBLOCK);
}

TEST(WriteAll, EintrRetriesUnlessTheCallerStops)
{
    // A blocked write interrupted by a signal (no SA_RESTART): the CGI front end stops
    // on SIGTERM, others write on.
    struct sigaction sa
    {
    };
    sa.sa_handler = on_alarm;
    struct sigaction old
    {
    };
    ASSERT_EQ(::sigaction(SIGALRM, &sa, &old), 0);
    UniqueFd r, w;
    std::string data(1000, 'y');

    // Retry: the alarm interrupts the blocked writev, the loop goes on and finishes once
    // a reader drains the pipe.
    full_pipe(r, w);
    stop_requested = false;
    std::string got;
    std::thread reader([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        got = read_all(r.get());
    });
    ::ualarm(100'000, 0);
    auto ec = net::write_all(w.get(), data, {.socket = false, .stop_on_interrupt = stop_now});
    w.reset();
    reader.join();
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(got.substr(got.size() - data.size()), data);

    // Stop: the same interruption ends the write with EINTR.
    full_pipe(r, w);
    stop_requested = true;
    ::ualarm(100'000, 0);
    ec = net::write_all(w.get(), data, {.socket = false, .stop_on_interrupt = stop_now});
    EXPECT_EQ(ec, std::errc::interrupted);
    ::sigaction(SIGALRM, &old, nullptr);
}
