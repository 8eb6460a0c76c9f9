// StreamServer with a C++ handler (no Python), driven by raw sockets: a good request of
// each protocol, and the bad input a web server or a stray client may send, each
// answered with its status and logged with the reason, the server serving on.
#include "../cgi/env_builder.hpp" // CapturedLog
#include "process.hpp"
#include "wsgibridge/stream_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge;
using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

// Answers 200 with "METHOD SCRIPT_NAME|PATH_INFO scheme" and the body read.
class EchoHandler final : public RequestHandler
{
public:
    void handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept override
    {
        std::string out = std::string(req.method) + " " + std::string(req.script_name) + "|" +
                          std::string(req.path_info) + " " + std::string(req.scheme) + " ";
        char buf[4096];
        for (;;) {
            auto n = body.read({buf, sizeof buf});
            if (!n || *n == 0) break;
            out.append(buf, *n);
        }
        Header h{"Content-Type", "text/plain"};
        ResponseHead head;
        head.status = "200 OK";
        head.headers = {&h, 1};
        head.content_length = out.size();
        head.content_length_computed = true;
        sink.start(head);
        sink.write(out);
        sink.finish();
    }
};

struct Served
{
    CapturedLog log;
    AccessLog access;
    EchoHandler handler;
    std::unique_ptr<StreamServer> server;
    std::thread thread;
    unsigned short port = 0;

    explicit Served(StreamProtocol protocol, Limits limits = {}, std::string mount = {},
                    unsigned threads = 2)
    {
        StreamServerOptions o;
        o.protocol = protocol;
        port = free_tcp_port();
        o.bind = "127.0.0.1:" + std::to_string(port);
        o.threads = threads;
        o.limits = limits;
        o.mount = mount;
        o.handle_signals = false;
        server = std::make_unique<StreamServer>(o, handler, log.logger(), access);
        thread = std::thread([this] { server->run(); });
    }
    std::string stop_and_log()
    {
        server->stop();
        thread.join();
        return log.text();
    }
    ~Served()
    {
        if (thread.joinable()) stop_and_log();
    }
};

std::string scgi(std::vector<std::pair<std::string, std::string>> vars, std::string body = {})
{
    std::string block;
    for (const auto& [k, v] : vars)
        (((block += k) += '\0') += v) += '\0';
    return std::to_string(block.size()) + ":" + block + "," + body;
}

std::string uwsgi(std::vector<std::pair<std::string, std::string>> vars, char modifier1 = 0)
{
    std::string block;
    auto u16 = [&block](std::size_t n) {
        block += static_cast<char>(n & 0xff);
        block += static_cast<char>(n >> 8);
    };
    for (const auto& [k, v] : vars) {
        u16(k.size());
        block += k;
        u16(v.size());
        block += v;
    }
    return std::string{modifier1, static_cast<char>(block.size() & 0xff),
                       static_cast<char>(block.size() >> 8), '\0'} +
           block;
}

/// Sends `pieces` to 127.0.0.1:port one at a time, 20 ms apart (a head and body split
/// across reads), then reads until the server closes.
std::string exchange_in_pieces(unsigned short port, const std::vector<std::string>& pieces)
{
    int fd = connect_loopback(port);
    if (fd < 0) return "<connect failed>";
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (const auto& piece : pieces) {
        if (::send(fd, piece.data(), piece.size(), MSG_NOSIGNAL) < 0) break;
        std::this_thread::sleep_for(20ms);
    }
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[65536];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
        out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
}

} // namespace

