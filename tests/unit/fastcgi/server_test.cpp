// The server through a raw FastCGI client: framing, keep-conn, management, roles,
// errors answered as HTTP responses, multiplexing.
#include "server_fixture.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge;
using namespace wsgibridge::test;
using namespace std::chrono_literals;
namespace wire = wsgibridge::test::fcgi;

TEST_F(FcgiServerTest, HelloOverTcp)
{
    start();
    RawFcgiClient c(port());
    ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("GET", "/hello"))));
    auto r = c.read_reply(1);
    ASSERT_TRUE(r.ended);
    EXPECT_EQ(r.protocol_status, 0);
    EXPECT_EQ(r.app_status, 0u);
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.header("Content-Length"), "5");
    EXPECT_EQ(r.body(), "hello");
    EXPECT_EQ(r.empty_stdout_records, 1u);
    EXPECT_TRUE(r.padding_ok);
    EXPECT_TRUE(c.closed_by_peer()); // no FCGI_KEEP_CONN: closed after the request
}

TEST_F(FcgiServerTest, HelloOverUnixSocketOneByteAtATime)
{
    FastcgiServerOptions o;
    o.bind = "unix:" + (dir / "s.sock").string();
    start(o);
    RawFcgiClient c(dir / "s.sock");
    ASSERT_TRUE(c.send_slowly(wire::request(1, wire::cgi_params("GET", "/hello")), 1));
    auto r = c.read_reply(1);
    EXPECT_EQ(r.body(), "hello");
}

TEST_F(FcgiServerTest, PairStraddlingTwoParamsRecords)
{
    start();
    std::string pairs;
    for (const auto& [n, v] : wire::cgi_params("GET", "/env"))
        pairs += wire::pair(n, v);
    pairs += wire::pair("HTTP_X_LONG", std::string(300, 'x'));
    std::string bytes = wire::begin(1);
    std::size_t cut = pairs.size() - 150; // inside the X_LONG value
    bytes += wire::record(wire::params_type, 1, pairs.substr(0, cut), 3);
    bytes += wire::record(wire::params_type, 1, pairs.substr(cut));
    bytes += wire::record(wire::params_type, 1, "");
    bytes += wire::record(wire::stdin_stream, 1, "");
    RawFcgiClient c(port());
    ASSERT_TRUE(c.send(bytes));
    auto r = c.read_reply(1);
    EXPECT_NE(r.body().find("X-LONG=300\n"), std::string::npos) << r.body();
}

TEST_F(FcgiServerTest, KeepConnReusesTheConnectionAndId)
{
    start();
    RawFcgiClient c(port());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(c.send(
            wire::request(1, wire::cgi_params("POST", "/echo"), "n" + std::to_string(i), true)));
        auto r = c.read_reply(1);
        ASSERT_TRUE(r.ended) << i;
        EXPECT_EQ(r.body(), "n" + std::to_string(i));
    }
    EXPECT_FALSE(c.closed_by_peer(300ms));
    EXPECT_EQ(handler.handled, 3);
}

TEST_F(FcgiServerTest, ManagementRecords)
{
    FastcgiServerOptions o;
    o.max_connections = 7;
    o.max_requests_in_flight = 9;
    start(o);
    RawFcgiClient c(port());
    std::string q = wire::pair("FCGI_MAX_CONNS", "") + wire::pair("FCGI_MAX_REQS", "") +
                    wire::pair("FCGI_MPXS_CONNS", "") + wire::pair("NOPE", "");
    ASSERT_TRUE(c.send(wire::record(wire::get_values, 0, q)));
    auto rec = c.read_record();
    EXPECT_EQ(rec.type, wire::get_values_result);
    EXPECT_EQ(rec.id, 0);
    EXPECT_EQ(rec.content, wire::pair("FCGI_MAX_CONNS", "7") + wire::pair("FCGI_MAX_REQS", "9") +
                               wire::pair("FCGI_MPXS_CONNS", "1"));
    ASSERT_TRUE(c.send(wire::record(42, 0, "")));
    rec = c.read_record();
    EXPECT_EQ(rec.type, wire::unknown_type);
    EXPECT_EQ(rec.content, std::string("\x2a\0\0\0\0\0\0\0", 8));
    // type 42 on a live id, and records for an inactive id, are ignored
    ASSERT_TRUE(c.send(
        wire::begin(1) + wire::record(42, 1, "zz") + wire::record(wire::stdin_stream, 5, "x") +
        wire::params(1, wire::cgi_params("GET", "/hello")) + wire::stdin_body(1, "")));
    auto r = c.read_reply(1);
    EXPECT_EQ(r.body(), "hello");
}

