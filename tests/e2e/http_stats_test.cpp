// --stats (the master's JSON and Prometheus endpoint) and --health (answered by the
// worker without the application: 200, 503 once it is stopping).
#include "http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <thread>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

int code_of(const WsgiHttpProcess& s, const std::string& path)
{
    auto r = curl({"-o", "/dev/null", "-w", "%{http_code}", s.url(path)}, 20s);
    return std::atoi(r.out.c_str() + r.out.rfind('\n') + 1);
}

std::string stats_get(unsigned short port, const std::string& path)
{
    auto r = curl({"http://127.0.0.1:" + std::to_string(port) + path}, 10s);
    return response_body(r.out);
}

} // namespace

TEST(Stats, JsonCountsAddUpAndMetricsPassPromtool)
{
    auto promtool = find_program({"/usr/bin/promtool"});
    if (promtool.empty()) GTEST_FAIL() << "promtool missing (scripts/lib.sh installs prometheus)";
    auto stats_port = free_tcp_port();
    WsgiHttpProcess s({"--app", "tests/apps/process_app.py", "--workers", "2", "--stats",
                       "127.0.0.1:" + std::to_string(stats_port), "--health", "/healthz"});
    ASSERT_TRUE(s.ready());
    ASSERT_TRUE(wait_for_tcp(stats_port)) << s.error_log();
    for (int i = 0; i < 20; ++i)
        ASSERT_EQ(code_of(s, "/"), 200) << s.error_log();
    for (int i = 0; i < 5; ++i)
        ASSERT_EQ(code_of(s, "/status/404"), 404);
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(code_of(s, "/healthz"), 200);

    auto j = nlohmann::json::parse(stats_get(stats_port, "/"));
    EXPECT_EQ(j["pid"], s.process().pid());
    EXPECT_GT(j["uptime_seconds"].get<double>(), 0.0);
    EXPECT_EQ(j["requests"], 25) << j.dump() << "\n(--health answers are not requests)";
    ASSERT_EQ(j["workers"].size(), 2u) << j.dump();
    std::uint64_t sum = 0;
    for (auto& w : j["workers"]) {
        sum += w["requests"].get<std::uint64_t>();
        EXPECT_EQ(w["in_flight"], 0);
        EXPECT_GT(w["pid"].get<int>(), 0);
        EXPECT_GT(w["started"].get<double>(), 1.7e9);
        EXPECT_TRUE(w.contains("rss_bytes"));
    }
    EXPECT_EQ(sum, j["requests"].get<std::uint64_t>()) << j.dump();
    EXPECT_EQ(j["worker_restarts"], 0);

    // A crash: the restart is counted, counters stay monotonic.
    curl({s.url("/abort")}, 10s);
    EXPECT_EQ(code_of(s, "/"), 200);
    std::this_thread::sleep_for(200ms);
    j = nlohmann::json::parse(stats_get(stats_port, "/"));
    EXPECT_EQ(j["worker_restarts"], 1) << j.dump();
    EXPECT_EQ(j["requests_total"], 26) << j.dump();

    auto metrics = stats_get(stats_port, "/metrics");
    EXPECT_NE(metrics.find("wsgibridge_requests_total{class=\"2xx\"} 21\n"), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("wsgibridge_requests_total{class=\"4xx\"} 5\n"), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("wsgibridge_request_duration_seconds_count 26\n"), std::string::npos)
        << metrics;
    for (auto name : {"wsgibridge_requests_in_flight 0\n", "wsgibridge_workers 2\n",
                      "wsgibridge_worker_restarts_total 1\n", "wsgibridge_worker_rss_bytes{pid="})
        EXPECT_NE(metrics.find(name), std::string::npos) << name << "\n" << metrics;
    auto check = run_command({promtool, "check", "metrics"}, metrics, {}, 20s);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err << "\n" << metrics;
}

TEST(Stats, UnixSocketEndpoint)
{
    TempDir dir;
    auto sock = dir / "stats.sock";
    WsgiHttpProcess s({"--app", "tests/apps/process_app.py", "--stats", "unix:" + sock.string()});
    ASSERT_TRUE(s.ready());
    ASSERT_TRUE(wait_for_unix(sock)) << s.error_log();
    ASSERT_EQ(code_of(s, "/"), 200);
    auto r = curl({"--unix-socket", sock.string(), "http://stats/"}, 10s);
    auto j = nlohmann::json::parse(response_body(r.out));
    EXPECT_EQ(j["requests"], 1) << j.dump();
    r = curl({"--unix-socket", sock.string(), "http://stats/nothing"}, 10s);
    EXPECT_EQ(response_status(r.out), "HTTP/1.1 404 Not Found");
}

TEST(Stats, HealthIs503OnceTheWorkerIsStopping)
{
    WsgiHttpProcess s({"--app", "tests/apps/process_app.py", "--health", "/healthz"});
    ASSERT_TRUE(s.ready());
    ASSERT_EQ(code_of(s, "/healthz"), 200);
    // One kept-alive connection (as a load balancer's checker keeps): 200, then SIGTERM,
    // then the next check on it, within the stop drain window, sees 503.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(s.port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    auto check = [fd]() {
        std::string req = "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n";
        if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
            return std::string("send failed");
        std::string got;
        char buf[1024];
        while (got.find("\r\n\r\n") == std::string::npos) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 3000) <= 0) break;
            auto n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
        return got.substr(0, got.find("\r\n"));
    };
    EXPECT_EQ(check(), "HTTP/1.1 200 OK");
    std::this_thread::sleep_for(100ms); // the response body is read with the head
    ASSERT_EQ(::kill(s.process().pid(), SIGTERM), 0);
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(check(), "HTTP/1.1 503 Service Unavailable") << s.error_log();
    ::close(fd);
}

// --log-format json: every access and error line is one JSON object.
TEST(Stats, LogFormatJsonForAccessAndErrorLines)
{
    WsgiHttpProcess s({"--app", "tests/apps/process_app.py", "--log-format", "json", "--access-log",
                       "@DIR@/access.log"});
    ASSERT_TRUE(s.ready());
    ASSERT_EQ(code_of(s, "/a%22b?q=%ff"), 200);
    ASSERT_EQ(code_of(s, "/status/404"), 404);
    ASSERT_EQ(::kill(s.process().pid(), SIGTERM), 0);
    s.process().wait(10s);

    auto lines = [](const std::string& text) {
        std::vector<nlohmann::json> out;
        std::size_t start = 0, end;
        while ((end = text.find('\n', start)) != std::string::npos) {
            out.push_back(nlohmann::json::parse(text.substr(start, end - start)));
            start = end + 1;
        }
        return out;
    };
    auto access = lines(read_file(s.dir() / "access.log"));
    ASSERT_EQ(access.size(), 2u);
    EXPECT_EQ(access[0]["method"], "GET");
    EXPECT_EQ(access[0]["uri"], "/a%22b?q=%ff");
    EXPECT_EQ(access[0]["status"], 200);
    EXPECT_EQ(access[1]["status"], 404);
    for (auto& a : access) {
        for (auto key : {"time", "remote_addr", "bytes", "duration_ms", "pid"})
            EXPECT_TRUE(a.contains(key)) << key << " " << a.dump();
        EXPECT_NE(a["pid"], s.process().pid()) << "a worker answers, not the master";
    }
    auto errors = lines(s.error_log());
    ASSERT_FALSE(errors.empty());
    for (auto& e : errors)
        for (auto key : {"time", "level", "pid", "message"})
            EXPECT_TRUE(e.contains(key)) << key << " " << e.dump();
}
