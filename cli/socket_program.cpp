#include "socket_program.hpp"

#include "become.hpp"
#include "process_manager.hpp"
#include "sd_notify.hpp"
#include "wsgibridge/listener.hpp"
#include "wsgibridge/workers.hpp"
#include "wsgibridge/wsgi_app.hpp"

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <unistd.h>

namespace wsgibridge::cli {
namespace {

/// The application each process serves: the preloaded one, or its own import.
struct AppSource
{
    Interpreter& interpreter;
    const AppSpec& spec;
    const WsgiOptions& wsgi;
    std::optional<WsgiApp>& preloaded;
};

/// One worker's life (or the whole process's with --no-master): the application, the
/// WorkerHandler around it (counters, --timeout, --max-requests, --health), the server.
int serve_in_worker(SocketProgram& s, AppSource& source, const SocketServerPlan& plan,
                    const Logger& log, const AccessLog& access,
                    const SocketServerFactory& make_server)
{
    std::optional<WsgiApp> own;
    WsgiApp& app = source.preloaded
                       ? *source.preloaded
                       : own.emplace(source.interpreter, source.spec, source.wsgi, log);
    // --log-format json: the handler writes the access log with the duration instead.
    bool json = s.proc.json_logs && access.enabled();
    WorkerHandler handler(app, source.interpreter, s.proc.workers, log, json ? &access : nullptr);
    AccessLog none;
    auto server = make_server(plan, handler, log, json ? none : access);
    worker_ready();
    server->run();
    return 0;
}

/// The master serves the socket (its own, bound before the drop, or the inherited one)
/// and supervises; each forked worker imports the application (unless --preload) and
/// serves the socket with its own io thread and threads.
int serve_workers(SocketProgram& s, const SocketServerPlan& plan, const std::string& where,
                  AppSource& source, const std::string& notify_socket, const Logger& log,
                  const AccessLog& access, const SocketServerFactory& make_server)
{
    log.info(concat(s.protocol, ": serving ", where, " with ", s.proc.workers.workers,
                    " workers x ", plan.threads, " thread(s) (",
                    s.proc.preload ? "preloaded" : "imported by each worker", ")"));
    notify_ready(notify_socket, log);
    return run_workers(
        source.interpreter, s.proc.workers,
        [&]() -> int { return serve_in_worker(s, source, plan, log, access, make_server); }, log);
}

} // namespace

void add_socket_options(ArgParser& p, SocketProgram& s, std::string threads_help)
{
    p.option("--bind", "ADDR",
             "listen on unix:/path, HOST:PORT or [V6]:PORT (default: the listening socket on fd "
             "0, or systemd's)",
             [&s](std::string_view v) { s.bind = v; });
    p.option("--socket-mode", "MODE",
             "permissions of the unix socket, octal, at most 777 (e.g. 660)",
             [&s](std::string_view v) { s.socket_mode = parse_socket_mode(v); });
    p.option("--threads", "N", std::move(threads_help), [&s](std::string_view v) {
        s.threads = parse_count("--threads", v);
        if (*s.threads == 0) throw UsageError("--threads must be at least 1");
    });
    add_process_options(p, s.proc);
    p.option("--max-requests", "N",
             "a worker retires gracefully after N requests and is replaced (--no-master: the "
             "process exits; default: never)",
             [&s](std::string_view v) { s.max_requests = parse_count("--max-requests", v); });
    add_privilege_options(p, s.privileges);
}

bool inherited_socket_present() noexcept
{
    return fd0_is_listening_socket() || systemd_listen_fd_present();
}

int serve_socket_program(SocketProgram& s, const Logger& log,
                         const SocketServerFactory& make_server)
{
    SocketServerPlan plan{.bind = s.bind, .socket_mode = s.socket_mode};
    bool inherited = s.bind.empty();
    if (inherited) {
        int fd = systemd_listen_fd();
        plan.listen_fd = fd >= 0 ? fd : 0;
        // mod_fcgid runs many processes and recycles them itself (FcgidMaxRequestsPerProcess):
        // one request at a time, and a self-imposed limit would race its queued connection.
        plan.threads = s.threads.value_or(1);
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
        s.proc.workers.workers = php_fcgi_children(log);
        // An inherited socket stays one process (mod_fcgid, spawn-fcgi and systemd
        // supervise it themselves) unless PHP_FCGI_CHILDREN asks for children.
        if (s.proc.workers.workers <= 1) s.proc.workers.master = false;
    } else {
        plan.threads = s.threads.value_or(s.default_threads);
        // With a master, a worker retires after --max-requests (+ jitter) and is
        // replaced; without one the process exits.
        if (s.proc.workers.master)
            s.proc.workers.max_requests = s.max_requests.value_or(0);
        else
            plan.max_requests = s.max_requests.value_or(0);
    }
    std::string notify_socket = take_notify_socket(); // before Python copies the environment

    auto spec = AppSpec::parse(s.common.app);
    if (!spec) throw UsageError("--app: " + spec.error().message());
    check_process_options(s.proc);
    auto identity = plan_privileges(s.privileges);       // root without --user: refused here
    if (s.proc.workers.master) prepare_master_signals(); // before anything listens

    // As root, in this order (nginx's): --chdir, the access log (the error log is open
    // already), the socket and --stats', the pidfile; then the drop, and only then the
    // interpreter and the application.
    PythonOptions py = prepare_python(s.common);
    py.program_name = s.program;
    AccessLog access =
        s.common.access_log.empty() ? AccessLog() : AccessLog::open_file(s.common.access_log);
    // Our own socket: closed, and its file removed, however serving ends (an inherited
    // one is not ours to close or unlink). Bound before the import: a privileged port or
    // a root-owned directory needs root; the first requests wait in the backlog.
    std::optional<Listener> owned;
    std::string where = inherited ? "the inherited socket" : plan.bind;
    try {
        if (!inherited) {
            owned.emplace(plan.bind, plan.socket_mode);
            plan.listen_fd = owned->fd();
            plan.bind.clear();
        }
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what()); // a bad --bind
    }
    auto stats = open_stats_socket(s.proc); // every socket before the drop, as nginx does
    const std::string sockets[] = {owned ? owned->unix_path() : "",
                                   stats ? stats->unix_path() : ""};
    auto pidfile = become(identity, s.proc.workers.pidfile, sockets, log, concat(s.program, ": "));

