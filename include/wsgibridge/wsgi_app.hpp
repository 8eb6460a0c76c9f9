// A WSGI application that serves requests of the one request model (PEP 3333).
//
// Lifetimes: a WsgiApp keeps its Interpreter's runtime alive (destroying the Interpreter
// first is safe). The Logger passed to the constructor is borrowed and must outlive the
// WsgiApp. A server (HttpServer, FastcgiServer, ...) borrows the WsgiApp: the app must
// outlive the server's run(). handle() borrows its arguments for the call only.
#pragma once

#include "app_spec.hpp"
#include "export.hpp"
#include "handler.hpp"
#include "interpreter.hpp"
#include "log.hpp"

#include <memory>
#include <stdexcept>

namespace wsgibridge {

struct WsgiOptions
{
    /// wsgi.multithread: the app may be called from several threads at once. When false,
    /// WsgiApp::handle serialises calls (a mutex), so the promise holds in any host.
    bool multithread = false;
    bool multiprocess = false; ///< wsgi.multiprocess: other processes serve the same app
    bool run_once = false;     ///< wsgi.run_once: CGI
    /// Send stdout writes of the app (print) to stderr: CGI owns fd 1 for the response.
    bool redirect_stdout = false;
};

/// The application failed to import, or the object named is not callable.
class WSGIBRIDGE_API AppLoadError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

class WSGIBRIDGE_API WsgiApp final : public RequestHandler
{
public:
    /// Imports the application. Throws AppLoadError with a one-line reason; the
    /// traceback goes to `log`. `interpreter` may be destroyed before this app (the app
    /// holds a share of it); `log` may not.
    WsgiApp(Interpreter& interpreter, const AppSpec& spec, const WsgiOptions& options,
            const Logger& log);
    /// Drops the app's Python objects; finalises the interpreter if the Interpreter
    /// object is already gone and this was the last app.
    ~WsgiApp() override;
    WsgiApp(const WsgiApp&) = delete;
    WsgiApp& operator=(const WsgiApp&) = delete;

    /// Serves one request (see RequestHandler). From any thread; several at once unless
    /// WsgiOptions::multithread is false.
    void handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace wsgibridge
