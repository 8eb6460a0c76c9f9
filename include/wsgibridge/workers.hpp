// The process model shared by wsgi-http and standalone wsgi-fcgi: a master process owns
// the listening socket and supervises `workers` forked processes that serve it. The
// master is never on the request path: it only forks, reaps, and relays signals.
//
//   SIGTERM, SIGINT  graceful stop: workers stop accepting and finish in-flight requests
//                    within graceful_timeout (then SIGKILL); exit 0; pidfile removed
//   SIGQUIT          immediate stop: workers are killed; exit 0
//   SIGHUP           graceful reload: a new generation of workers is started; once all
//                    of them are ready the old ones stop accepting and finish in flight
//
// A worker that dies is replaced and its pid and exit status or signal are logged. A
// worker that dies before it reported ready (worker_ready()) is a boot failure: the
// master backs off, and after max_boot_failures in a row (or at once when the very first
// workers cannot import the application) it stops with a non-zero status.
#pragma once

#include "export.hpp"
#include "handler.hpp"
#include "interpreter.hpp"
#include "log.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace wsgibridge {

struct WorkerOptions
{
    unsigned workers = 1;
    /// false (--no-master): serve() runs in this process, nobody replaces it.
    bool master = true;
    /// After a stop or reload, how long a worker gets to finish in-flight requests
    /// before SIGKILL.
    std::chrono::milliseconds graceful_timeout{30'000};
    /// Written with the master's pid (or this process's with master = false) at start,
    /// removed at exit. Empty: none.
    std::string pidfile;
    /// --stats ADDR: HOST:PORT or unix:PATH of the master's JSON / Prometheus endpoint.
    std::string stats;
    /// The --stats socket already listening (bound by the program as root, before it
    /// dropped privileges, as the main socket is): the master serves it and leaves it
    /// open (the caller owns it). -1: the master binds `stats` itself.
    int stats_fd = -1;
    /// Boot failures in a row that make the master give up.
    unsigned max_boot_failures = 5;

    // What WorkerHandler enforces in each worker:
    /// --timeout: a request running longer is ended (504 when nothing was sent yet),
    /// the Python traceback of every thread goes to the error log, the worker exits
    /// and is replaced. 0: no limit.
    std::chrono::milliseconds timeout{0};
    /// --max-requests N, --max-requests-jitter J: a worker retires gracefully after
    /// N + random(0..J) requests (staggered so workers do not restart together). 0: never.
    std::uint64_t max_requests = 0;
    std::uint64_t max_requests_jitter = 0;
    /// --reload-on-rss: a worker whose resident memory passed this after a request
    /// retires gracefully (that request still gets its answer). 0: never.
    std::uint64_t reload_on_rss_bytes = 0;
    /// --reload (development): a worker whose application's .py files change asks the
    /// master for a graceful reload (SIGHUP).
    bool reload = false;
    /// --health PATH: answered by the worker itself (the application is not called):
    /// 200, or 503 once the worker is stopping or retiring. Empty: none.
    std::string health;
};

/// Exit status of a worker the --timeout watchdog ended.
inline constexpr int worker_exit_timeout = 4;

/// Exit status a worker uses when the application cannot be imported: the master stops
/// with it when no worker ever came up (the programs' exit 3 for a broken --app).
inline constexpr int worker_exit_app_load = 3;

/// Called in a worker once it serves (application imported, server listening). The
/// master counts a worker that dies before this as a boot failure. No-op elsewhere.
WSGIBRIDGE_API void worker_ready() noexcept;

/// In a forked worker: its generation, 1 for the workers the master started with (and
/// their replacements), one more per SIGHUP reload. 0 outside a worker (--no-master).
/// wsgi-http's workers of generation 1 use the TLS key the program read before dropping
/// privileges (--user); later ones read the files again.
WSGIBRIDGE_API unsigned worker_generation() noexcept;

/// Blocks the signals the master takes. Call it before opening the listening socket when
/// a master will run: a SIGTERM that arrives between the bind and run_workers() (a
/// supervisor that saw the port open) is then a graceful stop, not a kill. Workers get
/// the signal mask from before this call.
WSGIBRIDGE_API void prepare_master_signals() noexcept;

/// Runs `serve` (a worker's whole life: returns its exit status) in `workers` forked
/// processes supervised by this one until a stop signal; returns 0 after a stop, or 1
/// when workers kept failing at start-up. Throws AppLoadError (with the worker's reason)
/// when the first workers cannot import the application (serve() threw AppLoadError).
/// With master = false, returns serve() run in this process.
WSGIBRIDGE_API int run_workers(Interpreter& interpreter, const WorkerOptions& options,
                               const std::function<int()>& serve, const Logger& log);

/// The application as a supervised worker serves it: counts each request in the
/// worker's shared slot (the master's --stats read them; relaxed atomic adds, no lock),
/// and enforces WorkerOptions' timeout, max_requests and reload_on_rss. Retiring sends
/// this process SIGTERM: the server stops accepting, finishes what is in flight and
/// returns; the master starts a replacement. Construct it in the worker, after fork.
/// It borrows `inner`, `interpreter`, `log` and `json_access`: they must outlive it.
class WSGIBRIDGE_API WorkerHandler : public RequestHandler
{
public:
    /// `json_access`: --log-format json writes the access log here (the server is then
    /// given no access log), with the request's duration.
    WorkerHandler(RequestHandler& inner, Interpreter& interpreter, const WorkerOptions& options,
                  const Logger& log, const AccessLog* json_access = nullptr);
    ~WorkerHandler() override;
    WorkerHandler(const WorkerHandler&) = delete;
    WorkerHandler& operator=(const WorkerHandler&) = delete;

    void handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace wsgibridge
