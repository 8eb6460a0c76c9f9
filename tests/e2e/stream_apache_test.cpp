// Apache 2.4 mod_proxy_uwsgi -> wsgi-uwsgi and mod_proxy_scgi -> wsgi-scgi, on TCP.
#include "stream_common.hpp"

#include <iostream>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

TEST(StreamApache, ProxyUwsgiAndProxyScgi)
{
    auto apache = find_program({"/usr/sbin/apache2"});
    if (apache.empty() || gateway_path("wsgi-uwsgi").empty() || gateway_path("wsgi-scgi").empty() ||
        ::access("/usr/lib/apache2/modules/mod_proxy_uwsgi.so", R_OK) != 0 ||
        ::access("/usr/lib/apache2/modules/mod_proxy_scgi.so", R_OK) != 0)
        GTEST_FAIL() << "apache2, mod_proxy_uwsgi (libapache2-mod-proxy-uwsgi), mod_proxy_scgi, "
                        "wsgi-uwsgi or wsgi-scgi missing (scripts/lib.sh installs them)";
    TempDir dir;
    auto uwsgi_port = free_tcp_port(), scgi_port = free_tcp_port();
    auto uwsgi = start_gateway("wsgi-uwsgi", "127.0.0.1:" + std::to_string(uwsgi_port),
                               dir / "uwsgi.log", {"--mount", "/app"});
    auto scgi = start_gateway("wsgi-scgi", "127.0.0.1:" + std::to_string(scgi_port),
                              dir / "scgi.log", {"--mount", "/app", "--max-header-bytes", "200k"});
    auto port = free_tcp_port(), scgi_front = free_tcp_port();
    write_file(dir / "uwsgi-app.conf",
               example_with("apache-proxy-uwsgi/wsgi-app.conf",
                            {{"uwsgi://127.0.0.1:3032/",
                              "uwsgi://127.0.0.1:" + std::to_string(uwsgi_port) + "/"}}));
    write_file(dir / "scgi-app.conf",
               example_with("apache-proxy-scgi/wsgi-app.conf",
                            {{"scgi://127.0.0.1:4000/",
                              "scgi://127.0.0.1:" + std::to_string(scgi_port) + "/"}}));
    ChildProcess server = start_apache(apache, dir.path(), "stream_apache.conf.in", port,
                                       {{"SCGI_FRONT", std::to_string(scgi_front)}});
    ASSERT_TRUE(wait_for_tcp(port)) << apache_logs(dir.path());
    ASSERT_TRUE(wait_for_tcp(scgi_front)) << apache_logs(dir.path());
    auto base = [](unsigned short p) { return "http://127.0.0.1:" + std::to_string(p) + "/app"; };

    {
        SCOPED_TRACE("mod_proxy_uwsgi");
        check_http_front(port, "/app");
    }
    {
        SCOPED_TRACE("mod_proxy_scgi");
        check_http_front(scgi_front, "/app");
    }
    for (auto p : {port, scgi_front}) {
        auto r = curl({base(p) + "/env?x=%20y"});
        EXPECT_NE(r.out.find("SCRIPT_NAME='/app'"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("PATH_INFO='/env'"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("QUERY_STRING='x=%20y'"), std::string::npos) << r.out;
    }
    auto r = get_with_cookie(base(port), 60 * 1024);
    EXPECT_EQ(status_code(r.out), 200) << r.out.substr(0, 300);
    EXPECT_NE(r.out.find("cookie 61440 bytes"), std::string::npos);
    r = get_with_cookie(base(scgi_front), 100 * 1024);
    EXPECT_EQ(status_code(r.out), 200) << r.out.substr(0, 300);
    EXPECT_NE(r.out.find("cookie 102400 bytes"), std::string::npos);

    disconnect_mid_body(port, "/app/echo");
    disconnect_mid_body(scgi_front, "/app/echo");
    for (auto p : {port, scgi_front}) {
        r = curl({base(p) + "/"});
        EXPECT_EQ(status_code(r.out), 200) << r.out;
    }
    if (HasFailure())
        std::cout << apache_logs(dir.path()) << "\nuwsgi:\n"
                  << read_file(dir / "uwsgi.log") << "\nscgi:\n"
                  << read_file(dir / "scgi.log");
    server.stop(15, 5s);
}