// The head is read with as few reads as it takes (the first usually holds all of it and
// the start of the body); whatever way it arrives, the request is the same.
TEST(StreamServer, HeadAndBodyHoweverTheyArrive)
{
    for (unsigned threads : {1u, 2u}) {
        SCOPED_TRACE(threads);
        Served s(StreamProtocol::uwsgi, {}, {}, threads);
        auto head = uwsgi({{"REQUEST_METHOD", "POST"},
                           {"CONTENT_LENGTH", "10"},
                           {"PATH_INFO", "/x"},
                           {"REQUEST_URI", "/x"}});
        // Byte by byte through the packet header, then the rest split inside the vars
        // and inside the body.
        std::vector<std::string> pieces;
        for (int i = 0; i < 4; ++i)
            pieces.push_back(head.substr(i, 1));
        pieces.push_back(head.substr(4, 10));
        pieces.push_back(head.substr(14) + "01234");
        pieces.push_back("56789");
        auto split = exchange_in_pieces(s.port, pieces);
        EXPECT_TRUE(split.ends_with("\r\n\r\nPOST |/x http 0123456789")) << split;
        // All at once, with bytes past CONTENT_LENGTH (not the body: one request per
        // connection).
        auto whole = raw_exchange(s.port, head + "0123456789extra");
        EXPECT_TRUE(whole.ends_with("\r\n\r\nPOST |/x http 0123456789")) << whole;
        // A head larger than the first read, and a body larger than what came with it.
        std::string body(100'000, 'b');
        auto big = raw_exchange(s.port, uwsgi({{"REQUEST_METHOD", "PUT"},
                                               {"CONTENT_LENGTH", std::to_string(body.size())},
                                               {"HTTP_COOKIE", std::string(20'000, 'c')},
                                               {"PATH_INFO", "/big"}}) +
                                            body);
        EXPECT_TRUE(big.ends_with("\r\n\r\nPUT |/big http " + body)) << big.substr(0, 300);
        // SCGI: the netstring length itself split.
        Served scgi_server(StreamProtocol::scgi, {}, {}, threads);
        auto netstring =
            scgi({{"CONTENT_LENGTH", "3"}, {"SCGI", "1"}, {"REQUEST_METHOD", "POST"}}, "abc");
        auto scgi_split =
            exchange_in_pieces(scgi_server.port, {netstring.substr(0, 1), netstring.substr(1, 5),
                                                  netstring.substr(6)});
        EXPECT_TRUE(scgi_split.ends_with("\r\n\r\nPOST | http abc")) << scgi_split;
    }
}

TEST(StreamServer, ScgiRequestAndBadHeads)
{
    Limits limits;
    limits.max_header_bytes = 512;
    limits.header_timeout = 300ms;
    Served s(StreamProtocol::scgi, limits, "/app");
    auto ok = raw_exchange(s.port, scgi({{"CONTENT_LENGTH", "5"},
                                         {"SCGI", "1"},
                                         {"REQUEST_METHOD", "POST"},
                                         {"REQUEST_URI", "/app/x"},
                                         {"HTTPS", "on"}},
                                        "hello"));
    // A CGI head (RFC 3875 §6): Status and the application's headers, nothing added.
    EXPECT_EQ(ok, "Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 24\r\n\r\n"
                  "POST /app|/x https hello")
        << ok;

    // SCGI 1.0: CONTENT_LENGTH must come first
    auto bad = raw_exchange(s.port, scgi({{"SCGI", "1"}, {"CONTENT_LENGTH", "0"}}));
    EXPECT_TRUE(bad.starts_with("Status: 400 ")) << bad;
    // over --max-header-bytes
    auto big = raw_exchange(
        s.port,
        scgi({{"CONTENT_LENGTH", "0"}, {"SCGI", "1"}, {"HTTP_COOKIE", std::string(600, 'c')}}));
    EXPECT_TRUE(big.starts_with("Status: 431 ")) << big;
    // not a netstring at all
    auto junk = raw_exchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(junk.starts_with("Status: 400 ")) << junk;
    // a head that never completes: closed after --header-timeout, no answer
    auto slow = raw_exchange(s.port, "100:CONTENT_LENGTH", 2s);
    EXPECT_EQ(slow, "");
    // and serving goes on
    EXPECT_TRUE(raw_exchange(s.port, scgi({{"CONTENT_LENGTH", "0"},
                                           {"SCGI", "1"},
                                           {"REQUEST_METHOD", "GET"},
                                           {"REQUEST_URI", "/app/"}}))
                    .starts_with("Status: 200 OK"));

    auto log = s.stop_and_log();
    EXPECT_NE(log.find("the first header is not CONTENT_LENGTH"), std::string::npos) << log;
    EXPECT_NE(log.find("--max-header-bytes"), std::string::npos) << log;
    EXPECT_NE(log.find("netstring length"), std::string::npos) << log;
    EXPECT_NE(log.find("--header-timeout"), std::string::npos) << log;
}

TEST(StreamServer, UwsgiRequestAndBadHeads)
{
    Limits limits;
    limits.max_body_bytes = 10;
    Served s(StreamProtocol::uwsgi, limits);
    auto ok = raw_exchange(s.port, uwsgi({{"REQUEST_METHOD", "GET"},
                                          {"SERVER_PROTOCOL", "HTTP/1.1"},
                                          {"PATH_INFO", "/app/x"},
                                          {"REQUEST_URI", "/app/x"},
                                          {"UWSGI_SCRIPT_NAME", "/app"},
                                          {"UWSGI_SCHEME", "https"}}));
    // The status line and the application's headers only, as uWSGI answers: the web
    // server in front writes Date and owns the client connection.
    EXPECT_EQ(ok, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n\r\n"
                  "GET /app|/x https ")
        << ok;

    auto modifier = raw_exchange(s.port, uwsgi({{"REQUEST_METHOD", "GET"}}, 5));
    EXPECT_TRUE(modifier.starts_with("HTTP/1.1 400 ")) << modifier;
    auto too_big = raw_exchange(
        s.port, uwsgi({{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "11"}}) + "01234567890");
    EXPECT_NE(too_big.find(" 413 "), std::string::npos) << too_big;
    // a key size running past the vars block
    auto malformed = raw_exchange(s.port, std::string("\0\x08\0\0\x0e\0REQUES", 12));
    EXPECT_TRUE(malformed.starts_with("HTTP/1.1 400 ")) << malformed;

    auto log = s.stop_and_log();
    EXPECT_NE(log.find("modifier1 5"), std::string::npos) << log;
    EXPECT_NE(log.find("--max-body"), std::string::npos) << log;
    EXPECT_NE(log.find("bad uwsgi vars block"), std::string::npos) << log;
}
