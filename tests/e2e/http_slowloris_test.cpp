// Slowloris (header reads must be bounded in time): 200 connections trickling a request head one
// byte at a time hold no thread. A normal client is still answered quickly, and the header timeout
// closes the tricklers.
#include "http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <future>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {
int connect_nonblocking(unsigned short port)
{
    int fd = connect_loopback(port);
    if (fd >= 0) ::fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}
} // namespace

TEST(WsgiHttpSlowloris, TricklersDoNotBlockOthersAndTimeOut)
{
    WsgiHttpProcess s({"--app", "examples/hello.py", "--threads", "2", "--header-timeout", "1.5"});
    ASSERT_TRUE(s.ready()) << s.error_log();

    constexpr int count = 200;
    std::vector<int> fds;
    for (int i = 0; i < count; ++i) {
        int fd = connect_nonblocking(s.port());
        ASSERT_GE(fd, 0) << "connect " << i;
        fds.push_back(fd);
    }
    const std::string head = "GET / HTTP/1.1\r\nHost: slow\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaa";
    std::vector<bool> closed(count, false);
    std::vector<std::string> received(count);
    auto start = std::chrono::steady_clock::now();

    // While all 200 trickle, a normal request must be served fast.
    auto normal = std::async(std::launch::async, [&] {
        std::this_thread::sleep_for(300ms);
        auto t0 = std::chrono::steady_clock::now();
        auto r = curl({s.url("/")}, 5s);
        return std::make_pair(r, std::chrono::steady_clock::now() - t0);
    });

    for (std::size_t step = 0; std::chrono::steady_clock::now() - start < 3s && step < head.size();
         ++step) {
        for (int i = 0; i < count; ++i) {
            if (closed[i]) continue;
            if (::send(fds[i], &head[step], 1, MSG_NOSIGNAL) != 1 && errno != EAGAIN)
                closed[i] = true;
            char buf[512];
            ssize_t n = ::recv(fds[i], buf, sizeof buf, 0);
            if (n > 0) received[i].append(buf, static_cast<std::size_t>(n));
            if (n == 0) closed[i] = true;
        }
        std::this_thread::sleep_for(50ms);
    }
    auto [result, took] = normal.get();
    EXPECT_EQ(response_body(result.out), "Hello, World!\n");
    EXPECT_LT(took, 1s) << "a normal client waited behind the tricklers";

    // By now (>= 1.5 s header timeout + slack) every trickler got its 408 and a close.
    auto deadline = std::chrono::steady_clock::now() + 3s;
    int closed_count = 0, got_408 = 0;
    for (int i = 0; i < count; ++i) {
        while (!closed[i] && std::chrono::steady_clock::now() < deadline) {
            pollfd p{fds[i], POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            char buf[512];
            ssize_t n = ::recv(fds[i], buf, sizeof buf, 0);
            if (n > 0)
                received[i].append(buf, static_cast<std::size_t>(n));
            else
                closed[i] = true;
        }
        closed_count += closed[i];
        got_408 += received[i].starts_with("HTTP/1.1 408 ");
        ::close(fds[i]);
    }
    EXPECT_EQ(closed_count, count);
    EXPECT_EQ(got_408, count);
    EXPECT_NE(s.error_log().find("--header-timeout"), std::string::npos);
}
