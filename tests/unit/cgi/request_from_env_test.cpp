#include "env_builder.hpp"
#include "model/cgi_env.hpp"
#include "request_from_env.hpp"

#include <gtest/gtest.h>
#include <string>

using namespace wsgibridge;
using wsgibridge::test::CapturedLog;
using wsgibridge::test::EnvBuilder;

namespace {

struct Parsed
{
    cgi::EnvRequest env;
    std::error_code ec;
};

std::error_code parse(cgi::EnvRequest& out, EnvBuilder env, const CgiOptions& options = {})
{
    Logger quiet(-1);
    return out.parse(env.envp(), options, quiet);
}

std::string header(const Request& r, std::string_view name)
{
    auto v = r.headers.find(name);
    return v ? std::string(*v) : std::string("<absent>");
}

std::string variable(const Request& r, std::string_view name)
{
    auto v = r.variables.find(name);
    return v ? std::string(*v) : std::string("<absent>");
}

} // namespace

TEST(RequestFromEnv, FillsTheRequestFields)
{
    cgi::EnvRequest e;
    auto env = EnvBuilder::get("/hello")
                   .set("QUERY_STRING", "a=1&b=2")
                   .set("REQUEST_URI", "/app.cgi/hello?a=1&b=2");
    ASSERT_FALSE(parse(e, env));
    const Request& r = e.request;
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.script_name, "/app.cgi");
    EXPECT_EQ(r.path_info, "/hello");
    EXPECT_EQ(r.query_string, "a=1&b=2");
    EXPECT_EQ(r.target, "/app.cgi/hello?a=1&b=2");
    EXPECT_EQ(r.protocol, "HTTP/1.1");
    EXPECT_EQ(r.scheme, "http");
    EXPECT_EQ(r.server_name, "localhost");
    EXPECT_EQ(r.server_port, "8080");
    EXPECT_EQ(r.remote_addr, "127.0.0.1");
    EXPECT_EQ(r.remote_port, "40000");
    EXPECT_EQ(variable(r, "GATEWAY_INTERFACE"), "CGI/1.1");
    EXPECT_FALSE(r.content_length);
    EXPECT_EQ(e.body_mode, cgi::BodyMode::none);
}

TEST(RequestFromEnv, Latin1BytesPassUnchanged)
{
    // RFC 3875 §4.1: meta-variable values are bytes: the bytes of environ[] reach the request as
    // they are, never decoded.
    cgi::EnvRequest e;
    ASSERT_FALSE(parse(e, EnvBuilder::get("/caf\xC3\xA9").set("HTTP_X_NAME", "\xE9t\xE9")));
    EXPECT_EQ(e.request.path_info, "/caf\xC3\xA9");
    EXPECT_EQ(e.request.path_info.size(), 6u);
    EXPECT_EQ(header(e.request, "X-Name"), "\xE9t\xE9");
}

TEST(RequestFromEnv, HttpVariablesBecomeHeadersAndRoundTrip)
{
    cgi::EnvRequest e;
    ASSERT_FALSE(parse(
        e, EnvBuilder::get().set("HTTP_ACCEPT_LANGUAGE", "fr").set("HTTP_HOST", "example.org")));
    EXPECT_EQ(header(e.request, "Accept-Language"), "fr");
    EXPECT_EQ(header(e.request, "Host"), "example.org");
    // Back through the one CGI mapping, the names are what the server sent.
    std::map<std::string, std::string> vars;
    for_each_cgi_variable(
        e.request,
        [&](CgiKey, std::string_view n, std::string_view v) { vars[std::string(n)] = v; },
        [](std::string_view n, DropReason) { ADD_FAILURE() << "dropped " << n; });
    EXPECT_EQ(vars["HTTP_ACCEPT_LANGUAGE"], "fr");
    EXPECT_EQ(vars["HTTP_HOST"], "example.org");
    EXPECT_EQ(vars["GATEWAY_INTERFACE"], "CGI/1.1");
}

TEST(RequestFromEnv, HttpProxyIsDroppedAndLogged)
{
    cgi::EnvRequest e;
    CapturedLog log;
    auto env = EnvBuilder::get().set("HTTP_PROXY", "http://evil:1").set("HTTP_ACCEPT", "*/*");
    ASSERT_FALSE(e.parse(env.envp(), {}, log.logger()));
    EXPECT_EQ(header(e.request, "Proxy"), "<absent>");
    EXPECT_EQ(header(e.request, "Accept"), "*/*");
    EXPECT_NE(log.text().find("HTTP_PROXY"), std::string::npos);
}

