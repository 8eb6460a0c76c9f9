#include "model/cgi_env.hpp"

#include <gtest/gtest.h>
#include <map>
#include <string>
#include <vector>

using namespace wsgibridge;

namespace {
struct Collected
{
    std::map<std::string, std::string> vars;
    std::vector<std::pair<std::string, DropReason>> dropped;
};

Collected collect(const Request& req)
{
    Collected c;
    for_each_cgi_variable(
        req,
        [&](CgiKey key, std::string_view name, std::string_view value) {
            if (key != CgiKey::http_header && key != CgiKey::variable) {
                EXPECT_EQ(name, cgi_key_name(key));
            }
            EXPECT_FALSE(c.vars.count(std::string(name))) << "emitted twice: " << name;
            c.vars[std::string(name)] = std::string(value);
        },
        [&](std::string_view name, DropReason why) {
            c.dropped.emplace_back(std::string(name), why);
        });
    return c;
}

Request base_request()
{
    Request r;
    r.method = "POST";
    r.target = "/app/caf%C3%A9?a=1";
    r.script_name = "/app";
    r.path_info = "/caf\xC3\xA9";
    r.query_string = "a=1";
    r.protocol = "HTTP/1.1";
    r.scheme = "http";
    r.server_name = "localhost";
    r.server_port = "8000";
    r.remote_addr = "127.0.0.1";
    r.remote_port = "5555";
    return r;
}
} // namespace

TEST(CgiEnv, FixedVariablesAlwaysPresent)
{
    Request r;
    auto c = collect(r);
    for (auto name : {"REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_URI",
                      "SERVER_PROTOCOL", "SERVER_NAME", "SERVER_PORT"})
        EXPECT_TRUE(c.vars.count(name)) << name;
    EXPECT_FALSE(c.vars.count("REMOTE_ADDR"));
    EXPECT_FALSE(c.vars.count("CONTENT_LENGTH"));
}

TEST(CgiEnv, MapsFieldsAndHeaders)
{
    Request r = base_request();
    r.headers.add("Host", "localhost:8000");
    r.headers.add("Content-Type", "text/plain");
    r.headers.add("content-length", "5");
    r.headers.add("Accept-Language", "en");
    r.headers.add("ACCEPT-ENCODING", "gzip"); // the form FastCGI/CGI front ends produce
    auto c = collect(r);
    EXPECT_EQ(c.vars["REQUEST_URI"], "/app/caf%C3%A9?a=1");
    EXPECT_EQ(c.vars["PATH_INFO"], "/caf\xC3\xA9");
    EXPECT_EQ(c.vars["SCRIPT_NAME"], "/app");
    EXPECT_EQ(c.vars["CONTENT_TYPE"], "text/plain");
    EXPECT_EQ(c.vars["CONTENT_LENGTH"], "5");
    EXPECT_EQ(c.vars["HTTP_HOST"], "localhost:8000");
    EXPECT_EQ(c.vars["HTTP_ACCEPT_LANGUAGE"], "en");
    EXPECT_EQ(c.vars["HTTP_ACCEPT_ENCODING"], "gzip");
    EXPECT_FALSE(c.vars.count("HTTP_CONTENT_TYPE"));
    EXPECT_FALSE(c.vars.count("HTTP_CONTENT_LENGTH"));
    EXPECT_EQ(c.vars["REMOTE_PORT"], "5555");
}

TEST(CgiEnv, ContentLengthFromTheModelWithoutAHeader)
{
    // A caller filling Request by hand (the in-process call API) sets content_length
    // only; RFC 3875 §4.1.2 CONTENT_LENGTH must still say how much to read.
    Request r = base_request();
    r.content_length = 12345678901ULL;
    EXPECT_EQ(collect(r).vars["CONTENT_LENGTH"], "12345678901");
    r.content_length = 0;
    EXPECT_EQ(collect(r).vars["CONTENT_LENGTH"], "0");
    // The header, when present, is what the front end received: it is emitted once.
    r.content_length = 5;
    r.headers.add("Content-Length", "5");
    EXPECT_EQ(collect(r).vars["CONTENT_LENGTH"], "5");
}

TEST(CgiEnv, JoinsRepeatedFieldsCookiesWithSemicolon)
{
    Request r = base_request();
    r.headers.add("Accept", "a");
    r.headers.add("Cookie", "x=1");
    r.headers.add("accept", "b");
    r.headers.add("Cookie", "y=2");
    r.headers.add("X-One", "only");
    auto c = collect(r);
    EXPECT_EQ(c.vars["HTTP_ACCEPT"], "a, b");
    EXPECT_EQ(c.vars["HTTP_COOKIE"], "x=1; y=2");
    EXPECT_EQ(c.vars["HTTP_X_ONE"], "only");
}

TEST(CgiEnv, DropsHttpoxyUnderscoreAndInvalidNames)
{
    Request r = base_request();
    r.headers.add("Proxy", "http://evil:1");
    r.headers.add("X_Forwarded_For", "6.6.6.6");
    r.headers.add("X-Forwarded-For", "1.2.3.4");
    r.headers.add("Bad Name", "v");
    r.variables.add("HTTP_PROXY", "http://evil:2");
    r.variables.add("DOCUMENT_ROOT", "/srv");
    auto c = collect(r);
    EXPECT_FALSE(c.vars.count("HTTP_PROXY"));
    EXPECT_EQ(c.vars["HTTP_X_FORWARDED_FOR"], "1.2.3.4");
    EXPECT_EQ(c.vars["DOCUMENT_ROOT"], "/srv");
    ASSERT_EQ(c.dropped.size(), 3u);
    EXPECT_EQ(c.dropped[0].second, DropReason::httpoxy);
    EXPECT_EQ(c.dropped[1].second, DropReason::underscore_in_name);
    EXPECT_EQ(c.dropped[2].second, DropReason::invalid_name);
}

TEST(CgiEnv, VeryLongHeaderName)
{
    Request r = base_request();
    std::string name(300, 'a');
    r.headers.add(name, "v");
    auto c = collect(r);
    EXPECT_EQ(c.vars["HTTP_" + std::string(300, 'A')], "v");
}
