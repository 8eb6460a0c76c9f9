// The io thread hands a finished request's state (PARAMS buffer, derived bytes, the
// Request's field lists) to the next BEGIN_REQUEST instead of allocating a new one.
// Whatever the previous request carried must not show through: every request sees
// exactly its own FCGI_PARAMS (FastCGI 1.0 §5.2) and its own FCGI_STDIN, whether it ran
// inline on the io thread (one thread) or on a worker, on a new connection or on a
// kept one (FCGI_KEEP_CONN, the same request id again).
#include "server_fixture.hpp"

using namespace wsgibridge;
using namespace wsgibridge::test;
namespace wire = wsgibridge::test::fcgi;

namespace {

/// A POST with more of everything than the request after it: variables, headers,
/// HTTPS, a body, a long value, Authorization promotion's input.
std::vector<std::pair<std::string, std::string>> rich_params()
{
    auto p = wire::cgi_params("POST", "/vars?first=1");
    p.emplace_back("DOCUMENT_ROOT", "/srv/first");
    p.emplace_back("HTTPS", "on");
    p.emplace_back("CONTENT_TYPE", "text/plain");
    p.emplace_back("CONTENT_LENGTH", "5");
    p.emplace_back("HTTP_X_SECRET", "alpha");
    p.emplace_back("HTTP_X_LONG", std::string(3000, 'x'));
    p.emplace_back("REDIRECT_HTTP_AUTHORIZATION", "Basic Zmlyc3Q=");
    return p;
}

/// What /vars answers for a bare GET: nothing of rich_params() may appear in it.
const std::string plain_answer =
    "GET /vars http 50000 cl=-\nH HOST=localhost\nV FCGI_ROLE=RESPONDER\nB \n";

std::string rich_answer()
{
    return "POST /vars?first=1 https 50000 cl=5\nH HOST=localhost\nH CONTENT-TYPE=text/plain\n"
           "H CONTENT-LENGTH=5\nH X-SECRET=alpha\nH X-LONG=" +
           std::string(3000, 'x') +
           "\nV DOCUMENT_ROOT=/srv/first\nV HTTPS=on\nV REDIRECT_HTTP_AUTHORIZATION=Basic "
           "Zmlyc3Q=\nV FCGI_ROLE=RESPONDER\nB hello\n";
}

class StateReuseTest : public FcgiServerTest, public ::testing::WithParamInterface<unsigned>
{
protected:
    void SetUp() override
    {
        FastcgiServerOptions o;
        o.bind = "unix:" + sock.string();
        o.threads = GetParam(); // 1: inline on the io thread; 2: on the worker pool
        o.limits.max_header_count = 8;
        start(o);
    }

    std::string serve(const std::string& bytes)
    {
        RawFcgiClient c(sock);
        EXPECT_TRUE(c.send(bytes));
        auto r = c.read_reply(1);
        EXPECT_TRUE(r.ended);
        return r.status() == 200 ? r.body() : "status " + std::to_string(r.status());
    }

    std::filesystem::path sock = dir / "s.sock";
};

} // namespace

TEST_P(StateReuseTest, NextConnectionSeesOnlyItsOwnParamsAndBody)
{
    for (int round = 0; round < 3; ++round) {
        EXPECT_EQ(serve(wire::request(1, rich_params(), "hello")), rich_answer());
        EXPECT_EQ(serve(wire::request(1, wire::cgi_params("GET", "/vars"))), plain_answer);
        EXPECT_EQ(serve(wire::request(1, wire::cgi_params("GET", "/vars"))), plain_answer);
    }
}

TEST_P(StateReuseTest, KeptConnectionReusingTheIdSeesOnlyItsOwnParams)
{
    RawFcgiClient c(sock);
    ASSERT_TRUE(c.send(wire::request(1, rich_params(), "hello", true)));
    EXPECT_EQ(c.read_reply(1).body(), rich_answer());
    ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("GET", "/vars"), {}, true)));
    EXPECT_EQ(c.read_reply(1).body(), plain_answer);
}

TEST_P(StateReuseTest, RefusedRequestLeavesNothingForTheNext)
{
    // 9 header fields over --max-header-count 8: 431 without the application.
    auto many = wire::cgi_params("GET", "/vars");
    for (int i = 0; i < 8; ++i)
        many.emplace_back("HTTP_X_F" + std::to_string(i), "v");
    EXPECT_EQ(serve(wire::request(1, many)), "status 431");
    EXPECT_EQ(serve(wire::request(1, wire::cgi_params("GET", "/vars"))), plain_answer);
    // A CONTENT_LENGTH that is not a number: 400; the next request has no body length.
    auto bad = wire::cgi_params("POST", "/vars");
    bad.emplace_back("CONTENT_LENGTH", "12x");
    EXPECT_EQ(serve(wire::request(1, bad)), "status 400");
    EXPECT_EQ(serve(wire::request(1, wire::cgi_params("GET", "/vars"))), plain_answer);
}

INSTANTIATE_TEST_SUITE_P(Threads, StateReuseTest, ::testing::Values(1u, 2u), [](const auto& info) {
    return info.param == 1 ? std::string("Inline") : std::string("WorkerPool");
});
