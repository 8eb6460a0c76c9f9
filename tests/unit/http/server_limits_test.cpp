// The HTTP front end's refusals over loopback: every malformed, oversized or stalled
// request gets its status (400, 408, 413, 431, 501, 505), a log line naming the option,
// and never reaches the handler.
#include "loopback.hpp"

#include <gtest/gtest.h>
#include <thread>

using namespace wsgibridge;
using namespace wsgibridge::test;
using namespace std::chrono_literals;

TEST(HttpServer, ContentLengthAndTransferEncodingIs400)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send(
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n0\r\n\r\n");
    auto r = c.read_until_close();
    EXPECT_EQ(status_of(r), "HTTP/1.1 400 Bad Request");
    EXPECT_NE(r.find("Connection: close"), std::string::npos);
    EXPECT_EQ(s.handler.calls, 0);
    EXPECT_NE(s.log_text().find("RFC 9112"), std::string::npos);
}

TEST(HttpServer, DifferingDuplicateContentLengthIs400)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send(
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
    EXPECT_EQ(status_of(c.read_until_close()), "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(s.handler.calls, 0);
}

TEST(HttpServer, BadChunkSizeIs400BeforeTheHandler)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
           "chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
    EXPECT_EQ(status_of(c.read_until_close()), "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(s.handler.calls, 0);
}

TEST(HttpServer, UnknownTransferEncodingIs501)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n");
    EXPECT_EQ(status_of(c.read_until_close()), "HTTP/1.1 501 Not Implemented");
    EXPECT_EQ(s.handler.calls, 0);
}

TEST(HttpServer, OversizedHeadIs431)
{
    Limits l;
    l.max_header_bytes = 1024;
    LoopbackServer s(l);
    RawClient c(s.port());
    c.send("GET / HTTP/1.1\r\nHost: h\r\nCookie: " + std::string(2000, 'a') + "\r\n\r\n");
    EXPECT_EQ(status_of(c.read_until_close()), "HTTP/1.1 431 Request Header Fields Too Large");
    EXPECT_EQ(s.handler.calls, 0);
    EXPECT_NE(s.log_text().find("--max-header-bytes (1024 bytes)"), std::string::npos)
        << s.log_text();
}

TEST(HttpServer, TooManyHeadersIs431)
{
    Limits l;
    l.max_header_count = 5;
    LoopbackServer s(l);
    RawClient c(s.port());
    std::string req = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < 6; ++i)
        req += "X-" + std::to_string(i) + ": v\r\n";
    c.send(req + "\r\n");
    EXPECT_EQ(status_of(c.read_until_close()), "HTTP/1.1 431 Request Header Fields Too Large");
    EXPECT_NE(s.log_text().find("--max-header-count (5)"), std::string::npos);
}

TEST(HttpServer, DeclaredBodyTooLargeIs413WithoutTheHandler)
{
    Limits l;
    l.max_body_bytes = 10;
    LoopbackServer s(l);
    RawClient c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world");
    EXPECT_EQ(status_of(c.read_until_close()), "HTTP/1.1 413 Content Too Large");
    EXPECT_EQ(s.handler.calls, 0);
    EXPECT_NE(s.log_text().find("--max-body (10 bytes)"), std::string::npos);
}

TEST(HttpServer, ChunkedBodyGrowingPastTheLimitIs413)
{
    Limits l;
    l.max_body_bytes = 10;
    LoopbackServer s(l);
    RawClient c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
           "6\r\nhello \r\n6\r\nworld!\r\n0\r\n\r\n");
    auto r = c.read_until_close();
    EXPECT_EQ(status_of(r), "HTTP/1.1 413 Content Too Large");
    EXPECT_NE(r.find("Connection: close"), std::string::npos);
    EXPECT_NE(s.log_text().find("--max-body"), std::string::npos);
}

TEST(HttpServer, HeaderTimeoutAnswers408AndCloses)
{
    Limits l;
    l.header_timeout = 300ms;
    LoopbackServer s(l);
    RawClient c(s.port());
    auto start = std::chrono::steady_clock::now();
    c.send("GET / HTTP/1.1\r\nHost: h\r\n"); // never finished
    auto r = c.read_until_close(3s);
    EXPECT_EQ(status_of(r), "HTTP/1.1 408 Request Timeout");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_NE(s.log_text().find("--header-timeout"), std::string::npos);
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosedQuietly)
{
    Limits l;
    l.idle_timeout = 200ms;
    LoopbackServer s(l);
    RawClient c(s.port());
    c.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(status_of(c.read_response()), "HTTP/1.1 200 OK");
    EXPECT_TRUE(c.closed_within(2s));
    EXPECT_EQ(c.read_until_close(100ms), ""); // no 408 for an idle connection
}

// The idle deadline moves with each request without re-arming the timer: the wait armed
// for the first one fires while a later deadline applies, and waits again for the rest.
TEST(HttpServer, IdleTimeoutCountsFromTheLastRequest)
{
    Limits l;
    l.idle_timeout = 300ms;
    LoopbackServer s(l);
    RawClient c(s.port());
    for (int i = 0; i < 4; ++i) { // 4 x 200 ms: longer than one idle timeout in all
        c.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
        EXPECT_EQ(status_of(c.read_response()), "HTTP/1.1 200 OK") << i;
        std::this_thread::sleep_for(200ms);
    }
    c.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(status_of(c.read_response()), "HTTP/1.1 200 OK");
    EXPECT_FALSE(c.closed_within(150ms));
    EXPECT_TRUE(c.closed_within(2s));
}

// A shorter deadline than the wait pending (the header timeout after a kept-alive idle
// wait of 15 s) re-arms the timer.
TEST(HttpServer, HeaderTimeoutOnAKeptAliveConnection)
{
    Limits l;
    l.header_timeout = 300ms;
    LoopbackServer s(l);
    RawClient c(s.port());
    c.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(status_of(c.read_response()), "HTTP/1.1 200 OK");
    auto start = std::chrono::steady_clock::now();
    c.send("GET /b HTTP/1.1\r\nHost: h\r\n"); // never finished
    auto r = c.read_until_close(3s);
    EXPECT_EQ(status_of(r), "HTTP/1.1 408 Request Timeout");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(HttpServer, MalformedRequestLineIs400)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send("GET /\x01 HTTP/1.1\r\n\r\n");
    EXPECT_EQ(status_of(c.read_until_close()), "HTTP/1.1 400 Bad Request");
}

TEST(HttpServer, UnsupportedVersionIs505)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send("GET / HTTP/1.2\r\nHost: h\r\n\r\n");
    EXPECT_EQ(status_of(c.read_until_close()), "HTTP/1.1 505 HTTP Version Not Supported");
}

TEST(HttpServer, StalledBodyTimesOutAndCloses)
{
    Limits l;
    l.io_timeout = 300ms;
    LoopbackServer s(l);
    RawClient c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc"); // 7 never come
    auto r = c.read_until_close(3s);
    EXPECT_EQ(status_of(r).substr(0, 12), "HTTP/1.1 408") << r;
    EXPECT_NE(r.find("Connection: close"), std::string::npos);
    EXPECT_NE(s.log_text().find("--io-timeout"), std::string::npos);
}
