// The one Content-Length parser (lib/model/content_length.hpp): RFC 9110 section 8.6,
// Content-Length = 1*DIGIT, used for HTTP fields and every CONTENT_LENGTH variable.
#include "model/content_length.hpp"

#include <gtest/gtest.h>

using wsgibridge::parse_content_length;

TEST(ContentLength, DigitsOnly)
{
    EXPECT_EQ(parse_content_length("0"), 0u);
    EXPECT_EQ(parse_content_length("5"), 5u);
    EXPECT_EQ(parse_content_length("007"), 7u); // leading zeros are DIGITs too
    EXPECT_EQ(parse_content_length("1048576"), 1048576u);
    for (const char* bad :
         {"", " 5", "5 ", "+5", "-5", "5, 5", "5,5", "0x10", "1e3", "5.0", "five"})
        EXPECT_FALSE(parse_content_length(bad)) << '"' << bad << '"';
}

TEST(ContentLength, OverflowIsRefusedNotWrapped)
{
    EXPECT_EQ(parse_content_length("18446744073709551615"), UINT64_MAX);
    EXPECT_FALSE(parse_content_length("18446744073709551616"));
    EXPECT_FALSE(parse_content_length("99999999999999999999"));
    EXPECT_EQ(parse_content_length("000000000000000000000042"), 42u);
}

static_assert(parse_content_length("123") == 123u);
