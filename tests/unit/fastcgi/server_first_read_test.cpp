// A new connection's first read: the requests that arrive whole with the connection
// (nginx's default: BEGIN_REQUEST without FCGI_KEEP_CONN, PARAMS, empty STDIN in one
// write) are served from it and the connection closed without joining the epoll set;
// anything else (records split across reads, FCGI_KEEP_CONN, nothing sent yet) goes on
// as an ordinary connection. To have a request in the socket before the server accepts
// it, a first request holds the io thread (one thread: requests run on it) meanwhile.
#include "server_fixture.hpp"

#include <chrono>
#include <thread>

using namespace wsgibridge;
using namespace wsgibridge::test;
using namespace std::chrono_literals;
namespace wire = wsgibridge::test::fcgi;

namespace {

class FirstReadTest : public FcgiServerTest
{
protected:
    void SetUp() override
    {
        FastcgiServerOptions o;
        o.bind = "unix:" + sock.string();
        o.threads = 1;
        start(o);
    }

    /// Sends /hold on a connection of its own and waits until it runs on the io thread.
    void hold()
    {
        holder = std::make_unique<RawFcgiClient>(sock);
        ASSERT_TRUE(holder->send(wire::request(1, wire::cgi_params("GET", "/hold"))));
        std::unique_lock lock(handler.m);
        ASSERT_TRUE(handler.cv.wait_for(lock, 5s, [&] { return handler.held > 0; }));
    }

    void release()
    {
        {
            std::lock_guard lock(handler.m);
            handler.held_released = true;
        }
        handler.cv.notify_all();
        EXPECT_EQ(holder->read_reply(1).body(), "released");
        EXPECT_TRUE(holder->closed_by_peer());
    }

    /// "<descriptors in epoll sets> <sockets without close-on-exec>" as the handler saw them.
    static std::pair<int, int> parse_report(const std::string& body)
    {
        auto space = body.find(' ');
        return {std::stoi(body.substr(0, space)), std::stoi(body.substr(space + 1))};
    }

    std::filesystem::path sock = dir / "s.sock";
    std::unique_ptr<RawFcgiClient> holder;
};

} // namespace

TEST_F(FirstReadTest, WholeRequestInTheFirstReadIsServedUnwatchedAndClosed)
{
    hold();
    RawFcgiClient whole(sock);
    ASSERT_TRUE(whole.send(wire::request(1, wire::cgi_params("GET", "/sockets"))));
    release(); // `whole` is accepted with its request already waiting
    auto first = whole.read_reply(1);
    ASSERT_TRUE(first.ended);
    EXPECT_EQ(first.protocol_status, 0);
    EXPECT_TRUE(whole.closed_by_peer()); // no FCGI_KEEP_CONN: closed after END_REQUEST

    // The same request in two reads: the connection waits in the epoll set for the rest.
    RawFcgiClient split(sock);
    std::string bytes = wire::request(1, wire::cgi_params("GET", "/sockets"));
    ASSERT_TRUE(split.send(bytes.substr(0, 20)));
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(split.send(bytes.substr(20)));
    auto second = split.read_reply(1);
    ASSERT_TRUE(second.ended);
    EXPECT_TRUE(split.closed_by_peer());

    auto [watched_first, inheritable_first] = parse_report(first.body());
    auto [watched_split, inheritable_split] = parse_report(second.body());
    EXPECT_EQ(watched_first + 1, watched_split) << first.body() << " / " << second.body();
    // Accepted sockets are close-on-exec: an application's subprocess inherits none.
    EXPECT_EQ(inheritable_first, 0);
    EXPECT_EQ(inheritable_split, 0);
}

TEST_F(FirstReadTest, PostBodyInTheFirstReadIsEchoed)
{
    hold();
    RawFcgiClient c(sock);
    ASSERT_TRUE(c.send(wire::request(7, wire::cgi_params("POST", "/echo"), "abc=1&def=2")));
    release();
    auto r = c.read_reply(7);
    ASSERT_TRUE(r.ended);
    EXPECT_EQ(r.body(), "abc=1&def=2");
    EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(FirstReadTest, RecordsSplitAcrossReadsAreJoined)
{
    // The first read ends inside a PARAMS record; the rest comes after a pause.
    std::string bytes = wire::request(3, wire::cgi_params("POST", "/echo"), "split body");
    hold();
    RawFcgiClient c(sock);
    ASSERT_TRUE(c.send(bytes.substr(0, 40)));
    release();
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(c.send(bytes.substr(40)));
    auto r = c.read_reply(3);
    ASSERT_TRUE(r.ended);
    EXPECT_EQ(r.body(), "split body");
    EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(FirstReadTest, KeepConnConnectionIsKept)
{
    hold();
    RawFcgiClient c(sock);
    ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("POST", "/echo"), "one", true)));
    release();
    auto r = c.read_reply(1);
    ASSERT_TRUE(r.ended);
    EXPECT_EQ(r.body(), "one");
    EXPECT_FALSE(c.closed_by_peer(300ms)); // FCGI_KEEP_CONN: the web server closes
    ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("POST", "/echo"), "two", true)));
    EXPECT_EQ(c.read_reply(1).body(), "two");
}

