#include "raw_fcgi_client.hpp"
#include "request_from_params.hpp"
#include "wsgibridge/error.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace wsgibridge;
using namespace wsgibridge::fastcgi;
namespace wire = wsgibridge::test::fcgi;

namespace {
struct Built
{
    std::string params, scratch;
    Request req;
    std::error_code ec;
};

void build(Built& b, const std::vector<std::pair<std::string, std::string>>& pairs,
           ParamsOptions options = {})
{
    for (const auto& [n, v] : pairs)
        b.params += wire::pair(n, v);
    b.ec = request_from_params(b.params, b.scratch, options, b.req);
}
} // namespace

TEST(RequestFromParams, FixedVariables)
{
    Built b;
    build(b, {{"REQUEST_METHOD", "POST"},
              {"SCRIPT_NAME", "/app"},
              {"PATH_INFO", "/x"},
              {"QUERY_STRING", "a=1"},
              {"REQUEST_URI", "/app/x?a=1"},
              {"SERVER_PROTOCOL", "HTTP/1.1"},
              {"SERVER_NAME", "example.org"},
              {"SERVER_PORT", "8080"},
              {"REMOTE_ADDR", "10.0.0.1"},
              {"REMOTE_PORT", "5555"},
              {"DOCUMENT_ROOT", "/srv"}});
    ASSERT_FALSE(b.ec);
    const auto& r = b.req;
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.script_name, "/app");
    EXPECT_EQ(r.path_info, "/x");
    EXPECT_EQ(r.query_string, "a=1");
    EXPECT_EQ(r.target, "/app/x?a=1");
    EXPECT_EQ(r.protocol, "HTTP/1.1");
    EXPECT_EQ(r.server_name, "example.org");
    EXPECT_EQ(r.server_port, "8080");
    EXPECT_EQ(r.remote_addr, "10.0.0.1");
    EXPECT_EQ(r.remote_port, "5555");
    EXPECT_EQ(r.scheme, "http");
    ASSERT_EQ(r.variables.size(), 1u);
    EXPECT_EQ(r.variables[0].name, "DOCUMENT_ROOT");
    EXPECT_FALSE(r.content_length);
}

TEST(RequestFromParams, HttpVariablesBecomeHeadersInPlace)
{
    Built b;
    build(b, {{"REQUEST_METHOD", "GET"},
              {"HTTP_ACCEPT_LANGUAGE", "fr"},
              {"HTTP_X_Y", "1"},
              {"CONTENT_TYPE", "text/plain"},
              {"CONTENT_LENGTH", "12"}});
    ASSERT_FALSE(b.ec);
    EXPECT_EQ(b.req.headers.find("Accept-Language"), "fr");
    EXPECT_EQ(b.req.headers.find("X-Y"), "1");
    EXPECT_EQ(b.req.headers.find("Content-Type"), "text/plain");
    EXPECT_EQ(b.req.headers.find("Content-Length"), "12");
    EXPECT_EQ(b.req.content_length, 12u);
    EXPECT_TRUE(b.req.variables.empty());
    // the name is a view into the params buffer itself: no copy
    auto name = b.req.headers[0].name;
    EXPECT_GE(name.data(), b.params.data());
    EXPECT_LT(name.data(), b.params.data() + b.params.size());
}

TEST(RequestFromParams, EmptyContentLengthMeansAbsent)
{
    Built b;
    build(b, {{"REQUEST_METHOD", "GET"}, {"CONTENT_LENGTH", ""}, {"CONTENT_TYPE", ""}});
    ASSERT_FALSE(b.ec);
    EXPECT_FALSE(b.req.content_length);
    EXPECT_FALSE(b.req.headers.find("Content-Length"));
    EXPECT_FALSE(b.req.headers.find("Content-Type"));
}

// nginx's stock fastcgi_params send every header as HTTP_* beside CONTENT_*: the copies
// must not reach the app, or CONTENT_LENGTH becomes "23, 23" (RFC 3875 §4.1.18).
TEST(RequestFromParams, NginxHttpContentCopiesAreIgnored)
{
    Built b;
    build(b, {{"REQUEST_METHOD", "POST"},
              {"CONTENT_TYPE", "application/x-www-form-urlencoded"},
              {"CONTENT_LENGTH", "23"},
              {"HTTP_CONTENT_TYPE", "application/x-www-form-urlencoded"},
              {"HTTP_CONTENT_LENGTH", "23"},
              {"HTTP_HOST", "example.org"}});
    ASSERT_FALSE(b.ec);
    EXPECT_EQ(b.req.content_length, 23u);
    ASSERT_EQ(b.req.headers.size(), 3u);
    EXPECT_EQ(b.req.headers.find("Content-Length"), "23");
    EXPECT_EQ(b.req.headers.find("Content-Type"), "application/x-www-form-urlencoded");
    EXPECT_EQ(b.req.headers.find("Host"), "example.org");
}

TEST(RequestFromParams, BadContentLengthIs400)
{
    Built b;
    build(b, {{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "12x"}});
    EXPECT_EQ(b.ec, errc::bad_content_length);
    EXPECT_EQ(http_status_for(b.ec), 400);
}

