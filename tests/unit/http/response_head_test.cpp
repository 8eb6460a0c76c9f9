// Response head encoding: golden text for each framing decision.
#include "http/response_sink.hpp"

#include <array>
#include <gtest/gtest.h>

using namespace wsgibridge;
using namespace wsgibridge::http;

namespace {

constexpr std::string_view date = "Wed, 25 Nov 2026 12:00:00 GMT";

struct Encoded
{
    HeadPlan plan;
    std::string text;
};

Encoded encode(ResponseHead head, HeadContext ctx = {false, true, date, "wsgi-bridge"})
{
    Encoded e;
    e.plan = encode_head(head, ctx, e.text);
    return e;
}

const std::array<Header, 1> text_plain{{{"Content-Type", "text/plain"}}};
const std::array<Header, 2> with_length{{{"Content-Type", "text/plain"}, {"Content-Length", "5"}}};

} // namespace

TEST(EncodeHead, KnownLengthFromApp)
{
    ResponseHead h;
    h.status = "200 OK";
    h.headers = with_length;
    h.content_length = 5;
    auto e = encode(h);
    EXPECT_EQ(e.text, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                      "Date: Wed, 25 Nov 2026 12:00:00 GMT\r\nServer: wsgi-bridge\r\n\r\n");
    EXPECT_TRUE(e.plan.body);
    EXPECT_FALSE(e.plan.chunked);
    EXPECT_FALSE(e.plan.close);
}

TEST(EncodeHead, ComputedLengthIsAdded)
{
    ResponseHead h;
    h.status = "200 OK";
    h.headers = text_plain;
    h.content_length = 14;
    h.content_length_computed = true;
    auto e = encode(h);
    EXPECT_NE(e.text.find("\r\nContent-Length: 14\r\n"), std::string::npos);
    EXPECT_EQ(e.text.find("Transfer-Encoding"), std::string::npos);
}

TEST(EncodeHead, UnknownLengthIsChunkedOn11)
{
    ResponseHead h;
    h.status = "200 OK";
    h.headers = text_plain;
    auto e = encode(h);
    EXPECT_TRUE(e.plan.chunked);
    EXPECT_NE(e.text.find("\r\nTransfer-Encoding: chunked\r\n"), std::string::npos);
    EXPECT_EQ(e.text.find("Connection:"), std::string::npos);
}

TEST(EncodeHead, UnknownLengthClosesOn10)
{
    ResponseHead h;
    h.status = "200 OK";
    h.headers = text_plain;
    auto e = encode(h, {true, true, date, "wsgi-bridge"});
    EXPECT_FALSE(e.plan.chunked);
    EXPECT_TRUE(e.plan.close);
    EXPECT_NE(e.text.find("\r\nConnection: close\r\n"), std::string::npos);
    EXPECT_EQ(e.text.find("Transfer-Encoding"), std::string::npos);
}

TEST(EncodeHead, Http10KeepAliveIsConfirmed)
{
    ResponseHead h;
    h.status = "200 OK";
    h.headers = with_length;
    h.content_length = 5;
    auto e = encode(h, {true, true, date, "wsgi-bridge"});
    EXPECT_FALSE(e.plan.close);
    EXPECT_NE(e.text.find("\r\nConnection: keep-alive\r\n"), std::string::npos);
}

TEST(EncodeHead, HeadKeepsContentLengthButNoBody)
{
    ResponseHead h;
    h.status = "200 OK";
    h.headers = text_plain;
    h.content_length = 14;
    h.content_length_computed = true;
    h.body_allowed = false;
    auto e = encode(h);
    EXPECT_FALSE(e.plan.body);
    EXPECT_NE(e.text.find("Content-Length: 14"), std::string::npos);
    EXPECT_EQ(e.text.find("Transfer-Encoding"), std::string::npos);
}

TEST(EncodeHead, NoContentDropsLengthAndBody)
{
    const std::array<Header, 1> length_only{{{"Content-Length", "0"}}};
    ResponseHead h;
    h.status_code = 204;
    h.status = "204 No Content";
    h.headers = length_only;
    h.content_length = 0;
    h.body_allowed = false;
    auto e = encode(h);
    EXPECT_FALSE(e.plan.body);
    EXPECT_EQ(e.text.find("Content-Length"), std::string::npos);
    EXPECT_EQ(e.text.find("Transfer-Encoding"), std::string::npos);
}

TEST(EncodeHead, NotModifiedHasNoBodyOrChunking)
{
    ResponseHead h;
    h.status_code = 304;
    h.status = "304 Not Modified";
    h.body_allowed = false;
    auto e = encode(h);
    EXPECT_FALSE(e.plan.body);
    EXPECT_FALSE(e.plan.chunked);
    EXPECT_FALSE(e.plan.close);
}

TEST(EncodeHead, AppDateAndServerWin)
{
    const std::array<Header, 2> own{{{"Date", "yesterday"}, {"server", "mine"}}};
    ResponseHead h;
    h.status = "200 OK";
    h.headers = own;
    h.content_length = 0;
    h.content_length_computed = true;
    auto e = encode(h);
    EXPECT_EQ(e.text,
              "HTTP/1.1 200 OK\r\nDate: yesterday\r\nserver: mine\r\nContent-Length: 0\r\n\r\n");
}

TEST(EncodeHead, ClosingConnectionSaysSo)
{
    ResponseHead h;
    h.status = "400 Bad Request";
    h.content_length = 0;
    h.content_length_computed = true;
    auto e = encode(h, {false, false, date, ""});
    EXPECT_TRUE(e.plan.close);
    EXPECT_NE(e.text.find("\r\nConnection: close\r\n"), std::string::npos);
    EXPECT_EQ(e.text.find("Server:"), std::string::npos);
}
