#include "wsgibridge/error.hpp"

#include <gtest/gtest.h>
#include <memory>
#include <system_error>

using namespace wsgibridge;

TEST(Errc, StatusForEachRequestError)
{
    EXPECT_EQ(http_status_for(errc::bad_content_length), 400);
    EXPECT_EQ(http_status_for(errc::bad_chunk), 400);
    EXPECT_EQ(http_status_for(errc::timeout), 408);
    EXPECT_EQ(http_status_for(errc::body_too_large), 413);
    EXPECT_EQ(http_status_for(errc::header_too_large), 431);
    EXPECT_EQ(http_status_for(errc::too_many_headers), 431);
    EXPECT_EQ(http_status_for(errc::unsupported_transfer_encoding), 501);
    EXPECT_EQ(http_status_for(std::make_error_code(std::errc::io_error)), 500);
}

TEST(Errc, MessagesNameTheFault)
{
    std::error_code ec = errc::body_too_large;
    EXPECT_EQ(ec.message(), "request body too large");
    EXPECT_STREQ(ec.category().name(), "wsgibridge");
}

TEST(Result, CarriesValueOrError)
{
    Result<int> ok = 3;
    Result<int> bad = make_error_code(errc::timeout);
    EXPECT_EQ(*ok, 3);
    EXPECT_FALSE(bad);
    EXPECT_EQ(bad.error(), errc::timeout);
}

TEST(Result, ReachingTheValueOfAnErrorThrows)
{
    struct Point
    {
        int x = 0;
    };
    Result<Point> bad = errc::peer_gone;
    EXPECT_TRUE(bad.has_error());
    EXPECT_THROW((void)bad->x, std::system_error);
    EXPECT_THROW((void)bad.value(), std::system_error);
    try {
        (void)*bad;
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), errc::peer_gone);
    }
    Result<Point> ok = Point{7};
    EXPECT_EQ(ok->x, 7);
    EXPECT_EQ(ok.error(), std::error_code{});
}

TEST(Result, HoldsMoveOnlyValues)
{
    Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
    std::unique_ptr<int> p = std::move(r).value();
    EXPECT_EQ(*p, 5);
}

TEST(GatewayStatusLine, EveryStatusTheGatewaySendsItself)
{
    for (errc e :
         {errc::bad_request, errc::bad_content_length, errc::timeout, errc::body_too_large,
          errc::header_too_large, errc::unsupported_transfer_encoding, errc::unsupported_version}) {
        int code = http_status_for(e);
        auto line = gateway_status_line(code);
        EXPECT_EQ(line.substr(0, 4), std::to_string(code) + " ") << line;
    }
    EXPECT_EQ(gateway_status_line(413), "413 Content Too Large");
    EXPECT_EQ(gateway_status_line(404), "404 Not Found");
    EXPECT_EQ(gateway_status_line(999), "500 Internal Server Error");
}
