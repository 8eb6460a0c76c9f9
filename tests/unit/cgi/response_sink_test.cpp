#include "response_sink.hpp"
#include "wsgibridge/error.hpp"

#include <array>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <string>
#include <unistd.h>

using namespace wsgibridge;

namespace {

// The sink writes into a pipe; available() returns what has been written so far.
class Output
{
public:
    Output()
    {
        int fds[2];
        EXPECT_EQ(::pipe2(fds, O_NONBLOCK), 0);
        r_ = fds[0];
        w_ = fds[1];
    }
    ~Output()
    {
        ::close(r_);
        if (w_ >= 0) ::close(w_);
    }
    int fd() const { return w_; }
    void close_reader()
    {
        ::close(r_);
        r_ = ::open("/dev/null", O_RDONLY);
    }
    std::string available()
    {
        char buf[65536];
        ssize_t n = ::read(r_, buf, sizeof buf);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }

private:
    int r_ = -1, w_ = -1;
};

ResponseHead head_of(int code, std::string_view status, std::span<const Header> headers)
{
    ResponseHead h;
    h.status_code = code;
    h.status = status;
    h.headers = headers;
    return h;
}

} // namespace

TEST(StdoutSink, ExplicitStatusLineHeadersAndBody)
{
    Output out;
    cgi::StdoutSink sink(out.fd());
    std::array<Header, 2> headers{{{"Location", "/items/5"}, {"Content-Type", "text/plain"}}};
    ASSERT_FALSE(sink.start(head_of(201, "201 Created", headers)));
    EXPECT_EQ(out.available(), ""); // the head waits for the first body bytes
    ASSERT_FALSE(sink.write(std::string_view("created")));
    // Handed to the fd when write() returns (no stdio buffering): one writev.
    EXPECT_EQ(
        out.available(),
        "Status: 201 Created\r\nLocation: /items/5\r\nContent-Type: text/plain\r\n\r\ncreated");
    ASSERT_FALSE(sink.write(std::string_view("+more")));
    EXPECT_EQ(out.available(), "+more");
    ASSERT_FALSE(sink.finish());
    EXPECT_TRUE(sink.completed());
    EXPECT_EQ(sink.status(), 201);
    EXPECT_EQ(sink.body_bytes(), 12u);
}

TEST(StdoutSink, ComputedContentLengthIsAdded)
{
    Output out;
    cgi::StdoutSink sink(out.fd());
    auto head = head_of(200, "200 OK", {});
    head.content_length = 5;
    head.content_length_computed = true;
    ASSERT_FALSE(sink.start(head));
    ASSERT_FALSE(sink.write(std::string_view("hello")));
    ASSERT_FALSE(sink.finish());
    EXPECT_EQ(out.available(), "Status: 200 OK\r\nContent-Length: 5\r\n\r\nhello");
}

TEST(StdoutSink, FinishWithoutBodySendsTheHead)
{
    Output out;
    cgi::StdoutSink sink(out.fd());
    std::array<Header, 1> headers{{{"Location", "http://example.org/"}}};
    ASSERT_FALSE(sink.start(head_of(302, "302 Found", headers)));
    ASSERT_FALSE(sink.finish());
    EXPECT_EQ(out.available(), "Status: 302 Found\r\nLocation: http://example.org/\r\n\r\n");
}

TEST(StdoutSink, HeadRequestGetsNoBody)
{
    Output out;
    cgi::StdoutSink sink(out.fd());
    std::array<Header, 1> headers{{{"Content-Length", "5"}}};
    auto head = head_of(200, "200 OK", headers);
    head.body_allowed = false;
    ASSERT_FALSE(sink.start(head));
    ASSERT_FALSE(sink.write(std::string_view("hello")));
    ASSERT_FALSE(sink.finish());
    EXPECT_EQ(out.available(), "Status: 200 OK\r\nContent-Length: 5\r\n\r\n");
}