TEST(RequestFromEnv, ProcessEnvironmentStaysOut)
{
    cgi::EnvRequest e;
    auto env = EnvBuilder::get()
                   .set("PATH", "/usr/bin")
                   .set("HOME", "/root")
                   .set("LANG", "C.UTF-8")
                   .set("DOCUMENT_ROOT", "/var/www")
                   .set("SCRIPT_FILENAME", "/var/www/app.cgi")
                   .set("REDIRECT_STATUS", "200")
                   .set("SSL_PROTOCOL", "TLSv1.3")
                   .set("MY_SETTING", "x");
    ASSERT_FALSE(parse(e, env));
    EXPECT_EQ(variable(e.request, "PATH"), "<absent>");
    EXPECT_EQ(variable(e.request, "HOME"), "<absent>");
    EXPECT_EQ(variable(e.request, "LANG"), "<absent>");
    EXPECT_EQ(variable(e.request, "MY_SETTING"), "<absent>");
    EXPECT_EQ(variable(e.request, "DOCUMENT_ROOT"), "/var/www");
    EXPECT_EQ(variable(e.request, "SCRIPT_FILENAME"), "/var/www/app.cgi");
    EXPECT_EQ(variable(e.request, "REDIRECT_STATUS"), "200");
    EXPECT_EQ(variable(e.request, "SSL_PROTOCOL"), "TLSv1.3");

    cgi::EnvRequest with_pass;
    CgiOptions o;
    o.pass_env = {"MY_*"};
    ASSERT_FALSE(parse(with_pass, env, o));
    EXPECT_EQ(variable(with_pass.request, "MY_SETTING"), "x");
    EXPECT_EQ(variable(with_pass.request, "PATH"), "<absent>");
}

TEST(RequestFromEnv, EmptyContentLengthMeansAbsent)
{
    cgi::EnvRequest e;
    ASSERT_FALSE(parse(e, EnvBuilder::get().set("CONTENT_LENGTH", "").set("CONTENT_TYPE", "")));
    EXPECT_FALSE(e.request.content_length);
    EXPECT_EQ(header(e.request, "Content-Length"), "<absent>");
    EXPECT_EQ(header(e.request, "Content-Type"), "<absent>");
    EXPECT_EQ(e.body_mode, cgi::BodyMode::none);
}

TEST(RequestFromEnv, ContentLengthAndType)
{
    cgi::EnvRequest e;
    auto env = EnvBuilder::get()
                   .set("REQUEST_METHOD", "POST")
                   .set("CONTENT_LENGTH", "42")
                   .set("CONTENT_TYPE", "application/x-www-form-urlencoded");
    ASSERT_FALSE(parse(e, env));
    ASSERT_TRUE(e.request.content_length);
    EXPECT_EQ(*e.request.content_length, 42u);
    EXPECT_EQ(header(e.request, "Content-Length"), "42");
    EXPECT_EQ(header(e.request, "Content-Type"), "application/x-www-form-urlencoded");
    EXPECT_EQ(e.body_mode, cgi::BodyMode::content_length);
}

TEST(RequestFromEnv, BadContentLengthIsRejected)
{
    for (const char* bad : {"abc", "-1", "12x", "99999999999999999999999"}) {
        cgi::EnvRequest e;
        auto ec = parse(e, EnvBuilder::get().set("CONTENT_LENGTH", bad));
        EXPECT_EQ(ec, errc::bad_content_length) << bad;
        EXPECT_EQ(http_status_for(ec), 400);
    }
}

TEST(RequestFromEnv, TransferEncodingWithoutLengthReadsToEof)
{
    cgi::EnvRequest e;
    ASSERT_FALSE(parse(e, EnvBuilder::get().set("HTTP_TRANSFER_ENCODING", "chunked")));
    EXPECT_EQ(e.body_mode, cgi::BodyMode::until_eof);
}

TEST(RequestFromEnv, HttpsSelectsTheScheme)
{
    for (auto [name, value, scheme] : {std::tuple{"HTTPS", "on", "https"},
                                       {"HTTPS", "ON", "https"},
                                       {"HTTPS", "1", "https"},
                                       {"HTTPS", "off", "http"},
                                       {"REQUEST_SCHEME", "https", "https"},
                                       {"REQUEST_SCHEME", "http", "http"}}) {
        cgi::EnvRequest e;
        ASSERT_FALSE(parse(e, EnvBuilder::get().set(name, value)));
        EXPECT_EQ(e.request.scheme, scheme) << name << "=" << value;
    }
}

TEST(RequestFromEnv, MissingRequestUriIsRebuiltEncoded)
{
    cgi::EnvRequest e;
    ASSERT_FALSE(parse(e, EnvBuilder::get("/caf\xC3\xA9 x").set("QUERY_STRING", "q=1")));
    EXPECT_EQ(e.request.target, "/app.cgi/caf%C3%A9%20x?q=1");

    cgi::EnvRequest bare;
    auto env = EnvBuilder().set("REQUEST_METHOD", "GET");
    ASSERT_FALSE(parse(bare, env));
    EXPECT_EQ(bare.request.target, "/");
    EXPECT_EQ(bare.request.protocol, "HTTP/1.0");
}

