// wsgi-http serving an app wrapped in wsgiref.validate.validator: the standard
// library's PEP 3333 oracle raises (-> 500 and a traceback) on any violation, so every
// request here must come back with the app's own status and the log stay clean.
#include "http_server.hpp"

using namespace wsgibridge::test;

TEST(WsgiHttpValidator, EveryRequestPassesTheOracle)
{
    WsgiHttpProcess s({"--app", "http_validated", "--pythonpath", "tests/apps"});
    ASSERT_TRUE(s.ready()) << s.error_log();
    EXPECT_EQ(response_status(curl({s.url("/env?a=b")}).out), "HTTP/1.1 200 OK");
    EXPECT_EQ(response_status(curl({"-I", s.url("/env")}).out), "HTTP/1.1 200 OK");
    auto echo = curl({"--data-binary", "hello validator", s.url("/echo")});
    EXPECT_EQ(response_body(echo.out), "hello validator");
    auto chunked =
        curl({"-H", "Transfer-Encoding: chunked", "--data-binary", "abc", s.url("/length")});
    EXPECT_EQ(response_body(chunked.out), "3 294\n");
    auto expect = curl({"-H", "Expect: 100-continue", "--data-binary", "xyz", s.url("/echo")});
    EXPECT_EQ(response_body(expect.out), "xyz");
    EXPECT_NE(expect.out.find("HTTP/1.1 100 Continue"), std::string::npos);
    auto stream = curl({s.url("/stream")});
    EXPECT_EQ(response_status(stream.out), "HTTP/1.1 200 OK");
    EXPECT_NE(response_body(stream.out).find("part 2"), std::string::npos);
    EXPECT_EQ(response_status(curl({s.url("/missing")}).out), "HTTP/1.1 404 Not Found");
    auto log = s.error_log();
    EXPECT_EQ(log.find("AssertionError"), std::string::npos) << log;
    EXPECT_EQ(log.find("Warning"), std::string::npos) << log;
}
