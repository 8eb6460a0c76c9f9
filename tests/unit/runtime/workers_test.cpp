// The pre-fork supervisor: workers are forked after the app was imported, Python works
// in them, a dead worker is replaced, and SIGTERM stops them all.
#include "memory_sink.hpp"
#include "python_main.hpp"
#include "wsgibridge/workers.hpp"
#include "wsgibridge/wsgi_app.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <poll.h>
#include <set>
#include <signal.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace wsgibridge;
using namespace wsgibridge::test;

namespace {

/// Reads one '\n'-terminated line from fd within `timeout`, or "" on timeout/EOF.
std::string read_line(int fd, std::chrono::milliseconds timeout)
{
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return {};
        char c;
        if (::read(fd, &c, 1) != 1) return {};
        if (c == '\n') return line;
        line += c;
    }
}

bool gone(pid_t pid)
{
    return ::kill(pid, 0) != 0 && errno == ESRCH;
}

} // namespace

TEST(Workers, ForkServeReplaceAndStop)
{
    auto spec = AppSpec::parse("echo:application");
    ASSERT_TRUE(spec);
    Logger log(2, LogLevel::warning);
    WsgiApp app(interpreter(), *spec, WsgiOptions{}, log);

    int report[2];
    ASSERT_EQ(::pipe(report), 0);
    pid_t supervisor = ::fork(); // plain fork: the supervisor itself runs no Python
    ASSERT_GE(supervisor, 0);
    if (supervisor == 0) {
        ::close(report[0]);
        WorkerOptions options;
        options.workers = 2;
        options.graceful_timeout = std::chrono::seconds(2);
        int status = run_workers(
            interpreter(), options,
            [&]() {
                // Each worker serves one request through Python, reports "pid body", then
                // waits to be stopped.
                RequestBuilder rb("POST", "/w");
                rb.body("from-worker");
                MemoryBody body = rb.make_body();
                MemorySink sink;
                app.handle(rb.request(), body, sink);
                worker_ready();
                std::string line = std::to_string(::getpid()) + " " + sink.body + "\n";
                if (::write(report[1], line.data(), line.size()) < 0) return 1;
                ::pause();
                return 0;
            },
            log);
        std::_Exit(status);
    }
    ::close(report[1]);

    std::set<pid_t> workers;
    for (int i = 0; i < 2; ++i) {
        std::string line = read_line(report[0], std::chrono::seconds(10));
        ASSERT_FALSE(line.empty()) << "worker " << i << " did not report";
        auto space = line.find(' ');
        EXPECT_EQ(line.substr(space + 1), "from-worker");
        workers.insert(std::stoi(line.substr(0, space)));
    }
    ASSERT_EQ(workers.size(), 2u);

    // A worker that dies is replaced by a new one, which serves through Python too.
    pid_t victim = *workers.begin();
    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    std::string line = read_line(report[0], std::chrono::seconds(10));
    ASSERT_FALSE(line.empty()) << "no replacement worker";
    pid_t replacement = std::stoi(line.substr(0, line.find(' ')));
    EXPECT_FALSE(workers.count(replacement));
    workers.insert(replacement);

    ASSERT_EQ(::kill(supervisor, SIGTERM), 0);
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    pid_t r = 0;
    while ((r = ::waitpid(supervisor, &status, WNOHANG)) == 0 &&
           std::chrono::steady_clock::now() < deadline)
        ::usleep(20'000);
    ASSERT_EQ(r, supervisor) << "supervisor did not stop on SIGTERM";
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    for (pid_t pid : workers)
        EXPECT_TRUE(gone(pid)) << "worker " << pid << " outlived the supervisor";
    ::close(report[0]);
}

TEST(Workers, NoMasterRunsInProcess)
{
    WorkerOptions options;
    options.workers = 1;
    options.master = false; // --no-master
    Logger log(2, LogLevel::warning);
    pid_t self = ::getpid();
    pid_t seen = 0;
    EXPECT_EQ(run_workers(
                  interpreter(), options,
                  [&]() {
                      seen = ::getpid();
                      return 7;
                  },
                  log),
              7);
    EXPECT_EQ(seen, self);
}