TEST(RequestFromEnv, MissingOrBadMethodIsRejected)
{
    cgi::EnvRequest none;
    EXPECT_EQ(parse(none, EnvBuilder().set("PATH_INFO", "/")), errc::bad_request);
    cgi::EnvRequest bad;
    EXPECT_EQ(parse(bad, EnvBuilder::get().set("REQUEST_METHOD", "GE T")), errc::bad_request);
}

TEST(RequestFromEnv, EnvironmentSizeIsBounded)
{
    CgiOptions o;
    o.limits.max_header_bytes = 1024;
    cgi::EnvRequest e;
    auto ec = parse(e, EnvBuilder::get().set("HTTP_COOKIE", std::string(2000, 'c')), o);
    EXPECT_EQ(ec, errc::header_too_large);
    EXPECT_EQ(http_status_for(ec), 431);
    EXPECT_TRUE(e.error_detail.starts_with("CGI environment of ")) << e.error_detail;

    // The process environment outside the CGI variables does not count.
    cgi::EnvRequest ok;
    EXPECT_FALSE(parse(ok, EnvBuilder::get().set("PATH", std::string(2000, 'p')), o));
}

TEST(RequestFromEnv, HeaderCountIsBounded)
{
    CgiOptions o;
    o.limits.max_header_count = 3;
    auto env = EnvBuilder::get();
    for (int i = 0; i < 4; ++i)
        env.set("HTTP_X_" + std::to_string(i), "v");
    cgi::EnvRequest e;
    EXPECT_EQ(parse(e, env, o), errc::too_many_headers);
    EXPECT_TRUE(e.error_detail.ends_with(" header variables")) << e.error_detail;
}

TEST(RequestFromEnv, RedirectAuthorizationIsPromotedOnlyOnRequest)
{
    auto env = EnvBuilder::get().set("REDIRECT_HTTP_AUTHORIZATION", "Basic dTpw");
    cgi::EnvRequest off;
    ASSERT_FALSE(parse(off, env));
    EXPECT_EQ(header(off.request, "Authorization"), "<absent>");
    EXPECT_EQ(variable(off.request, "REDIRECT_HTTP_AUTHORIZATION"), "Basic dTpw");

    CgiOptions o;
    o.promote_redirect_authorization = true;
    cgi::EnvRequest on;
    ASSERT_FALSE(parse(on, env, o));
    EXPECT_EQ(header(on.request, "Authorization"), "Basic dTpw");

    // A real Authorization header wins.
    cgi::EnvRequest both;
    ASSERT_FALSE(parse(both,
                       EnvBuilder::get()
                           .set("REDIRECT_HTTP_AUTHORIZATION", "Basic old")
                           .set("HTTP_AUTHORIZATION", "Bearer t"),
                       o));
    EXPECT_EQ(header(both.request, "Authorization"), "Bearer t");
    std::size_t count = 0;
    for (const auto& h : both.request.headers)
        count += iequals(h.name, "Authorization");
    EXPECT_EQ(count, 1u);
}

TEST(RequestFromEnv, InvalidHttpVariableNamesAreDropped)
{
    cgi::EnvRequest e;
    CapturedLog log;
    auto env = EnvBuilder::get().set("HTTP_", "x").set("HTTP_A(B", "y").set("HTTP_OK", "z");
    ASSERT_FALSE(e.parse(env.envp(), {}, log.logger()));
    EXPECT_EQ(e.request.headers.size(), 1u);
    EXPECT_EQ(header(e.request, "Ok"), "z");
    EXPECT_NE(log.text().find("HTTP_A(B"), std::string::npos);
}

TEST(RequestFromEnv, HttpCopiesOfContentVariablesAreIgnored)
{
    cgi::EnvRequest e;
    auto env = EnvBuilder::get()
                   .set("CONTENT_TYPE", "text/plain")
                   .set("HTTP_CONTENT_TYPE", "text/plain")
                   .set("CONTENT_LENGTH", "3")
                   .set("HTTP_CONTENT_LENGTH", "3");
    ASSERT_FALSE(parse(e, env));
    std::size_t types = 0, lengths = 0;
    for (const auto& h : e.request.headers) {
        types += iequals(h.name, "Content-Type");
        lengths += iequals(h.name, "Content-Length");
    }
    EXPECT_EQ(types, 1u);
    EXPECT_EQ(lengths, 1u);
}

TEST(RequestFromEnv, RebuiltRequestUriOfEscapedBytesKeepsEveryViewValid)
{
    // The worst case for the one buffer: nothing but a path of bytes that all escape.
    cgi::EnvRequest e;
    const std::string path(3000, '\xff');
    ASSERT_FALSE(parse(e, EnvBuilder().set("REQUEST_METHOD", "GET").set("PATH_INFO", path)));
    EXPECT_EQ(e.request.path_info, path);
    EXPECT_EQ(e.request.method, "GET");
    EXPECT_EQ(e.request.target.size(), 3 * path.size());
    EXPECT_TRUE(e.request.target.starts_with("%FF%FF"));
}
