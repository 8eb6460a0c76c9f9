#include "raw_fcgi_client.hpp"
#include "record_parser.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace wsgibridge;
using namespace wsgibridge::fastcgi;
namespace wire = wsgibridge::test::fcgi;

namespace {
struct Parsed
{
    std::uint8_t type;
    std::uint16_t id;
    std::string content;
};

/// Feeds `bytes` in pieces of the given sizes (the last piece takes the rest).
std::vector<Parsed> parse_in_pieces(const std::string& bytes, std::vector<std::size_t> cuts,
                                    std::error_code* error = nullptr)
{
    RecordParser parser;
    std::vector<Parsed> out;
    std::size_t pos = 0;
    cuts.push_back(bytes.size());
    for (std::size_t cut : cuts) {
        std::span<const char> in(bytes.data() + pos, cut - pos);
        pos = cut;
        for (;;) {
            auto r = parser.next(in);
            if (!r) {
                if (r.error() != errc::need_more && error) *error = r.error();
                if (r.error() != errc::need_more) return out;
                break;
            }
            out.push_back(
                {r->type, r->request_id, std::string(r->content.begin(), r->content.end())});
        }
        EXPECT_TRUE(in.empty());
    }
    return out;
}
} // namespace

TEST(RecordParser, GoldenBytesOfOneRecord)
{
    // version 1, STDIN, id 0x0102, length 3, padding 5
    std::string bytes("\x01\x05\x01\x02\x00\x03\x05\x00"
                      "abc\0\0\0\0\0",
                      16);
    auto recs = parse_in_pieces(bytes, {});
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].type, 5);
    EXPECT_EQ(recs[0].id, 0x0102);
    EXPECT_EQ(recs[0].content, "abc");
}

TEST(RecordParser, MaxRecordFedOneByteAtATime)
{
    std::string content(65535, 'x');
    for (std::size_t i = 0; i < content.size(); ++i)
        content[i] = static_cast<char>('a' + i % 26);
    std::string bytes =
        wire::record(wire::stdin_stream, 7, content, 255) + wire::record(wire::params_type, 7, "");
    RecordParser parser;
    std::vector<Parsed> out;
    for (char c : bytes) {
        std::span<const char> in(&c, 1);
        auto r = parser.next(in);
        if (r)
            out.push_back(
                {r->type, r->request_id, std::string(r->content.begin(), r->content.end())});
        else
            ASSERT_EQ(r.error(), errc::need_more);
        EXPECT_TRUE(in.empty());
    }
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].content, content);
    EXPECT_EQ(out[1].type, wire::params_type);
    EXPECT_TRUE(parser.at_boundary());
}

TEST(RecordParser, EverySplitPointOfThreeRecords)
{
    std::string bytes = wire::record(wire::params_type, 1, "hello", 3) +
                        wire::record(wire::params_type, 1, "") +
                        wire::record(wire::stdin_stream, 1, std::string(300, 'b'), 4);
    for (std::size_t a = 0; a <= bytes.size(); ++a) {
        auto recs = parse_in_pieces(bytes, {a});
        ASSERT_EQ(recs.size(), 3u) << "split at " << a;
        EXPECT_EQ(recs[0].content, "hello");
        EXPECT_EQ(recs[1].content, "");
        EXPECT_EQ(recs[2].content, std::string(300, 'b'));
    }
    // and two cuts at a stride, covering cut pairs inside one record
    for (std::size_t a = 0; a < bytes.size(); a += 7)
        for (std::size_t b = a; b <= bytes.size(); b += 5)
            ASSERT_EQ(parse_in_pieces(bytes, {a, b}).size(), 3u) << a << "," << b;
}

TEST(RecordParser, ManyRecordsInOneRead)
{
    std::string bytes;
    for (int i = 0; i < 100; ++i)
        bytes +=
            wire::record(wire::stdin_stream, 3, std::to_string(i), 8 - std::to_string(i).size());
    auto recs = parse_in_pieces(bytes, {});
    ASSERT_EQ(recs.size(), 100u);
    EXPECT_EQ(recs[42].content, "42");
}

TEST(RecordParser, PaddingSkippedOnEveryType)
{
    std::string bytes;
    for (std::uint8_t t = 1; t <= 11; ++t)
        bytes += wire::record(t, 1, "xy", 255);
    bytes += wire::record(42, 0, "z", 7);
    auto recs = parse_in_pieces(bytes, {bytes.size() / 2});
    ASSERT_EQ(recs.size(), 12u);
    for (std::size_t i = 0; i < 11; ++i)
        EXPECT_EQ(recs[i].content, "xy");
    EXPECT_EQ(recs[11].type, 42);
}

TEST(RecordParser, VersionOtherThanOneIsAnError)
{
    std::string bytes =
        wire::record(wire::params_type, 1, "ok") + wire::record(wire::params_type, 1, "bad", 0, 2);
    std::error_code ec;
    auto recs = parse_in_pieces(bytes, {}, &ec);
    EXPECT_EQ(recs.size(), 1u);
    EXPECT_EQ(ec, errc::unsupported_version);
}