TEST_F(FcgiServerTest, VersionTwoClosesTheConnection)
{
    start();
    RawFcgiClient c(port());
    ASSERT_TRUE(c.send(wire::record(wire::begin_request, 1, std::string(8, '\0'), 0, 2)));
    EXPECT_TRUE(c.closed_by_peer());
    EXPECT_EQ(handler.handled, 0);
}

TEST_F(FcgiServerTest, FilterRoleIsUnknownAuthorizerIsServed)
{
    start();
    RawFcgiClient c(port());
    ASSERT_TRUE(c.send(wire::begin(1, 3, true)));
    auto r = c.read_reply(1);
    EXPECT_TRUE(r.ended);
    EXPECT_EQ(r.protocol_status, 3); // FCGI_UNKNOWN_ROLE
    ASSERT_TRUE(c.send(wire::begin(2, 2, true) +
                       wire::params(2, wire::cgi_params("GET", "/hello")) +
                       wire::stdin_body(2, "")));
    r = c.read_reply(2);
    EXPECT_EQ(r.status(), 200);
    // FastCGI 1.0 §6.3, the Authorizer role: the authorizer's Variable-* headers reach the web
    // server unchanged.
    ASSERT_TRUE(c.send(wire::begin(3, 2, true) +
                       wire::params(3, wire::cgi_params("GET", "/authz")) +
                       wire::stdin_body(3, "")));
    r = c.read_reply(3);
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.header("Variable-AUTHZ_USER"), "bob");
}

TEST_F(FcgiServerTest, AuthorizerIsAnsweredWithoutAnyStdin)
{
    // FastCGI §6.3: the web server sends an Authorizer no FCGI_STDIN (mod_authnz_fcgi
    // sends none, not even the empty record): its body is empty, the answer immediate.
    start();
    RawFcgiClient c(port());
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(
        c.send(wire::begin(1, 2, true) + wire::params(1, wire::cgi_params("POST", "/echo"))));
    auto r = c.read_reply(1, 3s);
    EXPECT_TRUE(r.ended);
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.body(), "");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

TEST_F(FcgiServerTest, ResponseShortOfContentLengthBreaksTheConnection)
{
    // PEP 3333 'Handling the Content-Length Header': once part of a body went out, only a broken
    // connection tells the web server the response is incomplete: no END_REQUEST, even with
    // FCGI_KEEP_CONN.
    start();
    RawFcgiClient c(port());
    ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("GET", "/short"), "", true)));
    auto r = c.read_reply(1, 2s);
    EXPECT_FALSE(r.ended);
    EXPECT_EQ(r.body(), "12345");
    EXPECT_TRUE(c.closed_by_peer());
    RawFcgiClient next(port());
    ASSERT_TRUE(next.send(wire::request(1, wire::cgi_params("GET", "/hello"))));
    EXPECT_EQ(next.read_reply(1).body(), "hello");
}

TEST_F(FcgiServerTest, InterleavedMultiplexedRequestsRunConcurrently)
{
    start();
    RawFcgiClient c(port());
    // Records of ids 1 and 2 interleaved; both requests wait for each other, so they
    // only answer "met" when served at the same time.
    auto p1 = wire::params(1, wire::cgi_params("GET", "/rendezvous"));
    auto p2 = wire::params(2, wire::cgi_params("GET", "/rendezvous"));
    ASSERT_TRUE(c.send(wire::begin(1, 1, true) + wire::begin(2, 1, true) + p2 + p1 +
                       wire::stdin_body(2, "") + wire::stdin_body(1, "")));
    auto r1 = c.read_reply(1);
    auto r2 = c.read_reply(2);
    EXPECT_EQ(r1.body(), "met");
    EXPECT_EQ(r2.body(), "met");
    // a third with a body, to check ids are not mixed
    ASSERT_TRUE(c.send(wire::request(3, wire::cgi_params("POST", "/echo"), "three", true)));
    EXPECT_EQ(c.read_reply(3).body(), "three");
}

TEST_F(FcgiServerTest, SameIdInFlightIsIgnored)
{
    start();
    RawFcgiClient c(port());
    ASSERT_TRUE(c.send(wire::begin(1, 1, true) + wire::begin(1, 1, true) +
                       wire::params(1, wire::cgi_params("GET", "/hello")) +
                       wire::stdin_body(1, "")));
    auto r = c.read_reply(1);
    EXPECT_EQ(r.body(), "hello");
    EXPECT_EQ(handler.handled, 1);
}

