// The HTTP front end over real loopback sockets with a C++ handler: framing, limits,
// keep-alive, pipelining, 100-continue and timeouts.
#include "loopback.hpp"
#include "wsgibridge/listener.hpp"

#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace wsgibridge;
using namespace wsgibridge::test;
using namespace std::chrono_literals;

TEST(HttpServer, SimpleGetWithDateAndServer)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send("GET /a%20b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    auto r = c.read_response();
    EXPECT_EQ(status_of(r), "HTTP/1.1 200 OK");
    EXPECT_EQ(body_of(r), "GET |/a b?x=1");
    EXPECT_NE(r.find("\r\nDate: "), std::string::npos);
    EXPECT_NE(r.find("\r\nServer: wsgi-bridge\r\n"), std::string::npos);
}

TEST(HttpServer, PipelinedRequestsInOnePacket)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send("GET /one HTTP/1.1\r\nHost: h\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\n\r\n"
           "GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    auto all = c.read_until_close();
    auto one = all.find("GET |/one?"), two = all.find("GET |/two?"),
         three = all.find("GET |/three?");
    ASSERT_NE(one, std::string::npos) << all;
    ASSERT_NE(two, std::string::npos) << all;
    ASSERT_NE(three, std::string::npos) << all;
    EXPECT_LT(one, two);
    EXPECT_LT(two, three);
    EXPECT_EQ(s.handler.calls, 3);
    EXPECT_NE(all.find("Connection: close"), std::string::npos);
}

TEST(HttpServer, KeepAliveReusesTheConnection)
{
    LoopbackServer s;
    RawClient c(s.port());
    for (int i = 0; i < 3; ++i) {
        c.send("GET /k HTTP/1.1\r\nHost: h\r\n\r\n");
        EXPECT_EQ(body_of(c.read_response()), "GET |/k?");
    }
    EXPECT_EQ(s.handler.calls, 3);
}

TEST(HttpServer, Http10ClosesUnlessAsked)
{
    LoopbackServer s;
    {
        RawClient c(s.port());
        c.send("GET /x HTTP/1.0\r\n\r\n");
        auto r = c.read_response();
        EXPECT_NE(r.find("Connection: close"), std::string::npos);
        EXPECT_TRUE(c.closed_within(2s));
    }
    RawClient c(s.port());
    c.send("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    auto r = c.read_response();
    EXPECT_NE(r.find("Connection: keep-alive"), std::string::npos);
    c.send("GET /y HTTP/1.0\r\n\r\n");
    EXPECT_EQ(body_of(c.read_response()), "GET |/y?");
}

TEST(HttpServer, ChunkedBodyIsDechunked)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n");
    auto r = c.read_response();
    EXPECT_EQ(status_of(r), "HTTP/1.1 200 OK");
    EXPECT_EQ(body_of(r), "hello world");
    // The connection stays usable after a chunked body with a trailer.
    c.send("GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(body_of(c.read_response()), "GET |/after?");
}

TEST(HttpServer, ContentLengthBodyArrivingInPieces)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhel");
    std::this_thread::sleep_for(50ms);
    c.send("lo world");
    EXPECT_EQ(body_of(c.read_response()), "hello world");
}

TEST(HttpServer, ContinueOnlyWhenTheBodyIsRead)
{
    LoopbackServer s;
    {
        RawClient c(s.port());
        c.send(
            "POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
        auto interim = c.read_response();
        EXPECT_EQ(status_of(interim), "HTTP/1.1 100 Continue");
        c.send("hello");
        EXPECT_EQ(body_of(c.read_response()), "hello");
    }
    RawClient c(s.port());
    c.send("POST /noread HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    auto r = c.read_until_close();
    EXPECT_EQ(status_of(r), "HTTP/1.1 200 OK");
    EXPECT_EQ(r.find("100 Continue"), std::string::npos);
}

TEST(HttpServer, UnreadBodyIsDrainedBeforeTheNextRequest)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send("POST /noread HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n" +
           std::string(1000, 'x') + "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(body_of(c.read_response()), "POST |/noread?");
    EXPECT_EQ(body_of(c.read_response()), "GET |/next?");
}

TEST(HttpServer, UndrainableBodyClosesTheConnection)
{
    Limits l;
    l.max_drain_bytes = 100;
    LoopbackServer s(l);
    RawClient c(s.port());
    c.send("POST /noread HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n" +
           std::string(1000, 'x'));
    auto r = c.read_until_close();
    EXPECT_EQ(status_of(r), "HTTP/1.1 200 OK");
}

TEST(HttpServer, HeadKeepsLengthWithoutBody)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n");
    // A HEAD response keeps its Content-Length (9 = "HEAD |/x?") but has no body: the
    // next response starts right after its head.
    auto both = c.read_until_close(1s);
    auto second = both.find("HTTP/1.1 200 OK", 1);
    ASSERT_NE(second, std::string::npos) << both;
    auto head = both.substr(0, second);
    EXPECT_NE(head.find("Content-Length: 9\r\n"), std::string::npos) << head;
    EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
    EXPECT_TRUE(both.ends_with("GET |/y?")) << both;
}

TEST(HttpServer, StreamingResponseIsChunked)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send("GET /stream HTTP/1.1\r\nHost: h\r\n\r\n");
    auto r = c.read_response();
    EXPECT_NE(r.find("Transfer-Encoding: chunked"), std::string::npos);
    EXPECT_NE(r.find("\r\n4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n0\r\n\r\n"), std::string::npos)
        << r;
}

