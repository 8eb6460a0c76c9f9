// cgi-fcgi (libfcgi-bin) as the web server: -bind -connect to a standalone wsgi-fcgi
// on TCP and on a unix socket, and -start to spawn wsgi-fcgi on fd 0.
#include "fcgi_common.hpp"

#include <signal.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {
CommandResult cgi_request(const std::string& cgi_fcgi, const std::string& connect,
                          const std::string& method, const std::string& path,
                          const std::string& body = {})
{
    SpawnOptions o;
    auto q = path.find('?');
    o.env = {{"REQUEST_METHOD", method},
             {"SCRIPT_NAME", "/prefix"},
             {"PATH_INFO", path.substr(0, q)},
             {"QUERY_STRING", q == std::string::npos ? "" : path.substr(q + 1)},
             {"REQUEST_URI", "/prefix" + path},
             {"SERVER_NAME", "localhost"},
             {"SERVER_PORT", "80"},
             {"SERVER_PROTOCOL", "HTTP/1.1"},
             {"REMOTE_ADDR", "127.0.0.1"},
             {"HTTP_HOST", "localhost"}};
    if (!body.empty()) {
        o.env["CONTENT_LENGTH"] = std::to_string(body.size());
        o.env["CONTENT_TYPE"] = "application/octet-stream";
    }
    return run_command({cgi_fcgi, "-bind", "-connect", connect}, body, o, 20s);
}

std::string body_of(const std::string& out)
{
    auto p = out.find("\r\n\r\n");
    return p == std::string::npos ? std::string{} : out.substr(p + 4);
}

void check_through(const std::string& cgi_fcgi, const std::string& connect)
{
    auto r = cgi_request(cgi_fcgi, connect, "GET", "/");
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_TRUE(r.out.starts_with("Status: 200 OK\r\n")) << r.out;
    EXPECT_EQ(body_of(r.out), "hello from flask\n");
    EXPECT_EQ(body_of(cgi_request(cgi_fcgi, connect, "GET", "/link").out), "/prefix/target/x\n");
    std::string big(1024 * 1024, 'q');
    for (std::size_t i = 0; i < big.size(); i += 1000)
        big[i] = static_cast<char>('a' + i % 26);
    auto echoed = body_of(cgi_request(cgi_fcgi, connect, "POST", "/echo", big).out);
    EXPECT_EQ(echoed.size(), big.size());
    EXPECT_TRUE(echoed == big);
    EXPECT_EQ(body_of(cgi_request(cgi_fcgi, connect, "GET", "/stream").out),
              "chunk0\nchunk1\nchunk2\n");
    r = cgi_request(cgi_fcgi, connect, "GET", "/crash");
    EXPECT_TRUE(r.out.starts_with("Status: 500")) << r.out;
    EXPECT_EQ(body_of(cgi_request(cgi_fcgi, connect, "GET", "/").out), "hello from flask\n");
}
} // namespace

TEST(FcgiCgiFcgi, BindConnectTcpAndUnix)
{
    auto cgi_fcgi = find_program({"/usr/bin/cgi-fcgi"});
    if (cgi_fcgi.empty() || wsgi_fcgi_path().empty())
        GTEST_FAIL() << "cgi-fcgi or wsgi-fcgi missing (scripts/lib.sh installs it)";
    TempDir dir;
    auto port = free_tcp_port();
    auto tcp = start_wsgi_fcgi("127.0.0.1:" + std::to_string(port), dir / "tcp.log");
    check_through(cgi_fcgi, "127.0.0.1:" + std::to_string(port));
    auto unix_app = start_wsgi_fcgi("unix:" + (dir / "s.sock").string(), dir / "unix.log",
                                    {"--socket-mode", "0600"});
    check_through(cgi_fcgi, (dir / "s.sock").string());
}

TEST(FcgiCgiFcgi, StartSpawnsOnFdZeroAndSigtermEndsIt)
{
    auto cgi_fcgi = find_program({"/usr/bin/cgi-fcgi"});
    if (cgi_fcgi.empty() || wsgi_fcgi_path().empty())
        GTEST_FAIL() << "cgi-fcgi or wsgi-fcgi missing (scripts/lib.sh installs it)";
    TempDir dir;
    auto log = dir / "fd0.log";
    write_file(dir / "app.fcgi", example_fcgi_wrapper(log), true);
    auto sock = dir / "fd0.sock";
    auto started =
        run_command({cgi_fcgi, "-start", "-connect", sock.string(), (dir / "app.fcgi").string()});
    ASSERT_EQ(started.exit_code, 0) << started.err;
    auto r = cgi_request(cgi_fcgi, sock.string(), "GET", "/env");
    auto at = r.out.find("pid=");
    ASSERT_NE(at, std::string::npos) << r.out << read_file(log);
    pid_t pid = std::stoi(r.out.substr(at + 4));
    EXPECT_NE(r.out.find("wsgi.multiprocess=True"), std::string::npos);
    check_through(cgi_fcgi, sock.string());
    ASSERT_EQ(::kill(pid, SIGTERM), 0);
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
        std::this_thread::sleep_for(30ms);
        // cgi-fcgi's child was reparented: gone, or a zombie nobody reaps yet
        auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
        auto close_paren = stat.rfind(')');
        gone = ::kill(pid, 0) != 0 ||
               (close_paren != std::string::npos && stat.substr(close_paren + 2, 1) == "Z");
    }
    EXPECT_TRUE(gone) << "wsgi-fcgi did not exit on SIGTERM";
    if (!gone) ::kill(pid, SIGKILL);
    EXPECT_NE(read_file(log).find("wsgi-fcgi: stopped"), std::string::npos) << read_file(log);
}
