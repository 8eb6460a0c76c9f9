#include "params_codec.hpp"
#include "raw_fcgi_client.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace wsgibridge;
using namespace wsgibridge::fastcgi;
namespace wire = wsgibridge::test::fcgi;

namespace {
std::vector<std::pair<std::string, std::string>> decode(std::string s,
                                                        std::error_code* ec = nullptr)
{
    std::vector<std::pair<std::string, std::string>> out;
    auto e = decode_pairs(std::span<char>(s.data(), s.size()), [&](const Pair& p) {
        out.emplace_back(std::string(p.name.data(), p.name.size()), std::string(p.value));
    });
    if (ec) *ec = e;
    return out;
}
} // namespace

TEST(ParamsCodec, LengthEncodingEdges)
{
    std::string out;
    encode_pair(out, std::string(127, 'n'), "v");
    EXPECT_EQ(static_cast<unsigned char>(out[0]), 127);
    out.clear();
    encode_pair(out, std::string(128, 'n'), "v");
    EXPECT_EQ(out.substr(0, 5), std::string("\x80\x00\x00\x80\x01", 5));
    EXPECT_EQ(out.size(), 5u + 128 + 1);
    auto pairs = decode(out);
    ASSERT_EQ(pairs.size(), 1u);
    EXPECT_EQ(pairs[0].first.size(), 128u);
    EXPECT_EQ(pairs[0].second, "v");
}

TEST(ParamsCodec, GoldenBytes)
{
    std::string bytes("\x0e\x03REQUEST_METHODGET\x0c\x00QUERY_STRING", 2 + 14 + 3 + 2 + 12);
    auto pairs = decode(bytes);
    ASSERT_EQ(pairs.size(), 2u);
    EXPECT_EQ(pairs[0], (std::pair<std::string, std::string>{"REQUEST_METHOD", "GET"}));
    EXPECT_EQ(pairs[1], (std::pair<std::string, std::string>{"QUERY_STRING", ""}));
    EXPECT_EQ(wire::pair("REQUEST_METHOD", "GET"), bytes.substr(0, 19));
}

TEST(ParamsCodec, FourByteNameOneByteValue)
{
    std::string big(70000, 'c');
    auto pairs = decode(wire::pair(big, "1") + wire::pair("A", std::string(300, 'v')));
    ASSERT_EQ(pairs.size(), 2u);
    EXPECT_EQ(pairs[0].first, big);
    EXPECT_EQ(pairs[1].second.size(), 300u);
}

TEST(ParamsCodec, HugeDeclaredLengthIsRangeCheckedNotAllocated)
{
    // name length 0x7fffffff with 3 bytes behind it
    std::string bytes("\xff\xff\xff\xff\x01"
                      "abc",
                      8);
    std::error_code ec;
    auto pairs = decode(bytes, &ec);
    EXPECT_TRUE(pairs.empty());
    EXPECT_EQ(ec, errc::protocol_error);
}

TEST(ParamsCodec, EveryTruncationIsAProtocolError)
{
    std::string whole = wire::pair("HTTP_COOKIE", std::string(200, 'k')) + wire::pair("X", "y");
    for (std::size_t n = 1; n < whole.size(); ++n) {
        std::error_code ec;
        auto pairs = decode(whole.substr(0, n), &ec);
        bool boundary = n == wire::pair("HTTP_COOKIE", std::string(200, 'k')).size();
        if (boundary)
            EXPECT_FALSE(ec) << n;
        else
            EXPECT_EQ(ec, errc::protocol_error) << "cut at " << n;
    }
}

TEST(ParamsCodec, DecodeLengthNeedsFourBytes)
{
    std::string b("\x80\x00", 2);
    std::span<const char> in(b.data(), b.size());
    EXPECT_EQ(decode_length(in).error(), errc::protocol_error);
}
