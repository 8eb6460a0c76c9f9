#include "peer_filter.hpp"

#include <gtest/gtest.h>

using namespace wsgibridge::fastcgi;

TEST(PeerFilter, ParsesAndMatchesV4V6AndMapped)
{
    PeerFilter f("127.0.0.1, ::1,10.0.0.2");
    EXPECT_TRUE(f.active());
    EXPECT_TRUE(f.allows(boost::asio::ip::make_address("10.0.0.2")));
    EXPECT_TRUE(f.allows(boost::asio::ip::make_address("::1")));
    EXPECT_TRUE(f.allows(boost::asio::ip::make_address("::ffff:127.0.0.1")));
    EXPECT_FALSE(f.allows(boost::asio::ip::make_address("10.0.0.3")));
    EXPECT_FALSE(PeerFilter("").active());
    EXPECT_THROW(PeerFilter("127.0.0.1,not-an-ip"), std::invalid_argument);
}
