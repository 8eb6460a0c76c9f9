// wsgi-http --workers N: the parent binds once and forks N workers that share the socket;
// a worker that dies is replaced; SIGTERM on the parent stops them all and exits 0.
#include "http_server.hpp"

#include <cerrno>
#include <filesystem>
#include <functional>
#include <set>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

/// "<pid> <wsgi.multiprocess>" from tests/apps/pid_app.py, or {-1, ""} when nothing answered.
std::pair<pid_t, std::string> ask(unsigned short port, const char* query = "")
{
    auto raw = raw_exchange(port, std::string("GET /") + query +
                                      " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    auto body = response_body(raw);
    auto space = body.find(' ');
    if (response_status(raw) != "HTTP/1.1 200 OK" || space == std::string::npos) return {-1, ""};
    return {static_cast<pid_t>(std::stol(body.substr(0, space))), body.substr(space + 1)};
}

/// Asks two at a time (each request sleeps 50 ms, so with one thread per worker the
/// second connection goes to an idle worker) until `enough` says stop; at most 100 rounds.
std::set<pid_t> collect_pids(unsigned short port,
                             const std::function<bool(const std::set<pid_t>&)>& enough)
{
    std::set<pid_t> seen;
    for (int round = 0; round < 100 && !enough(seen); ++round) {
        std::pair<pid_t, std::string> a, b;
        std::thread other([&] { b = ask(port, "?sleep=0.05"); });
        a = ask(port, "?sleep=0.05");
        other.join();
        for (const auto& r : {a, b}) {
            if (r.first <= 0) continue;
            EXPECT_EQ(r.second, "True") << "wsgi.multiprocess with --workers 2";
            seen.insert(r.first);
        }
    }
    return seen;
}

bool gone(pid_t pid)
{
    return ::kill(pid, 0) != 0 && errno == ESRCH;
}

} // namespace

TEST(WsgiHttpWorkers, TwoWorkersAKilledOneIsReplacedSigtermStopsAll)
{
    WsgiHttpProcess s({"--app", "tests/apps/pid_app.py", "--workers", "2", "--threads", "1",
                       "--graceful-timeout", "5"});
    ASSERT_TRUE(s.ready()) << s.error_log();
    auto first = collect_pids(s.port(), [](const auto& seen) { return seen.size() >= 2; });
    ASSERT_EQ(first.size(), 2u) << "two workers should answer; log:\n" << s.error_log();
    EXPECT_EQ(first.count(s.process().pid()), 0u) << "the parent served a request itself";
    EXPECT_NE(s.error_log().find("2 workers"), std::string::npos) << s.error_log();

    pid_t victim = *first.begin();
    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    auto after = collect_pids(s.port(), [&](const auto& seen) {
        for (pid_t p : seen)
            if (!first.count(p)) return true;
        return false;
    });
    EXPECT_EQ(after.count(victim), 0u) << "a killed worker answered";
    pid_t replacement = -1;
    for (pid_t p : after)
        if (!first.count(p)) replacement = p;
    ASSERT_GT(replacement, 0) << "no new worker answered; log:\n" << s.error_log();
    EXPECT_NE(s.error_log().find("worker " + std::to_string(victim) + " killed by signal 9"),
              std::string::npos)
        << s.error_log();

    int status = s.process().stop(SIGTERM, 10s);
    ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "; log:\n" << s.error_log();
    EXPECT_EQ(WEXITSTATUS(status), 0) << s.error_log();
    for (pid_t p : first) {
        if (p != victim) {
            EXPECT_TRUE(gone(p)) << "worker " << p << " outlived the parent";
        }
    }
    EXPECT_TRUE(gone(replacement)) << "worker " << replacement << " outlived the parent";
    EXPECT_FALSE(wait_for_tcp(s.port(), 300ms)) << "the port still accepts";
}

TEST(WsgiHttpWorkers, UnixSocketSurvivesAWorkerAndGoesWithTheParent)
{
    TempDir dir;
    auto sock = dir / "w.sock";
    WsgiHttpProcess s(
        {"--app", "tests/apps/pid_app.py", "--workers", "2", "--bind", "unix:" + sock.string()});
    ASSERT_TRUE(wait_for_unix(sock, 20s)) << s.error_log();
    auto once = [&] {
        auto body = response_body(curl({"--unix-socket", sock.string(), "http://w/"}).out);
        return body.empty() ? pid_t{-1} : static_cast<pid_t>(std::stol(body));
    };
    pid_t worker = once();
    ASSERT_GT(worker, 0) << s.error_log();
    // A worker stopping cleanly must not remove the socket file the others still serve.
    ASSERT_EQ(::kill(worker, SIGTERM), 0);
    for (int i = 0; i < 100 && !gone(worker); ++i)
        std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(std::filesystem::exists(sock)) << "a worker removed the shared socket file";
    pid_t next = -1;
    for (int i = 0; i < 50 && next <= 0; ++i)
        next = once();
    EXPECT_GT(next, 0) << s.error_log();
    int status = s.process().stop(SIGTERM, 10s);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_FALSE(std::filesystem::exists(sock)) << "the parent left its socket file";
}

TEST(WsgiHttpWorkers, BadWorkersValueIsAUsageError)
{
    auto r = run_command({(build_root() / "cli" / "wsgi-http").string(), "--allow-root", "--app",
                          "tests/apps/pid_app.py", "--workers", "0"},
                         {}, {}, 20s);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--workers"), std::string::npos) << r.err;
}
