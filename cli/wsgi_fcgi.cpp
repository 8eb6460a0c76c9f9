// wsgi-fcgi: a WSGI application behind FastCGI. Three ways to start it:
//   - by a process manager that hands over a listening socket on fd 0 (mod_fcgid,
//     spawn-fcgi) or through systemd socket activation (LISTEN_FDS): just run it;
//   - standalone: --bind unix:/run/app.sock or --bind 127.0.0.1:9000;
//   - as a plain CGI script (fd 0 is not a socket and REQUEST_METHOD is set): serves
//     the one request through the CGI front end, so one script works under both.
#include "options.hpp"
#include "process_manager.hpp"
#include "process_options.hpp"
#include "sd_notify.hpp"
#include "wsgibridge/cgi_gateway.hpp"
#include "wsgibridge/fastcgi_server.hpp"
#include "wsgibridge/wsgi_app.hpp"
#include "wsgibridge/listener.hpp"
#include "wsgibridge/workers.hpp"

#include <cstdlib>
#include <optional>
#include <string>
#include <system_error>
#include <unistd.h>

using namespace wsgibridge;

namespace {

enum class Mode { automatic, fastcgi, cgi };

struct Settings
{
    cli::CommonOptions common;
    /// The programs stop gracefully on SIGTERM/SIGINT/SIGUSR1; the library default is off.
    FastcgiServerOptions server = [] {
        FastcgiServerOptions o;
        o.handle_signals = true;
        return o;
    }();
    std::optional<unsigned> threads;
    std::optional<std::uint64_t> max_requests;
    cli::ProcessOptions proc;
    Mode mode = Mode::automatic;
    std::string notify_socket; ///< systemd NOTIFY_SOCKET, out of the environment
};

void add_options(cli::ArgParser& p, Settings& s)
{
    cli::add_common_options(p, s.common);
    cli::add_server_options(
        p, s.server,
        {.bind = "listen on unix:/path, HOST:PORT or [V6]:PORT (default: the listening socket on "
                 "fd 0)",
         .mount = "SCRIPT_NAME of the application: re-splits SCRIPT_NAME/PATH_INFO for web "
                  "servers that send the whole path as SCRIPT_NAME (nginx fastcgi_params, "
                  "mod_proxy_fcgi)"});
    p.option("--threads", "N",
             "worker threads (default 1: requests whose body has arrived run on the io thread, "
             "the cheapest way under the GIL; raise it for applications that wait on I/O)",
             [&s](std::string_view v) {
                 s.threads = cli::parse_count("--threads", v);
                 if (*s.threads == 0) throw cli::UsageError("--threads must be at least 1");
             });
    cli::add_process_options(p, s.proc);
    p.option("--max-requests", "N", "exit after N requests, standalone only (default: never)",
             [&s](std::string_view v) { s.max_requests = cli::parse_count("--max-requests", v); });
    p.option("--max-connections", "N", "connections served at once (FCGI_MAX_CONNS, default 1024)",
             [&s](std::string_view v) {
                 s.server.max_connections = cli::parse_count("--max-connections", v);
             });
    p.option("--max-requests-in-flight", "N",
             "requests accepted at once, all connections (FCGI_MAX_REQS, default 1024); more get "
             "FCGI_OVERLOADED",
             [&s](std::string_view v) {
                 s.server.max_requests_in_flight = cli::parse_count("--max-requests-in-flight", v);
             });
    p.flag("--promote-redirect-authorization",
           "turn REDIRECT_HTTP_AUTHORIZATION (Apache rewrite workaround) into the Authorization "
           "header; only behind a web server configured for it",
           [&s] { s.server.promote_redirect_authorization = true; });
    p.option("--wsgi-errors", "WHERE",
             "fastcgi (default): wsgi.errors as FCGI_STDERR records the web server logs; log: "
             "into our error log (--log-file)",
             [&s](std::string_view v) {
                 if (v != "fastcgi" && v != "log")
                     throw cli::UsageError("--wsgi-errors: expected fastcgi or log");
                 s.server.errors_to_web_server = v == "fastcgi";
             });
    p.option("--mode", "MODE", "auto (default), fastcgi or cgi: override the fd 0 detection",
             [&s](std::string_view v) {
                 if (v == "auto")
                     s.mode = Mode::automatic;
                 else if (v == "fastcgi")
                     s.mode = Mode::fastcgi;
                 else if (v == "cgi")
                     s.mode = Mode::cgi;
                 else
                     throw cli::UsageError("--mode: expected auto, fastcgi or cgi");
             });
    cli::add_limit_options(p, s.common.limits);
}

int serve_cgi(Settings& s, const Logger& log)
{
    CgiOptions cgi;
    cgi.limits = s.common.limits;
    // httpoxy scrubbed, the request's stdin/stdout moved away from fds 0 and 1 so a
    // stray print() or a child process cannot touch them (the CGI front end's rules).
    if (auto ec = prepare_cgi_process(cgi))
        throw std::system_error(ec, "cannot set up stdin/stdout");
    auto spec = AppSpec::parse(s.common.app);
    std::optional<Interpreter> interpreter;
    std::optional<WsgiApp> app;
    try {
        if (!spec) throw AppLoadError("bad --app: " + spec.error().message());
        PythonOptions py = cli::prepare_python(s.common);
        py.program_name = "wsgi-fcgi";
        WsgiOptions w;
        w.run_once = true;
        w.multiprocess = true;
        w.redirect_stdout = true;
        interpreter.emplace(py);
        app.emplace(*interpreter, *spec, w, log);
    } catch (const std::exception& e) {
        log.error(concat("cannot load the application: ", e.what()));
        int rc = answer_cgi_error(cgi, 500, log);
        ::close(cgi.output_fd);
        return rc == 0 ? 3 : 1;
    }
    int rc = run_cgi(cgi, *app, log);
    ::close(cgi.output_fd); // the response ends here, not when the interpreter is finalised
    return rc;
}

/// The master binds once (or keeps the inherited socket) and supervises; each forked
/// worker imports the application (unless --preload) and serves the socket with its own
/// io thread and worker threads.
int serve_workers(Settings& s, Interpreter& interpreter, const AppSpec& spec,
                  const WsgiOptions& wsgi, std::optional<WsgiApp>& preloaded, const Logger& log,
                  const AccessLog& access)
{
    bool inherited = s.server.bind.empty();
    FastcgiServerOptions worker = s.server;
    // The master's own socket: closed, and its file removed, however run_workers ends
    // (an inherited one is not ours to close or unlink).
    Listener owned;
    if (!inherited) owned = Listener(s.server.bind, s.server.socket_mode);
    worker.listen_fd = inherited ? s.server.listen_fd : owned.fd();
    worker.bind.clear();
    log.info(concat("FastCGI: serving ", inherited ? "the inherited socket" : s.server.bind,
                    " with ", s.proc.workers.workers, " workers (",
                    s.proc.preload ? "preloaded" : "imported by each worker", ")"));
    cli::notify_ready(s.notify_socket, log);
    return run_workers(
        interpreter, s.proc.workers,
        [&]() -> int {
            std::optional<WsgiApp> own;
            WsgiApp& app = preloaded ? *preloaded : own.emplace(interpreter, spec, wsgi, log);
            WorkerHandler handler(app, interpreter, s.proc.workers, log,
                                  s.proc.json_logs && access.enabled() ? &access : nullptr);
            AccessLog none;
            FastcgiServer server(worker, handler, log, s.proc.json_logs ? none : access);
            worker_ready();
            server.run();
            return 0;
        },
        log);
}

int serve_fastcgi(Settings& s, const Logger& log)
{
    bool inherited = s.server.bind.empty();
    if (inherited) {
        int fd = cli::systemd_listen_fd();
        s.server.listen_fd = fd >= 0 ? fd : 0;
        // mod_fcgid runs many processes and recycles them itself (FcgidMaxRequestsPerProcess):
        // one request at a time, and a self-imposed limit would race its queued connection.
        s.server.threads = s.threads.value_or(1);
        if (s.max_requests)
            log.warning(
                "--max-requests is ignored when serving an inherited socket: let the process "
                "manager recycle (mod_fcgid: FcgidMaxRequestsPerProcess)");
        if (s.proc.workers.workers > 1)
            log.warning(
                "--workers is ignored when serving an inherited socket: the process manager "
                "runs the processes (mod_fcgid, spawn-fcgi -F; or PHP_FCGI_CHILDREN=N)");
        // spawn-fcgi -C N: honour the child count as PHP does (spawn-fcgi -C exports
        // PHP_FCGI_CHILDREN); mod_fcgid leaves it unset, so one process.
        s.proc.workers.workers = cli::php_fcgi_children(log);
        // An inherited socket stays one process (mod_fcgid, spawn-fcgi and systemd
        // supervise it themselves) unless PHP_FCGI_CHILDREN asks for children.
        if (s.proc.workers.workers <= 1) s.proc.workers.master = false;
    } else {
        // One thread: with the GIL, more threads only pay off for applications that
        // wait on I/O, and cost 2x the CPU per request in hand-offs (hello world,
        // measured behind nginx: ~11 us per request inline vs ~24 us with 2 threads).
        s.server.threads = s.threads.value_or(1);
        // With a master, a worker retires after --max-requests (+ jitter) and is
        // replaced; without one the process exits.
        if (s.proc.workers.master)
            s.proc.workers.max_requests = s.max_requests.value_or(0);
        else
            s.server.max_requests = s.max_requests.value_or(0);
    }
    if (const char* addrs = std::getenv("FCGI_WEB_SERVER_ADDRS")) s.server.web_server_addrs = addrs;
    s.notify_socket = cli::take_notify_socket(); // before Python copies the environment
    s.server.limits = s.common.limits;

    PythonOptions py = cli::prepare_python(s.common);
    py.program_name = "wsgi-fcgi";
    WsgiOptions w;
    w.multithread = s.server.threads > 1;
    w.multiprocess = inherited || s.proc.workers.workers > 1;
    Interpreter interpreter(py);
    auto spec = AppSpec::parse(s.common.app);
    if (!spec) throw cli::UsageError("--app: " + spec.error().message());
    cli::check_process_options(s.proc);
    if (s.proc.workers.master) prepare_master_signals(); // before anything listens
    AccessLog access =
        s.common.access_log.empty() ? AccessLog() : AccessLog::open_file(s.common.access_log);
    // Without a master (mod_fcgid) the application is imported before the first accept:
    // mod_fcgid counts start-up against FcgidIOTimeout otherwise.
    std::optional<WsgiApp> preloaded;
    if (s.proc.preload || !s.proc.workers.master) preloaded.emplace(interpreter, *spec, w, log);
    int status = 0;
    try {
        if (!s.proc.workers.master) {
            WorkerHandler handler(*preloaded, interpreter, s.proc.workers, log,
                                  s.proc.json_logs && access.enabled() ? &access : nullptr);
            AccessLog none;
            FastcgiServer server(s.server, handler, log, s.proc.json_logs ? none : access);
            cli::notify_ready(s.notify_socket, log); // imported and listening (systemd Type=notify)
            status = run_workers(interpreter, s.proc.workers, [&] {
                server.run();
                return 0;
            }, log);
        } else {
            status = serve_workers(s, interpreter, *spec, w, preloaded, log, access);
        }
    } catch (const std::invalid_argument& e) {
        throw cli::UsageError(e.what()); // a bad --bind or FCGI_WEB_SERVER_ADDRS
    }
    log.info("wsgi-fcgi: stopped");
    return status;
}

} // namespace

