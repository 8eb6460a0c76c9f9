// wsgi-fcgi: a WSGI application behind FastCGI. Three ways to start it:
//   - by a process manager that hands over a listening socket on fd 0 (mod_fcgid,
//     spawn-fcgi) or through systemd socket activation (LISTEN_FDS): just run it;
//   - standalone: --bind unix:/run/app.sock or --bind 127.0.0.1:9000;
//   - as a plain CGI script (fd 0 is not a socket and REQUEST_METHOD is set): serves
//     the one request through the CGI front end, so one script works under both.
#include "options.hpp"
#include "socket_program.hpp"
#include "wsgibridge/cgi_gateway.hpp"
#include "wsgibridge/fastcgi_server.hpp"
#include "wsgibridge/invoker.hpp"

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <unistd.h>

using namespace wsgibridge;

namespace {

enum class Mode { automatic, fastcgi, cgi };

struct Settings
{
    cli::SocketProgram program = [] {
        cli::SocketProgram p;
        p.program = "wsgi-fcgi";
        p.protocol = "FastCGI";
        // One thread: with the GIL, more threads only pay off for applications that
        // wait on I/O, and cost 2x the CPU per request in hand-offs (hello world,
        // measured behind nginx: ~11 us per request inline vs ~24 us with 2 threads).
        p.default_threads = 1;
        return p;
    }();
    /// The programs stop gracefully on SIGTERM/SIGINT/SIGUSR1; the library default is off.
    FastcgiServerOptions server = [] {
        FastcgiServerOptions o;
        o.handle_signals = true;
        return o;
    }();
    Mode mode = Mode::automatic;
};

void add_options(cli::ArgParser& p, Settings& s)
{
    cli::add_common_options(p, s.program.common);
    cli::add_socket_options(
        p, s.program,
        "worker threads (default 1: requests whose body has arrived run on the io thread, "
        "the cheapest way under the GIL; raise it for applications that wait on I/O)");
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
    p.option("--mount", "PREFIX",
             "SCRIPT_NAME of the application: re-splits SCRIPT_NAME/PATH_INFO for web servers that "
             "send the whole path as SCRIPT_NAME (nginx fastcgi_params, mod_proxy_fcgi)",
             [&s](std::string_view v) { s.server.mount = v; });
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
    cli::add_limit_options(p, s.program.common.limits);
}

int serve_cgi(Settings& s, const Logger& log)
{
    CgiOptions cgi;
    cgi.limits = s.program.common.limits;
    // httpoxy scrubbed, the request's stdin/stdout moved away from fds 0 and 1 so a
    // stray print() or a child process cannot touch them (the CGI front end's rules).
    if (auto ec = prepare_cgi_process(cgi))
        throw std::system_error(ec, "cannot set up stdin/stdout");
    auto spec = AppSpec::parse(s.program.common.app);
    std::optional<Interpreter> interpreter;
    std::optional<WsgiApp> app;
    try {
        if (!spec) throw AppLoadError("bad --app: " + spec.error().message());
        PythonOptions py = cli::prepare_python(s.program.common);
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

/// The process model (master, workers, fd-0 and systemd sockets) is socket_program's,
/// shared with wsgi-scgi and wsgi-uwsgi; only the server is FastCGI's.
int serve_fastcgi(Settings& s, const Logger& log)
{
    if (const char* addrs = std::getenv("FCGI_WEB_SERVER_ADDRS")) s.server.web_server_addrs = addrs;
    s.server.limits = s.program.common.limits;
    return cli::serve_socket_program(
        s.program, log,
        [&s](const cli::SocketServerPlan& plan, RequestHandler& handler, const Logger& l,
             const AccessLog& access) -> std::unique_ptr<cli::SocketServer> {
            auto o = cli::with_plan(s.server, plan);
            return std::make_unique<cli::SocketServerOf<FastcgiServer>>(o, handler, l, access);
        });
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
        cli::CommonOptions& common = s.program.common;
        if (common.app.empty() && parser.positionals().size() == 1)
            common.app = parser.positionals()[0];
        else if (!parser.positionals().empty())
            throw cli::UsageError("unexpected argument " + parser.positionals()[0]);
        Mode mode = s.mode;
        if (mode == Mode::automatic) {
            bool have_socket = !s.program.bind.empty() || cli::inherited_socket_present();
            mode = have_socket ? Mode::fastcgi : Mode::cgi;
            if (mode == Mode::cgi && !cgi_request_present())
                throw cli::UsageError(
                    "no --bind, fd 0 is not a listening socket and there is no CGI request");
        }
        if (common.app.empty()) throw cli::UsageError("--app is required");
        const auto& privileges = s.program.privileges;
        if (mode == Mode::cgi && (!privileges.user.empty() || !privileges.group.empty()))
            throw cli::UsageError("--user and --group drop privileges of the FastCGI server "
                                  "(--bind or an inherited socket); a CGI request runs as the "
                                  "web server started it (suEXEC)");
        Logger log = cli::open_error_log(common);
        log.set_json(s.program.proc.json_logs);
        return mode == Mode::cgi ? serve_cgi(s, log) : serve_fastcgi(s, log);
    });
}
