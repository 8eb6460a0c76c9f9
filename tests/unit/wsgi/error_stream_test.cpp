// wsgi.errors (lib/wsgi/error_stream.cpp): text only (PEP 3333 'Input and Error Streams':
// wsgi.errors is text), one log line per line with the request named, or the front end's own
// channel (FCGI_STDERR, FastCGI 1.0 §5.3).
#include "harness.hpp"

namespace wsgibridge::test {
namespace {

class ErrorStreamTest : public CasesTest
{
};

TEST_F(ErrorStreamTest, GoesToTheLogOrTheSink)
{
    auto sink = get("/errors");
    EXPECT_NE(sink.body.find("TypeError: wsgi.errors.write() argument must be str, not bytes"),
              std::string::npos)
        << sink.body;
    auto log = log_text();
    for (auto line : {"wsgi.errors: first line", "wsgi.errors: second line", "wsgi.errors: third",
                      "wsgi.errors: fourth"})
        EXPECT_NE(log.find(line), std::string::npos) << line << " in " << log;
    EXPECT_NE(log.find("GET /errors: wsgi.errors"), std::string::npos) << log;

    log_->clear();
    MemorySink capturing;
    capturing.capture_errors = true;
    capturing = checked(serve(*app_, RequestBuilder("GET", "/errors"), std::move(capturing)));
    EXPECT_EQ(capturing.errors, "first line\nsecond line\nthird\nfourth\n");
    EXPECT_EQ(log_text().find("wsgi.errors"), std::string::npos);
}

} // namespace
} // namespace wsgibridge::test
