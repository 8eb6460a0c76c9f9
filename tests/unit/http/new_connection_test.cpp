// A new connection's path: the request that came with the connection is read with one
// non-waiting recv() and answered on the accepting thread; the socket enters the
// reactor (epoll) only when it must wait. Accepted sockets are close-on-exec. The
// handler's /conn route reports both about the server's end of the connection.
#include "loopback.hpp"

#include <fstream>
#include <future>
#include <gtest/gtest.h>

using namespace wsgibridge;
using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view conn_close =
    "GET /conn HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";

/// Opens a connection and sends a whole request while the only io thread is busy with a
/// /sleep request on another connection: when the server accepts it, the request is
/// already there (no race with the client's send).
std::string ask_while_busy(LoopbackServer& s, std::string_view request)
{
    RawClient busy(s.port());
    busy.send("GET /sleep HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    std::this_thread::sleep_for(50ms); // the server is inside /sleep (300 ms)
    RawClient c(s.port());
    c.send(request);
    auto r = c.read_until_close(5s);
    EXPECT_EQ(body_of(busy.read_until_close(5s)), "slept");
    return r;
}

/// The TCP state (tcp(7), include/net/tcp_states.h: 1 ESTABLISHED, 3 SYN_RECV) of the
/// server's end of the one connection to `port`, as /proc/net/tcp lists it; -1: none.
int server_side_state(unsigned short port)
{
    std::ifstream in("/proc/net/tcp");
    std::string line;
    std::getline(in, line); // the column names
    char local[64] = "";
    while (std::getline(in, line)) {
        unsigned slot = 0, state = 0;
        char remote[64] = "";
        if (std::sscanf(line.c_str(), " %u: %63s %63s %x", &slot, local, remote, &state) != 4)
            continue;
        std::string l(local);
        if (std::stoul(l.substr(l.find(':') + 1), nullptr, 16) != port) continue;
        if (std::string(remote) == "00000000:0000") continue; // the listener
        return static_cast<int>(state);
    }
    return -1;
}

} // namespace

TEST(HttpNewConnection, DeferAcceptLeavesASilentConnectionWithTheKernel)
{
    // TCP_DEFER_ACCEPT (tcp(7)): the handshake's last ACK without data does not complete
    // the connection on the server's side, so nothing is accepted, no descriptor taken.
    LoopbackServer s({}, "127.0.0.1:0", "", 1, 1s);
    RawClient c(s.port()); // connected, as far as the client knows
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(server_side_state(s.port()), 3); // SYN_RECV: still the kernel's
    // Its first bytes complete it, and the request is answered at once.
    auto start = std::chrono::steady_clock::now();
    c.send(conn_close);
    auto r = c.read_until_close(3s);
    EXPECT_EQ(status_of(r), "HTTP/1.1 200 OK");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
    EXPECT_NE(r.find("cloexec=1 epoll=0"), std::string::npos) << r; // served inline
}

TEST(HttpNewConnection, WithoutDeferAcceptASilentConnectionIsAccepted)
{
    LoopbackServer s({}, "127.0.0.1:0", "", 1, 0s);
    RawClient c(s.port());
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(server_side_state(s.port()), 1); // ESTABLISHED, accepted
    c.send(conn_close);
    EXPECT_EQ(status_of(c.read_until_close(3s)), "HTTP/1.1 200 OK");
}

TEST(HttpNewConnection, RequestAlreadyThereIsServedWithoutEnteringTheReactor)
{
    LoopbackServer s({}, "127.0.0.1:0", "", 1);
    auto r = ask_while_busy(s, conn_close);
    EXPECT_EQ(status_of(r), "HTTP/1.1 200 OK");
    EXPECT_EQ(body_of(r), "cloexec=1 epoll=0");
    // RFC 9112 section 9.6: the client said close; the server closes after the response.
    EXPECT_NE(r.find("Connection: close"), std::string::npos);
}

TEST(HttpNewConnection, Http10WithoutKeepAliveIsServedInlineAndClosed)
{
    LoopbackServer s({}, "127.0.0.1:0", "", 1);
    auto r = ask_while_busy(s, "GET /conn HTTP/1.0\r\n\r\n");
    EXPECT_EQ(status_of(r), "HTTP/1.1 200 OK");
    EXPECT_EQ(body_of(r), "cloexec=1 epoll=0");
}

TEST(HttpNewConnection, SeveralThreadsServeInlineToo)
{
    // With threads > 1 the accepting thread may get to the socket before the request
    // does; most requests are still answered inline.
    LoopbackServer s({}, "127.0.0.1:0", "", 4);
    int inline_served = 0;
    for (int i = 0; i < 20; ++i) {
        RawClient c(s.port());
        c.send(conn_close);
        auto r = c.read_until_close(5s);
        ASSERT_EQ(status_of(r), "HTTP/1.1 200 OK") << r;
        auto body = body_of(r);
        EXPECT_EQ(body.substr(0, 10), "cloexec=1 ");
        inline_served += body == "cloexec=1 epoll=0";
    }
    EXPECT_GT(inline_served, 0);
}

