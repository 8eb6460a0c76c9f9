#include "management.hpp"
#include "params_codec.hpp"
#include "raw_fcgi_client.hpp"

#include <gtest/gtest.h>

using namespace wsgibridge::fastcgi;
namespace wire = wsgibridge::test::fcgi;

TEST(Management, GetValuesAnswersKnownNamesOnly)
{
    std::string q = wire::pair("FCGI_MAX_CONNS", "") + wire::pair("FCGI_UNKNOWN", "") +
                    wire::pair("FCGI_MAX_REQS", "") + wire::pair("FCGI_MPXS_CONNS", "");
    auto a = get_values_result(std::span<char>(q.data(), q.size()), {17, 33, true});
    EXPECT_EQ(a, wire::pair("FCGI_MAX_CONNS", "17") + wire::pair("FCGI_MAX_REQS", "33") +
                     wire::pair("FCGI_MPXS_CONNS", "1"));
}

TEST(Management, MalformedTailKeepsGoodPairs)
{
    std::string q = wire::pair("FCGI_MPXS_CONNS", "") + std::string("\x05", 1);
    auto a = get_values_result(std::span<char>(q.data(), q.size()), {1, 1, false});
    EXPECT_EQ(a, wire::pair("FCGI_MPXS_CONNS", "0"));
}

TEST(Management, UnknownTypeBody)
{
    EXPECT_EQ(unknown_type_body(42), std::string("\x2a\0\0\0\0\0\0\0", 8));
}