TEST_F(FirstReadTest, SilentConnectionWaitsAsBefore)
{
    // Nothing in the first read: the connection waits (FastCGI sets no idle limit: the
    // web server owns its connections) without holding up the others.
    RawFcgiClient silent(sock);
    RawFcgiClient other(sock);
    ASSERT_TRUE(other.send(wire::request(1, wire::cgi_params("GET", "/hello"))));
    EXPECT_EQ(other.read_reply(1).body(), "hello");
    EXPECT_FALSE(silent.closed_by_peer(300ms));
    ASSERT_TRUE(silent.send(wire::request(2, wire::cgi_params("GET", "/hello"))));
    EXPECT_EQ(silent.read_reply(2).body(), "hello");
    EXPECT_TRUE(silent.closed_by_peer());
}

TEST_F(FirstReadTest, ManagementRecordInTheFirstReadIsAnswered)
{
    hold();
    RawFcgiClient c(sock);
    ASSERT_TRUE(c.send(wire::record(wire::get_values, 0, wire::pair("FCGI_MPXS_CONNS", ""))));
    release();
    auto rec = c.read_record();
    EXPECT_EQ(rec.type, wire::get_values_result);
    EXPECT_NE(rec.content.find("FCGI_MPXS_CONNS"), std::string::npos);
    EXPECT_FALSE(c.closed_by_peer(200ms)); // no request ended it
}

TEST_F(FirstReadTest, PeerGoneBeforeTheFirstReadIsDropped)
{
    hold();
    {
        RawFcgiClient gone(sock);
        ASSERT_TRUE(gone.send(wire::begin(1)));
    } // closed with a partial request: the server sees it, then EOF
    RawFcgiClient empty(sock);
    empty.shutdown_write();
    release();
    EXPECT_TRUE(empty.closed_by_peer());
    RawFcgiClient c(sock);
    ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("GET", "/hello"))));
    EXPECT_EQ(c.read_reply(1).body(), "hello");
}

TEST_F(FirstReadTest, RecordsAfterTheRequestDoNotCostTheAnswer)
{
    // A web server may send a management record behind a request without FCGI_KEEP_CONN:
    // both are answered, and the close after END_REQUEST loses none of the reply.
    hold();
    RawFcgiClient c(sock);
    ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("GET", "/hello")) +
                       wire::record(wire::get_values, 0, wire::pair("FCGI_MAX_CONNS", ""))));
    release();
    auto r = c.read_reply(1);
    ASSERT_TRUE(r.ended);
    EXPECT_EQ(r.body(), "hello");
    EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(FirstReadTest, RequestWrittenRightAfterTheConnectIsAwaitedUnwatched)
{
    // mod_fcgid connects, then writes: the idle server waits (bounded) for those bytes
    // instead of putting the connection in the epoll set. Past the bound it watches it.
    RawFcgiClient soon(sock);
    std::this_thread::sleep_for(10ms); // accepted meanwhile, first read empty
    ASSERT_TRUE(soon.send(wire::request(1, wire::cgi_params("GET", "/sockets"))));
    auto first = soon.read_reply(1);
    ASSERT_TRUE(first.ended);
    EXPECT_TRUE(soon.closed_by_peer());

    RawFcgiClient late(sock);
    std::this_thread::sleep_for(300ms); // well past the wait
    ASSERT_TRUE(late.send(wire::request(1, wire::cgi_params("GET", "/sockets"))));
    auto second = late.read_reply(1);
    ASSERT_TRUE(second.ended);
    EXPECT_TRUE(late.closed_by_peer());

    // After those, a server that now waits before its first recv and accept4 still
    // serves a request that was there before the accept, without the epoll set.
    hold();
    RawFcgiClient whole(sock);
    ASSERT_TRUE(whole.send(wire::request(1, wire::cgi_params("GET", "/sockets"))));
    release();
    auto third = whole.read_reply(1);
    ASSERT_TRUE(third.ended);
    EXPECT_TRUE(whole.closed_by_peer());

    auto [watched_soon, inheritable_soon] = parse_report(first.body());
    auto [watched_late, inheritable_late] = parse_report(second.body());
    auto [watched_whole, inheritable_whole] = parse_report(third.body());
    EXPECT_EQ(watched_soon + 1, watched_late) << first.body() << " / " << second.body();
    EXPECT_EQ(watched_soon, watched_whole) << first.body() << " / " << third.body();
}
