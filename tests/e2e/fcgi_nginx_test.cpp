// nginx → wsgi-fcgi over a unix socket (examples/nginx/wsgi-app.conf) and over TCP,
// stock fastcgi_params, fastcgi_keep_conn on.
#include "fcgi_common.hpp"

using namespace wsgibridge::test;
using namespace std::chrono_literals;

TEST(FcgiNginx, UnixAndTcpWithStockParamsAndKeepConn)
{
    auto nginx = find_program({"/usr/sbin/nginx"});
    if (nginx.empty() || wsgi_fcgi_path().empty())
        GTEST_FAIL() << "nginx or wsgi-fcgi missing (scripts/lib.sh installs it)";
    TempDir dir;
    auto sock = dir / "app.sock";
    auto fcgi_port = free_tcp_port();
    // unix: the default single thread (requests run on the io thread); tcp: 4 workers
    auto unix_app = start_wsgi_fcgi("unix:" + sock.string(), dir / "unix.log", {"--mount", "/app"});
    auto tcp_app = start_wsgi_fcgi("127.0.0.1:" + std::to_string(fcgi_port), dir / "tcp.log",
                                   {"--mount", "/tcp", "--threads", "4"});

    auto port = free_tcp_port(), tcp_port = free_tcp_port();
    write_file(dir / "site.conf",
               example_with(
                   "nginx/wsgi-app.conf",
                   {{"server unix:/run/wsgi-fcgi/app.sock;", "server unix:" + sock.string() + ";"},
                    {"listen 80;", "listen 127.0.0.1:" + std::to_string(port) + ";"},
                    {"include fastcgi_params;", "include /etc/nginx/fastcgi_params;"}}));
    write_file(dir / "nginx.conf",
               substitute(read_file(source_root() / "tests/e2e/conf/fcgi_nginx.conf.in"),
                          {{"DIR", dir.path().string()},
                           {"FCGI_PORT", std::to_string(fcgi_port)},
                           {"TCP_PORT", std::to_string(tcp_port)}}));
    ChildProcess server({nginx, "-p", dir.path().string(), "-c", (dir / "nginx.conf").string(),
                         "-e", (dir / "nginx-error.log").string()});
    ASSERT_TRUE(wait_for_tcp(port)) << read_file(dir / "nginx-error.log");

    ASSERT_TRUE(wait_for_tcp(tcp_port));
    check_http_front(port, "/app");
    check_http_front(tcp_port, "/tcp");

    // PATH_INFO derived from REQUEST_URI, percent-decoded (bytes, not UTF-8)
    auto r = curl({"http://127.0.0.1:" + std::to_string(tcp_port) + "/tcp/env?q=1"});
    EXPECT_NE(r.out.find("SCRIPT_NAME='/tcp'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("PATH_INFO='/env'"), std::string::npos);
    EXPECT_NE(r.out.find("REQUEST_URI='/tcp/env?q=1'"), std::string::npos);
    EXPECT_NE(r.out.find("wsgi.multithread=True"), std::string::npos);
    EXPECT_NE(r.out.find("wsgi.multiprocess=False"), std::string::npos);

    // A form POST: nginx sends HTTP_CONTENT_LENGTH/HTTP_CONTENT_TYPE beside CONTENT_*;
    // the app must see one plain value of each (RFC 3875 §4.1.18), not "23, 23".
    r = curl(
        {"-d", "name=value&other=thing", "http://127.0.0.1:" + std::to_string(port) + "/app/env"});
    EXPECT_NE(r.out.find("CONTENT_LENGTH='22'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("CONTENT_TYPE='application/x-www-form-urlencoded'"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("HTTP_CONTENT_LENGTH=None"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("HTTP_CONTENT_TYPE=None"), std::string::npos) << r.out;

    // fastcgi_keep_conn: fewer FastCGI connections than the 10 requests of each check
    // (at most the upstream keepalive pool size, plus one for an overlap)
    EXPECT_GE(connections_accepted(dir / "tcp.log"), 1);
    EXPECT_LE(connections_accepted(dir / "tcp.log"), 5) << read_file(dir / "tcp.log");
    EXPECT_LE(connections_accepted(dir / "unix.log"), 5) << read_file(dir / "unix.log");

    // stopping wsgi-fcgi by SIGTERM exits 0
    int status = tcp_app.stop(15, 5s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}
