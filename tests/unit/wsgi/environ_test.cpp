// The environ the app sees (lib/wsgi/environ.cpp): PEP 3333 keys, CGI variables from
// the request, latin-1 strings, a fresh dict per request.
#include "harness.hpp"
#include "wsgi/environ.hpp"
#include "wsgi/gil.hpp"

#include <cctype>
#include <optional>
#include <random>

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

// EnvironBuilder::build reuses the previous request's environ when the variables come in
// the same order (lib/wsgi/environ.hpp). Whatever the sequence of requests, each environ
// must hold the same items in the same order as a full build (build_uncached), and the
// dropped headers must be logged for every request.
class EnvironReuseTest : public ::testing::Test
{
protected:
    using Items = std::vector<std::pair<std::string, std::string>>;

    static void SetUpTestSuite()
    {
        interpreter();
        py::GilAcquire gil;
        keys_ = new py::Keys();
    }
    static void TearDownTestSuite()
    {
        py::GilAcquire gil;
        delete keys_;
        keys_ = nullptr;
    }
    void SetUp() override
    {
        py::GilAcquire gil;
        builder_.emplace(*keys_, WsgiOptions{}, Py_None, Py_Ellipsis);
    }
    void TearDown() override
    {
        py::GilAcquire gil;
        builder_->clear();
        builder_.reset();
    }

    /// The environ's items in order, values as repr().
    static Items items(PyObject* env)
    {
        Items out;
        Py_ssize_t pos = 0;
        PyObject *k, *v;
        while (PyDict_Next(env, &pos, &k, &v)) {
            py::PyRef r = py::PyRef::steal(PyObject_Repr(v));
            out.emplace_back(PyUnicode_AsUTF8(k), r ? PyUnicode_AsUTF8(r.get()) : "?");
        }
        return out;
    }

    /// build() on the shared builder, checked against a full build. The environ itself
    /// (GIL needed to use it) goes to `keep` when asked for.
    Items check(const Request& req, const std::string& what, py::PyRef* keep = nullptr)
    {
        py::GilAcquire gil;
        py::PyRef reference = builder_->build_uncached(req, Py_True, reference_log_.logger());
        py::PyRef env = builder_->build(req, Py_True, log_.logger());
        EXPECT_TRUE(reference && env) << what;
        if (!reference || !env) {
            PyErr_Clear();
            return {};
        }
        Items got = items(env.get());
        EXPECT_EQ(got, items(reference.get())) << what;
        if (keep) *keep = std::move(env);
        return got;
    }

    std::size_t log_count(std::string_view needle) const
    {
        std::string text = log_.text();
        std::size_t n = 0;
        for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
            ++n;
        return n;
    }

    static inline py::Keys* keys_ = nullptr;
    std::optional<py::EnvironBuilder> builder_;
    LogCapture log_, reference_log_;
};

RequestBuilder nginx_like(std::string_view target = "/")
{
    RequestBuilder rb("GET", target);
    rb.variable("DOCUMENT_URI", "/")
        .variable("DOCUMENT_ROOT", "/usr/share/nginx/html")
        .variable("REQUEST_SCHEME", "http")
        .variable("GATEWAY_INTERFACE", "CGI/1.1")
        .variable("SERVER_SOFTWARE", "nginx/1.22.1")
        .variable("SERVER_ADDR", "127.0.0.1")
        .variable("REDIRECT_STATUS", "200")
        .header("Host", "127.0.0.1:8080")
        .header("User-Agent", "wrk")
        .header("Accept", "*/*");
    return rb;
}

