// The real wsgi-http against hostile and malformed requests, over raw sockets: each
// class of invalid request gets its 4xx (never a 2xx or a 5xx), the error log names
// the reason, and the application only ever sees well-formed requests. Request-target
// forms and Host: RFC 9112 section 3.2; Content-Length: RFC 9110 section 8.6 and RFC
// 9112 section 6.3; obs-fold: RFC 9112 section 5.2; chunked bodies and trailers: RFC
// 9112 section 7.1.
#include "http_server.hpp"

#include <nlohmann/json.hpp>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

struct Case
{
    std::string name;
    std::string request;
    std::string status; ///< "400", "414", "501"
    std::string logged; ///< a piece of the error log line
};

std::string chunked_echo(const std::string& chunks)
{
    return "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks;
}

std::vector<Case> cases()
{
    const std::string get_head = " HTTP/1.1\r\nHost: h\r\n\r\n";
    return {
        {"no Host", "GET /env HTTP/1.1\r\n\r\n", "400", "without Host"},
        {"two Host", "GET /env HTTP/1.1\r\nHost: localhost\r\nHost: evil.example.com\r\n\r\n",
         "400", "more than one Host"},
        {"Host a/b", "GET /env HTTP/1.1\r\nHost: a/b\r\n\r\n", "400", "invalid Host"},
        {"Host [::1", "GET /env HTTP/1.1\r\nHost: [::1\r\n\r\n", "400", "invalid Host"},
        {"relative target", "GET foo/bar" + get_head, "400", "RFC 9112 section 3.2"},
        {"GET *", "GET *" + get_head, "400", "asterisk-form"},
        {"GET authority", "GET example.com:443" + get_head, "400", "authority-form"},
        {"bad absolute", "PUT s://]ufd/:" + get_head, "400", "RFC 9112 section 3.2"},
        {"no authority", "GET http://" + get_head, "400", "RFC 9112 section 3.2"},
        {"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "501",
         "CONNECT"},
        {"Content-Length list",
         "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello", "400",
         "Content-Length is a list"},
        {"two Content-Type",
         "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n"
         "Content-Length: 0\r\n\r\n",
         "400", "more than one Content-Type"},
        {"obs-fold Content-Length",
         "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n 5\r\n\r\nhello", "400",
         "obsolete line folding"},
        {"10,000-byte target", "GET /" + std::string(10'000, 'a') + get_head, "414",
         "--max-target-bytes"},
        {"1,000-byte method", std::string(1'000, 'M') + " /env" + get_head, "501",
         "method longer than 32 bytes"},
        {"10,000-byte method", std::string(10'000, 'M') + " /env" + get_head, "501",
         "method longer than 32 bytes"},
        {"100 KB chunk extensions",
         chunked_echo("5;" + std::string(100'000, 'x') + "\r\nhello\r\n0\r\n\r\n"), "400",
         "malformed chunked"},
        {"bare CR in chunk extension", chunked_echo("5;a\rb\r\nhello\r\n0\r\n\r\n"), "400",
         "malformed chunked"},
        {"trailer without colon", chunked_echo("5\r\nhello\r\n0\r\nNoColon\r\n\r\n"), "400",
         "malformed chunked"},
        {"folded trailer", chunked_echo("5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n"), "400",
         "obsolete line folding in the trailer"},
        {"Content-Length trailer", chunked_echo("5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n"),
         "400", "malformed chunked"},
        {"Transfer-Encoding trailer",
         chunked_echo("5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n"), "400",
         "malformed chunked"},
        {"CL and TE",
         "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
         "\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n",
         "400", "RFC 9112 section 6.3"},
        {"obfuscated TE",
         "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding : chunked\r\n"
         "\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n",
         "400", "refused with 400"},
        {"conflicting lengths",
         "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
         "hello!GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n",
         "400", "Content-Length"},
    };
}

} // namespace

TEST(WsgiHttpHardening, InvalidRequestsGetTheir4xxAndALogLine)
{
    WsgiHttpProcess s({"--app", "tests/apps/http_env_app.py", "--threads", "2"});
    ASSERT_TRUE(s.ready()) << s.error_log();
    for (const auto& c : cases()) {
        auto before = s.error_log().size();
        auto r = raw_exchange(s.port(), c.request, 5s);
        EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 " + c.status) << c.name << ":\n" << r.substr(0, 300);
        // One response, then the connection is closed: nothing smuggled behind it.
        EXPECT_EQ(r.find("HTTP/1.1", 1), std::string::npos) << c.name;
        EXPECT_NE(r.find("Connection: close"), std::string::npos) << c.name;
        auto log = s.error_log().substr(before);
        EXPECT_NE(log.find(c.logged), std::string::npos) << c.name << ":\n" << log;
        EXPECT_EQ(log.find("peer closed"), std::string::npos) << c.name << ":\n" << log;
    }
    // Still serving after all of them.
    auto r = raw_exchange(s.port(), "GET /env HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 200") << r;
}

TEST(WsgiHttpHardening, ValidEdgeCasesAreServed)
{
    WsgiHttpProcess s({"--app", "tests/apps/http_env_app.py"});
    ASSERT_TRUE(s.ready()) << s.error_log();
    auto env_of = [&](const std::string& request) {
        auto r = raw_exchange(s.port(), request, 5s);
        EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 200") << request << "\n" << r.substr(0, 300);
        return nlohmann::json::parse(r.substr(r.find("\r\n\r\n") + 4), nullptr, false);
    };
    // absolute-form: its authority replaces the Host field (RFC 9112 section 3.2.2).
    auto e = env_of("GET http://example.com/env/x?q=1 HTTP/1.1\r\nHost: other.example\r\n"
                    "Connection: close\r\n\r\n");
    EXPECT_EQ(e.value("PATH_INFO", ""), "/env/x");
    EXPECT_EQ(e.value("HTTP_HOST", ""), "example.com");
    EXPECT_EQ(e.value("SERVER_NAME", ""), "example.com");
    EXPECT_EQ(e.value("QUERY_STRING", ""), "q=1");
    e = env_of("GET /env HTTP/1.0\r\n\r\n"); // HTTP/1.0 needs no Host
    EXPECT_EQ(e.value("PATH_INFO", ""), "/env");
    e = env_of("GET /env HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(e.value("HTTP_HOST", ""), "[::1]:8080");
    e = env_of("POST /env HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Type: a/b\r\n"
               "Connection: close\r\n\r\n");
    EXPECT_EQ(e.value("CONTENT_TYPE", ""), "a/b");
    auto r = raw_exchange(s.port(), "OPTIONS * HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.substr(0, 15), "HTTP/1.1 200 OK") << r;
}
