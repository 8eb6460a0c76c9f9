// wsgiref.validate.validator as an oracle: the cases app wrapped in the
// validator, its warnings turned into errors, must get the same answers as unwrapped.
// Any PEP 3333 violation on our side (environ types, input/errors methods, close()
// not called, bad write() use) becomes an AssertionError -> a 500 this test sees.
#include "harness.hpp"

namespace wsgibridge::test {
namespace {

class ValidatorTest : public ::testing::Test
{
protected:
    static void SetUpTestSuite()
    {
        log_ = new LogCapture();
        app_ = new WsgiApp(interpreter(), spec_of("wsgi_cases:validated"), {}, log_->logger());
    }
    static void TearDownTestSuite()
    {
        delete app_;
        delete log_;
    }
    void SetUp() override { log_->clear(); }

    static MemorySink run(RequestBuilder rb)
    {
        auto sink = serve(*app_, rb);
        EXPECT_TRUE(sink.violations.empty());
        EXPECT_EQ(sink.finish_calls + sink.abort_calls, 1);
        return sink;
    }
    /// No assertion or warning from the validator, none raised where Python can only
    /// report it as "unraisable" (the iterator's __del__ checks that close() ran).
    static bool clean()
    {
        auto stats = nlohmann::json::parse(serve(*app_, RequestBuilder("GET", "/stats")).body);
        return log_->text().find("AssertionError") == std::string::npos &&
               log_->text().find("WSGIWarning") == std::string::npos &&
               !stats.contains("@unraisable");
    }

    static inline WsgiApp* app_ = nullptr;
    static inline LogCapture* log_ = nullptr;
};

TEST_F(ValidatorTest, GoodRoutesPassTheValidator)
{
    for (auto target :
         {"/environ", "/list?n=1", "/list?n=3", "/write", "/closing?n=3&name=v",
          "/closing?n=2&size=3&cl=6&name=v2", "/file", "/file-bytesio", "/stream?n=2"}) {
        log_->clear();
        auto sink = run(RequestBuilder("GET", target));
        EXPECT_EQ(sink.status_code, 200) << target << "\n" << log_->text();
        EXPECT_EQ(sink.finish_calls, 1) << target;
        EXPECT_TRUE(clean()) << target << "\n" << log_->text();
    }
}

TEST_F(ValidatorTest, InputThroughTheValidator)
{
    // The validator insists on read(size) (PEP 3333's signature), so no bare read() here.
    RequestBuilder rb("POST", "/input-ops?ops=read:3,readline,readline:2,readlines,read:10");
    rb.body("abcdef\nline2\nline3\nrest");
    auto sink = run(rb);
    EXPECT_EQ(sink.status_code, 200) << log_->text();
    EXPECT_EQ(nlohmann::json::parse(sink.body),
              nlohmann::json::parse(R"(["abc", "def\n", "li", ["ne2\n", "line3\n", "rest"], ""])"));
    EXPECT_TRUE(clean()) << log_->text();

    RequestBuilder iter("POST", "/input-ops?ops=iter");
    iter.body("x\ny");
    sink = run(iter);
    EXPECT_EQ(sink.status_code, 200) << log_->text();
    EXPECT_TRUE(clean()) << log_->text();
}

TEST_F(ValidatorTest, HeadAndEarlyStopStillClose)
{
    // The validator asserts close() was called when its iterator is collected.
    auto sink = run(RequestBuilder("HEAD", "/closing?n=3&name=vh"));
    EXPECT_EQ(sink.finish_calls, 1);
    sink = run(RequestBuilder("GET", "/closing?n=3&size=5&cl=5&name=ve"));
    EXPECT_EQ(sink.body, "AAAAA");
    EXPECT_TRUE(clean()) << log_->text();
}

} // namespace
} // namespace wsgibridge::test
