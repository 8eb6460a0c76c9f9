// lighttpd mod_cgi runs the Flask app in shebang mode (cgi.assign ".cgi" => "").
#include "cgi_requests.hpp"
#include "cgi_site.hpp"

#include <gtest/gtest.h>

using namespace wsgibridge::test;

namespace {

class LighttpdCgi : public ::testing::Test
{
protected:
    void SetUp() override
    {
        if (find_program({"/usr/sbin/lighttpd"}).empty())
            GTEST_FAIL() << "lighttpd is not installed (scripts/lib.sh installs it)";
        port = free_tcp_port();
        auto user = unprivileged_user();
        auto conf = substitute(read_file(source_root() / "tests/e2e/conf/cgi_lighttpd.conf.in"),
                               {{"DIR", site.dir().path().string()},
                                {"PORT", std::to_string(port)},
                                {"USER", user},
                                {"GROUP", user}});
        write_file(site.dir() / "lighttpd.conf", conf);
        site.create_log_for("error.log", user);
        site.create_log_for("access.log", user);
        SpawnOptions o;
        o.stderr_file = site.dir() / "server-stderr.log";
        server = ChildProcess(
            {"/usr/sbin/lighttpd", "-D", "-f", (site.dir() / "lighttpd.conf").string()}, o);
        ASSERT_TRUE(wait_until_serving(server, port))
            << read_file(site.dir() / "server-stderr.log") << site.error_log();
    }

    void TearDown() override
    {
        server.stop();
        EXPECT_EQ(site.sanitizer_errors(), "");
    }

    CgiSite site;
    unsigned short port = 0;
    ChildProcess server;
};

} // namespace

TEST_F(LighttpdCgi, GatewayWithoutPython)
{
    check_gateway_with_probe(site, port);
}
TEST_F(LighttpdCgi, RoutingQueryAndForms)
{
    check_routing_query_and_forms(site, port);
}
TEST_F(LighttpdCgi, LargeBodyAndIgnoredBody)
{
    check_large_and_ignored_bodies(site, port);
}
TEST_F(LighttpdCgi, StatusCodesReachTheClient)
{
    check_status_codes(site, port);
}
TEST_F(LighttpdCgi, NonAsciiPath)
{
    check_non_ascii_path(site, port);
}
TEST_F(LighttpdCgi, FailuresAnswer500AndLog)
{
    check_failures(site, port);
}
TEST_F(LighttpdCgi, EnvironAndHttpoxy)
{
    check_environ_and_httpoxy(site, port);
}
TEST_F(LighttpdCgi, HeadAndNph)
{
    check_head_and_nph(site, port);
}