TEST(StdoutSink, NphHasAStatusLineDateAndConnectionClose)
{
    Output out;
    cgi::StdoutSink sink(out.fd(), "HTTP/1.1");
    std::array<Header, 1> headers{{{"Content-Type", "text/plain"}}};
    ASSERT_FALSE(sink.start(head_of(404, "404 Not Found", headers)));
    ASSERT_FALSE(sink.write(std::string_view("nope")));
    ASSERT_FALSE(sink.finish());
    std::string text = out.available();
    EXPECT_TRUE(text.starts_with("HTTP/1.1 404 Not Found\r\nDate: ")) << text;
    EXPECT_NE(text.find(" GMT\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nnope"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("Status:"), std::string::npos);
}

TEST(StdoutSink, NphKeepsTheApplicationsDate)
{
    Output out;
    cgi::StdoutSink sink(out.fd(), "HTTP/1.0");
    std::array<Header, 1> headers{{{"Date", "Tue, 01 Jan 2030 00:00:00 GMT"}}};
    ASSERT_FALSE(sink.start(head_of(200, "200 OK", headers)));
    ASSERT_FALSE(sink.finish());
    std::string text = out.available();
    EXPECT_EQ(
        text,
        "HTTP/1.0 200 OK\r\nConnection: close\r\nDate: Tue, 01 Jan 2030 00:00:00 GMT\r\n\r\n");
}

TEST(StdoutSink, AbortBeforeAnyByteLeftBecomesA500)
{
    Output out;
    cgi::StdoutSink sink(out.fd());
    ASSERT_FALSE(sink.start(head_of(200, "200 OK", {})));
    sink.abort("the app raised");
    EXPECT_EQ(out.available(),
              "Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: 26\r\n\r\n500 Internal Server Error\n");
    EXPECT_FALSE(sink.completed());
    EXPECT_EQ(sink.status(), 500);
}

TEST(StdoutSink, AbortAfterBodyBytesLeavesTheResponseCut)
{
    Output out;
    cgi::StdoutSink sink(out.fd());
    ASSERT_FALSE(sink.start(head_of(200, "200 OK", {})));
    ASSERT_FALSE(sink.write(std::string_view("part")));
    out.available();
    sink.abort("the app raised mid-body");
    EXPECT_EQ(out.available(), "");
    EXPECT_FALSE(sink.completed());
    EXPECT_NE(sink.finish(), std::error_code{});
}

TEST(StdoutSink, SimpleResponses)
{
    Output out;
    cgi::StdoutSink sink(out.fd());
    ASSERT_FALSE(sink.send_simple(413, false));
    EXPECT_EQ(out.available(),
              "Status: 413 Content Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: 22\r\n\r\n413 Content Too Large\n");
    Output head_out;
    cgi::StdoutSink head_sink(head_out.fd());
    ASSERT_FALSE(head_sink.send_simple(400, true));
    EXPECT_TRUE(head_out.available().ends_with("Content-Length: 16\r\n\r\n"));
}

TEST(StdoutSink, ServerGoneIsAnErrorNotASignal)
{
    ::signal(SIGPIPE, SIG_IGN);
    Output out;
    out.close_reader();
    cgi::StdoutSink sink(out.fd());
    ASSERT_FALSE(sink.start(head_of(200, "200 OK", {})));
    EXPECT_EQ(sink.write(std::string_view("x")), errc::peer_gone);
    EXPECT_TRUE(sink.client_gone());
    EXPECT_EQ(sink.write(std::string_view("y")), errc::peer_gone);
}

TEST(StdoutSink, StateMachineIsEnforced)
{
    Output out;
    cgi::StdoutSink sink(out.fd());
    EXPECT_EQ(sink.write(std::string_view("early")), errc::app_error);
    EXPECT_EQ(sink.finish(), errc::app_error);
    ASSERT_FALSE(sink.start(head_of(200, "200 OK", {})));
    EXPECT_EQ(sink.start(head_of(200, "200 OK", {})), errc::app_error);
}
