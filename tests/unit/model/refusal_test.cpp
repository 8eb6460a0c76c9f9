// The refusal log line every front end writes (lib/model/refusal): the status, and for a
// limit the option to raise with its value.
#include "model/refusal.hpp"
#include "wsgibridge/error.hpp"

#include <gtest/gtest.h>

using namespace wsgibridge;

TEST(Refusal, ALimitNamesItsOptionAndValue)
{
    Limits limits;
    limits.max_header_bytes = 1024;
    limits.max_body_bytes = 10;
    limits.max_header_count = 5;
    EXPECT_EQ(
        refusal_message("HTTP request from 127.0.0.1:5000", errc::header_too_large, limits, ""),
        "HTTP request from 127.0.0.1:5000: refused with 431: request head over "
        "--max-header-bytes (1024 bytes)");
    EXPECT_EQ(refusal_message("CGI request", errc::body_too_large, limits, "CONTENT_LENGTH 20"),
              "CGI request: refused with 413: CONTENT_LENGTH 20 over --max-body (10 bytes)");
    EXPECT_EQ(refusal_message("SCGI request", errc::too_many_headers, limits, "6 header variables"),
              "SCGI request: refused with 431: 6 header variables over --max-header-count (5)");
    EXPECT_NE(refusal_message("x", errc::target_too_long, limits, "")
                  .find("--max-target-bytes (8192 bytes)"),
              std::string::npos);
    EXPECT_NE(refusal_message("x", errc::timeout, limits, "").find("--header-timeout (10000 ms)"),
              std::string::npos);
}

TEST(Refusal, OtherReasonsCarryTheDetail)
{
    Limits limits;
    EXPECT_EQ(refusal_message("FastCGI request 3", errc::bad_request, limits, "bad FCGI_PARAMS"),
              "FastCGI request 3: refused with 400: malformed request: bad FCGI_PARAMS");
    EXPECT_EQ(refusal_message("HTTP request from p", errc::bad_content_length, limits,
                              "Content-Length repeated"),
              "HTTP request from p: refused with 400: ambiguous body length: Content-Length "
              "repeated (RFC 9112 section 6.3)");
    EXPECT_EQ(refusal_message("HTTP request from p", errc::method_not_implemented, limits, "BREW"),
              "HTTP request from p: refused with 501: BREW");
}