TEST(HttpServer, StreamingResponseTo10ClosesTheConnection)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    auto r = c.read_until_close();
    EXPECT_EQ(body_of(r), "one two three");
    EXPECT_NE(r.find("Connection: close"), std::string::npos);
}

TEST(HttpServer, OutsideTheMountIs404WithoutTheHandler)
{
    LoopbackServer s({}, "127.0.0.1:0", "/app");
    RawClient c(s.port());
    c.send("GET /other HTTP/1.1\r\nHost: h\r\n\r\nGET /app/in HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(status_of(c.read_response()), "HTTP/1.1 404 Not Found");
    EXPECT_EQ(body_of(c.read_response()), "GET /app|/in?");
    EXPECT_EQ(s.handler.calls, 1);
}

TEST(HttpServer, UnixSocketWithMode)
{
    auto path = std::filesystem::temp_directory_path() /
                ("http_unit_" + std::to_string(::getpid()) + ".sock");
    {
        // A stale file left by a killed server (bound, never unlinked) does not stop us.
        std::filesystem::remove(path);
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        ::close(fd);
        ASSERT_TRUE(std::filesystem::exists(path));
    }
    auto s = std::make_unique<LoopbackServer>(Limits{}, "unix:" + path.string());
    struct stat st
    {
    };
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0666u);
    {
        RawClient c(path);
        c.send("GET /u HTTP/1.1\r\nHost: localhost\r\n\r\n");
        EXPECT_EQ(body_of(c.read_response()), "GET |/u?");
    }
    s.reset();
    EXPECT_FALSE(std::filesystem::exists(path)) << "the socket file outlived the server";
}

