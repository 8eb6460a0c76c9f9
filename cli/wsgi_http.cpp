// wsgi-http: serve a WSGI application over HTTP/1.1.
//   wsgi-http --app SPEC [--bind 127.0.0.1:8000] [--threads N] [--workers N] [--mount /prefix]
//             [limits...]
#include "http/static_files.hpp"
#include "model/forwarded.hpp"
#include "options.hpp"
#include "wsgibridge/http_server.hpp"
#include "wsgibridge/invoker.hpp"
#include "wsgibridge/listener.hpp"
#include "wsgibridge/workers.hpp"

#include <charconv>
#include <stdexcept>
#include <unistd.h>

using namespace wsgibridge;
using namespace wsgibridge::cli;

namespace {

unsigned parse_mode(std::string_view text)
{
    unsigned mode = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), mode, 8);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || mode > 0777)
        throw UsageError(
            concat("--socket-mode: expected an octal mode like 660, got '", text, "'"));
    return mode;
}

/// --workers N: the parent binds once and supervises; each forked worker runs its own
/// HttpServer (io threads included) on the inherited socket.
void serve_workers(HttpServerOptions http, const WorkerOptions& workers, Interpreter& interpreter,
                   WsgiApp& app, const Logger& log, const AccessLog& access)
{
    // The parent's socket: closed, and its file removed, however run_workers ends (the
    // workers leave through _Exit and never run this).
    struct Owned
    {
        int fd;
        std::string path;
        ~Owned()
        {
            ::close(fd);
            if (!path.empty()) ::unlink(path.c_str());
        }
    } listener{open_listener(http.bind, http.socket_mode),
               http.bind.starts_with("unix:") ? http.bind.substr(5) : std::string()};
    http.listen_fd = listener.fd;
    log.info(concat("listening on http://", describe_listener(http.listen_fd), " (",
                    workers.workers, " workers x ", http.threads, " threads)"));
    run_workers(
        interpreter, workers,
        [&]() -> int {
            HttpServer server(http, app, log, access);
            server.run();
            return 0;
        },
        log);
}

int serve(const CommonOptions& common, HttpServerOptions http, const WorkerOptions& workers)
{
    if (common.app.empty()) throw UsageError("--app is required");
    auto spec = AppSpec::parse(common.app);
    if (!spec) throw UsageError(concat("--app ", common.app, ": ", spec.error().message()));
    if (http.threads == 0) throw UsageError("--threads must be at least 1");

    Logger log = open_error_log(common);
    AccessLog access =
        common.access_log.empty() ? AccessLog() : AccessLog::open_file(common.access_log);
    PythonOptions python = prepare_python(common);
    python.program_name = "wsgi-http";
    Interpreter interpreter(python);

    WsgiOptions wsgi;
    wsgi.multithread = http.threads > 1;
    wsgi.multiprocess = workers.workers > 1;
    wsgi.run_once = false;
    // Imported before the socket accepts anything: the first request never waits for
    // the import, and an import error exits before a client could connect.
    WsgiApp app(interpreter, *spec, wsgi, log);

    http.limits = common.limits;
    if (workers.workers > 1) {
        serve_workers(http, workers, interpreter, app, log, access);
        log.info("stopped");
        return 0;
    }
    HttpServer server(http, app, log, access);
    log.info(
        concat("listening on http://", server.local_endpoint(), " (", http.threads, " threads)"));
    server.run();
    log.info("stopped");
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    CommonOptions common;
    HttpServerOptions http;
    WorkerOptions workers;
    ArgParser parser("wsgi-http", "Serve a Python WSGI application over HTTP/1.1.");
    add_common_options(parser, common);
    parser.option("--bind", "ADDR",
                  "HOST:PORT, [IPV6]:PORT, :PORT or unix:PATH (default 127.0.0.1:8000)",
                  [&](std::string_view v) { http.bind = v; });
    parser.option("--socket-mode", "MODE",
                  "permissions of a unix socket (octal, default 666; 0 leaves the umask's)",
                  [&](std::string_view v) { http.socket_mode = parse_mode(v); });
    parser.option("--threads", "N", "threads serving requests (default 4)",
                  [&](std::string_view v) { http.threads = parse_count("--threads", v); });
    parser.option("--workers", "N",
                  "processes serving the socket, forked after the application is imported "
                  "(default 1: no fork)",
                  [&](std::string_view v) {
                      workers.workers = parse_count("--workers", v);
                      if (workers.workers == 0) throw UsageError("--workers must be at least 1");
                  });
    parser.option("--graceful-timeout", "SECONDS",
                  "after SIGTERM, how long workers may finish requests before SIGKILL (default 30)",
                  [&](std::string_view v) {
                      workers.graceful_timeout =
                          std::chrono::seconds(parse_count("--graceful-timeout", v));
                  });
    parser.option("--mount", "PREFIX",
                  "SCRIPT_NAME the application is mounted at; other paths get 404",
                  [&](std::string_view v) { http.mount = v; });
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
    add_limit_options(parser, common.limits);
    return run_main(parser, [&] {
        if (!parser.parse(argc, argv)) return 0;
        if (!parser.positionals().empty())
            throw UsageError(concat("unexpected argument '", parser.positionals().front(), "'"));
        try {
            return serve(common, http, workers);
        } catch (const std::invalid_argument& e) {
            throw UsageError(e.what()); // a malformed or unresolvable --bind
        }
    });
}
