// lighttpd mod_scgi -> wsgi-scgi on TCP.
#include "stream_common.hpp"

#include <iostream>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

TEST(StreamLighttpd, ModScgi)
{
    auto lighttpd = find_program({"/usr/sbin/lighttpd"});
    if (lighttpd.empty() || gateway_path("wsgi-scgi").empty())
        GTEST_FAIL() << "lighttpd or wsgi-scgi missing (scripts/lib.sh installs lighttpd)";
    TempDir dir;
    auto scgi_port = free_tcp_port();
    auto scgi = start_gateway("wsgi-scgi", "127.0.0.1:" + std::to_string(scgi_port),
                              dir / "scgi.log", {"--mount", "/app", "--max-header-bytes", "200k"});
    auto port = free_tcp_port();
    write_file(dir / "wsgi-scgi.conf",
               example_with("lighttpd/wsgi-scgi.conf",
                            {{"\"port\" => 4000", "\"port\" => " + std::to_string(scgi_port)}}));
    write_file(dir / "lighttpd.conf",
               substitute(read_file(source_root() / "tests/e2e/conf/stream_lighttpd.conf.in"),
                          {{"DIR", dir.path().string()}, {"PORT", std::to_string(port)}}));
    SpawnOptions o;
    o.stderr_file = dir / "lighttpd-stderr.log";
    ChildProcess server({lighttpd, "-D", "-f", (dir / "lighttpd.conf").string()}, o);
    ASSERT_TRUE(wait_for_tcp(port)) << read_file(dir / "lighttpd-stderr.log");

    check_http_front(port, "/app");
    auto base = "http://127.0.0.1:" + std::to_string(port) + "/app";
    auto r = curl({base + "/env?x=%20y"});
    EXPECT_NE(r.out.find("SCRIPT_NAME='/app'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("PATH_INFO='/env'"), std::string::npos) << r.out;
    // lighttpd caps a request head at 64 KiB (server.max-request-field-size), so 60 KB
    r = get_with_cookie(base, 60 * 1024);
    EXPECT_EQ(status_code(r.out), 200) << r.out.substr(0, 300);
    EXPECT_NE(r.out.find("cookie 61440 bytes"), std::string::npos);
    disconnect_mid_body(port, "/app/echo");
    r = curl({base + "/"});
    EXPECT_EQ(status_code(r.out), 200) << r.out;
    if (HasFailure())
        std::cout << read_file(dir / "lighttpd-stderr.log") << "\nscgi:\n"
                  << read_file(dir / "scgi.log");
}
