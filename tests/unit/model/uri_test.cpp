#include "model/uri.hpp"

#include <gtest/gtest.h>

using namespace wsgibridge;

TEST(SplitTarget, OriginForm)
{
    auto p = split_target("/a/b?x=1&y=%20");
    EXPECT_EQ(p.path, "/a/b");
    EXPECT_EQ(p.query, "x=1&y=%20");
    EXPECT_EQ(split_target("/only").query, "");
    EXPECT_EQ(split_target("/q?").query, "");
}

TEST(SplitTarget, AbsoluteForm)
{
    auto p = split_target("http://example.com:8080/p/q?z");
    EXPECT_EQ(p.path, "/p/q");
    EXPECT_EQ(p.query, "z");
    EXPECT_EQ(split_target("http://example.com").path, "/");
}

TEST(PercentDecode, DecodesBytesNotUtf8)
{
    std::string out;
    percent_decode_append("/caf%C3%A9", out);
    EXPECT_EQ(out, "/caf\xC3\xA9");
    EXPECT_EQ(out.size(), 6u);
}

TEST(PercentDecode, KeepsMalformedEscapesAndPlus)
{
    std::string out;
    percent_decode_append("%zz%4%+a%2", out);
    EXPECT_EQ(out, "%zz%4%+a%2");
    out.clear();
    percent_decode_append("%2f%2F%00", out);
    EXPECT_EQ(out, std::string("//\0", 3));
}

TEST(SplitMount, RootMount)
{
    std::string_view s, p;
    ASSERT_TRUE(split_mount("/x", "", s, p));
    EXPECT_EQ(s, "");
    EXPECT_EQ(p, "/x");
}

TEST(SplitMount, PrefixOnSegmentBoundaryOnly)
{
    std::string_view s, p;
    ASSERT_TRUE(split_mount("/app/x", "/app/", s, p));
    EXPECT_EQ(s, "/app");
    EXPECT_EQ(p, "/x");
    ASSERT_TRUE(split_mount("/app", "/app", s, p));
    EXPECT_EQ(p, "");
    EXPECT_FALSE(split_mount("/application", "/app", s, p));
    EXPECT_FALSE(split_mount("/other", "/app", s, p));
}
