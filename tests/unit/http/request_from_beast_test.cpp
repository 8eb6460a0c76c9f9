// Request heads parsed by Beast (sans-I/O, through parser::put) and mapped to the
// Request model, and the framing checks Beast leaves to us.
#include "http/request_from_beast.hpp"
#include "model/cgi_env.hpp"

#include <gtest/gtest.h>
#include <map>
#include <vector>

using namespace wsgibridge;
using namespace wsgibridge::http;

namespace {

struct Parsed
{
    Arena arena{8192};
    std::optional<RequestParser> parser;
    boost::beast::error_code ec;

    explicit Parsed(std::string_view text)
    {
        parser.emplace(std::piecewise_construct, std::make_tuple(),
                       std::make_tuple(ArenaAllocator<char>(arena)));
        parser->eager(false);
        parser->put(boost::asio::buffer(text.data(), text.size()), ec);
    }
    const RequestHead& head() const { return parser->get(); }
};

// Request views point into the ConnectionInfo too: it must outlive them.
const ConnectionInfo& tcp_info()
{
    static const ConnectionInfo info{"127.0.0.1", "8000", "10.1.2.3", "5555", false};
    return info;
}

} // namespace

TEST(RequestFromBeast, OriginFormWithQuery)
{
    Parsed p("GET /a/b%20c?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
    ASSERT_FALSE(p.ec) << p.ec.message();
    Request req;
    std::string path;
    ASSERT_TRUE(request_from_beast(p.head(), tcp_info(), "", path, req));
    EXPECT_EQ(req.method, "GET");
    EXPECT_EQ(req.target, "/a/b%20c?x=1&y=%20");
    EXPECT_EQ(req.script_name, "");
    EXPECT_EQ(req.path_info, "/a/b c");
    EXPECT_EQ(req.query_string, "x=1&y=%20");
    EXPECT_EQ(req.protocol, "HTTP/1.1");
    EXPECT_EQ(req.scheme, "http");
    EXPECT_EQ(req.server_name, "example.com");
    EXPECT_EQ(req.server_port, "8000");
    EXPECT_EQ(req.remote_addr, "10.1.2.3");
    EXPECT_EQ(req.remote_port, "5555");
    EXPECT_FALSE(req.content_length);
}

TEST(RequestFromBeast, PercentDecodedBytesNotUtf8)
{
    Parsed p("GET /caf%C3%A9 HTTP/1.1\r\nHost: h\r\n\r\n");
    Request req;
    std::string path;
    ASSERT_TRUE(request_from_beast(p.head(), tcp_info(), "", path, req));
    EXPECT_EQ(req.path_info, "/caf\xC3\xA9");
    EXPECT_EQ(req.path_info.size(), 6u);
}

TEST(RequestFromBeast, AbsoluteFormTarget)
{
    Parsed p("GET http://example.com/p?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
    Request req;
    std::string path;
    ASSERT_TRUE(request_from_beast(p.head(), tcp_info(), "", path, req));
    EXPECT_EQ(req.path_info, "/p");
    EXPECT_EQ(req.query_string, "q=1");
    EXPECT_EQ(req.target, "http://example.com/p?q=1");
}

TEST(RequestFromBeast, MountSplitsScriptName)
{
    Parsed p("GET /app/x/y HTTP/1.1\r\nHost: h\r\n\r\n");
    Request req;
    std::string path;
    ASSERT_TRUE(request_from_beast(p.head(), tcp_info(), "/app", path, req));
    EXPECT_EQ(req.script_name, "/app");
    EXPECT_EQ(req.path_info, "/x/y");

    Parsed outside("GET /application HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_FALSE(request_from_beast(outside.head(), tcp_info(), "/app", path, req));
}

// Beast's basic_fields files a repeated name right after its last occurrence, so
// distinct names keep their wire order and repeated ones keep theirs among themselves
// (all the environ needs: it joins them in order).
TEST(RequestFromBeast, HeadersInOrderWithDuplicates)
{
    Parsed p("POST / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nAccept: */*\r\nX-A: 2\r\n"
             "Content-Length: 5\r\n\r\n");
    ASSERT_FALSE(p.ec == boost::beast::http::error::header_limit);
    Request req;
    std::string path;
    ASSERT_TRUE(request_from_beast(p.head(), tcp_info(), "", path, req));
    ASSERT_EQ(req.headers.size(), 5u);
    EXPECT_EQ(req.headers[0].name, "Host");
    EXPECT_EQ(req.headers[1].name, "X-A");
    EXPECT_EQ(req.headers[1].value, "1");
    EXPECT_EQ(req.headers[2].name, "X-A");
    EXPECT_EQ(req.headers[2].value, "2");
    EXPECT_EQ(req.headers[3].name, "Accept");
    EXPECT_EQ(req.headers[4].name, "Content-Length");
    ASSERT_TRUE(req.content_length);
    EXPECT_EQ(*req.content_length, 5u);
}

TEST(RequestFromBeast, AbsoluteFormAuthorityReplacesHost)
{
    // RFC 9112 section 3.2.2: the target's authority wins over the Host field.
    Parsed p("GET http://example.com:8080/p HTTP/1.1\r\nHost: other.example\r\n\r\n");
    Request req;
    std::string path;
    ASSERT_TRUE(request_from_beast(p.head(), tcp_info(), "", path, req));
    EXPECT_EQ(req.server_name, "example.com");
    ASSERT_TRUE(req.headers.find("Host"));
    EXPECT_EQ(*req.headers.find("Host"), "example.com:8080");
    EXPECT_EQ(req.path_info, "/p");
}

TEST(RequestFromBeast, Http10AndMissingHost)
{
    Parsed p("GET / HTTP/1.0\r\n\r\n");
    Request req;
    std::string path;
    ASSERT_TRUE(request_from_beast(p.head(), tcp_info(), "", path, req));
    EXPECT_EQ(req.protocol, "HTTP/1.0");
    EXPECT_EQ(req.server_name, "127.0.0.1"); // no Host: our own address
}

TEST(RequestFromBeast, UnixSocketTakesPortFromHost)
{
    Parsed p("GET / HTTP/1.1\r\nHost: [::1]:9000\r\n\r\n");
    Request req;
    std::string path;
    ConnectionInfo info{"/tmp/s.sock", "", "", "", true};
    ASSERT_TRUE(request_from_beast(p.head(), info, "", path, req));
    EXPECT_EQ(req.server_name, "[::1]");
    EXPECT_EQ(req.server_port, "9000");
    EXPECT_EQ(req.remote_addr, "");
}

TEST(HostWithoutPort, Forms)
{
    EXPECT_EQ(host_without_port("example.com:80"), "example.com");
    EXPECT_EQ(host_without_port("example.com"), "example.com");
    EXPECT_EQ(host_without_port("[::1]:80"), "[::1]");
    EXPECT_EQ(host_without_port(""), "");
}

TEST(CheckHead, TransferEncodingRules)
{
    Parsed chunked("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    EXPECT_FALSE(check_head(chunked.head(), 100));

    Parsed gzip("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n");
    EXPECT_EQ(check_head(gzip.head(), 100), errc::unsupported_transfer_encoding);

    Parsed stacked("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    EXPECT_EQ(check_head(stacked.head(), 100), errc::unsupported_transfer_encoding);

    // Beast lets "gzip" + Content-Length through; RFC 9112 §6.3 does not.
    Parsed both(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n");
    ASSERT_FALSE(both.ec) << both.ec.message();
    EXPECT_EQ(check_head(both.head(), 100), errc::bad_content_length);
}

TEST(CheckHead, HeaderCount)
{
    Parsed p("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    EXPECT_FALSE(check_head(p.head(), 3));
    EXPECT_EQ(check_head(p.head(), 2), errc::too_many_headers);
}

TEST(CheckHead, BeastRejectsConflictingLengths)
{
    Parsed differ("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
    EXPECT_TRUE(differ.ec);
    Parsed cl_te("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
    EXPECT_TRUE(cl_te.ec);
}

TEST(WellFormedVersion, TellsGarbleFromUnsupported)
{
    EXPECT_TRUE(well_formed_version("GET / HTTP/1.2\r\nHost: h\r\n"));
    EXPECT_TRUE(well_formed_version("GET / HTTP/2.0\r\n"));
    EXPECT_FALSE(well_formed_version("GET / HTTP/x\r\n"));
    EXPECT_FALSE(well_formed_version("GET / HTTP/1.1"));
}

TEST(ExpectsContinue, OnlyHttp11)
{
    Parsed yes("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
    EXPECT_TRUE(expects_continue(yes.head()));
    Parsed old("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    EXPECT_FALSE(expects_continue(old.head()));
    Parsed none("POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n");
    EXPECT_FALSE(expects_continue(none.head()));
}

// CVE-2015-0219 and httpoxy: what Beast accepts as a field must still not become
// HTTP_X_FORWARDED_FOR from "X_Forwarded_For", nor HTTP_PROXY from "Proxy".
TEST(RequestFromBeast, UnderscoreAndProxyHeadersNeverReachTheEnviron)
{
    Parsed p("GET / HTTP/1.1\r\nHost: h\r\nX_Forwarded_For: 6.6.6.6\r\n"
             "X-Forwarded-For: 1.2.3.4\r\nProxy: http://evil:1\r\n\r\n");
    ASSERT_FALSE(p.ec) << p.ec.message();
    Request req;
    std::string path;
    ASSERT_TRUE(request_from_beast(p.head(), tcp_info(), "", path, req));
    std::map<std::string, std::string> env;
    std::vector<std::string> dropped;
    for_each_cgi_variable(
        req, [&](CgiKey, std::string_view k, std::string_view v) { env[std::string(k)] = v; },
        [&](std::string_view name, DropReason) { dropped.emplace_back(name); });
    EXPECT_EQ(env["HTTP_X_FORWARDED_FOR"], "1.2.3.4");
    EXPECT_EQ(env.count("HTTP_PROXY"), 0u);
    EXPECT_EQ(dropped, (std::vector<std::string>{"X_Forwarded_For", "Proxy"}));
}
