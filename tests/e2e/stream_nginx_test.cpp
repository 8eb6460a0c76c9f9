// nginx -> wsgi-uwsgi (uwsgi_pass) and wsgi-scgi (scgi_pass), each over a unix socket
// (examples/nginx/wsgi-uwsgi.conf, wsgi-scgi.conf) and over TCP, with nginx's stock
// uwsgi_params (PATH_INFO = the whole path, no SCRIPT_NAME) and scgi_params (neither):
// --mount puts the mount point back.
#include "stream_common.hpp"

#include <iostream>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

TEST(StreamNginx, UwsgiAndScgiOverUnixAndTcpWithStockParams)
{
    auto nginx = find_program({"/usr/sbin/nginx"});
    if (nginx.empty() || gateway_path("wsgi-uwsgi").empty() || gateway_path("wsgi-scgi").empty())
        GTEST_FAIL() << "nginx, wsgi-uwsgi or wsgi-scgi missing (scripts/lib.sh installs nginx)";
    TempDir dir;
    auto uwsgi_port = free_tcp_port(), scgi_port = free_tcp_port();
    // uwsgi: the default --max-header-bytes (64k) holds a 60 KB cookie; over TCP a 16k
    // limit refuses it. SCGI: 200k holds a 100 KB cookie; over TCP the default refuses it.
    auto uwsgi_unix = start_gateway("wsgi-uwsgi", "unix:" + (dir / "u.sock").string(),
                                    dir / "uwsgi-unix.log", {"--mount", "/app"});
    auto uwsgi_tcp = start_gateway(
        "wsgi-uwsgi", "127.0.0.1:" + std::to_string(uwsgi_port), dir / "uwsgi-tcp.log",
        {"--mount", "/ut", "--threads", "2", "--max-header-bytes", "16k"});
    auto scgi_unix =
        start_gateway("wsgi-scgi", "unix:" + (dir / "s.sock").string(), dir / "scgi-unix.log",
                      {"--mount", "/app", "--max-header-bytes", "200k"});
    auto scgi_tcp = start_gateway("wsgi-scgi", "127.0.0.1:" + std::to_string(scgi_port),
                                  dir / "scgi-tcp.log", {"--mount", "/st", "--threads", "2"});

    auto uwsgi_site = free_tcp_port(), scgi_site = free_tcp_port();
    auto uwsgi_front = free_tcp_port(), scgi_front = free_tcp_port();
    write_file(dir / "uwsgi-site.conf",
               example_with("nginx/wsgi-uwsgi.conf",
                            {{"uwsgi_pass unix:/run/wsgi-uwsgi/app.sock;",
                              "uwsgi_pass unix:" + (dir / "u.sock").string() + ";"},
                             {"listen 80;", "listen 127.0.0.1:" + std::to_string(uwsgi_site) + ";"},
                             {"include uwsgi_params;", "include /etc/nginx/uwsgi_params;"}}));
    write_file(dir / "scgi-site.conf",
               example_with("nginx/wsgi-scgi.conf",
                            {{"scgi_pass unix:/run/wsgi-scgi/app.sock;",
                              "scgi_pass unix:" + (dir / "s.sock").string() + ";"},
                             {"listen 80;", "listen 127.0.0.1:" + std::to_string(scgi_site) + ";"},
                             {"include scgi_params;", "include /etc/nginx/scgi_params;"}}));
    write_file(dir / "nginx.conf",
               substitute(read_file(source_root() / "tests/e2e/conf/stream_nginx.conf.in"),
                          {{"DIR", dir.path().string()},
                           {"UWSGI_PORT", std::to_string(uwsgi_port)},
                           {"SCGI_PORT", std::to_string(scgi_port)},
                           {"UWSGI_TCP_PORT", std::to_string(uwsgi_front)},
                           {"SCGI_TCP_PORT", std::to_string(scgi_front)}}));
    ChildProcess server({nginx, "-p", dir.path().string(), "-c", (dir / "nginx.conf").string(),
                         "-e", (dir / "nginx-error.log").string()});
    for (auto p : {uwsgi_site, scgi_site, uwsgi_front, scgi_front})
        ASSERT_TRUE(wait_for_tcp(p)) << read_file(dir / "nginx-error.log");
    auto base = [](unsigned short p, const std::string& prefix) {
        return "http://127.0.0.1:" + std::to_string(p) + prefix;
    };

    {
        SCOPED_TRACE("uwsgi over a unix socket");
        check_http_front(uwsgi_site, "/app");
    }
    {
        SCOPED_TRACE("uwsgi over TCP");
        check_http_front(uwsgi_front, "/ut");
    }
    {
        SCOPED_TRACE("SCGI over a unix socket");
        check_http_front(scgi_site, "/app");
    }
    {
        SCOPED_TRACE("SCGI over TCP");
        check_http_front(scgi_front, "/st");
    }

    // What the application sees: the mount point split off, REQUEST_URI as sent, one
    // CONTENT_LENGTH (nginx passes no HTTP_CONTENT_* copy through these either).
    for (auto [p, prefix] : {std::pair{uwsgi_front, "/ut"}, std::pair{scgi_front, "/st"}}) {
        auto r = curl({"-d", "name=value&other=thing", base(p, prefix) + "/env?q=1"});
        EXPECT_NE(r.out.find(std::string("SCRIPT_NAME='") + prefix + "'"), std::string::npos)
            << r.out;
        EXPECT_NE(r.out.find("PATH_INFO='/env'"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find(std::string("REQUEST_URI='") + prefix + "/env?q=1'"),
                  std::string::npos);
        EXPECT_NE(r.out.find("CONTENT_LENGTH='22'"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("wsgi.url_scheme='http'"), std::string::npos) << r.out;
    }

    // Big cookies: 60 KB through uwsgi (whose 16-bit sizes cap the vars at 64 KiB),
    // 100 KB through SCGI with --max-header-bytes 200k.
    auto r = get_with_cookie(base(uwsgi_site, "/app"), 60 * 1024);
    EXPECT_EQ(status_code(r.out), 200) << r.out.substr(0, 300);
    EXPECT_NE(r.out.find("cookie 61440 bytes"), std::string::npos);
    r = get_with_cookie(base(scgi_site, "/app"), 100 * 1024);
    EXPECT_EQ(status_code(r.out), 200) << r.out.substr(0, 300);
    EXPECT_NE(r.out.find("cookie 102400 bytes"), std::string::npos);

    // Over the limit: refused with 431, the log names the option, serving goes on.
    r = get_with_cookie(base(uwsgi_front, "/ut"), 60 * 1024);
    EXPECT_EQ(status_code(r.out), 431) << r.out.substr(0, 300);
    EXPECT_NE(read_file(dir / "uwsgi-tcp.log").find("--max-header-bytes"), std::string::npos);
    r = get_with_cookie(base(scgi_front, "/st"), 100 * 1024);
    EXPECT_EQ(status_code(r.out), 431) << r.out.substr(0, 300);
    EXPECT_NE(read_file(dir / "scgi-tcp.log").find("--max-header-bytes"), std::string::npos);

    // A client that hangs up mid-body, then the next request is served: through nginx
    // (uwsgi request buffering off: the body streams through), and straight to each
    // gateway with a head announcing 1 MB of which 10 KB arrive.
    disconnect_mid_body(uwsgi_front, "/ut/echo");
    disconnect_mid_body(scgi_front, "/st/echo");
    raw_exchange(uwsgi_port,
                 uwsgi_packet({{"REQUEST_METHOD", "POST"},
                               {"REQUEST_URI", "/ut/echo"},
                               {"PATH_INFO", "/ut/echo"},
                               {"CONTENT_LENGTH", "1000000"}}) +
                     std::string(10000, 'x'),
                 300ms);
    raw_exchange(scgi_port,
                 scgi_netstring({{"CONTENT_LENGTH", "1000000"},
                                 {"SCGI", "1"},
                                 {"REQUEST_METHOD", "POST"},
                                 {"REQUEST_URI", "/st/echo"}}) +
                     std::string(10000, 'x'),
                 300ms);
    for (auto [p, prefix] : {std::pair{uwsgi_front, "/ut"}, std::pair{scgi_front, "/st"}}) {
        r = curl({base(p, prefix) + "/"});
        EXPECT_EQ(status_code(r.out), 200) << r.out;
    }

    if (HasFailure())
        std::cout << "nginx error log:\n"
                  << read_file(dir / "nginx-error.log") << "\nuwsgi (unix):\n"
                  << read_file(dir / "uwsgi-unix.log") << "\nSCGI (unix):\n"
                  << read_file(dir / "scgi-unix.log");

    // SIGTERM: a graceful exit 0
    for (auto* child : {&uwsgi_tcp, &scgi_tcp}) {
        int status = child->stop(15, 5s);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    }
}
