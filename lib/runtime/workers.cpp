#include "wsgibridge/workers.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

namespace wsgibridge {
namespace {

std::atomic<int> stop_signal{0};

extern "C" void on_stop_signal(int sig) { stop_signal.store(sig); }

void install(int sig, void (*handler)(int))
{
    struct sigaction sa{};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
}

/// Forks one worker; in the child runs serve() and never returns.
pid_t spawn(Interpreter& interpreter, const std::function<int()>& serve, const Logger& log)
{
    pid_t pid = interpreter.fork();
    if (pid < 0) {
        log.error(concat("cannot fork a worker: ", std::strerror(errno)));
        return -1;
    }
    if (pid == 0) {
        // The child serves with default signal dispositions: the server installs its own
        // graceful-stop handling.
        for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGCHLD}) install(sig, SIG_DFL);
        int status = 1;
        try {
            status = serve();
        } catch (const std::exception& e) {
            log.error(concat("worker failed: ", e.what()));
        }
        std::_Exit(status); // no atexit/static destructors of the parent's copy
    }
    return pid;
}

std::string describe(int status)
{
    if (WIFEXITED(status)) return concat("exited with status ", WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return concat("killed by signal ", WTERMSIG(status));
    return "stopped";
}

void stop_all(std::vector<pid_t>& pids, const WorkerOptions& options, const Logger& log)
{
    for (pid_t pid : pids)
        if (pid > 0) ::kill(pid, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + options.graceful_timeout;
    while (std::any_of(pids.begin(), pids.end(), [](pid_t p) { return p > 0; })) {
        int status;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            std::replace(pids.begin(), pids.end(), pid, pid_t{-1});
            continue;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            log.warning(concat("workers still busy after --graceful-timeout (",
                               options.graceful_timeout.count() / 1000, " s): killing them"));
            for (pid_t p : pids)
                if (p > 0) ::kill(p, SIGKILL);
            while (::waitpid(-1, nullptr, 0) > 0) {
            }
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

} // namespace

int run_workers(Interpreter& interpreter, const WorkerOptions& options,
                const std::function<int()>& serve, const Logger& log)
{
    if (options.workers <= 1) return serve();

    stop_signal.store(0);
    for (int sig : {SIGTERM, SIGINT, SIGUSR1}) install(sig, on_stop_signal);

    std::vector<pid_t> pids(options.workers, -1);
    for (auto& pid : pids) pid = spawn(interpreter, serve, log);
    log.info(concat("started ", options.workers, " workers"));

    // A worker that dies within a second of its start is likely to die again (a broken
    // app, a port taken): back off instead of forking in a tight loop.
    auto backoff = std::chrono::milliseconds(0);
    while (stop_signal.load() == 0) {
        int status;
        pid_t pid = ::waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        auto it = std::find(pids.begin(), pids.end(), pid);
        if (it == pids.end()) continue;
        if (stop_signal.load() != 0) {
            *it = -1;
            break;
        }
        log.error(concat("worker ", pid, " ", describe(status), "; starting a new one"));
        backoff = WIFEXITED(status) && WEXITSTATUS(status) != 0
                      ? std::min(std::max(backoff * 2, std::chrono::milliseconds(100)),
                                 std::chrono::milliseconds(5000))
                      : std::chrono::milliseconds(0);
        std::this_thread::sleep_for(backoff);
        *it = spawn(interpreter, serve, log);
    }
    log.info(concat("stopping workers (signal ", stop_signal.load(), ")"));
    stop_all(pids, options, log);
    return 0;
}

} // namespace wsgibridge
