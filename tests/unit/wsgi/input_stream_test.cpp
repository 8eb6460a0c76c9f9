// wsgi.input (lib/wsgi/input_stream.cpp): read/readline/readlines/iteration semantics
// (PEP 3333 'Input and Error Streams'), EOF behaviour, body errors becoming the right status.
#include "harness.hpp"

namespace wsgibridge::test {
namespace {

using nlohmann::json;

class InputTest : public CasesTest
{
protected:
    /// Runs /input-ops?ops=... on `body` and returns the JSON list of results.
    static json ops(std::string_view list, std::string_view body, std::size_t max_read = 1 << 20,
                    bool chunked = false)
    {
        RequestBuilder rb("POST", std::string("/input-ops?ops=") + std::string(list));
        rb.body(body, chunked);
        MemoryBody source = rb.make_body();
        source.max_read = max_read;
        MemorySink sink;
        app_->handle(rb.request(), source, sink);
        checked(sink);
        EXPECT_EQ(sink.status_code, 200) << sink.body << log_text();
        return json::parse(sink.body);
    }
};

TEST_F(InputTest, ReadSizes)
{
    auto r = ops("read:3,read:100,read:5,read", "abcdefgh");
    EXPECT_EQ(r, json({"abc", "defgh", "", ""})) << "read(n) <= n, then b\"\" repeatedly";
    r = ops("read,read,read:1", "all of it");
    EXPECT_EQ(r, json({"all of it", "", ""}));
    r = ops("read:0,read", "x");
    EXPECT_EQ(r, json({"", "x"}));
}

TEST_F(InputTest, ReadFullDespiteShortSourceReads)
{
    // The source returns 2 bytes at a time; read(7) still returns 7 (buffered-file semantics).
    auto r = ops("read:7,read", "0123456789", 2);
    EXPECT_EQ(r, json({"0123456", "789"}));
}

TEST_F(InputTest, ReadlineWithLimit)
{
    // PEP 3333 note 2: readline(5) on b"abcdefgh\n" -> b"abcde".
    auto r = ops("readline:5,readline,readline,readline", "abcdefgh\nline2\nlast");
    EXPECT_EQ(r, json({"abcde", "fgh\n", "line2\n", "last"}));
    r = ops("readline,readline", "");
    EXPECT_EQ(r, json({"", ""}));
}

TEST_F(InputTest, ReadlineAcrossShortReadsAndMixedWithRead)
{
    auto r = ops("readline,read:2,readline,read", "first line\nsecond\nrest", 3);
    EXPECT_EQ(r, json({"first line\n", "se", "cond\n", "rest"}));
}

TEST_F(InputTest, LongLineBeyondBuffer)
{
    std::string line(20000, 'x');
    auto r = ops("readline,readline", line + "\nend");
    EXPECT_EQ(r[0].get<std::string>().size(), 20001u);
    EXPECT_EQ(r[1], "end");
}

TEST_F(InputTest, ReadlinesAndIteration)
{
    auto r = ops("readlines", "a\nb\nc");
    EXPECT_EQ(r, json::array({json::array({"a\n", "b\n", "c"})}));
    // As io.IOBase: stop once the lines so far reach the hint (4 bytes: two lines).
    r = ops("readlines:4,readlines", "aa\nbb\ncc\ndd\n");
    EXPECT_EQ(r, json::array({json::array({"aa\n", "bb\n"}), json::array({"cc\n", "dd\n"})}));
    r = ops("readlines:3", "aa\nbb\n");
    EXPECT_EQ(r, json::array({json::array({"aa\n"})}));
    r = ops("iter", "x\ny\n");
    EXPECT_EQ(r, json::array({json::array({"x\n", "y\n"})}));
}

TEST_F(InputTest, CloseClosesNothing)
{
    auto r = ops("read:2,close,read", "abcd");
    EXPECT_EQ(r, json({"ab", nullptr, "cd"}));
}

TEST_F(InputTest, UnknownLengthBody)
{
    auto r = ops("read", std::string(200000, 'z'), 1000, /*chunked=*/true);
    EXPECT_EQ(r[0].get<std::string>().size(), 200000u);
}

TEST_F(InputTest, NeverReadsPastTheEnd)
{
    RequestBuilder rb("POST", "/input-ops?ops=read,read,read:10,readline");
    rb.body("abc");
    MemoryBody source = rb.make_body();
    MemorySink sink;
    app_->handle(rb.request(), source, sink);
    EXPECT_EQ(sink.status_code, 200);
    // Once remaining() says 0 the source is not asked again.
    EXPECT_EQ(source.read_calls, 1);
}

TEST_F(InputTest, BodyErrorGivesItsStatus)
{
    // The app lets the OSError escape: the gateway answers 413, not 500.
    RequestBuilder rb("POST", "/input-error");
    rb.body(std::string(1000, 'b'));
    MemoryBody source = rb.make_body();
    source.max_read = 100;
    source.fail_at = 500;
    source.error = make_error_code(errc::body_too_large);
    MemorySink sink;
    app_->handle(rb.request(), source, sink);
    checked(sink);
    EXPECT_EQ(sink.status_code, 413);
    EXPECT_EQ(sink.body, "Content Too Large\n");
    auto log = log_text();
    EXPECT_NE(log.find("reading the request body failed: request body too large"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("answering 413"), std::string::npos) << log;
}

TEST_F(InputTest, BodyErrorSwallowedByApp)
{
    RequestBuilder rb("POST", "/input-error?swallow=1");
    rb.body("abcdef");
    MemoryBody source = rb.make_body();
    source.fail_at = 0;
    source.error = make_error_code(errc::timeout);
    MemorySink sink;
    app_->handle(rb.request(), source, sink);
    checked(sink);
    EXPECT_EQ(sink.status_code, 200) << "the app handled it: its answer stands";
    EXPECT_NE(sink.body.find("swallowed"), std::string::npos);
    EXPECT_NE(sink.body.find("timed out"), std::string::npos);
}

TEST_F(InputTest, UseAfterTheRequestRaises)
{
    get("/input-save");
    auto sink = get("/input-stale");
    EXPECT_EQ(sink.body, "ValueError: wsgi.input used after the request ended");
}

// A reused wsgi.input (the app kept no reference) starts each request with nothing
// read ahead: readline()'s buffer from the previous body must not leak into the next.
TEST_F(InputTest, ReusedInputCarriesNothingIntoTheNextRequest)
{
    auto ids = get("/ids").body;
    ASSERT_EQ(get("/ids").body, ids) << "the object is reused (else this test proves nothing)";
    RequestBuilder first("POST", "/input-readline");
    first.body("first\nsecond line read ahead\n");
    EXPECT_EQ(checked(serve(*app_, first)).body, "b'first\\n'");
    RequestBuilder second("POST", "/input-read");
    second.body("other");
    EXPECT_EQ(checked(serve(*app_, second)).body, "b'other'");
    RequestBuilder empty("POST", "/input-read");
    EXPECT_EQ(checked(serve(*app_, empty)).body, "b''");
}

TEST_F(InputTest, EchoLargeBody)
{
    std::string body;
    for (int i = 0; i < 100000; ++i)
        body += static_cast<char>('a' + i % 26);
    RequestBuilder rb("POST", "/echo");
    rb.body(body);
    auto sink = checked(serve(*app_, rb));
    EXPECT_EQ(sink.body, body);
    EXPECT_EQ(sink.content_length, body.size());
    EXPECT_TRUE(sink.content_length_computed);
}

} // namespace
} // namespace wsgibridge::test
