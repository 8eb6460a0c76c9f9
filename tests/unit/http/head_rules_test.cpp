// The request-target forms and Host grammar of RFC 9112 section 3.2 (RFC 3986 section
// 3.2 for the authority), checked without a socket.
#include "http/head_rules.hpp"

#include <gtest/gtest.h>

using namespace wsgibridge::http;

TEST(TargetForm, Classifies)
{
    EXPECT_EQ(target_form("/"), TargetForm::origin);
    EXPECT_EQ(target_form("/a?b=c"), TargetForm::origin);
    EXPECT_EQ(target_form("http://example.com/a"), TargetForm::absolute);
    EXPECT_EQ(target_form("HTTPS://[::1]:443?x"), TargetForm::absolute);
    EXPECT_EQ(target_form("http://h"), TargetForm::absolute);
    EXPECT_EQ(target_form("example.com:443"), TargetForm::authority);
    EXPECT_EQ(target_form("[::1]:443"), TargetForm::authority);
    EXPECT_EQ(target_form("*"), TargetForm::asterisk);
}

TEST(TargetForm, RejectsTheRest)
{
    for (auto t : {"", "foo/bar", "example.com", "example.com:", "s://]ufd/:", "http://",
                   "http:///x", "http://u@h/", "ftp://h/", "/a#frag", "**", "http://h:x/"})
        EXPECT_EQ(target_form(t), TargetForm::invalid) << t;
}

TEST(ValidHost, Grammar)
{
    for (auto h : {"", "example.com", "a.b:80", "[::1]", "[::1]:8080", "[::ffff:1.2.3.4]",
                   "[v1.x:y]", "1.2.3.4", "h:", "%41b", "a-b_c~d"})
        EXPECT_TRUE(valid_host(h)) << h;
    for (auto h : {"a/b", "[::1", "[::1]x", "[]", "a b", "h:8x", ":80", "u@h", "%4", "[zz::1]",
                   "h?q", "h#f"})
        EXPECT_FALSE(valid_host(h)) << h;
}

TEST(CheckRawHead, ObsFold)
{
    EXPECT_FALSE(check_raw_head("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    EXPECT_TRUE(check_raw_head("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"));
    EXPECT_TRUE(check_raw_head("GET / HTTP/1.1\r\n\tHost: h\r\n\r\n"));
}
