#include "wsgibridge/headers.hpp"

#include <gtest/gtest.h>

using namespace wsgibridge;

TEST(Iequals, FoldsAsciiLettersOnly)
{
    EXPECT_TRUE(iequals("Content-Type", "content-type"));
    EXPECT_TRUE(iequals("X-A1", "x-a1"));
    EXPECT_FALSE(iequals("X-Foo", "X_Foo")); // '-' and '_' differ by 0x20 + 0x12: never equal
    EXPECT_FALSE(iequals("a@", "a`"));       // '@' | 0x20 == '`' but neither is a letter
    EXPECT_FALSE(iequals("abc", "abcd"));
}

TEST(HeaderList, KeepsOrderAndDuplicatesAndFindsFirst)
{
    HeaderList h;
    h.add("Accept", "a");
    h.add("Host", "x");
    h.add("accept", "b");
    ASSERT_EQ(h.size(), 3u);
    EXPECT_EQ(h[2].value, "b");
    EXPECT_EQ(h.find("ACCEPT").value(), "a");
    EXPECT_FALSE(h.find("Cookie").has_value());
}
