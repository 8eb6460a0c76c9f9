#include "raw_fcgi_client.hpp"
#include "record_parser.hpp"
#include "record_writer.hpp"

#include <gtest/gtest.h>
#include <string>

using namespace wsgibridge;
using namespace wsgibridge::fastcgi;

namespace {
std::string flatten(RecordWriter& w)
{
    std::string out;
    for (const auto& v : w.iov())
        out.append(static_cast<const char*>(v.iov_base), v.iov_len);
    return out;
}

struct Seen
{
    std::uint8_t type;
    std::size_t length;
    std::uint8_t padding;
    std::string content;
};

std::vector<Seen> records_of(const std::string& bytes)
{
    std::vector<Seen> out;
    std::size_t pos = 0;
    while (pos + 8 <= bytes.size()) {
        auto u = [&](std::size_t i) { return static_cast<unsigned char>(bytes[pos + i]); };
        std::size_t len = u(4) << 8 | u(5);
        out.push_back({u(1), len, u(6), bytes.substr(pos + 8, len)});
        EXPECT_EQ(u(0), 1);
        pos += 8 + len + u(6);
    }
    EXPECT_EQ(pos, bytes.size());
    return out;
}
} // namespace

TEST(RecordWriter, LargeBodyIsSplitAndPadded)
{
    std::string head = "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n";
    std::string body(200000, 'z');
    RecordWriter w(5);
    w.append(RecordType::stdout_stream, head);
    w.append(RecordType::stdout_stream, body);
    w.end_stream(RecordType::stdout_stream);
    w.end_request(0, ProtocolStatus::request_complete);
    auto recs = records_of(flatten(w));
    std::string got;
    std::size_t empties = 0;
    for (std::size_t i = 0; i + 1 < recs.size(); ++i) {
        EXPECT_EQ(recs[i].type, 6);
        EXPECT_LE(recs[i].length, 65535u);
        EXPECT_EQ((recs[i].length + recs[i].padding) % 8, 0u);
        got += recs[i].content;
        if (recs[i].length == 0) ++empties;
    }
    EXPECT_EQ(got, head + body);
    EXPECT_EQ(empties, 1u);
    EXPECT_EQ(recs[recs.size() - 2].length, 0u); // the empty STDOUT ends the stream
    EXPECT_EQ(recs.back().type, 3);
    EXPECT_EQ(recs.back().content, std::string(8, '\0'));
    // 200000 + head bytes in records of 65528: 4 data records
    EXPECT_EQ(recs.size(), 4u + 2u);
}

TEST(RecordWriter, EmptyPiecesNeverMakeEmptyRecords)
{
    RecordWriter w(1);
    w.append(RecordType::stdout_stream, std::span<const char>{});
    w.append(RecordType::stdout_stream, std::string_view("ab"));
    w.append(RecordType::stdout_stream, std::span<const char>{});
    auto recs = records_of(flatten(w));
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].content, "ab");
    EXPECT_EQ(recs[0].padding, 6);
}

TEST(RecordWriter, StreamsDoNotShareARecord)
{
    RecordWriter w(9);
    w.append(RecordType::stdout_stream, std::string_view("out"));
    w.append(RecordType::stderr_stream, std::string_view("err"));
    w.append(RecordType::stdout_stream, std::string_view("more"));
    auto recs = records_of(flatten(w));
    ASSERT_EQ(recs.size(), 3u);
    EXPECT_EQ(recs[1].type, 7);
    EXPECT_EQ(recs[2].content, "more");
}

TEST(RecordWriter, EndRequestGoldenBytes)
{
    RecordWriter w(0x0203);
    w.end_request(0x01020304, ProtocolStatus::unknown_role);
    EXPECT_EQ(flatten(w), std::string("\x01\x03\x02\x03\x00\x08\x00\x00"
                                      "\x01\x02\x03\x04\x03\x00\x00\x00",
                                      16));
}