    WsgiOptions w;
    w.multithread = plan.threads > 1;
    w.multiprocess = inherited || s.proc.workers.workers > 1;
    Interpreter interpreter(py);
    // Without a master (mod_fcgid) the application is imported before the first accept:
    // mod_fcgid counts start-up against FcgidIOTimeout otherwise.
    std::optional<WsgiApp> preloaded;
    if (s.proc.preload || !s.proc.workers.master) preloaded.emplace(interpreter, *spec, w, log);
    AppSource source{interpreter, *spec, w, preloaded};
    int status = 0;
    try {
        if (!s.proc.workers.master) {
            bool json = s.proc.json_logs && access.enabled();
            WorkerHandler handler(*preloaded, interpreter, s.proc.workers, log,
                                  json ? &access : nullptr);
            AccessLog none;
            auto server = make_server(plan, handler, log, json ? none : access);
            notify_ready(notify_socket, log); // imported and listening (systemd Type=notify)
            status = run_workers(
                interpreter, s.proc.workers,
                [&] {
                    server->run();
                    return 0;
                },
                log);
        } else {
            status = serve_workers(s, plan, where, source, notify_socket, log, access, make_server);
        }
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what()); // a bad --bind (or FCGI_WEB_SERVER_ADDRS)
    }
    log.info(concat(s.program, ": stopped"));
    return status;
}

} // namespace wsgibridge::cli
