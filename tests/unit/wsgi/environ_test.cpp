// The environ the app sees (lib/wsgi/environ.cpp): PEP 3333 keys, CGI variables from
// the request, latin-1 strings, a fresh dict per request.
#include "harness.hpp"

#include <cctype>

namespace wsgibridge::test {
namespace {

using nlohmann::json;

class EnvironTest : public CasesTest
{
protected:
    static json environ_of(const RequestBuilder& rb)
    {
        auto sink = checked(serve(*app_, rb));
        EXPECT_EQ(sink.status_code, 200);
        return json::parse(sink.body);
    }
};

TEST_F(EnvironTest, CgiAndWsgiKeys)
{
    RequestBuilder rb("POST", "/environ?a=1&b=%20");
    rb.header("Host", "example.org")
        .header("Content-Type", "text/plain")
        .header("X-Custom", "v")
        .header("Accept", "a")
        .header("Accept", "b")
        .body("hello");
    auto env = environ_of(rb);
    EXPECT_EQ(env["REQUEST_METHOD"], "POST");
    EXPECT_EQ(env["SCRIPT_NAME"], "");
    EXPECT_EQ(env["PATH_INFO"], "/environ");
    EXPECT_EQ(env["QUERY_STRING"], "a=1&b=%20");
    EXPECT_EQ(env["REQUEST_URI"], "/environ?a=1&b=%20")
        << "always REQUEST_URI: not in RFC 3875, but servers send it and apps read it";
    EXPECT_EQ(env["SERVER_PROTOCOL"], "HTTP/1.1");
    EXPECT_EQ(env["SERVER_NAME"], "localhost");
    EXPECT_EQ(env["SERVER_PORT"], "80");
    EXPECT_EQ(env["REMOTE_ADDR"], "127.0.0.1");
    EXPECT_EQ(env["REMOTE_PORT"], "40000");
    EXPECT_EQ(env["CONTENT_TYPE"], "text/plain");
    EXPECT_EQ(env["CONTENT_LENGTH"], "5");
    EXPECT_FALSE(env.contains("HTTP_CONTENT_TYPE"));
    EXPECT_FALSE(env.contains("HTTP_CONTENT_LENGTH"));
    EXPECT_EQ(env["HTTP_HOST"], "example.org");
    EXPECT_EQ(env["HTTP_X_CUSTOM"], "v");
    EXPECT_EQ(env["HTTP_ACCEPT"], "a, b");
    EXPECT_EQ(env["GATEWAY_INTERFACE"], "CGI/1.1");
    EXPECT_EQ(env["wsgi.version"], "(1, 0)");
    EXPECT_EQ(env["wsgi.url_scheme"], "http");
    EXPECT_EQ(env["wsgi.multithread"], "True");
    EXPECT_EQ(env["wsgi.multiprocess"], "False");
    EXPECT_EQ(env["wsgi.run_once"], "False");
    EXPECT_EQ(env["wsgi.input_terminated"], "True");
    EXPECT_EQ(env["@types"]["wsgi.input"], "Input");
    EXPECT_EQ(env["@types"]["wsgi.errors"], "Errors");
    EXPECT_EQ(env["@types"]["wsgi.file_wrapper"], "type");
    for (auto& [key, type] : env["@types"].items())
        if (key.find('.') == std::string::npos) {
            EXPECT_EQ(type, "str") << key;
        }
}

TEST_F(EnvironTest, PathInfoIsLatin1OfDecodedBytes)
{
    auto env = environ_of(RequestBuilder("GET", "/environ/caf%C3%A9"));
    // PEP 3333 'Unicode Issues': latin-1 strings of the raw bytes: the UTF-8 bytes of é decoded as
    // latin-1, never as UTF-8.
    EXPECT_EQ(env["PATH_INFO"], "/environ/caf\xc3\x83\xc2\xa9");
    EXPECT_EQ(env["REQUEST_URI"], "/environ/caf%C3%A9");
}

TEST_F(EnvironTest, MountPoint)
{
    RequestBuilder rb("GET", "/app/environ");
    rb.mount("/app");
    auto sink = checked(serve(*app_, rb));
    // /app is the mount, so the app sees PATH_INFO "/environ" and routes it.
    ASSERT_EQ(sink.status_code, 200) << sink.body;
    auto env = json::parse(sink.body);
    EXPECT_EQ(env["SCRIPT_NAME"], "/app");
    EXPECT_EQ(env["PATH_INFO"], "/environ");
}

TEST_F(EnvironTest, SchemeAndVariables)
{
    RequestBuilder rb("GET", "/environ");
    rb.scheme("https")
        .variable("HTTPS", "on")
        .variable("DOCUMENT_ROOT", "/srv")
        .variable("HTTP_PROXY", "http://evil:1");
    auto env = environ_of(rb);
    EXPECT_EQ(env["wsgi.url_scheme"], "https");
    EXPECT_EQ(env["HTTPS"], "on");
    EXPECT_EQ(env["DOCUMENT_ROOT"], "/srv");
    EXPECT_FALSE(env.contains("HTTP_PROXY")) << "HTTP_* only from headers";
}

TEST_F(EnvironTest, SchemeFromCgiVariablesWhenTheFrontEndLeftIt)
{
    RequestBuilder rb("GET", "/environ");
    rb.scheme("").variable("HTTPS", "on");
    EXPECT_EQ(environ_of(rb)["wsgi.url_scheme"], "https");
    RequestBuilder rb2("GET", "/environ");
    rb2.scheme("").variable("REQUEST_SCHEME", "https");
    EXPECT_EQ(environ_of(rb2)["wsgi.url_scheme"], "https");
    RequestBuilder rb3("GET", "/environ");
    rb3.scheme("").variable("HTTPS", "off");
    EXPECT_EQ(environ_of(rb3)["wsgi.url_scheme"], "http");
}

TEST_F(EnvironTest, DroppedHeadersAreLoggedWithReason)
{
    RequestBuilder rb("GET", "/environ");
    rb.header("Proxy", "http://evil:1")
        .header("X_Forwarded_For", "6.6.6.6")
        .header("X-Forwarded-For", "1.2.3.4")
        .header("Bad Name", "x");
    auto env = environ_of(rb);
    EXPECT_FALSE(env.contains("HTTP_PROXY")) << "httpoxy, CVE-2016-5385";
    EXPECT_EQ(env["HTTP_X_FORWARDED_FOR"], "1.2.3.4")
        << "CVE-2015-0219: the underscore form is dropped";
    auto log = log_text();
    EXPECT_NE(log.find("'Proxy' not passed to the application: it would become HTTP_PROXY"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("'X_Forwarded_For' not passed"), std::string::npos) << log;
    EXPECT_NE(log.find("'Bad Name' not passed"), std::string::npos) << log;
    EXPECT_NE(log.find("[warning]"), std::string::npos);
}

TEST_F(EnvironTest, EmptyContentLengthIsAbsent)
{
    RequestBuilder rb("GET", "/environ");
    rb.header("Content-Length", "");
    auto env = environ_of(rb);
    EXPECT_FALSE(env.contains("CONTENT_LENGTH"))
        << "RFC 3875 §4.1.2: an empty CONTENT_LENGTH means no body";
}

TEST_F(EnvironTest, FreshDictPerRequest)
{
    // /environ sets environ["leaked"]; the next request must not see it (PEP 3333: a new environ
    // dict per request).
    auto first = environ_of(RequestBuilder("GET", "/environ"));
    EXPECT_FALSE(first.contains("leaked"));
    auto second = environ_of(RequestBuilder("GET", "/environ"));
    EXPECT_FALSE(second.contains("leaked"));
}

TEST_F(EnvironTest, CachedAndUncachedHeaderKeys)
{
    // Every name in keys.cpp's cache (plus some that are not) must map to its own key
    // with its own value: the cache is an open-addressing table, collisions included.
    std::vector<std::string> names{"Host",
                                   "User-Agent",
                                   "Accept",
                                   "Accept-Language",
                                   "Accept-Encoding",
                                   "Accept-Charset",
                                   "Connection",
                                   "Cookie",
                                   "Referer",
                                   "Origin",
                                   "Cache-Control",
                                   "Pragma",
                                   "Authorization",
                                   "If-Modified-Since",
                                   "If-None-Match",
                                   "If-Match",
                                   "If-Unmodified-Since",
                                   "If-Range",
                                   "Range",
                                   "Upgrade-Insecure-Requests",
                                   "Dnt",
                                   "Te",
                                   "Expect",
                                   "X-Forwarded-For",
                                   "X-Forwarded-Proto",
                                   "X-Forwarded-Host",
                                   "X-Forwarded-Port",
                                   "X-Real-Ip",
                                   "X-Requested-With",
                                   "X-Csrftoken",
                                   "X-Request-Id",
                                   "Forwarded",
                                   "Via",
                                   "Sec-Fetch-Dest",
                                   "Sec-Fetch-Mode",
                                   "Sec-Fetch-Site",
                                   "Sec-Fetch-User",
                                   "Sec-Ch-Ua",
                                   "Sec-Ch-Ua-Mobile",
                                   "Sec-Ch-Ua-Platform",
                                   "Priority",
                                   "Keep-Alive",
                                   "Content-Encoding",
                                   "Transfer-Encoding",
                                   "X-Http-Method-Override",
                                   "X-Not-Cached",
                                   "Accept-Datetime",
                                   "A",
                                   "Sec-Fetch-Xyz"};
    RequestBuilder rb("GET", "/environ");
    for (std::size_t i = 0; i < names.size(); ++i)
        rb.header(names[i], "value-" + std::to_string(i));
    auto env = environ_of(rb);
    for (std::size_t i = 0; i < names.size(); ++i) {
        std::string key = "HTTP_" + names[i];
        for (char& c : key)
            c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
        EXPECT_EQ(env.value(key, std::string("missing")), "value-" + std::to_string(i)) << key;
    }
}

TEST_F(EnvironTest, CachedAndUncachedVariableNamesAndValues)
{
    // keys.cpp caches the CGI variable names web servers pass (nginx's fastcgi_params,
    // Apache's mod_fcgid) and frequent values: each must still map to its own key and
    // value, and a value near a cached one must not be taken for it.
    std::vector<std::string> names{"DOCUMENT_ROOT",
                                   "DOCUMENT_URI",
                                   "REQUEST_SCHEME",
                                   "GATEWAY_INTERFACE",
                                   "SERVER_SOFTWARE",
                                   "SERVER_ADDR",
                                   "REDIRECT_STATUS",
                                   "HTTPS",
                                   "SCRIPT_FILENAME",
                                   "PATH_TRANSLATED",
                                   "CONTEXT_DOCUMENT_ROOT",
                                   "CONTEXT_PREFIX",
                                   "SERVER_ADMIN",
                                   "SERVER_SIGNATURE",
                                   "REMOTE_USER",
                                   "AUTH_TYPE",
                                   "REMOTE_HOST",
                                   "REQUEST_TIME",
                                   "REDIRECT_URL",
                                   "UNIQUE_ID",
                                   "PATH",
                                   "HTTP2",
                                   "SSL_PROTOCOL",
                                   "SSL_CIPHER",
                                   "NOT_CACHED",
                                   "DOCUMENT_ROOTS",
                                   "X"};
    std::vector<std::string> values{"http",    "https", "on",  "off", "CGI/1.1", "200",
                                    "CGI/1.2", "2000",  "htt", "",    "caf",     "/srv/www"};
    RequestBuilder rb("GET", "/environ");
    for (std::size_t i = 0; i < names.size(); ++i)
        rb.variable(names[i], values[i % values.size()]);
    std::vector<std::pair<std::string, std::string>> headers{{"Accept", "*/*"},
                                                             {"Connection", "keep-alive"},
                                                             {"Cache-Control", "no-cache"},
                                                             {"Sec-Fetch-Mode", "cors"},
                                                             {"Dnt", "1"},
                                                             {"Priority", "u=0, i"},
                                                             {"Te", "trailers2"},
                                                             {"X-Short", "*/**"},
                                                             {"X-Long", std::string(40, 'k')}};
    for (const auto& [name, value] : headers)
        rb.header(name, value);
    auto env = environ_of(rb);
    for (std::size_t i = 0; i < names.size(); ++i)
        EXPECT_EQ(env.value(names[i], std::string("missing")), values[i % values.size()])
            << names[i];
    for (const auto& [name, value] : headers) {
        std::string key = "HTTP_" + name;
        for (char& c : key)
            c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
        EXPECT_EQ(env.value(key, std::string("missing")), value) << key;
    }
}

TEST_F(EnvironTest, Latin1HeaderValues)
{
    RequestBuilder rb("GET", "/environ");
    rb.header("X-Bytes", "caf\xc3\xa9");
    auto env = environ_of(rb);
    EXPECT_EQ(env["HTTP_X_BYTES"], "caf\xc3\x83\xc2\xa9");
}

} // namespace
} // namespace wsgibridge::test
