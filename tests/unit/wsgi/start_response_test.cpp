// start_response and write() (lib/wsgi/start_response.cpp): validation raised into the
// app naming the value (PEP 3333, start_response and write()), exc_info rules (PEP 3333,
// start_response and exc_info).
#include "harness.hpp"

namespace wsgibridge::test {
namespace {

class StartResponseTest : public CasesTest
{
protected:
    /// /bad-head/<case>: the app reports what start_response raised.
    static std::string raised(const std::string& which)
    {
        auto sink = get("/bad-head/" + which);
        EXPECT_EQ(sink.status_code, 200) << which << ": " << sink.body;
        return sink.body;
    }
};

TEST_F(StartResponseTest, InvalidHeadersRaiseNamingTheValue)
{
    struct Case
    {
        const char* name;
        const char* expected;
    };
    for (auto c : std::initializer_list<Case>{
             {"nul_value",
              "ValueError: header value ('X-A', 'a\\x00b'): header value contains NUL"},
             {"crlf_value", "ValueError: header value ('X-A', 'a\\r\\nSet-Cookie: x=1'): header "
                            "value contains CR or LF"},
             {"lf_value", "contains CR or LF"},
             {"ctl_value", "contains a control character"},
             {"euro_value", "ValueError: header value '\xe2\x82\xac' is not latin-1"},
             {"space_name", "ValueError: header name 'X A': header name must be a token"},
             {"colon_name", "header name must be a token"},
             {"empty_name", "header name is empty"},
             {"int_value", "TypeError: header value must be str, not int"},
             {"bytes_name", "TypeError: header name must be str, not bytes"},
             {"triple", "TypeError: header ('X-A', 'v', 'w')"},
             {"tuple_headers", "TypeError: response_headers"},
             {"status_2digit", "ValueError: status '20 OK'"},
             {"status_nospace", "ValueError: status '200OK'"},
             {"status_letters", "3-digit"},
             {"status_600", "between 100 and 599"},
             {"status_bytes", "TypeError: status must be str, not bytes"},
             {"status_crlf", "control character"},
             {"status_euro", "is not latin-1"},
             {"cl_not_number", "Content-Length is not a number"},
             {"cl_conflict", "contradicts an earlier Content-Length"},
         }) {
        auto text = raised(c.name);
        EXPECT_NE(text.find(c.expected), std::string::npos) << c.name << ": " << text;
    }
}

TEST_F(StartResponseTest, HopByHopIsAnError)
{
    for (auto name :
         {"hop_connection", "hop_keep_alive", "hop_transfer_encoding", "hop_te", "hop_trailer",
          "hop_upgrade", "hop_proxy_authenticate", "hop_proxy_authorization"}) {
        auto text = raised(name);
        EXPECT_NE(text.find("ValueError"), std::string::npos) << name << ": " << text;
        EXPECT_NE(text.find("hop-by-hop"), std::string::npos) << name << ": " << text;
    }
}

TEST_F(StartResponseTest, Latin1HeaderValuesAreSentAsLatin1Bytes)
{
    auto sink = get("/header-latin1");
    EXPECT_EQ(sink.status_code, 200);
    EXPECT_EQ(sink.header("X-A"), "caf\xe9") << "é is one byte 0xE9 on the wire";
    EXPECT_EQ(sink.header("X-Tab"), "a\tb");
}

TEST_F(StartResponseTest, KeywordArguments)
{
    auto sink = get("/start-kw");
    EXPECT_EQ(sink.status, "203 Replaced") << "exc_info= by keyword replaces the head";
    EXPECT_EQ(sink.header("X-Kw"), "2");
    EXPECT_NE(sink.body.find("unexpected or repeated argument 'bogus'"), std::string::npos)
        << sink.body;
}

TEST_F(StartResponseTest, SecondCallWithoutExcInfo)
{
    auto sink = get("/second-start");
    EXPECT_NE(
        sink.body.find("RuntimeError: start_response() called a second time without exc_info"),
        std::string::npos)
        << sink.body;
    // PEP 3333, start_response and exc_info: also after a first call that raised.
    sink = get("/second-after-failed");
    EXPECT_NE(sink.body.find("called a second time"), std::string::npos) << sink.body;
}

TEST_F(StartResponseTest, ExcInfoBeforeSendReplacesTheHead)
{
    auto sink = get("/exc-replace");
    EXPECT_EQ(sink.status_code, 500);
    EXPECT_EQ(sink.status, "500 Oops");
    EXPECT_FALSE(sink.header("X-First")) << "the first head is gone";
    EXPECT_EQ(sink.body, "error page");
}

TEST_F(StartResponseTest, ExcInfoAfterSendReraises)
{
    auto sink = get("/exc-after-sent");
    EXPECT_EQ(sink.status_code, 200);
    EXPECT_EQ(sink.body, "partial");
    EXPECT_EQ(sink.abort_calls, 1) << "the app's error escaped after the head: abort";
    auto log = log_text();
    EXPECT_NE(log.find("ValueError: late failure"), std::string::npos) << log;
    EXPECT_NE(log.find("response aborted"), std::string::npos) << log;
}

TEST_F(StartResponseTest, ExcInfoReferenceIsDropped)
{
    // PEP 3333, start_response and exc_info: after replacing the head and after re-raising,
    // start_response holds no reference to exc_info (the app checks with a weakref, without gc).
    auto sink = get("/exc-dropped");
    EXPECT_EQ(sink.status, "500 Oops");
    EXPECT_EQ(sink.body, "sent before=dropped after=dropped");
    EXPECT_EQ(sink.finish_calls, 1);
}

TEST_F(StartResponseTest, ExcInfoEdgeCases)
{
    auto sink = get("/exc-none-tuple");
    EXPECT_NE(sink.body.find("RuntimeError: start_response() called a second time"),
              std::string::npos)
        << sink.body;
    sink = get("/exc-not-exception");
    EXPECT_EQ(sink.body, "sentTypeError: exc_info ('a', 'b', 'c'): must come from sys.exc_info()");
}

TEST_F(StartResponseTest, WriteCallable)
{
    auto sink = get("/write");
    EXPECT_EQ(sink.status_code, 200);
    EXPECT_EQ(sink.body, "ab");
    EXPECT_FALSE(sink.content_length) << "PEP 3333 'Handling the Content-Length Header': no "
                                         "computed length once write() was used";
    EXPECT_EQ(sink.finish_calls, 1);
}

TEST_F(StartResponseTest, WriteStrIsTypeError)
{
    auto sink = get("/write-str");
    EXPECT_NE(sink.body.find("TypeError: write() argument must be bytes, not str"),
              std::string::npos)
        << sink.body;
}

TEST_F(StartResponseTest, WriteEmptyDoesNotSendTheHead)
{
    // write(b"") then raise: nothing went out, so a clean 500 is still possible (PEP 3333: an empty
    // chunk does not send the headers).
    auto sink = get("/write-empty-then-raise");
    EXPECT_EQ(sink.status_code, 500);
    EXPECT_EQ(sink.start_calls, 1);
}

TEST_F(StartResponseTest, WriteAfterReturnAndAfterTheRequest)
{
    auto sink = get("/write-after-return");
    EXPECT_NE(sink.body.find("RuntimeError: write() called after the application returned"),
              std::string::npos)
        << sink.body;
    get("/write-save");
    sink = get("/write-stale");
    EXPECT_NE(sink.body.find("RuntimeError: write() called after the request ended"),
              std::string::npos)
        << sink.body;
}

TEST_F(StartResponseTest, WriteToAGoneClientRaisesOSError)
{
    RequestBuilder rb("GET", "/write-client-gone");
    MemorySink sink;
    sink.fail_after_writes = 1;
    sink = checked(serve(*app_, rb, std::move(sink)));
    EXPECT_EQ(sink.body, "chunk");
    EXPECT_EQ(sink.abort_calls, 1);
    EXPECT_EQ(closed("write-client-gone-oserror"), 1) << "the app saw OSError from write()";
    EXPECT_EQ(log_text().find("[error]"), std::string::npos)
        << "a client leaving is not an error: " << log_text();
}

// A header name or status object seen before skips its checks (HeaderNameCache): a
// header's value is still checked every time, and a name that failed is never remembered.
TEST_F(StartResponseTest, RememberedHeaderNamesStillHaveTheirValuesChecked)
{
    for (int round = 0; round < 2; ++round) {
        auto sink = get("/header-cache/ok");
        EXPECT_EQ(sink.header("X-Cached"), "ok") << round;
        EXPECT_EQ(sink.status, "200 OK") << round << ": the remembered status object";
        EXPECT_EQ(sink.status_code, 200) << round;
        EXPECT_EQ(get("/header-cache/nul").body,
                  "ValueError: header value ('X-Cached', 'a\\x00b'): header value contains NUL")
            << round;
        EXPECT_EQ(get("/header-cache/int").body, "TypeError: header value must be str, not int: 1")
            << round;
        EXPECT_NE(get("/header-cache/hop").body.find("is hop-by-hop"), std::string::npos) << round;
        EXPECT_EQ(get("/header-cache/subclass").header("X-Sub"), "ok") << round;
        EXPECT_NE(get("/header-cache/subclass-bad").body.find("header name must be a token"),
                  std::string::npos)
            << round;
    }
}

// The gateway reuses a start_response the application kept no reference to; one it
// kept stays bound to nothing (PEP 3333 gives start_response no life after its request).
TEST_F(StartResponseTest, ReusedOnlyWhenNotKeptAndAKeptOneNeverReachesALaterRequest)
{
    auto first = get("/ids").body;
    EXPECT_EQ(get("/ids").body, first) << "start_response and wsgi.input are reused";
    auto kept_id = get("/sr-save").body;
    auto now = get("/ids").body;
    EXPECT_NE(now.substr(0, now.find(' ')), kept_id) << "the kept one is not reused";

    auto sink = get("/sr-stale");
    EXPECT_EQ(sink.status_code, 200) << "the stale call did not touch this request's head";
    EXPECT_FALSE(sink.header("X-Stale"));
    EXPECT_EQ(sink.body, "RuntimeError: start_response() called after the request ended");
    sink = get("/sr-stale");
    EXPECT_EQ(sink.body, "RuntimeError: start_response() called after the request ended")
        << "still detached after later requests";
}

TEST_F(StartResponseTest, AKeptWriteKeepsItsStartResponseOutOfReuse)
{
    get("/write-save");
    auto sink = get("/write-stale");
    EXPECT_NE(sink.body.find("RuntimeError: write() called after the request ended"),
              std::string::npos)
        << sink.body;
    EXPECT_EQ(sink.write_calls, 1) << "only the app's own answer: " << sink.body;
}

} // namespace
} // namespace wsgibridge::test
