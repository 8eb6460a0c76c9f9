// The SCGI netstring prefix (SCGI 1.0 / netstrings) and the uwsgi packet header (uWSGI
// docs, "The uwsgi protocol"): the parts of each codec the request table does not reach.
#include "scgi/codec.hpp"
#include "uwsgi/codec.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace wsgibridge;

TEST(ScgiCodec, LengthPrefix)
{
    auto ok = scgi::parse_length_prefix("70:CONTENT_LENGTH");
    ASSERT_TRUE(ok && *ok);
    EXPECT_EQ((*ok)->length, 70u);
    EXPECT_EQ((*ok)->prefix_size, 3u);
    auto more = scgi::parse_length_prefix("123"); // no ':' yet: read more
    ASSERT_TRUE(more);
    EXPECT_FALSE(*more);
    EXPECT_FALSE(scgi::parse_length_prefix(":x"));           // no digits
    EXPECT_FALSE(scgi::parse_length_prefix("12a:"));         // not a digit
    EXPECT_FALSE(scgi::parse_length_prefix("12345678901:")); // more than 10 digits
    auto ten = scgi::parse_length_prefix("9999999999:");
    ASSERT_TRUE(ten && *ten);
    EXPECT_EQ((*ten)->length, 9999999999u);
}

TEST(ScgiCodec, HeadersInOrderAndNulTerminated)
{
    std::string block("CONTENT_LENGTH\0"
                      "5\0"
                      "SCGI\0"
                      "1\0"
                      "REQUEST_METHOD\0"
                      "POST\0,",
                      45);
    std::vector<std::pair<std::string, std::string>> seen;
    const char* why = nullptr;
    auto ec = scgi::decode_headers(
        std::span<char>(block.data(), block.size()),
        [&](const scgi::Header& h) {
            seen.emplace_back(std::string(h.name.data(), h.name.size()), std::string(h.value));
        },
        why);
    ASSERT_FALSE(ec) << why;
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0], (std::pair<std::string, std::string>{"CONTENT_LENGTH", "5"}));
    EXPECT_EQ(seen[2], (std::pair<std::string, std::string>{"REQUEST_METHOD", "POST"}));

    std::string empty_name("CONTENT_LENGTH\0"
                           "0\0"
                           "\0"
                           "x\0"
                           "SCGI\0"
                           "1\0,",
                           28);
    ec = scgi::decode_headers(
        std::span<char>(empty_name.data(), empty_name.size()), [](const scgi::Header&) {}, why);
    EXPECT_EQ(ec, errc::protocol_error);
    EXPECT_STREQ(why, "a header has an empty name");
}

TEST(UwsgiCodec, PacketHeaderIsLittleEndian)
{
    const char raw[4] = {0, '\x34', '\x12', 0};
    auto h = uwsgi::parse_packet_header(std::span<const char, 4>(raw, 4));
    EXPECT_EQ(h.modifier1, 0);
    EXPECT_EQ(h.datasize, 0x1234);
    EXPECT_EQ(h.modifier2, 0);
}

TEST(UwsgiCodec, VarsAndTruncation)
{
    std::string block("\x01\x00"
                      "A"
                      "\x02\x00"
                      "bc"
                      "\x01\x00"
                      "D"
                      "\x00\x00",
                      12);
    std::vector<std::pair<std::string, std::string>> seen;
    auto ec =
        uwsgi::decode_vars(std::span<char>(block.data(), block.size()), [&](const uwsgi::Var& v) {
            seen.emplace_back(std::string(v.name.data(), v.name.size()), std::string(v.value));
        });
    ASSERT_FALSE(ec);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].second, "bc");
    EXPECT_EQ(seen[1].second, "");
    for (std::size_t cut = 1; cut < block.size(); ++cut) {
        if (cut == 7) continue; // a whole first pair: valid on its own
        std::string part = block.substr(0, cut);
        EXPECT_EQ(
            uwsgi::decode_vars(std::span<char>(part.data(), part.size()), [](const uwsgi::Var&) {}),
            errc::protocol_error)
            << cut;
    }
}
