// Embedding wsgi-bridge in your own program: serve a WSGI application over HTTP with
// options chosen in code. Only the public headers (include/wsgibridge/) are used.
//
//   embed-example APP_SPEC [BIND]      e.g.  embed-example examples/hello.py 127.0.0.1:8080
#include "wsgibridge/http_server.hpp"
#include "wsgibridge/invoker.hpp"

#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s APP_SPEC [BIND]\n", argv[0]);
        return 2;
    }
    try {
        wsgibridge::Logger log; // stderr
        auto spec = wsgibridge::AppSpec::parse(argv[1]);
        if (!spec) {
            std::fprintf(stderr, "bad application spec: %s\n", spec.error().message().c_str());
            return 2;
        }

        // One interpreter per process; it must outlive the application object.
        wsgibridge::Interpreter interpreter(wsgibridge::PythonOptions{});
        wsgibridge::WsgiOptions wsgi;
        wsgi.multithread = true;
        wsgibridge::WsgiApp app(interpreter, *spec, wsgi, log);

        wsgibridge::HttpServerOptions options;
        options.bind = argc > 2 ? argv[2] : "127.0.0.1:8080";
        options.threads = 2;
        options.handle_signals = true; // Ctrl-C / SIGTERM stop it gracefully
        options.server_software = "embed-example";
        options.limits.max_body_bytes = 1024 * 1024; // this program takes small uploads only
        wsgibridge::AccessLog access(1);             // stdout

        wsgibridge::HttpServer server(options, app, log, access);
        log.info("embed-example listening on http://" + server.local_endpoint());
        server.run(); // until SIGTERM or SIGINT
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "embed-example: %s\n", e.what());
        return 1;
    }
}
