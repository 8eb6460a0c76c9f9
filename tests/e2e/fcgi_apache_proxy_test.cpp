// Apache mod_proxy_fcgi → a standalone wsgi-fcgi on TCP, connections reused.
#include "fcgi_common.hpp"

#include <pwd.h>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

TEST(FcgiApacheProxy, ProxyPassWithMount)
{
    auto apache = find_program({"/usr/sbin/apache2"});
    if (apache.empty() || wsgi_fcgi_path().empty() ||
        ::access("/usr/lib/apache2/modules/mod_proxy_fcgi.so", R_OK) != 0)
        GTEST_SKIP() << "apache2, mod_proxy_fcgi or wsgi-fcgi missing";
    TempDir dir;
    auto fcgi_port = free_tcp_port();
    auto app = start_wsgi_fcgi("127.0.0.1:" + std::to_string(fcgi_port), dir / "wsgi-fcgi.log",
                               {"--mount", "/app"});
    std::string user = ::geteuid() == 0 ? "www-data" : ::getpwuid(::geteuid())->pw_name;
    std::string group = ::geteuid() == 0 ? "www-data" : "#" + std::to_string(::getegid());
    auto port = free_tcp_port();
    write_file(dir / "wsgi-app.conf",
               example_with("apache-proxy-fcgi/wsgi-app.conf",
                            {{"fcgi://127.0.0.1:9000/",
                              "fcgi://127.0.0.1:" + std::to_string(fcgi_port) + "/"}}));
    write_file(dir / "httpd.conf",
               substitute(read_file(source_root() / "tests/e2e/conf/fcgi_apache_proxy.conf.in"),
                          {{"DIR", dir.path().string()},
                           {"PORT", std::to_string(port)},
                           {"FCGI_PORT", std::to_string(fcgi_port)},
                           {"USER", user},
                           {"GROUP", group}}));
    ChildProcess server(
        {apache, "-d", dir.path().string(), "-f", (dir / "httpd.conf").string(), "-DFOREGROUND"},
        SpawnOptions{.env = {},
                     .unset_env = {},
                     .cwd = {},
                     .stdout_file = dir / "stdout.log",
                     .stderr_file = dir / "stderr.log",
                     .stdin_fd = -1});
    ASSERT_TRUE(wait_for_tcp(port))
        << read_file(dir / "error.log") << read_file(dir / "stderr.log");

    check_http_front(port, "/app");

    auto r = curl({"http://127.0.0.1:" + std::to_string(port) + "/app/env?x=%20y"});
    EXPECT_NE(r.out.find("SCRIPT_NAME='/app'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("PATH_INFO='/env'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("QUERY_STRING='x=%20y'"), std::string::npos) << r.out;
    // enablereuse=on: connections are kept and reused
    EXPECT_LT(connections_accepted(dir / "wsgi-fcgi.log"), 12) << read_file(dir / "wsgi-fcgi.log");
    server.stop(15, 5s);
}