// The library's HttpServer removes the socket file it bound when it stops (not only when
// destroyed), before closing the socket: a server started at the same path after the stop
// keeps its file when the old object goes. A fork()ed child's copy never removes the
// parent's file (a pre-fork program that binds, then forks).
TEST(HttpServer, RemovesItsSocketFileWhenItStopsOnlyInTheBindingProcess)
{
    auto path = std::filesystem::temp_directory_path() /
                ("http_unit_stop_" + std::to_string(::getpid()) + ".sock");
    std::filesystem::remove(path);
    TestHandler handler;
    Logger log(2, LogLevel::warning);
    AccessLog access;
    HttpServerOptions o;
    o.bind = "unix:" + path.string();
    o.threads = 1;
    o.handle_signals = false;
    auto first = std::make_unique<HttpServer>(o, handler, log, access);

    pid_t child = ::fork();
    ASSERT_NE(child, -1);
    if (child == 0) {
        first.reset(); // the child's copy of the bound server goes away
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_TRUE(std::filesystem::exists(path)) << "a forked child removed the parent's file";

    std::thread runner([&] { first->run(); });
    // Connect only once the server waits for connections in its reactor: a queued
    // connection is taken by a direct accept and would not show a reactor the child's
    // going away had broken (the epoll set is shared across fork()).
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    {
        RawClient c(path);
        c.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
        EXPECT_EQ(body_of(c.read_response()), "GET |/a?");
    }
    first->stop();
    runner.join();
    EXPECT_FALSE(std::filesystem::exists(path)) << "stopped, the server left its socket file";

    // The next server at the path, while the stopped one still exists.
    HttpServer second(o, handler, log, access);
    first.reset();
    EXPECT_TRUE(std::filesystem::exists(path)) << "the old server removed the new one's file";
    std::thread second_runner([&] { second.run(); });
    {
        RawClient c(path);
        c.send("GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
        EXPECT_EQ(body_of(c.read_response()), "GET |/b?");
    }
    second.stop();
    second_runner.join();
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(HttpServer, InheritedListenerIsServedAndLeftToItsOwner)
{
    // What a pre-fork worker does: serve the parent's socket. The parent closes the fd and
    // removes the file; a worker that stops must do neither (the others still serve it).
    auto path = std::filesystem::temp_directory_path() /
                ("http_unit_inherited_" + std::to_string(::getpid()) + ".sock");
    std::filesystem::remove(path);
    Listener listener("unix:" + path.string(), 0);
    int fd = listener.fd();
    {
        TestHandler handler;
        Logger log(2, LogLevel::warning);
        AccessLog access;
        HttpServerOptions o;
        o.bind = "127.0.0.1:1"; // ignored: listen_fd wins
        o.listen_fd = fd;
        o.threads = 1;
        o.handle_signals = false;
        HttpServer server(o, handler, log, access);
        EXPECT_EQ(server.local_endpoint(), "unix:" + path.string());
        std::thread runner([&] { server.run(); });
        {
            RawClient c(path);
            c.send("GET /in HTTP/1.1\r\nHost: h\r\n\r\n");
            EXPECT_EQ(body_of(c.read_response()), "GET |/in?");
        }
        server.stop();
        runner.join();
    }
    EXPECT_NE(::fcntl(fd, F_GETFD), -1) << "the server closed a socket it does not own";
    EXPECT_TRUE(std::filesystem::exists(path)) << "the server removed a file it did not create";
    // Still listening: a new connection waits in the backlog for the next worker.
    EXPECT_NO_THROW({ RawClient again(path); });
    listener = Listener(); // the owner closes the socket and removes its file
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(HttpServer, Ipv6Loopback)
{
    std::unique_ptr<LoopbackServer> s;
    try {
        s = std::make_unique<LoopbackServer>(Limits{}, "[::1]:0");
    } catch (const std::exception& e) {
        GTEST_SKIP() << "no IPv6 loopback: " << e.what();
    }
    EXPECT_EQ(s->server().local_endpoint().substr(0, 6), "[::1]:");
}

TEST(HttpServer, StopFinishesTheInFlightRequest)
{
    auto s = std::make_unique<LoopbackServer>();
    RawClient c(s->port());
    c.send("GET /sleep HTTP/1.1\r\nHost: h\r\n\r\n");
    std::this_thread::sleep_for(100ms);      // the handler is running
    std::thread stopper([&] { s.reset(); }); // stop() + join
    auto r = c.read_until_close(3s);
    stopper.join();
    EXPECT_EQ(status_of(r), "HTTP/1.1 200 OK");
    EXPECT_EQ(body_of(r), "slept");
    EXPECT_NE(r.find("Connection: close"), std::string::npos);
}

TEST(HttpServer, HandlerWithoutResponseGets500AndClose)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send("GET /noresponse HTTP/1.1\r\nHost: h\r\n\r\n");
    auto r = c.read_until_close(2s);
    EXPECT_EQ(status_of(r), "HTTP/1.1 500 Internal Server Error");
    EXPECT_NE(r.find("Connection: close"), std::string::npos);
}

TEST(HttpServer, AbortClosesWithoutTheLastChunk)
{
    LoopbackServer s;
    RawClient c(s.port());
    c.send("GET /abort HTTP/1.1\r\nHost: h\r\n\r\n");
    auto r = c.read_until_close(2s);
    EXPECT_EQ(status_of(r), "HTTP/1.1 200 OK");
    EXPECT_TRUE(r.ends_with("7\r\npartial\r\n")) << r; // incomplete: the client can tell
    EXPECT_EQ(r.find("0\r\n\r\n"), std::string::npos);
}

TEST(HttpServer, SendFileWithLengthAndChunked)
{
    auto path =
        std::filesystem::temp_directory_path() / ("http_unit_file_" + std::to_string(::getpid()));
    std::string content(100000, 'x');
    for (std::size_t i = 0; i < content.size(); ++i)
        content[i] = static_cast<char>('a' + i % 26);
    {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_EQ(::write(fd, content.data(), content.size()),
                  static_cast<ssize_t>(content.size()));
        ::close(fd);
    }
    LoopbackServer s;
    RawClient c(s.port());
    c.send("GET /file?" + path.string() + " HTTP/1.1\r\nHost: h\r\n\r\n");
    auto r = c.read_response();
    EXPECT_NE(r.find("Content-Length: 99998\r\n"), std::string::npos);
    EXPECT_TRUE(body_of(r) == content.substr(2)) << "sent file differs";

    c.send("GET /file-chunked?" + path.string() + " HTTP/1.1\r\nHost: h\r\n\r\n");
    r = c.read_response();
    std::string expected =
        "\r\n\r\n" + std::string("1869e\r\n") + content.substr(2) + "\r\n0\r\n\r\n";
    EXPECT_TRUE(r.ends_with(expected)) << r.substr(0, 300);
    std::filesystem::remove(path);
}

TEST(HttpServer, ThousandsOfPipelinedRequestsInOrder)
{
    // Served by direct calls a few at a time, then through the io_context: the stack
    // stays shallow however many requests one client queues.
    LoopbackServer s;
    RawClient c(s.port());
    constexpr int count = 3000;
    std::string batch;
    for (int i = 0; i < count; ++i)
        batch += "GET /p" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\n\r\n";
    std::thread sender([&] { c.send(batch); });
    int in_order = 0;
    for (int i = 0; i < count; ++i)
        in_order += body_of(c.read_response()) == "GET |/p" + std::to_string(i) + "?";
    sender.join();
    EXPECT_EQ(in_order, count);
    EXPECT_EQ(s.handler.calls, count);
}
