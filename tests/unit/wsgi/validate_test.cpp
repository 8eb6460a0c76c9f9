// The pure start_response checks (lib/wsgi/validate.cpp), no Python involved.
#include "wsgi/validate.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace wsgibridge::wsgi;
using namespace std::string_literals;

TEST(ValidateStatus, AcceptsCodeSpaceReason)
{
    int code = 0;
    EXPECT_EQ(check_status("200 OK", code), "");
    EXPECT_EQ(code, 200);
    EXPECT_EQ(check_status("404 Not Found", code), "");
    EXPECT_EQ(code, 404);
    EXPECT_EQ(check_status("599 ", code), "") << "an empty reason phrase is allowed (RFC 9112)";
    EXPECT_EQ(code, 599);
    EXPECT_EQ(check_status("200 caf\xe9", code), "") << "obs-text (latin-1) in the reason";
    EXPECT_EQ(check_status("200 a\tb", code), "");
}

TEST(ValidateStatus, RejectsMalformed)
{
    int code = -1;
    for (const std::string& bad : std::vector<std::string>{
             "", "200", "20 OK", "2000 OK", "200OK", "2x0 OK", " 200 OK", "099 X", "600 Nope",
             "200 OK\r\nX: y", "200 O\nK", "200 \x7f", "200 a\0b"s}) {
        EXPECT_NE(check_status(bad, code), "") << bad;
        EXPECT_EQ(code, -1) << "code untouched on failure: " << bad;
    }
}

TEST(ValidateHeaderName, TokensOnly)
{
    EXPECT_EQ(check_header_name("Content-Type"), "");
    EXPECT_EQ(check_header_name("X-a!#$%&'*+.^_`|~9"), "");
    for (const std::string& bad : std::vector<std::string>{"", "X A", "X-A:", "X\tA", "X\r\nA",
                                                           "X\0A"s, "caf\xe9", "(x)", "a/b"})
        EXPECT_NE(check_header_name(bad), "") << bad;
}

TEST(ValidateHeaderValue, NoCrLfNulOrControls)
{
    EXPECT_EQ(check_header_value(""), "");
    EXPECT_EQ(check_header_value("text/html; charset=utf-8"), "");
    EXPECT_EQ(check_header_value("a\tb"), "") << "HTAB is allowed";
    EXPECT_EQ(check_header_value("caf\xe9"), "") << "latin-1 obs-text is allowed";
    EXPECT_NE(check_header_value("a\r\nSet-Cookie: x=1"), "");
    EXPECT_NE(check_header_value("a\rb"), "");
    EXPECT_NE(check_header_value("a\nb"), "");
    EXPECT_NE(check_header_value("a\x01"), "");
    EXPECT_NE(check_header_value("a\x7f"), "");
    // A C-string validator stops at the NUL and accepts this.
    std::string nul("ok\0\r\nInjected: yes", 18);
    EXPECT_NE(check_header_value(nul), "");
    EXPECT_NE(check_header_value(std::string("\0", 1)), "");
}

TEST(ValidateHopByHop, PepListCaseInsensitive)
{
    for (auto name : {"Connection", "keep-alive", "TRANSFER-ENCODING", "TE", "Trailer", "Upgrade",
                      "Proxy-Authenticate", "proxy-authorization"})
        EXPECT_TRUE(is_hop_by_hop(name)) << name;
    for (auto name : {"Content-Length", "Content-Type", "Trailers", "X-Connection", "Proxy"})
        EXPECT_FALSE(is_hop_by_hop(name)) << name;
}

TEST(ValidateContentLength, DigitsOnly)
{
    EXPECT_EQ(parse_content_length("0"), 0u);
    EXPECT_EQ(parse_content_length(" 42 "), 42u);
    EXPECT_EQ(parse_content_length("9999999999999999999"), 9999999999999999999ull);
    for (auto bad : {"", " ", "-1", "+1", "1.0", "0x10", "1 2", "12a", "99999999999999999999"})
        EXPECT_FALSE(parse_content_length(bad)) << bad;
}

TEST(ValidateStatusBody, BodylessStatuses)
{
    EXPECT_FALSE(status_allows_body(100));
    EXPECT_FALSE(status_allows_body(101));
    EXPECT_FALSE(status_allows_body(204));
    EXPECT_FALSE(status_allows_body(304));
    EXPECT_TRUE(status_allows_body(200));
    EXPECT_TRUE(status_allows_body(404));
    EXPECT_FALSE(status_allows_content_length(204));
    EXPECT_FALSE(status_allows_content_length(199));
    EXPECT_TRUE(status_allows_content_length(304));
}
