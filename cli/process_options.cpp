#include "process_options.hpp"

#include <stdexcept>

namespace wsgibridge::cli {

void add_process_options(ArgParser& p, ProcessOptions& o)
{
    p.option("--workers", "N",
             "worker processes serving the socket, supervised by a master process (default 1)",
             [&o](std::string_view v) {
                 o.workers.workers = parse_count("--workers", v);
                 if (o.workers.workers == 0) throw UsageError("--workers must be at least 1");
             });
    p.flag("--no-master",
           "serve in this one process: no master, nobody replaces it if it dies, no reload",
           [&o] { o.workers.master = false; });
    p.flag("--preload",
           "import the application in the master, then fork the workers (memory shared "
           "copy-on-write; SIGHUP then restarts workers without re-reading the code)",
           [&o] { o.preload = true; });
    p.option("--graceful-timeout", "SECONDS",
             "on SIGTERM or SIGHUP, how long a worker may finish its requests before SIGKILL "
             "(default 30)",
             [&o](std::string_view v) {
                 o.workers.graceful_timeout = parse_seconds("--graceful-timeout", v);
             });
    p.option("--timeout", "SECONDS",
             "a request running longer is ended: 504 (HTTP, FastCGI, SCGI, uwsgi; a closed "
             "connection once the response started), the Python traceback in the error log, the "
             "worker replaced (default 0: none)",
             [&o](std::string_view v) { o.workers.timeout = parse_seconds("--timeout", v); });
    p.option("--max-requests-jitter", "N",
             "add random(0..N) to --max-requests per worker, so workers do not restart together",
             [&o](std::string_view v) {
                 o.workers.max_requests_jitter = parse_count("--max-requests-jitter", v);
             });
    p.option("--reload-on-rss", "MB",
             "a worker whose resident memory passed MB after a request retires gracefully "
             "(that request still gets its answer; default 0: never)",
             [&o](std::string_view v) {
                 o.workers.reload_on_rss_bytes =
                     std::uint64_t{parse_count("--reload-on-rss", v)} * 1024 * 1024;
             });
    p.option("--stats", "ADDR",
             "HOST:PORT or unix:PATH (bound before --user drops root) where the master serves "
             "GET / (JSON) and GET /metrics (Prometheus); off by default",
             [&o](std::string_view v) { o.workers.stats = v; });
    p.option("--health", "PATH",
             "request path the worker answers itself with 200 (503 while stopping), without "
             "calling the application (e.g. /healthz)",
             [&o](std::string_view v) {
                 if (!v.starts_with("/"))
                     throw UsageError("--health: expected a path like /healthz");
                 o.workers.health = v;
             });
    p.flag("--reload",
           "development: reload gracefully (as SIGHUP does) when a .py file the application "
           "imported changes (inotify)",
           [&o] { o.workers.reload = true; });
    p.option("--log-format", "FORMAT",
             "text (default) or json: error and access log lines as JSON objects (access: time, "
             "remote_addr, method, uri, status, bytes, duration_ms, pid)",
             [&o](std::string_view v) {
                 if (v != "text" && v != "json")
                     throw UsageError("--log-format: expected text or json");
                 o.json_logs = v == "json";
             });
    p.option("--pidfile", "PATH",
             "write the master's pid to PATH (before --user drops root); removed at exit",
             [&o](std::string_view v) { o.workers.pidfile = v; });
}

void check_process_options(const ProcessOptions& o)
{
    if (o.workers.reload && (o.preload || !o.workers.master))
        throw UsageError("--reload re-imports the application in new workers: it needs the "
                         "master and no --preload");
    if (!o.workers.master && o.workers.workers > 1)
        throw UsageError("--no-master serves in one process: it cannot run --workers > 1");
    if (!o.workers.master && (o.workers.timeout.count() > 0 || o.workers.max_requests > 0 ||
                              o.workers.reload_on_rss_bytes > 0 || !o.workers.stats.empty() ||
                              !o.workers.health.empty()))
        throw UsageError("--timeout, --max-requests, --reload-on-rss, --stats and --health need "
                         "the master: drop --no-master");
}

std::optional<Listener> open_stats_socket(ProcessOptions& o)
{
    if (o.workers.stats.empty() || !o.workers.master) return std::nullopt;
    std::optional<Listener> stats;
    try {
        // The owner's alone, as before: root's, then --user's once become() gives it away.
        stats.emplace(o.workers.stats, 0600);
    } catch (const std::invalid_argument& e) {
        std::string_view why = e.what(); // "--bind ADDR: why": the listener's words
        if (why.starts_with("--bind ")) why.remove_prefix(7);
        throw UsageError(concat("--stats ", why));
    }
    o.workers.stats_fd = stats->fd();
    return stats;
}

} // namespace wsgibridge::cli
