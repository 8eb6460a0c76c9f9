#include "stream_main.hpp"

#include "options.hpp"
#include "socket_program.hpp"

#include <memory>
#include <string>

namespace wsgibridge::cli {
namespace {

struct Settings
{
    SocketProgram program;
    /// The programs stop gracefully on SIGTERM/SIGINT/SIGUSR1; the library default is off.
    StreamServerOptions server = [] {
        StreamServerOptions o;
        o.handle_signals = true;
        return o;
    }();
};

void add_options(ArgParser& p, Settings& s)
{
    add_common_options(p, s.program.common);
    add_socket_options(p, s.program,
                       "connections served at once, one thread each (default 1: the "
                       "connection is served on the thread that accepted it, the cheapest way "
                       "under the GIL; raise it for applications that wait on I/O)");
    p.option("--max-connections", "N",
             "connections accepted at once, served or waiting for a thread (default 1024)",
             [&s](std::string_view v) {
                 s.server.max_connections = parse_count("--max-connections", v);
             });
    p.option("--mount", "PREFIX",
             "SCRIPT_NAME of the application: re-splits SCRIPT_NAME/PATH_INFO for web servers "
             "that send no PATH_INFO (nginx scgi_params/uwsgi_params)",
             [&s](std::string_view v) { s.server.mount = v; });
    p.flag("--promote-redirect-authorization",
           "turn REDIRECT_HTTP_AUTHORIZATION (Apache rewrite workaround) into the Authorization "
           "header; only behind a web server configured for it",
           [&s] { s.server.promote_redirect_authorization = true; });
    add_limit_options(p, s.program.common.limits, {.header_timeout = true});
}

/// The process model (master, workers, fd-0 and systemd sockets) is socket_program's,
/// shared with wsgi-fcgi; only the server is the stream one.
int serve(Settings& s, const Logger& log)
{
    s.server.limits = s.program.common.limits;
    return serve_socket_program(
        s.program, log,
        [&s](const SocketServerPlan& plan, RequestHandler& handler, const Logger& l,
             const AccessLog& access) -> std::unique_ptr<SocketServer> {
            auto o = with_plan(s.server, plan);
            return std::make_unique<SocketServerOf<StreamServer>>(o, handler, l, access);
        });
}

} // namespace

int stream_main(int argc, char** argv, StreamProtocol protocol)
{
    Settings s;
    s.server.protocol = protocol;
    s.program.program = protocol == StreamProtocol::scgi ? "wsgi-scgi" : "wsgi-uwsgi";
    s.program.protocol = protocol_name(protocol);
    s.program.default_threads = 1;
    ArgParser parser(s.program.program,
                     concat("Serve a WSGI application over ", protocol_name(protocol), " (nginx ",
                            protocol == StreamProtocol::scgi ? "scgi_pass" : "uwsgi_pass",
                            ", Apache mod_proxy_",
                            protocol == StreamProtocol::scgi ? "scgi" : "uwsgi",
                            ").\nSignals to the master: TERM/INT/USR1 graceful stop, QUIT "
                            "immediate stop, HUP graceful reload."));
    add_options(parser, s);
    return run_main(parser, [&]() -> int {
        if (!parser.parse(argc, argv)) return 0;
        CommonOptions& common = s.program.common;
        if (common.app.empty() && parser.positionals().size() == 1)
            common.app = parser.positionals()[0];
        else if (!parser.positionals().empty())
            throw UsageError("unexpected argument " + parser.positionals()[0]);
        if (common.app.empty()) throw UsageError("--app is required");
        if (s.program.bind.empty() && !inherited_socket_present())
            throw UsageError("no --bind, and fd 0 is not a listening socket (nor did systemd "
                             "pass one)");
        Logger log = open_error_log(common);
        log.set_json(s.program.proc.json_logs);
        return serve(s, log);
    });
}

} // namespace wsgibridge::cli