TEST_F(EnvironReuseTest, RepeatedRequestAndChangedValues)
{
    RequestBuilder rb = nginx_like("/a?x=1");
    auto first = check(rb.request(), "first");
    EXPECT_EQ(check(rb.request(), "repeated"), first);
    Request other = rb.request();
    other.remote_port = "51234";
    EXPECT_NE(check(other, "REMOTE_PORT changed"), first);
    std::string long_uri = "/" + std::string(300, 'u') + "?q=" + std::string(100, 'q');
    other.target = long_uri; // longer than its stored room: stored anew
    other.query_string = std::string_view(long_uri).substr(long_uri.find('?') + 1);
    check(other, "REQUEST_URI and QUERY_STRING longer");
    other.target = "/b";
    other.query_string = "";
    check(other, "shorter");
    EXPECT_EQ(check(rb.request(), "back to the first"), first);
    // Values outgrowing their room request after request: the kept bytes are compacted.
    std::string uri;
    for (int i = 0; i < 60; ++i) {
        uri = "/" + std::string(static_cast<std::size_t>(i) * 97, static_cast<char>('a' + i % 26));
        other.target = uri;
        check(other, "REQUEST_URI of " + std::to_string(uri.size()) + " bytes");
    }
    // The server's own variables changing (template keys GATEWAY_INTERFACE and
    // SERVER_SOFTWARE the web server overrides, and another).
    RequestBuilder upgraded("GET", "/a?x=1");
    upgraded.variable("DOCUMENT_URI", "/")
        .variable("DOCUMENT_ROOT", "/srv")
        .variable("REQUEST_SCHEME", "http")
        .variable("GATEWAY_INTERFACE", "CGI/1.2")
        .variable("SERVER_SOFTWARE", "nginx/1.25.0")
        .variable("SERVER_ADDR", "127.0.0.1")
        .variable("REDIRECT_STATUS", "200")
        .header("Host", "127.0.0.1:8080")
        .header("User-Agent", "wrk")
        .header("Accept", "*/*");
    check(upgraded.request(), "server variables changed");
    EXPECT_EQ(check(rb.request(), "and back"), first);
}

TEST_F(EnvironReuseTest, KeyOrderKeySetAndAlternatingShapes)
{
    RequestBuilder a = nginx_like();
    RequestBuilder swapped("GET", "/");
    swapped.variable("DOCUMENT_URI", "/")
        .variable("DOCUMENT_ROOT", "/usr/share/nginx/html")
        .variable("REQUEST_SCHEME", "http")
        .variable("GATEWAY_INTERFACE", "CGI/1.1")
        .variable("SERVER_SOFTWARE", "nginx/1.22.1")
        .variable("SERVER_ADDR", "127.0.0.1")
        .variable("REDIRECT_STATUS", "200")
        .header("User-Agent", "wrk")
        .header("Host", "127.0.0.1:8080")
        .header("Accept", "*/*");
    RequestBuilder more = nginx_like();
    more.header("Cookie", "a=1").header("X-Extra", "1");
    RequestBuilder fewer("GET", "/");
    fewer.variable("DOCUMENT_URI", "/").variable("DOCUMENT_ROOT", "/usr/share/nginx/html");
    Request no_port = a.request();
    no_port.remote_port = {};
    RequestBuilder post = nginx_like();
    post.method("POST").header("Content-Type", "text/plain").body("hello");

    auto first = check(a.request(), "a");
    check(swapped.request(), "two headers swapped");
    EXPECT_EQ(check(a.request(), "a after swapped"), first);
    check(more.request(), "two more headers");
    EXPECT_EQ(check(a.request(), "a after more"), first);
    check(fewer.request(), "a prefix of a's variables");
    EXPECT_EQ(check(a.request(), "a after fewer"), first);
    check(no_port, "no REMOTE_PORT");
    for (int i = 0; i < 3; ++i) {
        check(post.request(), "POST, alternating " + std::to_string(i));
        EXPECT_EQ(check(a.request(), "a, alternating " + std::to_string(i)), first);
    }
}

TEST_F(EnvironReuseTest, DroppedHeadersAreLoggedEveryTime)
{
    RequestBuilder rb = nginx_like();
    rb.header("Proxy", "http://evil:1").header("X_Forwarded_For", "6.6.6.6");
    for (int i = 1; i <= 3; ++i) {
        auto env = check(rb.request(), "with dropped headers " + std::to_string(i));
        for (const auto& [key, value] : env)
            EXPECT_NE(key, "HTTP_PROXY");
        EXPECT_EQ(log_count("'Proxy' not passed to the application"), static_cast<std::size_t>(i));
        EXPECT_EQ(log_count("'X_Forwarded_For' not passed"), static_cast<std::size_t>(i));
    }
}

TEST_F(EnvironReuseTest, SchemeIsNeverKept)
{
    RequestBuilder plain = nginx_like();
    RequestBuilder tls = nginx_like();
    tls.scheme("https");
    RequestBuilder odd = nginx_like();
    odd.scheme("ws");
    for (int i = 0; i < 2; ++i) {
        auto a = check(plain.request(), "http");
        auto b = check(tls.request(), "https, the same variables");
        check(odd.request(), "another scheme");
        EXPECT_NE(a, b);
        EXPECT_EQ(check(plain.request(), "http again"), a);
    }
}

