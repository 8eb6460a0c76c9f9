// Response driving (lib/wsgi/invoker.cpp, response.cpp): head held until the first
// non-empty chunk, generators, close() exactly once, Content-Length rules, bodyless
// statuses, failures -> 500 or abort, and the server keeps serving (PEP 3333 and RFC 9110 §6.4.1).
#include "harness.hpp"

namespace wsgibridge::test {
namespace {

class InvokerTest : public CasesTest
{
};

TEST_F(InvokerTest, SingleChunkGetsComputedContentLength)
{
    auto sink = get("/list?n=1");
    EXPECT_EQ(sink.status_code, 200);
    EXPECT_EQ(sink.status, "200 OK");
    EXPECT_EQ(sink.body, "hello");
    EXPECT_EQ(sink.content_length, 5u);
    EXPECT_TRUE(sink.content_length_computed);
    EXPECT_EQ(sink.header("Content-Type"), "text/plain");
    EXPECT_EQ(sink.finish_calls, 1);
    sink = get("/tuple");
    EXPECT_EQ(sink.content_length, 5u) << "a 1-tuple too";
}

TEST_F(InvokerTest, NoComputedLengthForSeveralChunks)
{
    auto sink = get("/list?n=3");
    EXPECT_EQ(sink.body, "hellohellohello");
    EXPECT_FALSE(sink.content_length) << "PEP 3333 'Handling the Content-Length Header'";
    EXPECT_EQ(sink.chunks.size(), 3u);
}

TEST_F(InvokerTest, AppContentLengthIsKept)
{
    auto sink = get("/list?n=1&cl=5");
    EXPECT_EQ(sink.content_length, 5u);
    EXPECT_FALSE(sink.content_length_computed);
    EXPECT_EQ(sink.header("Content-Length"), "5");
}

TEST_F(InvokerTest, EmptyResultGetsLengthZero)
{
    auto sink = get("/closing?n=0&name=empty");
    EXPECT_EQ(sink.status_code, 200);
    EXPECT_EQ(sink.content_length, 0u);
    EXPECT_EQ(closed("empty"), 1);
}

TEST_F(InvokerTest, GeneratorCallingStartResponseLate)
{
    auto sink = get("/generator-late");
    EXPECT_EQ(sink.status_code, 201) << "PEP 3333: start_response may be called from the first "
                                        "iteration: pull the first item before sending";
    EXPECT_EQ(sink.body, "made it");
}

TEST_F(InvokerTest, RaiseBeforeFirstChunkIsACleanError)
{
    for (auto path :
         {"/raise", "/raise-after-start", "/generator-raise-first", "/empty-then-raise"}) {
        log_->clear();
        auto sink = get(path);
        EXPECT_EQ(sink.status_code, 500) << path;
        EXPECT_EQ(sink.start_calls, 1) << path
                                       << ": no bytes left before the error (PEP 3333: headers go "
                                          "out with the first non-empty body chunk)";
        EXPECT_EQ(sink.body, "Internal Server Error\n") << path;
        EXPECT_EQ(sink.content_length, sink.body.size());
        auto log = log_text();
        EXPECT_NE(log.find("[error]"), std::string::npos) << path;
        EXPECT_NE(log.find(std::string("GET ") + path), std::string::npos)
            << "method and target: " << log;
        EXPECT_NE(log.find("Traceback"), std::string::npos) << log;
    }
    // The server keeps serving.
    EXPECT_EQ(get("/list").status_code, 200);
}

TEST_F(InvokerTest, EmptyChunksDoNotSendTheHead)
{
    auto sink = get("/empty-chunks");
    EXPECT_EQ(sink.body, "datamore");
    EXPECT_EQ(sink.chunks.size(), 2u) << "b\"\" never reaches the sink (FastCGI 1.0 §5.3 and PEP "
                                         "3333: empty chunks send nothing)";
    EXPECT_EQ(closed("empty-chunks"), 1);
}

TEST_F(InvokerTest, YieldingStrIsAnError)
{
    auto sink = get("/yield-str");
    EXPECT_EQ(sink.status_code, 500);
    EXPECT_NE(log_text().find("TypeError: the application yielded str, not bytes"),
              std::string::npos);
    EXPECT_EQ(closed("yield-str"), 1);
    sink = get("/yield-str-after");
    EXPECT_EQ(sink.status_code, 200);
    EXPECT_EQ(sink.body, "ok");
    EXPECT_EQ(sink.abort_calls, 1) << "after the head: abort";
    EXPECT_EQ(closed("yield-str-after"), 1);
}

TEST_F(InvokerTest, BareBytesResultIsStrict)
{
    // PEP 3333: the application returns an iterable of bytestrings, our choice: a bare bytes result
    // is an error with a helpful log line.
    auto sink = get("/bytes-result");
    EXPECT_EQ(sink.status_code, 500);
    EXPECT_NE(log_text().find("returned bytes instead of an iterable of bytes (return [body])"),
              std::string::npos)
        << log_text();
    sink = get("/none-result");
    EXPECT_EQ(sink.status_code, 500);
    EXPECT_NE(log_text().find("not iterable"), std::string::npos) << log_text();
}

TEST_F(InvokerTest, MissingStartResponse)
{
    auto sink = get("/no-start");
    EXPECT_EQ(sink.status_code, 500);
    EXPECT_NE(log_text().find("before calling start_response()"), std::string::npos) << log_text();
    sink = get("/no-start-empty");
    EXPECT_EQ(sink.status_code, 500);
    EXPECT_NE(log_text().find("returned without calling start_response()"), std::string::npos)
        << log_text();
}

TEST_F(InvokerTest, CloseExactlyOnceNormal)
{
    auto sink = get("/closing?n=3&name=normal");
    EXPECT_EQ(sink.body, "AAAAABBBBBCCCCC");
    EXPECT_EQ(closed("normal"), 1);
}

TEST_F(InvokerTest, CloseExactlyOnceOnExceptionMidIteration)
{
    auto sink = get("/closing?n=3&raise_at=1&name=mid");
    EXPECT_EQ(sink.body, "AAAAA");
    EXPECT_EQ(sink.abort_calls, 1);
    EXPECT_EQ(closed("mid"), 1);
    sink = get("/closing?n=3&raise_at=0&name=first");
    EXPECT_EQ(sink.status_code, 500);
    EXPECT_EQ(closed("first"), 1);
}

TEST_F(InvokerTest, CloseExactlyOnceWhenTheClientGoes)
{
    RequestBuilder rb("GET", "/closing?n=5&name=gone");
    MemorySink sink;
    sink.fail_after_writes = 1;
    sink = checked(serve(*app_, rb, std::move(sink)));
    EXPECT_EQ(sink.body, "AAAAA");
    EXPECT_EQ(sink.abort_calls, 1);
    EXPECT_EQ(closed("gone"), 1);
    EXPECT_EQ(log_text().find("[error]"), std::string::npos) << log_text();

    RequestBuilder rb2("GET", "/closing?n=5&name=gone-start");
    MemorySink failing;
    failing.fail_start = true;
    failing = checked(serve(*app_, rb2, std::move(failing)));
    EXPECT_EQ(failing.abort_calls, 1);
    EXPECT_EQ(closed("gone-start"), 1);
}

TEST_F(InvokerTest, ClientGoneWithoutWriteErrorStopsIterating)
{
    // A front end learns the client left (FastCGI 1.0 §5.4, FCGI_ABORT_REQUEST) while writes
    // still succeed: stop pulling items, close() once, abort.
    RequestBuilder rb("GET", "/closing?n=5&name=aborted");
    MemorySink sink;
    sink.gone_after_writes = 2;
    sink = checked(serve(*app_, rb, std::move(sink)));
    EXPECT_EQ(sink.body, "AAAAABBBBB");
    EXPECT_EQ(sink.abort_calls, 1);
    EXPECT_EQ(closed("aborted"), 1);
    EXPECT_NE(log_text().find("the client is gone; stopped iterating"), std::string::npos)
        << log_text();
}

TEST_F(InvokerTest, ContentLengthOverrunStopsAndCloses)
{
    // PEP 3333 'Handling the Content-Length Header': C-L 10 but 2 x 8 bytes yielded: send 10, stop,
    // close once.
    auto sink = get("/closing?n=2&size=8&cl=10&name=over");
    EXPECT_EQ(sink.body, "AAAAAAAABB");
    EXPECT_EQ(sink.finish_calls, 1);
    EXPECT_EQ(closed("over"), 1);
    EXPECT_NE(log_text().find("more than its Content-Length (10 bytes)"), std::string::npos)
        << log_text();
}

TEST_F(InvokerTest, ContentLengthSatisfiedEarlyStopsIterating)
{
    auto sink = get("/closing?n=3&size=5&cl=5&name=early");
    EXPECT_EQ(sink.body, "AAAAA");
    EXPECT_EQ(sink.finish_calls, 1);
    EXPECT_EQ(closed("early"), 1);
    EXPECT_EQ(log_text().find("more than its Content-Length"), std::string::npos)
        << "it never yielded more: no complaint";
}

TEST_F(InvokerTest, ContentLengthUnderrunAborts)
{
    auto sink = get("/closing?n=2&size=5&cl=20&name=under");
    EXPECT_EQ(sink.body, "AAAAABBBBB");
    EXPECT_EQ(sink.abort_calls, 1);
    EXPECT_EQ(sink.finish_calls, 0);
    EXPECT_NE(sink.abort_reason.find("10 of the 20 bytes"), std::string::npos) << sink.abort_reason;
    EXPECT_EQ(closed("under"), 1);
}

TEST_F(InvokerTest, SingleItemUnderrunAborts)
{
    auto sink = get("/list?n=1&cl=10");
    EXPECT_EQ(sink.body, "hello");
    EXPECT_EQ(sink.finish_calls, 0);
    EXPECT_EQ(sink.abort_calls, 1);
    sink = get("/list?n=1&cl=3");
    EXPECT_EQ(sink.body, "hel") << "overrun in a one-item list is clipped";
    EXPECT_EQ(sink.finish_calls, 1);
}

TEST_F(InvokerTest, HeadKeepsLengthDropsBody)
{
    auto sink = get("/closing?n=3&size=5&cl=15&name=head", "HEAD");
    EXPECT_EQ(sink.status_code, 200);
    EXPECT_FALSE(sink.body_allowed);
    EXPECT_EQ(sink.body, "");
    EXPECT_EQ(sink.content_length, 15u)
        << "RFC 9110 §6.4.1: HEAD, 1xx, 204 and 304 carry no body: HEAD keeps Content-Length";
    EXPECT_EQ(sink.finish_calls, 1);
    EXPECT_EQ(closed("head"), 1);
    sink = get("/list?n=1", "HEAD");
    EXPECT_EQ(sink.content_length, 5u) << "the same length a GET would get";
    sink = get("/closing?n=0&name=head-empty", "HEAD");
    EXPECT_FALSE(sink.content_length) << "an app leaving the body out of HEAD: no length 0";
    EXPECT_EQ(sink.finish_calls, 1);
}

// A one-item list is sent after the GIL is given up (response.hpp write_last): a
// client gone at that point is still one abort and an info line, never a 500.
TEST_F(InvokerTest, OneItemResponseToAGoneClientIsAborted)
{
    for (bool at_start : {true, false}) {
        RequestBuilder rb("GET", "/list?n=1");
        MemorySink sink;
        if (at_start)
            sink.fail_start = true;
        else
            sink.fail_after_writes = 0;
        sink = checked(serve(*app_, rb, std::move(sink)));
        EXPECT_EQ(sink.abort_calls, 1) << at_start;
        EXPECT_EQ(sink.finish_calls, 0) << at_start;
        EXPECT_NE(log_text().find("the client is gone"), std::string::npos) << log_text();
        EXPECT_EQ(log_text().find("[error]"), std::string::npos) << log_text();
        log_->clear();
    }
    auto sink = get("/list?n=1");
    EXPECT_EQ(sink.body, "hello") << "the next request is served";
    EXPECT_EQ(sink.finish_calls, 1);
}

TEST_F(InvokerTest, BodylessStatuses)
{
    auto sink = get("/closing?n=1&size=4&cl=4&status=204%20No%20Content&name=s204");
    EXPECT_EQ(sink.status_code, 204);
    EXPECT_FALSE(sink.body_allowed);
    EXPECT_FALSE(sink.content_length) << "204 carries no Content-Length";
    EXPECT_FALSE(sink.header("Content-Length"));
    EXPECT_EQ(sink.body, "");
    EXPECT_EQ(closed("s204"), 1);

    sink = get("/closing?n=1&size=4&cl=4&status=304%20Not%20Modified&name=s304");
    EXPECT_EQ(sink.status_code, 304);
    EXPECT_FALSE(sink.body_allowed);
    EXPECT_EQ(sink.body, "");
    EXPECT_EQ(closed("s304"), 1);

    sink = get("/list?n=1&status=204%20No%20Content");
    EXPECT_FALSE(sink.content_length) << "no computed length for 204 either";
    sink = get("/closing?n=0&status=204%20No%20Content&name=s204e");
    EXPECT_FALSE(sink.content_length);
    EXPECT_EQ(sink.finish_calls, 1);
}

TEST_F(InvokerTest, InformationalStatusHasNoBodyNorLength)
{
    // RFC 9110 §6.4.1: HEAD, 1xx, 204 and 304 carry no body: a 1xx final status from the app (103
    // Early Hints) is bodyless like 204.
    auto sink = get("/closing?n=1&size=4&cl=4&status=103%20Early%20Hints&name=s103");
    EXPECT_EQ(sink.status_code, 103);
    EXPECT_FALSE(sink.body_allowed);
    EXPECT_FALSE(sink.content_length);
    EXPECT_FALSE(sink.header("Content-Length"));
    EXPECT_EQ(sink.body, "");
    EXPECT_EQ(sink.finish_calls, 1);
    EXPECT_EQ(closed("s103"), 1);
    sink = get("/list?n=1&status=100%20Continue");
    EXPECT_FALSE(sink.content_length) << "no computed length for 1xx";
    EXPECT_EQ(sink.body, "");
}

TEST_F(InvokerTest, CloseRaising)
{
    auto sink = get("/close-raises");
    EXPECT_EQ(closed("close-raises"), 1);
    EXPECT_EQ(sink.abort_calls, 1) << "the head was sent with the chunk: abort";
    EXPECT_NE(log_text().find("RuntimeError: close failed"), std::string::npos) << log_text();
}

TEST_F(InvokerTest, HeadMethodErrorHasNoBody)
{
    auto sink = get("/raise", "HEAD");
    EXPECT_EQ(sink.status_code, 500);
    EXPECT_EQ(sink.body, "");
    EXPECT_FALSE(sink.body_allowed);
}

TEST_F(InvokerTest, StreamingChunksArriveSeparately)
{
    auto sink = get("/stream?n=3");
    EXPECT_EQ(sink.chunks, (std::vector<std::string>{"chunk0\n", "chunk1\n", "chunk2\n"}));
    EXPECT_EQ(sink.finish_calls, 1);
}

} // namespace
} // namespace wsgibridge::test
