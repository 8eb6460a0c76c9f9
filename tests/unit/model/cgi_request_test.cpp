// One table of CGI variables (RFC 3875 §4.1) fed through every front end that receives
// them: the CGI environment, FastCGI PARAMS (spec 3.4), an SCGI netstring and a uwsgi
// vars block; each must build the same Request through model/cgi_request.
#include "model/cgi_request.hpp"
#include "model/uri.hpp"
#include "params_codec.hpp"
#include "request_from_env.hpp"
#include "request_from_params.hpp"
#include "stream/request_from_head.hpp"

#include <algorithm>
#include <functional>
#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace wsgibridge;

namespace {

using Vars = std::vector<std::pair<std::string, std::string>>;

struct Outcome
{
    std::error_code ec;
    std::string dump; // every field of the Request, for comparing the paths
    std::string scheme, target, script_name, path_info, server_port;
    std::optional<std::string> content_type, content_length_header, authorization;
};

Outcome describe(std::error_code ec, const Request& r)
{
    Outcome o{ec, {}, {}, {}, {}, {}, {}, {}, {}, {}};
    if (ec) return o;
    auto field = [&](std::string_view n, std::string_view v) {
        o.dump.append(n).append("=").append(v).append("\n");
    };
    field("method", r.method);
    field("target", r.target);
    field("script_name", r.script_name);
    field("path_info", r.path_info);
    field("query_string", r.query_string);
    field("protocol", r.protocol);
    field("scheme", r.scheme);
    field("server_name", r.server_name);
    field("server_port", r.server_port);
    field("remote_addr", r.remote_addr);
    field("remote_port", r.remote_port);
    for (const auto& h : r.headers)
        field(std::string("header ").append(h.name), h.value);
    for (const auto& v : r.variables)
        if (v.name != "SCGI") // the SCGI transport's own marker (SCGI 1.0)
            field(std::string("variable ").append(v.name), v.value);
    field("content_length", r.content_length ? std::to_string(*r.content_length) : "-");
    // Compared as a set of lines: SCGI puts CONTENT_LENGTH first, so header order differs.
    std::vector<std::string> lines;
    for (std::size_t at = 0, nl; (nl = o.dump.find('\n', at)) != std::string::npos; at = nl + 1)
        lines.push_back(o.dump.substr(at, nl - at));
    std::sort(lines.begin(), lines.end());
    o.dump.clear();
    for (const auto& l : lines)
        o.dump.append(l).append("\n");
    o.scheme = r.scheme;
    o.target = r.target;
    o.script_name = r.script_name;
    o.path_info = r.path_info;
    o.server_port = r.server_port;
    auto opt = [](std::optional<std::string_view> v) {
        return v ? std::optional<std::string>(*v) : std::nullopt;
    };
    o.content_type = opt(r.headers.find("Content-Type"));
    o.content_length_header = opt(r.headers.find("Content-Length"));
    o.authorization = opt(r.headers.find("Authorization"));
    return o;
}

struct Path
{
    const char* name;
    std::function<Outcome(const Vars&, bool promote)> run;
};

const Logger& quiet_log()
{
    static Logger log(2, LogLevel::error);
    return log;
}

Outcome through_cgi(const Vars& vars, bool promote)
{
    std::vector<std::string> strings;
    for (const auto& [n, v] : vars)
        strings.push_back(n + "=" + v);
    strings.push_back("PATH=/usr/bin"); // the process environment beside the request
    std::vector<char*> envp;
    for (auto& s : strings)
        envp.push_back(s.data());
    envp.push_back(nullptr);
    CgiOptions options;
    options.promote_redirect_authorization = promote;
    cgi::EnvRequest e;
    auto ec = e.parse(envp.data(), options, quiet_log());
    return describe(ec, e.request);
}

Outcome through_fastcgi(const Vars& vars, bool promote)
{
    std::string params, scratch;
    for (const auto& [n, v] : vars)
        fastcgi::encode_pair(params, n, v);
    Request r;
    CgiRequestOptions options{.mount = {},
                              .max_header_count = 100,
                              .promote_redirect_authorization = promote,
                              .log = &quiet_log()};
    auto ec = fastcgi::request_from_params(params, scratch, options, r);
    return describe(ec, r);
}

Outcome through_stream(StreamProtocol protocol, const Vars& vars, bool promote)
{
    std::string head;
    auto u16 = [&head](std::size_t n) {
        head += static_cast<char>(n & 0xff);
        head += static_cast<char>(n >> 8);
    };
    if (protocol == StreamProtocol::scgi) {
        // CONTENT_LENGTH first and required, SCGI=1 (SCGI 1.0); "" means no body.
        Vars ordered{{"CONTENT_LENGTH", ""}};
        for (const auto& kv : vars)
            if (kv.first == "CONTENT_LENGTH")
                ordered[0].second = kv.second;
            else
                ordered.push_back(kv);
        ordered.emplace_back("SCGI", "1");
        for (const auto& [n, v] : ordered)
            (((head += n) += '\0') += v) += '\0';
        head += ',';
    } else {
        for (const auto& [n, v] : vars) {
            u16(n.size());
            head += n;
            u16(v.size());
            head += v;
        }
    }
    std::string scratch, detail;
    Request r;
    CgiRequestOptions options{.mount = {},
                              .max_header_count = 100,
                              .promote_redirect_authorization = promote,
                              .log = &quiet_log()};
    auto ec = stream::request_from_head(protocol, head, options, scratch, r, detail);
    return describe(ec, r);
}

std::vector<Path> paths()
{
    return {
        {"cgi", through_cgi},
        {"fastcgi", through_fastcgi},
        {"scgi", [](const Vars& v, bool p) { return through_stream(StreamProtocol::scgi, v, p); }},
        {"uwsgi",
         [](const Vars& v, bool p) { return through_stream(StreamProtocol::uwsgi, v, p); }}};
}

struct Case
{
    const char* what;
    Vars vars;
    bool promote = false;
    std::function<void(const Outcome&)> check;
};

const Vars nginx_get{{"QUERY_STRING", "a=1"},
                     {"REQUEST_METHOD", "GET"},
                     {"CONTENT_TYPE", ""},
                     {"CONTENT_LENGTH", ""},
                     {"SCRIPT_NAME", "/app/caf%C3%A9"},
                     {"REQUEST_URI", "/app/caf%C3%A9?a=1"},
                     {"DOCUMENT_URI", "/app/caf%C3%A9"},
                     {"DOCUMENT_ROOT", "/srv/www"},
                     {"SERVER_PROTOCOL", "HTTP/1.1"},
                     {"REQUEST_SCHEME", "http"},
                     {"GATEWAY_INTERFACE", "CGI/1.1"},
                     {"SERVER_SOFTWARE", "nginx/1.22.1"},
                     {"REMOTE_ADDR", "127.0.0.1"},
                     {"REMOTE_PORT", "50000"},
                     {"SERVER_ADDR", "127.0.0.1"},
                     {"SERVER_PORT", "8080"},
                     {"SERVER_NAME", "localhost"},
                     {"HTTP_HOST", "localhost:8080"},
                     {"HTTP_ACCEPT_LANGUAGE", "fr"}};

Vars with(Vars v, const Vars& more)
{
    for (const auto& kv : more) {
        bool replaced = false;
        for (auto& old : v)
            if (old.first == kv.first) old.second = kv.second, replaced = true;
        if (!replaced) v.push_back(kv);
    }
    return v;
}

std::vector<Case> cases()
{
    return {
        {"nginx stock params: no PATH_INFO, derived from REQUEST_URI", nginx_get, false,
         [](const Outcome& o) {
             ASSERT_FALSE(o.ec);
             EXPECT_EQ(o.scheme, "http");
             EXPECT_EQ(o.target, "/app/caf%C3%A9?a=1");
             EXPECT_EQ(o.path_info, "");
             EXPECT_FALSE(o.content_type);
             EXPECT_FALSE(o.content_length_header);
             EXPECT_NE(o.dump.find("header ACCEPT-LANGUAGE=fr"), std::string::npos);
         }},
        {"nginx POST: HTTP_CONTENT_* copies ignored (RFC 3875 §4.1.18)",
         with(nginx_get, {{"REQUEST_METHOD", "POST"},
                          {"CONTENT_TYPE", "application/x-www-form-urlencoded"},
                          {"CONTENT_LENGTH", "23"},
                          {"HTTP_CONTENT_TYPE", "application/x-www-form-urlencoded"},
                          {"HTTP_CONTENT_LENGTH", "23"}}),
         false,
         [](const Outcome& o) {
             ASSERT_FALSE(o.ec);
             EXPECT_EQ(o.content_length_header, "23");
             EXPECT_EQ(o.content_type, "application/x-www-form-urlencoded");
             EXPECT_EQ(o.dump.find("header HTTP"), std::string::npos);
             EXPECT_NE(o.dump.find("content_length=23\n"), std::string::npos);
         }},
        {"HTTPS=on (RFC 3875 server variable) gives https and port 443",
         {{"REQUEST_METHOD", "GET"}, {"HTTPS", "on"}, {"SCRIPT_NAME", ""}, {"PATH_INFO", "/"}},
         false,
         [](const Outcome& o) {
             ASSERT_FALSE(o.ec);
             EXPECT_EQ(o.scheme, "https");
             EXPECT_EQ(o.server_port, "443");
             EXPECT_EQ(o.target, "/");
         }},
        {"REQUEST_SCHEME=https",
         {{"REQUEST_METHOD", "GET"}, {"REQUEST_SCHEME", "https"}, {"SERVER_PORT", "8443"}},
         false,
         [](const Outcome& o) {
             ASSERT_FALSE(o.ec);
             EXPECT_EQ(o.scheme, "https");
             EXPECT_EQ(o.server_port, "8443");
         }},
        {"no REQUEST_URI: rebuilt with '[' ']' and non-ASCII escaped (RFC 3986 §3.3)",
         {{"REQUEST_METHOD", "GET"},
          {"SCRIPT_NAME", "/a b"},
          {"PATH_INFO", "/[x]/caf\xC3\xA9"},
          {"QUERY_STRING", "q=[1]"}},
         false,
         [](const Outcome& o) {
             ASSERT_FALSE(o.ec);
             EXPECT_EQ(o.target, "/a%20b/%5Bx%5D/caf%C3%A9?q=[1]");
             EXPECT_EQ(o.path_info, "/[x]/caf\xC3\xA9");
         }},
        {"an empty REQUEST_URI is rebuilt",
         {{"REQUEST_METHOD", "GET"},
          {"REQUEST_URI", ""},
          {"SCRIPT_NAME", "/s"},
          {"PATH_INFO", "/p"}},
         false,
         [](const Outcome& o) {
             ASSERT_FALSE(o.ec);
             EXPECT_EQ(o.target, "/s/p");
         }},
        {"CONTENT_LENGTH not a number",
         {{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "12x"}},
         false,
         [](const Outcome& o) { EXPECT_EQ(o.ec, errc::bad_content_length); }},
        {"CONTENT_LENGTH negative",
         {{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "-1"}},
         false,
         [](const Outcome& o) { EXPECT_EQ(o.ec, errc::bad_content_length); }},
        {"no REQUEST_METHOD",
         {{"SCRIPT_NAME", ""}, {"PATH_INFO", "/"}},
         false,
         [](const Outcome& o) { EXPECT_EQ(o.ec, errc::bad_request); }},
        {"REQUEST_METHOD not a token",
         {{"REQUEST_METHOD", "GE T"}},
         false,
         [](const Outcome& o) { EXPECT_EQ(o.ec, errc::bad_request); }},
        {"REDIRECT_HTTP_AUTHORIZATION promoted when asked",
         {{"REQUEST_METHOD", "GET"}, {"REDIRECT_HTTP_AUTHORIZATION", "Basic eDp5"}},
         true,
         [](const Outcome& o) {
             ASSERT_FALSE(o.ec);
             EXPECT_EQ(o.authorization, "Basic eDp5");
         }},
        {"REDIRECT_HTTP_AUTHORIZATION left alone by default",
         {{"REQUEST_METHOD", "GET"}, {"REDIRECT_HTTP_AUTHORIZATION", "Basic eDp5"}},
         false,
         [](const Outcome& o) {
             ASSERT_FALSE(o.ec);
             EXPECT_FALSE(o.authorization);
         }},
        {"a real Authorization wins over the redirect copy",
         {{"REQUEST_METHOD", "GET"},
          {"REDIRECT_HTTP_AUTHORIZATION", "Basic eDp5"},
          {"HTTP_AUTHORIZATION", "Bearer t"}},
         true,
         [](const Outcome& o) {
             ASSERT_FALSE(o.ec);
             EXPECT_EQ(o.authorization, "Bearer t");
         }},
        {"HTTP_PROXY dropped (httpoxy, CVE-2016-5385)",
         {{"REQUEST_METHOD", "GET"}, {"HTTP_PROXY", "http://evil/"}, {"HTTP_X_Y", "1"}},
         false,
         [](const Outcome& o) {
             ASSERT_FALSE(o.ec);
             EXPECT_EQ(o.dump.find("PROXY"), std::string::npos);
             EXPECT_NE(o.dump.find("header X-Y=1"), std::string::npos);
         }},
    };
}

} // namespace