TEST_F(EnvironReuseTest, ApplicationChangesToItsEnvironDoNotReachTheNext)
{
    RequestBuilder rb = nginx_like();
    py::PyRef env;
    auto first = check(rb.request(), "first", &env);
    {
        py::GilAcquire gil;
        ASSERT_EQ(PyDict_SetItemString(env.get(), "HTTP_HOST", Py_None), 0);
        ASSERT_EQ(PyDict_DelItemString(env.get(), "REQUEST_METHOD"), 0);
        ASSERT_EQ(PyDict_SetItemString(env.get(), "leaked", Py_None), 0);
        ASSERT_EQ(PyDict_SetItemString(env.get(), "wsgi.url_scheme", Py_None), 0);
        env.reset();
    }
    EXPECT_EQ(check(rb.request(), "after the app changed its environ"), first);
}

TEST_F(EnvironReuseTest, RepeatedNamesAndBounds)
{
    // A variable named twice, or like a fixed one: one dict entry, the last value in the
    // first one's place.
    RequestBuilder twice = nginx_like();
    twice.variable("X_TWICE", "1").variable("X_TWICE", "2").variable("REQUEST_METHOD", "PUT");
    RequestBuilder twice_changed = nginx_like();
    twice_changed.variable("X_TWICE", "3")
        .variable("X_TWICE", "2")
        .variable("REQUEST_METHOD", "PUT");
    // Over the bounds kept: a large cookie, many variables.
    RequestBuilder big = nginx_like();
    big.header("Cookie", std::string(20000, 'c'));
    RequestBuilder many = nginx_like();
    for (int i = 0; i < 200; ++i)
        many.variable("V" + std::to_string(i), std::to_string(i));
    RequestBuilder normal = nginx_like();
    for (int i = 0; i < 2; ++i) {
        check(twice.request(), "a variable twice");
        check(twice_changed.request(), "its first value changed");
        check(twice.request(), "a variable twice again");
        check(big.request(), "a large cookie");
        check(normal.request(), "after the large cookie");
        check(big.request(), "the large cookie after");
        check(many.request(), "200 variables");
        check(many.request(), "200 variables again");
        check(normal.request(), "after 200 variables");
    }
    // Cookie values growing past the kept bytes on a request of the same shape.
    RequestBuilder small_cookie = nginx_like();
    small_cookie.header("Cookie", "a=1");
    check(small_cookie.request(), "small cookie");
    check(big.request(), "the same shape, a cookie over the bound");
    check(small_cookie.request(), "small cookie again");
}

TEST_F(EnvironReuseTest, RandomSequences)
{
    // Requests drawn from a few shapes and values, values growing and shrinking so the
    // kept bytes are stored anew and compacted: every environ equals a full build.
    std::mt19937 rng(20261201);
    const std::vector<std::string> names{"Host",  "User-Agent", "Accept",       "Cookie",
                                         "X-A",   "X-B",        "Content-Type", "Content-Length",
                                         "Proxy", "Accept"};
    const std::vector<std::string> vars{"DOCUMENT_ROOT", "HTTPS",       "SERVER_SOFTWARE",
                                        "X_VAR",         "REQUEST_URI", "SCRIPT_FILENAME"};
    auto value = [&](int i) {
        switch (rng() % 6) {
        case 0:
            return std::string();
        case 1:
            return std::string("*/*");
        case 2:
            return std::string(rng() % 3000, static_cast<char>('a' + i % 26));
        default:
            return std::to_string(rng() % 100);
        }
    };
    for (int round = 0; round < 400; ++round) {
        std::size_t shape = rng() % 4;
        RequestBuilder rb(rng() % 2 ? "GET" : "POST",
                          "/p" + std::to_string(rng() % 3) + "?" + value(1));
        if (rng() % 5 == 0) rb.scheme("https");
        for (std::size_t i = 0; i < vars.size(); ++i)
            if ((i + shape) % 4 != 0) rb.variable(vars[i], value(static_cast<int>(i)));
        for (std::size_t i = 0; i < names.size(); ++i)
            if ((i * 7 + shape) % 5 != 0)
                rb.header(names[(i + shape) % names.size()], value(static_cast<int>(i)));
        Request req = rb.request();
        std::string port = std::to_string(40000 + rng() % 20000);
        if (rng() % 2) req.remote_port = port;
        check(req, "round " + std::to_string(round));
    }
}

} // namespace
} // namespace wsgibridge::test
