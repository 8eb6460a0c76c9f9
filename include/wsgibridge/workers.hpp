// The pre-fork process model shared by wsgi-http and wsgi-fcgi: the application is
// imported once in the parent, then `workers` processes are forked to serve a listening
// socket they inherit. The parent supervises: a worker that dies is replaced (with a
// back-off when workers die at start-up), SIGTERM/SIGINT/SIGUSR1 stop them gracefully.
#pragma once

#include <chrono>
#include <functional>

#include "invoker.hpp"
#include "log.hpp"

namespace wsgibridge {

struct WorkerOptions {
    unsigned workers = 1; ///< <= 1: serve in this process, no supervisor
    /// After SIGTERM, how long workers get to finish in-flight requests before SIGKILL.
    std::chrono::milliseconds graceful_timeout{30'000};
};

/// Runs `serve` (a worker's whole life: returns its exit status) in `workers` forked
/// processes and supervises them until a stop signal; returns 0 after a graceful stop.
/// With workers <= 1, returns serve() run in this process.
int run_workers(Interpreter& interpreter, const WorkerOptions& options,
                const std::function<int()>& serve, const Logger& log);

} // namespace wsgibridge