TEST(CgiRequest, EveryFrontEndBuildsTheSameRequest)
{
    auto all = paths();
    for (const Case& c : cases()) {
        SCOPED_TRACE(c.what);
        std::vector<Outcome> outcomes;
        for (const Path& p : all) {
            SCOPED_TRACE(p.name);
            outcomes.push_back(p.run(c.vars, c.promote));
            c.check(outcomes.back());
        }
        for (std::size_t i = 1; i < outcomes.size(); ++i) {
            EXPECT_EQ(outcomes[i].ec, outcomes[0].ec) << all[i].name << " vs " << all[0].name;
            EXPECT_EQ(outcomes[i].dump, outcomes[0].dump) << all[i].name << " vs " << all[0].name;
        }
    }
}

TEST(CgiRequest, PercentEncoderKeepsOnlyPathCharacters)
{
    std::string out;
    percent_encode_path_append("/a-._~!$&'()*+,;=:@/%?#[] \x7f\xff", out);
    EXPECT_EQ(out, "/a-._~!$&'()*+,;=:@/%25%3F%23%5B%5D%20%7F%FF");
}

// uwsgi's UWSGI_SCRIPT_NAME mounts the application per request (as uWSGI does) and
// UWSGI_SCHEME overrides the scheme; nginx's uwsgi_params send the whole path as PATH_INFO.
TEST(CgiRequest, UwsgiScriptNameAndScheme)
{
    std::string head;
    for (auto [n, v] :
         std::initializer_list<std::pair<std::string, std::string>>{{"REQUEST_METHOD", "GET"},
                                                                    {"PATH_INFO", "/app/x"},
                                                                    {"REQUEST_URI", "/app/x"},
                                                                    {"UWSGI_SCRIPT_NAME", "/app"},
                                                                    {"UWSGI_SCHEME", "https"}}) {
        for (const std::string* s : {&n, &v}) {
            head += static_cast<char>(s->size() & 0xff);
            head += static_cast<char>(s->size() >> 8);
            head += *s;
        }
    }
    std::string scratch, detail;
    Request r;
    CgiRequestOptions options;
    ASSERT_FALSE(
        stream::request_from_head(StreamProtocol::uwsgi, head, options, scratch, r, detail));
    EXPECT_EQ(r.script_name, "/app");
    EXPECT_EQ(r.path_info, "/x");
    EXPECT_EQ(r.scheme, "https");
}

