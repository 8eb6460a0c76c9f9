// wsgi-http: serve a WSGI application over HTTP/1.1.
//   wsgi-http --app SPEC [--bind 127.0.0.1:8000] [--threads N] [--workers N] [--mount /prefix]
//             [--no-master] [--preload] [--pidfile PATH] [--forwarded-allow-ips LIST]
//             [--static-map PREFIX=DIR] [--certfile PEM [--keyfile PEM]]
//             [--user NAME [--group NAME] | --allow-root] [limits...]
#include "become.hpp"
#include "http/static_files.hpp"
#include "http/tls.hpp"
#include "model/forwarded.hpp"
#include "options.hpp"
#include "privileges.hpp"
#include "process_options.hpp"
#include "wsgibridge/http_server.hpp"
#include "wsgibridge/listener.hpp"
#include "wsgibridge/workers.hpp"
#include "wsgibridge/wsgi_app.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

using namespace wsgibridge;
using namespace wsgibridge::cli;

namespace {

std::string_view scheme(const HttpServerOptions& http)
{
    return http.certfile.empty() ? "http" : "https";
}

/// A PEM file's text; `what`: "the certificate chain", "the private key".
std::string read_pem(const char* option, const std::string& path, const char* what)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw UsageError(
            concat(option, " ", path, ": cannot load ", what, ": ", std::strerror(errno)));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// --certfile/--keyfile: read now, before --user drops privileges (a key only root may
/// read still serves), and loaded once so a missing file or a key that does not match is
/// a usage error at start-up, not a worker that dies. The first workers (and
/// --no-master) use what was read here; the workers of a graceful reload (HUP) read the
/// files again, as the --user user, and serve a replaced certificate.
void check_tls(HttpServerOptions& http, const Logger& log)
{
    if (http.certfile.empty()) {
        if (!http.keyfile.empty()) throw UsageError("--keyfile needs --certfile");
        return;
    }
    TlsPem pem{read_pem("--certfile", http.certfile, "the certificate chain"),
               http.keyfile.empty() ? std::string()
                                    : read_pem("--keyfile", http.keyfile, "the private key")};
    try {
        http::TlsContext tls(http.certfile, http.keyfile, &pem);
        log.info(concat("TLS: serving the certificate ", tls.subject(), " from ", http.certfile));
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    http.tls_pem = std::move(pem);
}

/// The application: imported here (--preload, --no-master) or by each worker after fork.
struct AppSource
{
    Interpreter& interpreter;
    const AppSpec& spec;
    WsgiOptions wsgi;
    const Logger& log;
    std::optional<WsgiApp> preloaded;

    void preload() { preloaded.emplace(interpreter, spec, wsgi, log); }
};

/// The master serves `listener` (bound before the drop) and supervises; each forked
/// worker runs its own HttpServer (io threads included) on the inherited socket.
int serve_workers(HttpServerOptions http, const cli::ProcessOptions& proc, AppSource& source,
                  const Listener& listener, const Logger& log, const AccessLog& access)
{
    http.listen_fd = listener.fd();
    log.info(concat("listening on ", scheme(http), "://", listener.describe(), " (",
                    proc.workers.workers, " workers x ", http.threads, " threads, ",
                    proc.preload ? "preloaded" : "imported by each worker", ")"));
    return run_workers(
        source.interpreter, proc.workers,
        [&]() -> int {
            // A reload's workers read --certfile/--keyfile again (as the --user user).
            if (worker_generation() > 1) http.tls_pem.reset();
            std::optional<WsgiApp> own;
            WsgiApp& app = source.preloaded
                               ? *source.preloaded
                               : own.emplace(source.interpreter, source.spec, source.wsgi, log);
            WorkerHandler handler(app, source.interpreter, proc.workers, log,
                                  proc.json_logs && access.enabled() ? &access : nullptr);
            AccessLog none;
            HttpServer server(http, handler, log, proc.json_logs ? none : access);
            worker_ready();
            server.run();
            return 0;
        },
        log);
}

int serve(const CommonOptions& common, HttpServerOptions http, cli::ProcessOptions proc,
          const cli::PrivilegeOptions& privileges)
{
    if (common.app.empty()) throw UsageError("--app is required");
    auto spec = AppSpec::parse(common.app);
    if (!spec) throw UsageError(concat("--app ", common.app, ": ", spec.error().message()));
    if (http.threads == 0) throw UsageError("--threads must be at least 1");
    cli::check_process_options(proc);
    auto identity = cli::plan_privileges(privileges);  // root without --user: refused here
    if (proc.workers.master) prepare_master_signals(); // before anything listens

    // As root, in this order: logs, TLS files, --chdir, the socket and --stats', the
    // pidfile (nginx's order); then the drop, and only then the interpreter and the
    // application.
    Logger log = open_error_log(common);
    log.set_json(proc.json_logs);
    check_tls(http, log);
    AccessLog access =
        common.access_log.empty() ? AccessLog() : AccessLog::open_file(common.access_log);
    PythonOptions python = prepare_python(common);
    python.program_name = "wsgi-http";
    // The socket: closed, and its file removed, however serving ends. Bound before the
    // import: a privileged port or a root-owned directory needs root; the first requests
    // wait in the backlog while the application imports.
    Listener listener(http.bind, http.socket_mode);
    http.listen_fd = listener.fd();
    auto stats = cli::open_stats_socket(proc); // every socket before the drop, as nginx does
    const std::string sockets[] = {listener.unix_path(), stats ? stats->unix_path() : ""};
    auto pidfile = cli::become(identity, proc.workers.pidfile, sockets, log, "");
    Interpreter interpreter(python);

    WsgiOptions wsgi;
    wsgi.multithread = http.threads > 1;
    wsgi.multiprocess = proc.workers.workers > 1;
    wsgi.run_once = false;
    AppSource source{interpreter, *spec, wsgi, log, {}};
    http.limits = common.limits;
    if (proc.preload || !proc.workers.master) source.preload();

    if (proc.workers.master) {
        int status = serve_workers(http, proc, source, listener, log, access);
        log.info("stopped");
        return status;
    }
    WorkerHandler handler(*source.preloaded, interpreter, proc.workers, log,
                          proc.json_logs && access.enabled() ? &access : nullptr);
    AccessLog none;
    HttpServer server(http, handler, log, proc.json_logs ? none : access);
    log.info(concat("listening on ", scheme(http), "://", server.local_endpoint(), " (",
                    http.threads, " threads)"));
    return run_workers(
        interpreter, proc.workers,
        [&] {
            server.run();
            log.info("stopped");
            return 0;
        },
        log);
}

} // namespace

int main(int argc, char** argv)
{
    CommonOptions common;
    HttpServerOptions http;
    http.handle_signals = true; // the library default is off (embedding programs own signals)
    cli::ProcessOptions proc;
    cli::PrivilegeOptions privileges;
    ArgParser parser("wsgi-http",
                     "Serve a Python WSGI application over HTTP/1.1.\n"
                     "Signals to the master: TERM/INT/USR1 graceful stop, QUIT immediate stop, HUP "
                     "graceful reload (new workers, then the old ones finish).");
    add_common_options(parser, common);
    add_server_options(
        parser, http,
        {.bind = "HOST:PORT, [IPV6]:PORT, :PORT or unix:PATH (default 127.0.0.1:8000)",
         .socket_mode = "permissions of a unix socket (octal up to 777, default 666; 0 leaves "
                        "the umask's)",
         .mount = "SCRIPT_NAME the application is mounted at; other paths get 404"});
    parser.option("--threads", "N", "threads serving requests (default 4)",
                  [&](std::string_view v) { http.threads = parse_count("--threads", v); });
    cli::add_process_options(parser, proc);
    parser.option(
        "--max-requests", "N",
        "a worker retires gracefully after N requests and is replaced (default 0: never)",
        [&](std::string_view v) { proc.workers.max_requests = parse_count("--max-requests", v); });
    parser.option("--forwarded-allow-ips", "LIST",
                  "proxies whose Forwarded/X-Forwarded-* headers set the client address, "
                  "scheme, host and prefix: addresses and CIDR ranges, '*' for any "
                  "(default 127.0.0.1,::1; unix-socket peers are always trusted)",
                  [&](std::string_view v) {
                      try {
                          (void)TrustedProxies(v); // a bad entry is a usage error now
                      } catch (const std::invalid_argument& e) {
                          throw UsageError(e.what());
                      }
                      http.forwarded_allow_ips = v;
                  });
    parser.option("--static-map", "PREFIX=DIR",
                  "serve the files under DIR at URL PREFIX without Python (repeatable)",
                  [&](std::string_view v) {
                      try { // a bad mapping or a missing directory is a usage error now
                          (void)http::StaticFiles({http::parse_static_map(v)});
                      } catch (const std::invalid_argument& e) {
                          throw UsageError(e.what());
                      }
                      http.static_map.emplace_back(v);
                  });
    parser.option("--certfile", "PEM",
                  "serve HTTPS with this certificate chain (the server's certificate first, "
                  "then the intermediates); TLS 1.2 and 1.3",
                  [&](std::string_view v) { http.certfile = v; });
    parser.option("--keyfile", "PEM",
                  "the private key of --certfile (default: read from the --certfile file)",
                  [&](std::string_view v) { http.keyfile = v; });
    parser.option("--defer-accept", "SECONDS",
                  "TCP: hand a connection over only once its first bytes arrived or after "
                  "about SECONDS (TCP_DEFER_ACCEPT; default 1, 0 = off)",
                  [&](std::string_view v) {
                      http.defer_accept = std::chrono::ceil<std::chrono::seconds>(
                          parse_seconds("--defer-accept", v));
                  });
    cli::add_privilege_options(parser, privileges);
    add_limit_options(parser, common.limits,
                      {.target = true, .header_timeout = true, .keepalive = true});
    return run_main(parser, [&] {
        if (!parser.parse(argc, argv)) return 0;
        if (!parser.positionals().empty())
            throw UsageError(concat("unexpected argument '", parser.positionals().front(), "'"));
        try {
            return serve(common, http, proc, privileges);
        } catch (const std::invalid_argument& e) {
            throw UsageError(e.what()); // a malformed or unresolvable --bind
        }
    });
}
