// wsgi-fcgi: a WSGI application behind FastCGI. Three ways to start it:
//   - by a process manager that hands over a listening socket on fd 0 (mod_fcgid,
//     spawn-fcgi) or through systemd socket activation (LISTEN_FDS): just run it;
//   - standalone: --bind unix:/run/app.sock or --bind 127.0.0.1:9000;
//   - as a plain CGI script (fd 0 is not a socket and REQUEST_METHOD is set): serves
//     the one request through the CGI front end, so one script works under both.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>

#include "options.hpp"
#include "wsgibridge/fastcgi_server.hpp"
#include "wsgibridge/invoker.hpp"
#if WSGIBRIDGE_HAVE_CGI
#include "wsgibridge/cgi_gateway.hpp"
#endif

using namespace wsgibridge;

namespace {

enum class Mode { automatic, fastcgi, cgi };

struct Settings {
    cli::CommonOptions common;
    FastcgiServerOptions server;
    std::optional<unsigned> threads;
    std::optional<std::uint64_t> max_requests;
    Mode mode = Mode::automatic;
};

/// fd 0 as mod_fcgid and spawn-fcgi leave it: a listening socket (getsockname works,
/// getpeername says ENOTCONN). A connected socket or a pipe is not one.
bool fd0_is_listening_socket() noexcept
{
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(0, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
    len = sizeof ss;
    return ::getpeername(0, reinterpret_cast<sockaddr*>(&ss), &len) != 0 && errno == ENOTCONN;
}

/// systemd socket activation: the first passed socket (fd 3), for this process only.
int systemd_listen_fd() noexcept
{
    const char* pid = std::getenv("LISTEN_PID");
    const char* fds = std::getenv("LISTEN_FDS");
    if (!pid || !fds || std::atol(pid) != static_cast<long>(::getpid()) || std::atoi(fds) < 1) return -1;
    // Children (subprocesses of the app) must not believe the sockets are theirs.
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    return 3;
}

bool systemd_listen_fd_present() noexcept
{
    const char* pid = std::getenv("LISTEN_PID");
    return pid && std::atol(pid) == static_cast<long>(::getpid()) && std::getenv("LISTEN_FDS");
}

void add_options(cli::ArgParser& p, Settings& s)
{
    cli::add_common_options(p, s.common);
    p.option("--bind", "ADDR",
             "listen on unix:/path, HOST:PORT or [V6]:PORT (default: the listening socket on fd 0)",
             [&s](std::string_view v) { s.server.bind = v; });
    p.option("--socket-mode", "MODE", "permissions of the unix socket, octal (e.g. 0660)",
             [&s](std::string_view v) {
                 char* end = nullptr;
                 std::string text(v);
                 unsigned long mode = std::strtoul(text.c_str(), &end, 8);
                 if (text.empty() || *end || mode > 07777)
                     throw cli::UsageError("--socket-mode: expected an octal mode like 0660, got '" + text + "'");
                 s.server.socket_mode = static_cast<unsigned>(mode);
             });
    p.option("--threads", "N",
             "worker threads (default 1: requests whose body has arrived run on the io thread, "
             "the cheapest way under the GIL; raise it for applications that wait on I/O)",
             [&s](std::string_view v) {
                 s.threads = cli::parse_count("--threads", v);
                 if (*s.threads == 0) throw cli::UsageError("--threads must be at least 1");
             });
    p.option("--max-requests", "N", "exit after N requests, standalone only (default: never)",
             [&s](std::string_view v) { s.max_requests = cli::parse_count("--max-requests", v); });
    p.option("--max-connections", "N", "connections served at once (FCGI_MAX_CONNS, default 1024)",
             [&s](std::string_view v) { s.server.max_connections = cli::parse_count("--max-connections", v); });
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
    p.option("--mode", "MODE", "auto (default), fastcgi or cgi: override the fd 0 detection",
             [&s](std::string_view v) {
                 if (v == "auto") s.mode = Mode::automatic;
                 else if (v == "fastcgi") s.mode = Mode::fastcgi;
                 else if (v == "cgi") s.mode = Mode::cgi;
                 else throw cli::UsageError("--mode: expected auto, fastcgi or cgi");
             });
    cli::add_limit_options(p, s.common.limits);
}

int serve_cgi(Settings& s, [[maybe_unused]] const Logger& log)
{
#if WSGIBRIDGE_HAVE_CGI
    scrub_cgi_environment();
    CgiOptions cgi;
    cgi.limits = s.common.limits;
    PythonOptions py = cli::prepare_python(s.common);
    WsgiOptions w;
    w.run_once = true;
    w.multiprocess = true;
    w.redirect_stdout = true;
    int out = ::dup(1);
    ::dup2(2, 1); // a stray print() must not corrupt the response
    cgi.output_fd = out;
    Interpreter interpreter(py);
    std::optional<WsgiApp> app;
    try {
        app.emplace(interpreter, *AppSpec::parse(s.common.app), w, log);
    } catch (const AppLoadError& e) {
        log.error(concat("cannot load the application: ", e.what()));
        return answer_cgi_error(cgi, 500, log);
    }
    return run_cgi(cgi, *app, log);
#else
    // TODO(lead): CGI mode needs the CGI front end (feat/cgi, cgi_gateway.hpp).
    (void)s;
    throw cli::UsageError("started as a CGI script, but this build has no CGI front end");
#endif
}

int serve_fastcgi(Settings& s, const Logger& log)
{
    bool inherited = s.server.bind.empty();
    if (inherited) {
        int fd = systemd_listen_fd();
        s.server.listen_fd = fd >= 0 ? fd : 0;
        // mod_fcgid runs many processes and recycles them itself (FcgidMaxRequestsPerProcess):
        // one request at a time, and a self-imposed limit would race its queued connection.
        s.server.threads = s.threads.value_or(1);
        if (s.max_requests)
            log.warning("--max-requests is ignored when serving an inherited socket: let the process "
                        "manager recycle (mod_fcgid: FcgidMaxRequestsPerProcess)");
        if (const char* children = std::getenv("PHP_FCGI_CHILDREN"))
            log.info(concat("PHP_FCGI_CHILDREN=", children, " ignored: one process serves with --threads (",
                            s.server.threads, "); use spawn-fcgi -F N for N processes"));
    } else {
        // One thread: with the GIL, more threads only pay off for applications that
        // wait on I/O, and cost 2x the CPU per request in hand-offs (hello world,
        // measured behind nginx: ~11 us per request inline vs ~24 us with 2 threads).
        s.server.threads = s.threads.value_or(1);
        s.server.max_requests = s.max_requests.value_or(0);
    }
    if (const char* addrs = std::getenv("FCGI_WEB_SERVER_ADDRS")) s.server.web_server_addrs = addrs;
    s.server.limits = s.common.limits;

    PythonOptions py = cli::prepare_python(s.common);
    py.program_name = "wsgi-fcgi";
    WsgiOptions w;
    w.multithread = s.server.threads > 1;
    w.multiprocess = inherited;
    Interpreter interpreter(py);
    auto spec = AppSpec::parse(s.common.app);
    if (!spec) throw cli::UsageError("--app: " + spec.error().message());
    // The application is imported before the first accept (mod_fcgid counts start-up
    // against FcgidIOTimeout otherwise).
    WsgiApp app(interpreter, *spec, w, log);
    AccessLog access = s.common.access_log.empty() ? AccessLog() : AccessLog::open_file(s.common.access_log);
    std::optional<FastcgiServer> server;
    try {
        server.emplace(s.server, app, log, access);
    } catch (const std::invalid_argument& e) {
        throw cli::UsageError(e.what()); // a bad --bind or FCGI_WEB_SERVER_ADDRS
    }
    server->run();
    log.info("wsgi-fcgi: stopped");
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    Settings s;
    cli::ArgParser parser("wsgi-fcgi", "Serve a WSGI application over FastCGI (or CGI when started as one).");
    add_options(parser, s);
    return cli::run_main(parser, [&]() -> int {
        if (!parser.parse(argc, argv)) return 0;
        if (s.common.app.empty() && parser.positionals().size() == 1) s.common.app = parser.positionals()[0];
        else if (!parser.positionals().empty()) throw cli::UsageError("unexpected argument " + parser.positionals()[0]);
        Mode mode = s.mode;
        if (mode == Mode::automatic) {
            bool have_socket = !s.server.bind.empty() || fd0_is_listening_socket() || systemd_listen_fd_present();
            mode = have_socket ? Mode::fastcgi : Mode::cgi;
#if WSGIBRIDGE_HAVE_CGI
            if (mode == Mode::cgi && !cgi_request_present())
#else
            if (mode == Mode::cgi && !std::getenv("REQUEST_METHOD"))
#endif
                throw cli::UsageError("no --bind, fd 0 is not a listening socket and there is no CGI request");
        }
        if (s.common.app.empty()) throw cli::UsageError("--app is required");
        Logger log = cli::open_error_log(s.common);
        return mode == Mode::cgi ? serve_cgi(s, log) : serve_fastcgi(s, log);
    });
}