// SCGI 1.0: CONTENT_LENGTH first, SCGI=1 present, the netstring ends with ','.
TEST(CgiRequest, ScgiHeadRules)
{
    auto run = [](std::string head) {
        std::string scratch, detail;
        Request r;
        CgiRequestOptions options;
        auto ec =
            stream::request_from_head(StreamProtocol::scgi, head, options, scratch, r, detail);
        return std::pair{ec, detail};
    };
    using namespace std::string_literals;
    EXPECT_FALSE(run("CONTENT_LENGTH\0"s
                     "0\0"s
                     "SCGI\0"s
                     "1\0"s
                     "REQUEST_METHOD\0"s
                     "GET\0,"s)
                     .first);
    auto [ec, why] = run("SCGI\0"s
                         "1\0"s
                         "CONTENT_LENGTH\0"s
                         "0\0"s
                         "REQUEST_METHOD\0"s
                         "GET\0,"s);
    EXPECT_EQ(ec, errc::protocol_error);
    EXPECT_NE(why.find("CONTENT_LENGTH"), std::string::npos) << why;
    EXPECT_EQ(run("CONTENT_LENGTH\0"s
                  "0\0"s
                  "REQUEST_METHOD\0"s
                  "GET\0,"s)
                  .first,
              errc::protocol_error);
    EXPECT_EQ(run("CONTENT_LENGTH\0"s
                  "0\0"s
                  "SCGI\0"s
                  "1\0"s)
                  .first,
              errc::protocol_error);
    EXPECT_EQ(run("CONTENT_LENGTH\0"s
                  "0\0"s
                  "SCGI\0"s
                  "1,"s)
                  .first,
              errc::protocol_error);
}

TEST(CgiRequest, UwsgiSizesAreChecked)
{
    std::string scratch, detail;
    Request r;
    CgiRequestOptions options;
    std::string head("\x0e\x00REQUEST_METHOD\x03\x00GE", 20); // value size 3, 2 bytes present
    EXPECT_EQ(stream::request_from_head(StreamProtocol::uwsgi, head, options, scratch, r, detail),
              errc::protocol_error);
}