TEST(RequestFromParams, HttpsOnOrRequestScheme)
{
    Built a, b, c;
    build(a, {{"REQUEST_METHOD", "GET"}, {"HTTPS", "on"}});
    build(b, {{"REQUEST_METHOD", "GET"}, {"REQUEST_SCHEME", "https"}});
    build(c, {{"REQUEST_METHOD", "GET"}, {"HTTPS", "off"}});
    EXPECT_EQ(a.req.scheme, "https");
    EXPECT_EQ(b.req.scheme, "https");
    EXPECT_EQ(c.req.scheme, "http");
    EXPECT_EQ(a.req.variables.find("HTTPS"), "on");
}

TEST(RequestFromParams, MissingPathInfoDerivedDecodedFromRequestUri)
{
    Built b;
    build(b, {{"REQUEST_METHOD", "GET"}, {"SCRIPT_NAME", ""}, {"REQUEST_URI", "/caf%C3%A9?q=%20"}});
    ASSERT_FALSE(b.ec);
    EXPECT_EQ(b.req.path_info, "/caf\xC3\xA9");
    EXPECT_EQ(b.req.path_info.size(), 6u);
    EXPECT_EQ(b.req.target, "/caf%C3%A9?q=%20");
}

TEST(RequestFromParams, NginxStockParamsWithMount)
{
    // nginx's fastcgi_params: SCRIPT_NAME is the whole (decoded) path, no PATH_INFO.
    std::vector<std::pair<std::string, std::string>> stock = {{"REQUEST_METHOD", "GET"},
                                                              {"SCRIPT_NAME", "/app/caf\xC3\xA9"},
                                                              {"REQUEST_URI", "/app/caf%C3%A9"},
                                                              {"QUERY_STRING", ""}};
    Built plain, mounted;
    build(plain, stock);
    EXPECT_EQ(plain.req.script_name, "/app/caf\xC3\xA9");
    EXPECT_EQ(plain.req.path_info, "");
    build(mounted, stock, {.mount = "/app"});
    ASSERT_FALSE(mounted.ec);
    EXPECT_EQ(mounted.req.script_name, "/app");
    EXPECT_EQ(mounted.req.path_info, "/caf\xC3\xA9");
}

TEST(RequestFromParams, MountResplitsModProxyFcgiScriptName)
{
    Built b;
    build(b,
          {{"REQUEST_METHOD", "GET"},
           {"SCRIPT_NAME", "/app/hello/x"},
           {"REQUEST_URI", "/app/hello/x"},
           {"SCRIPT_FILENAME", "proxy:fcgi://127.0.0.1:9000/app/hello/x"}},
          {.mount = "/app/"});
    ASSERT_FALSE(b.ec);
    EXPECT_EQ(b.req.script_name, "/app");
    EXPECT_EQ(b.req.path_info, "/hello/x");
    Built outside;
    build(outside, {{"REQUEST_METHOD", "GET"}, {"SCRIPT_NAME", "/other"}, {"PATH_INFO", "/y"}},
          {.mount = "/app"});
    EXPECT_EQ(outside.req.script_name, "/other");
    EXPECT_EQ(outside.req.path_info, "/y");
}

TEST(RequestFromParams, RequestUriBuiltWhenMissing)
{
    Built b;
    build(b, {{"REQUEST_METHOD", "GET"},
              {"SCRIPT_NAME", "/a b"},
              {"PATH_INFO", "/caf\xC3\xA9"},
              {"QUERY_STRING", "x=1"}});
    ASSERT_FALSE(b.ec);
    EXPECT_EQ(b.req.target, "/a%20b/caf%C3%A9?x=1");
}

TEST(RequestFromParams, TooManyHeadersAndMissingMethod)
{
    Built many;
    std::vector<std::pair<std::string, std::string>> pairs{{"REQUEST_METHOD", "GET"}};
    for (int i = 0; i < 5; ++i)
        pairs.emplace_back("HTTP_X_" + std::to_string(i), "v");
    build(many, pairs, {.mount = {}, .max_header_count = 4});
    EXPECT_EQ(many.ec, errc::too_many_headers);
    Built none;
    build(none, {{"SCRIPT_NAME", ""}});
    EXPECT_EQ(none.ec, errc::bad_request);
}

TEST(RequestFromParams, TruncatedPairIsProtocolError)
{
    Built b;
    b.params = wire::pair("REQUEST_METHOD", "GET") + std::string("\x05\x05"
                                                                 "ab",
                                                                 4);
    b.ec = request_from_params(b.params, b.scratch, {}, b.req);
    EXPECT_EQ(b.ec, errc::protocol_error);
}

TEST(RequestFromParams, RedirectAuthorizationPromotedOnlyWhenAsked)
{
    std::vector<std::pair<std::string, std::string>> pairs{
        {"REQUEST_METHOD", "GET"}, {"REDIRECT_HTTP_AUTHORIZATION", "Basic eDp5"}};
    Built off, on, both;
    build(off, pairs);
    EXPECT_FALSE(off.req.headers.find("Authorization"));
    EXPECT_EQ(off.req.variables.find("REDIRECT_HTTP_AUTHORIZATION"), "Basic eDp5");
    build(on, pairs,
          {.mount = {}, .max_header_count = 100, .promote_redirect_authorization = true});
    EXPECT_EQ(on.req.headers.find("Authorization"), "Basic eDp5");
    // a real Authorization header wins
    pairs.emplace_back("HTTP_AUTHORIZATION", "Bearer t");
    build(both, pairs,
          {.mount = {}, .max_header_count = 100, .promote_redirect_authorization = true});
    ASSERT_EQ(both.req.headers.size(), 1u);
    EXPECT_EQ(both.req.headers.find("Authorization"), "Bearer t");
}
