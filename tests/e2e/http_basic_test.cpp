// wsgi-http end to end with examples/hello.py and tests/apps/http_env_app.py, driven by
// curl and raw sockets.
#include "http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

std::vector<std::string> env_app(std::vector<std::string> extra = {})
{
    std::vector<std::string> args{"--app", "tests/apps/http_env_app.py"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

/// 1 MiB of varied bytes and the sum the app reports for them.
std::pair<std::string, std::uint64_t> mebibyte()
{
    std::string data(1 << 20, '\0');
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<char>((i * 7 + i / 4096) & 0xff);
        sum += static_cast<unsigned char>(data[i]);
    }
    return {data, sum};
}

json environ_of(const WsgiHttpProcess& s, const std::vector<std::string>& curl_args)
{
    std::vector<std::string> args = curl_args;
    args.push_back(s.url("/env"));
    auto r = curl(args);
    return json::parse(response_body(r.out));
}

} // namespace

TEST(WsgiHttp, HelloWorld)
{
    WsgiHttpProcess s({"--app", "examples/hello.py", "--access-log", "@DIR@/access.log"});
    ASSERT_TRUE(s.ready()) << s.error_log();
    auto r = curl({s.url("/")});
    EXPECT_EQ(response_status(r.out), "HTTP/1.1 200 OK");
    EXPECT_EQ(response_body(r.out), "Hello, World!\n");
    EXPECT_NE(r.out.find("Content-Length: 14"), std::string::npos);
    EXPECT_NE(r.out.find("Server: wsgi-bridge"), std::string::npos);
    EXPECT_NE(s.error_log().find("listening on http://127.0.0.1:"), std::string::npos);
    // The line is written once the response is out: the client may be faster.
    std::string access;
    for (int i = 0; i < 100 && access.find('\n') == std::string::npos; ++i) {
        access = read_file(s.dir() / "access.log");
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_NE(access.find("\"GET / HTTP/1.1\" 200 14"), std::string::npos) << access;
}

TEST(WsgiHttp, KeepAliveReusesTheConnection)
{
    WsgiHttpProcess s({"--app", "examples/hello.py"});
    ASSERT_TRUE(s.ready()) << s.error_log();
    auto r = curl({"-v", s.url("/a"), s.url("/b")});
    EXPECT_NE(r.err.find("Re-using existing connection"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '!'), 2);
}

TEST(WsgiHttp, EnvironFromTheRequest)
{
    WsgiHttpProcess s(env_app({"--threads", "3"}));
    ASSERT_TRUE(s.ready()) << s.error_log();
    auto env = environ_of(s, {"-H", "X-Foo: foo", "-H", "Proxy: http://evil:1", "--path-as-is"});
    EXPECT_EQ(env["REQUEST_METHOD"], "GET");
    EXPECT_EQ(env["PATH_INFO"], "/env");
    EXPECT_EQ(env["SCRIPT_NAME"], "");
    EXPECT_EQ(env["SERVER_PROTOCOL"], "HTTP/1.1");
    EXPECT_EQ(env["SERVER_NAME"], "127.0.0.1");
    EXPECT_EQ(env["SERVER_PORT"], std::to_string(s.port()));
    EXPECT_EQ(env["REMOTE_ADDR"], "127.0.0.1");
    EXPECT_EQ(env["wsgi.url_scheme"], "http");
    EXPECT_EQ(env["wsgi.multithread"], true);
    EXPECT_EQ(env["HTTP_X_FOO"], "foo");
    EXPECT_FALSE(env.contains("HTTP_PROXY")) << "httpoxy: Proxy header reached the environ";
}

TEST(WsgiHttp, UnderscoreHeaderIsDropped)
{
    WsgiHttpProcess s(env_app());
    ASSERT_TRUE(s.ready()) << s.error_log();
    auto raw = raw_exchange(s.port(), "GET /env HTTP/1.1\r\nHost: h\r\nX_Foo: spoofed\r\n"
                                      "X-Bar: real\r\nConnection: close\r\n\r\n");
    auto env = json::parse(raw.substr(raw.find("\r\n\r\n") + 4));
    EXPECT_FALSE(env.contains("HTTP_X_FOO")) << raw;
    EXPECT_EQ(env["HTTP_X_BAR"], "real");
}

TEST(WsgiHttp, PercentDecodedPathInfoIsLatin1UnderTheMount)
{
    WsgiHttpProcess s(env_app({"--mount", "/m"}));
    ASSERT_TRUE(s.ready()) << s.error_log();
    auto r = curl({"--path-as-is", s.url("/m/env/caf%C3%A9?q=%20")});
    auto env = json::parse(response_body(r.out));
    EXPECT_EQ(env["SCRIPT_NAME"], "/m");
    // PEP 3333 'Unicode Issues': latin-1 strings of the raw bytes: the bytes C3 A9 are two latin-1
    // characters, "Ã©", never one "é".
    EXPECT_EQ(env["PATH_INFO"], "/env/caf\u00c3\u00a9");
    EXPECT_EQ(env["QUERY_STRING"], "q=%20");
    EXPECT_EQ(env["REQUEST_URI"], "/m/env/caf%C3%A9?q=%20");
    EXPECT_EQ(response_status(curl({s.url("/elsewhere")}).out), "HTTP/1.1 404 Not Found");
}

TEST(WsgiHttp, PostContentLengthMebibyte)
{
    WsgiHttpProcess s(env_app());
    ASSERT_TRUE(s.ready()) << s.error_log();
    auto [data, sum] = mebibyte();
    write_file(s.dir() / "body.bin", data);
    auto r = curl({"--data-binary", "@" + (s.dir() / "body.bin").string(), s.url("/length")});
    EXPECT_EQ(response_body(r.out), std::to_string(data.size()) + " " + std::to_string(sum) + "\n")
        << r.out;
    auto echo = curl({"--data-binary", "@" + (s.dir() / "body.bin").string(), s.url("/echo")});
    auto echoed = response_body(echo.out);
    EXPECT_TRUE(echoed == data) << "echoed body differs: " << echoed.size() << " bytes, curl exit "
                                << echo.exit_code << ", head: " << echo.out.substr(0, 400)
                                << "\nerr: " << echo.err << "\nlog: " << s.error_log();
}

TEST(WsgiHttp, PostChunkedMebibyte)
{
    WsgiHttpProcess s(env_app());
    ASSERT_TRUE(s.ready()) << s.error_log();
    auto [data, sum] = mebibyte();
    write_file(s.dir() / "body.bin", data);
    auto r = curl({"-H", "Transfer-Encoding: chunked", "--data-binary",
                   "@" + (s.dir() / "body.bin").string(), s.url("/length")});
    EXPECT_EQ(response_body(r.out), std::to_string(data.size()) + " " + std::to_string(sum) + "\n")
        << r.out;
    auto env = environ_of(s, {"-H", "Transfer-Encoding: chunked", "--data-binary", "abc"});
    EXPECT_EQ(env["wsgi.input_terminated"], true);
    EXPECT_FALSE(env.contains("CONTENT_LENGTH"));
}

TEST(WsgiHttp, StreamingResponseArrivesInPieces)
{
    WsgiHttpProcess s(env_app());
    ASSERT_TRUE(s.ready()) << s.error_log();
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(s.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::string req = "GET /stream HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    std::vector<std::chrono::steady_clock::time_point> part_times;
    std::string all;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 500) <= 0) continue;
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        std::string piece(buf, static_cast<std::size_t>(n));
        for (auto pos = piece.find("part "); pos != std::string::npos;
             pos = piece.find("part ", pos + 1))
            part_times.push_back(std::chrono::steady_clock::now());
        all += piece;
    }
    ::close(fd);
    EXPECT_NE(all.find("Transfer-Encoding: chunked"), std::string::npos);
    ASSERT_EQ(part_times.size(), 3u) << all;
    // The app sleeps 0.4 s between parts: each left the server on its own.
    EXPECT_GT(part_times[1] - part_times[0], 250ms);
    EXPECT_GT(part_times[2] - part_times[1], 250ms);
    EXPECT_TRUE(all.ends_with("\r\n0\r\n\r\n")) << all;
}

