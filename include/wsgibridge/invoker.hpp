// The WSGI side, seen from C++: an embedded CPython interpreter and a WSGI application
// that serves requests of the one request model. Nothing here includes Python.h; the
// implementation in lib/wsgi/ is the only code that does.
#pragma once

#include "export.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"
#include "handler.hpp"
#include "log.hpp"

namespace wsgibridge {

/// Where the application comes from, as gunicorn and mod_wsgi users write it:
///   "module:callable", "package.module:callable", "module" (callable `application`),
///   "path/to/file.py" (callable `application`, else `app`), "path/to/file.py:name".
struct WSGIBRIDGE_API AppSpec {
    std::string module;   ///< dotted module name, empty when `file` is set
    std::string file;     ///< a .py (or any) file to execute as a module
    std::string callable; ///< empty: `application`, else `app`

    static Result<AppSpec> parse(std::string_view spec);
};

struct PythonOptions {
    std::vector<std::string> python_path; ///< --pythonpath, prepended to sys.path in order
    std::string virtualenv;               ///< --virtualenv: its site-packages join sys.path
    std::string program_name = "wsgi-bridge";
    /// Load the standard `site` module (Debian's dist-packages, .pth files). The CGI
    /// front end turns it off and adds the dist-packages directories itself, for speed.
    bool import_site = true;
    /// Without `site`: also add the user site-packages (~/.local/lib/python3.X/
    /// site-packages of the user we run as) and run its .pth files, as `site` would for
    /// `python3`. Off in the isolated servers; wsgi-cgi turns it on (shared hosting).
    bool user_site = false;
    /// The user base (PYTHONUSERBASE semantics) when user_site is on; empty: ~/.local.
    std::string user_base;
    /// Write __pycache__ byte code for imported modules (ignores PYTHONDONTWRITEBYTECODE).
    bool write_bytecode = true;
};

/// Owns the embedded interpreter: one per process. Initialised from an isolated
/// configuration (the environment's PYTHON* variables and signal handlers are not
/// taken). After construction the GIL is released so any thread can serve requests.
/// No Python object may outlive it.
class WSGIBRIDGE_API Interpreter
{
public:
    explicit Interpreter(const PythonOptions& options); ///< throws std::runtime_error
    ~Interpreter();
    Interpreter(const Interpreter&) = delete;
    Interpreter& operator=(const Interpreter&) = delete;

    /// fork() for preforked workers, done the way os.fork() does it: Python's fork hooks
    /// run (PyOS_BeforeFork / AfterFork_Parent / AfterFork_Child), so the GIL, the import
    /// lock and the threading module are sane in the child. Call it without the GIL
    /// (from server code, not from Python). Returns what fork() returns (errno kept).
    int fork();

    /// faulthandler.register(sig, file=fd, all_threads=True): from then on `sig` makes
    /// the process write every Python thread's traceback to `fd` from the signal
    /// handler, without the GIL (so also while a thread is stuck holding it). For the
    /// --timeout watchdog. Returns false (and logs nothing) when Python refused.
    bool dump_tracebacks_on(int sig, int fd) noexcept;

    /// The .py files of the modules imported so far, outside the interpreter's own
    /// prefixes (the standard library and installed packages): what --reload watches.
    std::vector<std::string> application_files();

    /// Ends a one-shot process (CGI) the cheap way: runs the atexit callbacks and
    /// flushes sys.stdout/sys.stderr as Py_FinalizeEx would, then _exit(status) without
    /// tearing down every module and object (~20 ms after a Flask request; the kernel
    /// frees the memory anyway). Call it from the constructing thread, without the GIL.
    [[noreturn]] void exit_process(int status);

private:
    void* saved_thread_ = nullptr;
};

struct WsgiOptions {
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
    /// traceback goes to `log`.
    WsgiApp(Interpreter& interpreter, const AppSpec& spec, const WsgiOptions& options,
            const Logger& log);
    ~WsgiApp() override;
    WsgiApp(const WsgiApp&) = delete;
    WsgiApp& operator=(const WsgiApp&) = delete;

    void handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace wsgibridge
