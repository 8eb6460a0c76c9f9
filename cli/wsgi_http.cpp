// wsgi-http: serve a WSGI application over HTTP/1.1.
//   wsgi-http --app SPEC [--bind 127.0.0.1:8000] [--threads N] [--mount /prefix] [limits...]
#include "options.hpp"
#include "wsgibridge/http_server.hpp"
#include "wsgibridge/invoker.hpp"

#include <charconv>

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

int serve(const CommonOptions& common, HttpServerOptions http)
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
    wsgi.multiprocess = false;
    wsgi.run_once = false;
    // Imported before the socket accepts anything: the first request never waits for
    // the import, and an import error exits before a client could connect.
    WsgiApp app(interpreter, *spec, wsgi, log);

    http.limits = common.limits;
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
    ArgParser parser("wsgi-http", "Serve a Python WSGI application over HTTP/1.1.");
    add_common_options(parser, common);
    parser.option("--bind", "ADDR",
                  "HOST:PORT, [IPV6]:PORT, :PORT or unix:PATH (default 127.0.0.1:8000)",
                  [&](std::string_view v) { http.bind = v; });
    parser.option("--socket-mode", "MODE", "permissions of a unix socket (octal, default 666)",
                  [&](std::string_view v) { http.socket_mode = parse_mode(v); });
    parser.option("--threads", "N", "threads serving requests (default 4)",
                  [&](std::string_view v) { http.threads = parse_count("--threads", v); });
    parser.option("--mount", "PREFIX",
                  "SCRIPT_NAME the application is mounted at; other paths get 404",
                  [&](std::string_view v) { http.mount = v; });
    add_limit_options(parser, common.limits);
    return run_main(parser, [&] {
        if (!parser.parse(argc, argv)) return 0;
        if (!parser.positionals().empty())
            throw UsageError(concat("unexpected argument '", parser.positionals().front(), "'"));
        return serve(common, http);
    });
}