TEST(WsgiHttp, AppExceptionIs500ThenTheNextRequestWorks)
{
    WsgiHttpProcess s(env_app());
    ASSERT_TRUE(s.ready()) << s.error_log();
    EXPECT_EQ(response_status(curl({s.url("/boom")}).out), "HTTP/1.1 500 Internal Server Error");
    EXPECT_EQ(response_status(curl({s.url("/nope")}).out), "HTTP/1.1 404 Not Found");
    EXPECT_EQ(response_status(curl({s.url("/env")}).out), "HTTP/1.1 200 OK");
    EXPECT_NE(s.error_log().find("boom on purpose"), std::string::npos);
}

TEST(WsgiHttp, OversizedHeaderIs431)
{
    WsgiHttpProcess s(env_app({"--max-header-bytes", "4k"}));
    ASSERT_TRUE(s.ready()) << s.error_log();
    auto r = curl({"-H", "Cookie: " + std::string(8000, 'c'), s.url("/env")});
    EXPECT_EQ(response_status(r.out), "HTTP/1.1 431 Request Header Fields Too Large");
    EXPECT_NE(s.error_log().find("--max-header-bytes"), std::string::npos);
    EXPECT_EQ(response_status(curl({s.url("/env")}).out), "HTTP/1.1 200 OK");
}

TEST(WsgiHttp, UnixSocket)
{
    TempDir dir;
    auto sock = dir / "http.sock";
    WsgiHttpProcess s(env_app({"--bind", "unix:" + sock.string()}));
    ASSERT_TRUE(wait_for_unix(sock)) << s.error_log();
    auto r = curl({"--unix-socket", sock.string(), "http://localhost/env"});
    auto env = json::parse(response_body(r.out));
    EXPECT_EQ(env["SERVER_NAME"], "localhost");
    EXPECT_EQ(env["SERVER_PORT"], "80");
}

TEST(WsgiHttp, SigtermExitsZero)
{
    WsgiHttpProcess s({"--app", "examples/hello.py"});
    ASSERT_TRUE(s.ready()) << s.error_log();
    int status = s.process().stop(SIGTERM, 5s);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(WsgiHttp, ImportFailureIsOneLineAndNonZero)
{
    auto r = run_command({(build_root() / "cli" / "wsgi-http").string(), "--allow-root", "--app",
                          "no_such_module_xyz", "--bind",
                          "127.0.0.1:" + std::to_string(free_tcp_port())},
                         {}, {}, 20s);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("no_such_module_xyz"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("error: cannot load the application"), std::string::npos) << r.err;
}