int main(int argc, char** argv)
{
    Settings s;
    cli::ArgParser parser("wsgi-fcgi",
                          "Serve a WSGI application over FastCGI (or CGI when started as one).\n"
                          "Signals to the master (--bind): TERM/INT/USR1 graceful stop, QUIT "
                          "immediate stop, HUP graceful reload.");
    add_options(parser, s);
    return cli::run_main(parser, [&]() -> int {
        if (!parser.parse(argc, argv)) return 0;
        if (s.common.app.empty() && parser.positionals().size() == 1)
            s.common.app = parser.positionals()[0];
        else if (!parser.positionals().empty())
            throw cli::UsageError("unexpected argument " + parser.positionals()[0]);
        Mode mode = s.mode;
        if (mode == Mode::automatic) {
            bool have_socket = !s.server.bind.empty() || cli::fd0_is_listening_socket() ||
                               cli::systemd_listen_fd_present();
            mode = have_socket ? Mode::fastcgi : Mode::cgi;
            if (mode == Mode::cgi && !cgi_request_present())
                throw cli::UsageError(
                    "no --bind, fd 0 is not a listening socket and there is no CGI request");
        }
        if (s.common.app.empty()) throw cli::UsageError("--app is required");
        Logger log = cli::open_error_log(s.common);
        log.set_json(s.proc.json_logs);
        return mode == Mode::cgi ? serve_cgi(s, log) : serve_fastcgi(s, log);
    });
}