TEST_F(FcgiServerTest, BigBodyFramingAndEmptyChunks)
{
    start();
    RawFcgiClient c(port());
    ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("GET", "/big"), "", true)));
    auto r = c.read_reply(1);
    EXPECT_EQ(r.body(), std::string(200000, 'B'));
    EXPECT_LE(r.max_stdout_record, 65535u);
    EXPECT_EQ(r.empty_stdout_records, 1u);
    EXPECT_TRUE(r.padding_ok);
    ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("GET", "/empty-chunks"), "", true)));
    r = c.read_reply(1);
    EXPECT_EQ(r.body(), "ab");
    EXPECT_EQ(r.empty_stdout_records, 1u);
}

TEST_F(FcgiServerTest, WsgiErrorsGoToStderrRecords)
{
    start();
    RawFcgiClient c(port());
    ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("GET", "/stderr"))));
    auto r = c.read_reply(1);
    EXPECT_EQ(r.stderr_data, "something odd\n");
    EXPECT_EQ(r.body(), "ok");
    server->stop();
    runner.join();
    // FastCGI 1.0 §5.3, FCGI_STDERR, "or a log file by option": no FCGI_STDERR, the invoker logs
    // it.
    FastcgiServerOptions o;
    o.errors_to_web_server = false;
    start(o);
    RawFcgiClient c2(port());
    ASSERT_TRUE(c2.send(wire::request(1, wire::cgi_params("GET", "/stderr"))));
    r = c2.read_reply(1);
    EXPECT_EQ(r.stderr_data, "");
    EXPECT_EQ(r.body(), "yours to log");
}

TEST_F(FcgiServerTest, SendFileIsReframed)
{
    start();
    std::string content(200000, '\0');
    for (std::size_t i = 0; i < content.size(); ++i)
        content[i] = static_cast<char>('a' + i % 23);
    write_file(dir / "f.bin", content);
    RawFcgiClient c(port());
    ASSERT_TRUE(
        c.send(wire::request(1, wire::cgi_params("GET", "/file?" + (dir / "f.bin").string()))));
    auto r = c.read_reply(1);
    EXPECT_EQ(r.body(), "head:" + content.substr(3, 150000));
    EXPECT_LE(r.max_stdout_record, 65535u);
    EXPECT_TRUE(r.padding_ok);
}

namespace {
/// Sends `bytes` to [::1]:port and returns everything read until the peer closes
/// (bounded by 3 s); "" when the connection is refused or closed unanswered.
std::string exchange_v6(unsigned short port, const std::string& bytes)
{
    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_addr = in6addr_loopback;
    std::string got;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size())) {
        timeval tv{3, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[4096];
        for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
            got.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return got;
}
} // namespace

TEST_F(FcgiServerTest, WebServerAddrsFilterIpv6Peers)
{
    // FastCGI 1.0 §3.2, FCGI_WEB_SERVER_ADDRS: libfcgi checks only AF_INET peers; we check IPv6
    // peers too.
    FastcgiServerOptions o;
    o.bind = "[::1]:0";
    o.web_server_addrs = "127.0.0.1";
    start(o);
    auto request = wire::request(1, wire::cgi_params("GET", "/hello"));
    EXPECT_EQ(exchange_v6(port(), request), "") << "::1 is not in the list: closed unanswered";
    EXPECT_EQ(handler.handled, 0);
    server->stop();
    runner.join();

    o.web_server_addrs = "127.0.0.1, ::1";
    start(o);
    EXPECT_NE(exchange_v6(port(), request).find("hello"), std::string::npos);
}

TEST_F(FcgiServerTest, ResponseHeadOfAnySizeIsSentWhole)
{
    // The sink builds a usual head in a buffer of its own and a larger one on the heap:
    // both sides of that limit, and far past it, give the same CGI head (FastCGI 1.0
    // §6.2: the Responder's STDOUT is a CGI response).
    start();
    for (int n : {0, 1, 12, 13, 14, 15, 200}) {
        RawFcgiClient c(port());
        ASSERT_TRUE(
            c.send(wire::request(1, wire::cgi_params("GET", "/fields?" + std::to_string(n)))));
        auto r = c.read_reply(1);
        ASSERT_TRUE(r.ended);
        std::string want = "Status: 200 OK\r\nContent-Type: text/plain\r\n";
        for (int i = 0; i < n; ++i) {
            std::string v = std::to_string(i);
            want += "X-F" + v + ": " + std::string(20 - v.size(), '0') + v + "\r\n";
        }
        want += "Content-Length: 6\r\n\r\nfields";
        EXPECT_EQ(r.stdout_data, want) << n << " fields";
        EXPECT_TRUE(r.padding_ok);
    }
}
