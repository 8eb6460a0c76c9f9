#include "stream_main.hpp"

#include "options.hpp"
#include "sd_notify.hpp"
#include "wsgibridge/wsgi_app.hpp"
#include "wsgibridge/listener.hpp"
#include "wsgibridge/workers.hpp"

#include <cstdlib>
#include <string>
#include <unistd.h>

namespace wsgibridge::cli {
namespace {

struct Settings
{
    CommonOptions common;
    /// The programs stop gracefully on SIGTERM/SIGINT/SIGUSR1; the library default is off.
    StreamServerOptions server = [] {
        StreamServerOptions o;
        o.handle_signals = true;
        return o;
    }();
    unsigned workers = 1;
    std::string program;
    std::string notify_socket;
};

void add_options(ArgParser& p, Settings& s)
{
    add_common_options(p, s.common);
    add_server_options(
        p, s.server,
        {.bind = "listen on unix:/path, HOST:PORT or [V6]:PORT (required)",
         .mount = "SCRIPT_NAME of the application: re-splits SCRIPT_NAME/PATH_INFO for web "
                  "servers that send no PATH_INFO (nginx scgi_params/uwsgi_params)"});
    p.option("--threads", "N", "connections served at once, one thread each (default 4)",
             [&s](std::string_view v) {
                 s.server.threads = parse_count("--threads", v);
                 if (s.server.threads == 0) throw UsageError("--threads must be at least 1");
             });
    p.option("--workers", "N",
             "processes serving the socket, forked after the application is imported (default 1)",
             [&s](std::string_view v) {
                 s.workers = parse_count("--workers", v);
                 if (s.workers == 0) throw UsageError("--workers must be at least 1");
             });
    p.option(
        "--max-requests", "N", "exit after N requests (default: never)",
        [&s](std::string_view v) { s.server.max_requests = parse_count("--max-requests", v); });
    p.option("--max-connections", "N",
             "connections accepted at once, served or waiting for a thread (default 1024)",
             [&s](std::string_view v) {
                 s.server.max_connections = parse_count("--max-connections", v);
             });
    p.flag("--promote-redirect-authorization",
           "turn REDIRECT_HTTP_AUTHORIZATION (Apache rewrite workaround) into the Authorization "
           "header; only behind a web server configured for it",
           [&s] { s.server.promote_redirect_authorization = true; });
    add_limit_options(p, s.common.limits);
}

int serve(Settings& s, const Logger& log)
{
    if (s.server.bind.empty()) throw UsageError("--bind is required");
    s.notify_socket = take_notify_socket(); // before Python copies the environment
    s.server.limits = s.common.limits;
    PythonOptions py = prepare_python(s.common);
    py.program_name = s.program;
    WsgiOptions w;
    w.multithread = s.server.threads > 1;
    w.multiprocess = s.workers > 1;
    Interpreter interpreter(py);
    auto spec = AppSpec::parse(s.common.app);
    if (!spec) throw UsageError("--app: " + spec.error().message());
    // Imported before the first accept: an import error exits before a request waits.
    WsgiApp app(interpreter, *spec, w, log);
    AccessLog access =
        s.common.access_log.empty() ? AccessLog() : AccessLog::open_file(s.common.access_log);
    try {
        if (s.workers <= 1) {
            StreamServer server(s.server, app, log, access);
            notify_ready(s.notify_socket, log);
            server.run();
        } else {
            StreamServerOptions worker = s.server;
            Listener listener(s.server.bind, s.server.socket_mode); // closed and unlinked here
            worker.listen_fd = listener.fd();
            worker.bind.clear();
            WorkerOptions wo;
            wo.workers = s.workers;
            log.info(concat(protocol_name(s.server.protocol), ": serving ", s.server.bind, " with ",
                            s.workers, " workers"));
            notify_ready(s.notify_socket, log);
            run_workers(
                interpreter, wo,
                [&]() -> int {
                    StreamServer server(worker, app, log, access);
                    server.run();
                    return 0;
                },
                log);
        }
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what()); // a bad --bind
    }
    log.info(concat(s.program, ": stopped"));
    return 0;
}

} // namespace

int stream_main(int argc, char** argv, StreamProtocol protocol)
{
    Settings s;
    s.server.protocol = protocol;
    s.program = protocol == StreamProtocol::scgi ? "wsgi-scgi" : "wsgi-uwsgi";
    ArgParser parser(s.program,
                     concat("Serve a WSGI application over ", protocol_name(protocol), " (nginx ",
                            protocol == StreamProtocol::scgi ? "scgi_pass" : "uwsgi_pass",
                            ", Apache mod_proxy_",
                            protocol == StreamProtocol::scgi ? "scgi" : "uwsgi", ")."));
    add_options(parser, s);
    return run_main(parser, [&]() -> int {
        if (!parser.parse(argc, argv)) return 0;
        if (s.common.app.empty() && parser.positionals().size() == 1)
            s.common.app = parser.positionals()[0];
        else if (!parser.positionals().empty())
            throw UsageError("unexpected argument " + parser.positionals()[0]);
        if (s.common.app.empty()) throw UsageError("--app is required");
        Logger log = open_error_log(s.common);
        return serve(s, log);
    });
}

} // namespace wsgibridge::cli