TEST(HttpNewConnection, KeptAliveConnectionWaitsInTheReactor)
{
    LoopbackServer s({}, "127.0.0.1:0", "", 2);
    RawClient c(s.port());
    c.send("GET /conn HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(status_of(c.read_response()), "HTTP/1.1 200 OK");
    // The second request found the connection waiting for it (idle timeout) in epoll.
    c.send("GET /conn HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(body_of(c.read_response()), "cloexec=1 epoll=1");
    c.send(conn_close);
    EXPECT_EQ(body_of(c.read_until_close()), "cloexec=1 epoll=1");
}

TEST(HttpNewConnection, HeadArrivingInPiecesIsReadThroughTheReactor)
{
    for (unsigned threads : {1u, 4u}) {
        LoopbackServer s({}, "127.0.0.1:0", "", threads);
        RawClient c(s.port());
        c.send("GET /conn HTTP/1.1\r\nHo");
        std::this_thread::sleep_for(100ms);
        c.send("st: h\r\n");
        std::this_thread::sleep_for(50ms);
        c.send("\r\n");
        auto r = c.read_response();
        EXPECT_EQ(status_of(r), "HTTP/1.1 200 OK") << threads;
        EXPECT_EQ(body_of(r), "cloexec=1 epoll=1") << threads;
        // Still a working keep-alive connection.
        c.send("GET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        EXPECT_EQ(body_of(c.read_until_close()), "GET |/after?") << threads;
    }
}

TEST(HttpNewConnection, PipelinedRequestsWithTheConnectionAreServedInline)
{
    LoopbackServer s({}, "127.0.0.1:0", "", 1);
    std::string many;
    for (int i = 0; i < 20; ++i)
        many += "GET /p" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\n\r\n";
    many += conn_close;
    auto all = ask_while_busy(s, many);
    for (int i = 0; i < 20; ++i)
        EXPECT_NE(all.find("GET |/p" + std::to_string(i) + "?"), std::string::npos) << i;
    EXPECT_NE(all.find("cloexec=1 epoll="), std::string::npos);
}

TEST(HttpNewConnection, SilentClientGets408AfterTheHeaderTimeout)
{
    Limits l;
    l.header_timeout = 300ms;
    // With the default --defer-accept (1 s) the kernel hands the silent connection over
    // after about a second; the header timeout then runs as for any other.
    LoopbackServer s(l, "127.0.0.1:0", "", 4);
    RawClient c(s.port());
    auto start = std::chrono::steady_clock::now();
    auto r = c.read_until_close(3s); // sends nothing at all
    EXPECT_EQ(status_of(r), "HTTP/1.1 408 Request Timeout");
    EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_NE(s.log_text().find("--header-timeout"), std::string::npos);
    // The server goes on serving.
    RawClient d(s.port());
    d.send(conn_close);
    EXPECT_EQ(status_of(d.read_until_close()), "HTTP/1.1 200 OK");
}

TEST(HttpNewConnection, ClientLeavingBeforeSendingCostsNothing)
{
    LoopbackServer s({}, "127.0.0.1:0", "", 2);
    for (int i = 0; i < 10; ++i) {
        RawClient gone(s.port()); // connects and closes: a TCP health check
    }
    RawClient c(s.port());
    c.send(conn_close);
    EXPECT_EQ(status_of(c.read_until_close()), "HTTP/1.1 200 OK");
    EXPECT_EQ(s.handler.calls, 1);
    EXPECT_EQ(s.log_text().find("error"), std::string::npos) << s.log_text();
}

TEST(HttpNewConnection, StopClosesASilentNewConnection)
{
    // Without TCP_DEFER_ACCEPT: with it, a silent connection is never handed over (see
    // DeferAccept* below), and the listener's close drops it in the kernel.
    auto s = std::make_unique<LoopbackServer>(Limits{}, "127.0.0.1:0", "", 4, 0s);
    auto c = std::make_unique<RawClient>(s->port());
    std::this_thread::sleep_for(100ms); // accepted, waiting for a head in the reactor
    auto start = std::chrono::steady_clock::now();
    auto stopped = std::async(std::launch::async, [&] { s.reset(); });
    // It gets the drain window of an idle connection (1 s), then is closed.
    EXPECT_TRUE(c->closed_within(5s));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
    c.reset(); // ends the server's lingering read at once
    EXPECT_EQ(stopped.wait_for(5s), std::future_status::ready);
}

TEST(HttpNewConnection, StoppedServerRefusesNewConnections)
{
    LoopbackServer s({}, "127.0.0.1:0", "", 2);
    auto port = s.port();
    s.server().stop();
    std::this_thread::sleep_for(200ms);
    EXPECT_THROW(RawClient c(port), std::runtime_error); // the listener is closed
}
