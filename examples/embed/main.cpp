// Embedding wsgi-bridge in your own program: serve a WSGI application over HTTP with
// options chosen in code, or call it in-process. Only the public headers
// (include/wsgibridge/) are used.
//
//   embed-example APP_SPEC [BIND]          e.g.  embed-example examples/hello.py 127.0.0.1:8080
//   embed-example APP_SPEC --call TARGET   one in-process GET, printed; no socket
#include "wsgibridge/call.hpp"
#include "wsgibridge/http_server.hpp"
#include "wsgibridge/wsgi_app.hpp"

#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s APP_SPEC [BIND | --call TARGET]\n", argv[0]);
        return 2;
    }
    try {
        // The error log goes through our own function (a host would use its logger).
        wsgibridge::Logger log([](wsgibridge::LogLevel level, std::string_view message) {
            std::fprintf(stderr, "embed-example %s: %.*s\n",
                         level >= wsgibridge::LogLevel::error ? "error" : "log",
                         static_cast<int>(message.size()), message.data());
        });
        auto spec = wsgibridge::AppSpec::parse(argv[1]);
        if (!spec) {
            std::fprintf(stderr, "bad application spec: %s\n", spec.error().message().c_str());
            return 2;
        }

        // One interpreter per process. The app keeps it alive (destroying them in either
        // order is safe); `log` must outlive the app.
        wsgibridge::Interpreter interpreter(wsgibridge::PythonOptions{});
        wsgibridge::WsgiOptions wsgi;
        wsgi.multithread = true;
        wsgibridge::WsgiApp app(interpreter, *spec, wsgi, log);

        if (argc > 3 && std::string_view(argv[2]) == "--call") {
            // In-process: a request in, the whole response out.
            wsgibridge::CallRequest request;
            request.target = argv[3];
            wsgibridge::CallResponse response = wsgibridge::call(app, request);
            std::printf("%d %s\n", response.status, response.reason.c_str());
            for (const auto& h : response.headers)
                std::printf("%s: %s\n", h.name.c_str(), h.value.c_str());
            std::printf("\n%s", response.body.c_str());
            if (!response.error.empty())
                std::fprintf(stderr, "app failed: %s\n", response.error.c_str());
            return response.error.empty() ? 0 : 1;
        }

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
