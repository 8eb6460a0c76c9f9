// The embedded CPython interpreter: one per process. Nothing here includes Python.h;
// the implementation in lib/wsgi/ is the only code that does.
//
// Lifetimes: every WsgiApp made from an Interpreter holds a share of it, so the
// interpreter is finalised when the Interpreter object AND the last WsgiApp are gone,
// in whichever order they are destroyed. Until then no other Interpreter can be made
// (the constructor throws). Threads that called into Python must not run Python code
// after that point (servers join their threads before they return).
#pragma once

#include "export.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wsgibridge {

struct PythonOptions
{
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
    /// The str/bytes hash seed (PYTHONHASHSEED's meaning: dict and set orders repeat from
    /// run to run); empty: random per process, Python's default.
    std::optional<std::uint32_t> hash_seed;
};

/// Owns the embedded interpreter. Initialised from an isolated configuration (the
/// environment's PYTHON* variables and signal handlers are not taken; the programs pass
/// PYTHONHASHSEED on as `hash_seed`). After construction the GIL is released so any
/// thread can serve requests. `options` is copied; nothing it refers to needs to outlive
/// the constructor.
class WSGIBRIDGE_API Interpreter
{
public:
    /// Throws std::runtime_error (Python failed to start, or an interpreter already
    /// exists in this process, possibly kept alive by a WsgiApp).
    explicit Interpreter(const PythonOptions& options);
    /// Gives up this object's share: the interpreter is finalised here unless a WsgiApp
    /// still holds one (then when the last such app goes, on that thread).
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
    friend class WsgiApp; // keeps a share of runtime_
    struct Runtime;       ///< the initialised CPython; its destructor finalises it
    std::shared_ptr<Runtime> runtime_;
};

} // namespace wsgibridge
