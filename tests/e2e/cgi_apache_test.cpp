// Apache 2.4 runs a Flask app in shebang mode (#!wsgi-cgi) from a directory configured
// by .htaccess, as on a shared host. Everything runs under event + mod_cgid (Debian's
// default, and the stricter one: it resets the connection when a script leaves input
// unread); prefork + mod_cgi runs the gateway and body checks. Every request is a cold
// start, so the list is kept to what each server can get wrong.
#include "cgi_requests.hpp"
#include "cgi_site.hpp"

#include <gtest/gtest.h>

using namespace wsgibridge::test;

namespace {

struct Variant
{
    const char* mpm;
    const char* cgi_module;
};

class ApacheServer
{
protected:
    void start(const Variant& variant)
    {
        if (find_program({"/usr/sbin/apache2"}).empty())
            GTEST_FAIL() << "apache2 is not installed (scripts/lib.sh installs it)";
        port = free_tcp_port();
        auto user = unprivileged_user();
        auto conf = substitute(read_file(source_root() / "tests/e2e/conf/cgi_apache.conf.in"),
                               {{"DIR", site.dir().path().string()},
                                {"PORT", std::to_string(port)},
                                {"MPM", variant.mpm},
                                {"CGI_MODULE", variant.cgi_module},
                                {"USER", user},
                                {"GROUP", user}});
        write_file(site.dir() / "httpd.conf", conf);
        SpawnOptions o;
        o.stderr_file = site.dir() / "server-stderr.log";
        server = ChildProcess(
            {"/usr/sbin/apache2", "-f", (site.dir() / "httpd.conf").string(), "-D", "FOREGROUND"},
            o);
        ASSERT_TRUE(wait_until_serving(server, port))
            << read_file(site.dir() / "server-stderr.log") << site.error_log();
    }

    void stop()
    {
        server.stop();
        EXPECT_EQ(site.sanitizer_errors(), "");
    }

    CgiSite site;
    unsigned short port = 0;
    ChildProcess server;
};

// Both modules.
class ApacheCgi : public ApacheServer, public ::testing::TestWithParam<Variant>
{
protected:
    void SetUp() override { start(GetParam()); }
    void TearDown() override { stop(); }
};

// mod_cgid only.
class ApacheCgid : public ApacheServer, public ::testing::Test
{
protected:
    void SetUp() override { start({"event", "cgid"}); }
    void TearDown() override { stop(); }
};

} // namespace

TEST_P(ApacheCgi, GatewayWithoutPython)
{
    check_gateway_with_probe(site, port);
}
TEST_P(ApacheCgi, RoutingQueryAndForms)
{
    check_routing_query_and_forms(site, port);
}
TEST_P(ApacheCgi, LargeBodyAndIgnoredBody)
{
    check_large_and_ignored_bodies(site, port);
}
TEST_F(ApacheCgid, StatusCodesReachTheClient)
{
    check_status_codes(site, port);
}
TEST_F(ApacheCgid, NonAsciiPath)
{
    check_non_ascii_path(site, port);
}
TEST_F(ApacheCgid, FailuresAnswer500AndLog)
{
    check_failures(site, port);
}
TEST_F(ApacheCgid, EnvironAndHttpoxy)
{
    check_environ_and_httpoxy(site, port);
}
TEST_F(ApacheCgid, HeadAndNph)
{
    check_head_and_nph(site, port);
}

TEST_F(ApacheCgid, AuthorizationWithCgiPassAuth)
{
    // examples/cgi/.htaccess has CGIPassAuth On: the header reaches the app.
    auto r = site.request(port, "/app.cgi/environ", {"-H", "Authorization: Bearer token-1"});
    ASSERT_EQ(r.status, 200) << r.head << r.body << site.error_log();
    EXPECT_EQ(r.json()["environ"]["HTTP_AUTHORIZATION"], "Bearer token-1");
}

TEST_F(ApacheCgid, RewrittenAuthorizationIsPromotedOnRequest)
{
    // Older hosts without CGIPassAuth: a rewrite to app.cgi/... carries the header as
    // REDIRECT_HTTP_AUTHORIZATION, which --promote-redirect-authorization turns back into
    // Authorization (Apache withholds Authorization unless CGIPassAuth On). The #! line passes the
    // option.
    write_file(site.htdocs() / "legacy/.htaccess",
               "Options +ExecCGI\n"
               "AddHandler cgi-script .cgi\n"
               "CGIPassAuth Off\n"
               "RewriteEngine On\n"
               "RewriteRule ^app\\.cgi - [L]\n"
               "RewriteRule ^(.*)$ app.cgi/$1 [E=HTTP_AUTHORIZATION:%{HTTP:Authorization},L]\n");
    auto app = read_file(source_root() / "tests/apps/cgi_flask_app.py");
    for (std::string flag : {"", " --promote-redirect-authorization"}) {
        write_file(site.htdocs() / "legacy/app.cgi",
                   "#!" + site.wsgi_cgi().string() + flag + "\n" + app,
                   /*executable=*/true);
        auto r = site.request(port, "/legacy/environ", {"-H", "Authorization: Basic dTpw"});
        ASSERT_EQ(r.status, 200) << r.head << r.body << site.error_log();
        EXPECT_EQ(r.json()["environ"]["HTTP_AUTHORIZATION"],
                  flag.empty() ? nlohmann::json() : "Basic dTpw")
            << flag;
        EXPECT_EQ(r.json()["environ"]["SCRIPT_NAME"], "/legacy/app.cgi");
        EXPECT_EQ(r.json()["environ"]["PATH_INFO"], "/environ");
    }
}

TEST_F(ApacheCgid, TheShippedExampleWorksAsIs)
{
    // examples/cgi/app.cgi with only its #! line pointed at the built wsgi-cgi.
    auto example = read_file(source_root() / "examples/cgi/app.cgi");
    site.add_script("example.cgi", example.substr(example.find('\n') + 1));
    auto r = site.request(port, "/example.cgi/caf%C3%A9");
    ASSERT_EQ(r.status, 200) << r.head << r.body << site.error_log();
    EXPECT_EQ(r.body, "Hello from /example.cgi/caf\xC3\xA9\n");
}

INSTANTIATE_TEST_SUITE_P(Servers, ApacheCgi,
                         ::testing::Values(Variant{"prefork", "cgi"}, Variant{"event", "cgid"}),
                         [](const auto& info) { return std::string(info.param.cgi_module); });
