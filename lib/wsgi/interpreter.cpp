// Interpreter: the one embedded CPython of the process (pybind11's scoped_interpreter,
// with an isolated configuration so the environment cannot reconfigure it).
#include "wsgibridge/interpreter.hpp"

#include "gil.hpp"
#include "py_error.hpp"
#include "py_ref.hpp"
#include "site_dirs.hpp"

#include <Python.h>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace wsgibridge {
namespace {

std::atomic<bool> interpreter_exists{false};

void check(PyStatus status, PyConfig& config, const char* what)
{
    if (!PyStatus_Exception(status)) return;
    std::string msg = std::string("cannot initialise Python (") + what +
                      "): " + (status.err_msg ? status.err_msg : "unknown error");
    PyConfig_Clear(&config);
    throw std::runtime_error(msg);
}

void raise_python(const char* what)
{
    auto err = py::fetch_error();
    throw std::runtime_error(std::string(what) + ": " + err.summary);
}

/// Inserts `dir` into sys.path at `index`.
void insert_path(PyObject* sys_path, Py_ssize_t index, const std::string& dir)
{
    py::PyRef item = py::PyRef::steal(PyUnicode_DecodeFSDefault(dir.c_str()));
    if (!item || PyList_Insert(sys_path, index, item.get()) != 0)
        raise_python("cannot extend sys.path");
}

std::string venv_site_packages(const std::string& venv)
{
    std::string dir = venv + "/lib/python" + std::to_string(PY_MAJOR_VERSION) + "." +
                      std::to_string(PY_MINOR_VERSION) + "/site-packages";
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw std::runtime_error("--virtualenv " + venv + ": no " + dir +
                                 " (was it created with Python " PY_VERSION "?)");
    return dir;
}

/// sys.path, front to back: --pythonpath entries, the current directory (users write
/// `module:app` for a module in it, as with gunicorn), the virtualenv's site-packages,
/// then the standard library and the system's packages.
void setup_sys_path(const PythonOptions& options)
{
    PyObject* sys_path = PySys_GetObject("path"); // borrowed
    if (sys_path == nullptr || !PyList_Check(sys_path))
        throw std::runtime_error("cannot initialise Python: sys.path is not a list");
    Py_ssize_t at = 0;
    // Absolute, so an application that changes directory still imports from them.
    std::error_code ec;
    for (const auto& dir : options.python_path) {
        auto abs = std::filesystem::absolute(dir, ec);
        insert_path(sys_path, at++, ec ? dir : abs.lexically_normal().string());
    }
    auto cwd = std::filesystem::current_path(ec);
    if (!ec) insert_path(sys_path, at++, cwd.string());

    std::string venv_dir;
    if (!options.virtualenv.empty()) {
        venv_dir = venv_site_packages(options.virtualenv);
        insert_path(sys_path, at++, venv_dir);
    }
    if (options.import_site) {
        // addsitedir also runs the virtualenv's .pth files; the directory is already on
        // sys.path ahead of the system packages, so it is not appended again.
        if (!venv_dir.empty()) {
            py::PyRef site = py::PyRef::steal(PyImport_ImportModule("site"));
            py::PyRef done;
            if (site)
                done = py::PyRef::steal(
                    PyObject_CallMethod(site.get(), "addsitedir", "s", venv_dir.c_str()));
            if (!done) raise_python("cannot add the virtualenv's site-packages");
        }
        return;
    }
    // Without `site` (fast CGI start-up): what it would have added, ourselves.
    py::add_site_directories(options);
}

/// Embedded, sys.executable is '' (no python binary started us): multiprocessing's
/// spawn and subprocess.run([sys.executable, ...]) need a Python of the same version,
/// so point it at <base_prefix>/bin/python3.X when that exists.
void set_executable()
{
    PyObject* current = PySys_GetObject("executable"); // borrowed
    if (current != nullptr && PyUnicode_Check(current) && PyUnicode_GET_LENGTH(current) > 0) return;
    PyObject* prefix = PySys_GetObject("base_prefix");
    const char* prefix_text =
        prefix && PyUnicode_Check(prefix) ? PyUnicode_AsUTF8(prefix) : nullptr;
    if (prefix_text == nullptr) return PyErr_Clear();
    std::string exe = std::string(prefix_text) + "/bin/python" + std::to_string(PY_MAJOR_VERSION) +
                      "." + std::to_string(PY_MINOR_VERSION);
    if (::access(exe.c_str(), X_OK) != 0) return;
    py::PyRef value = py::PyRef::steal(PyUnicode_DecodeFSDefault(exe.c_str()));
    if (!value || PySys_SetObject("executable", value.get()) != 0 ||
        PySys_SetObject("_base_executable", value.get()) != 0)
        PyErr_Clear();
}

} // namespace

/// The initialised interpreter, shared by the Interpreter object and every WsgiApp made
/// from it: the last owner finalises it.
struct __attribute__((visibility("hidden"))) Interpreter::Runtime
{
    PyThreadState* saved_thread = nullptr; ///< set once initialisation succeeded
    Runtime() = default;
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;
    ~Runtime();
};

Interpreter::Runtime::~Runtime()
{
    if (saved_thread == nullptr) return; // initialisation failed and cleaned up itself
    PyEval_RestoreThread(saved_thread);
    // Thread states kept by other threads die with the interpreter: they must not be
    // touched afterwards. Front ends join their threads before this.
    py::bump_interpreter_generation();
    Py_FinalizeEx();
    interpreter_exists = false;
}

Interpreter::Interpreter(const PythonOptions& options) : runtime_(std::make_shared<Runtime>())
{
    if (interpreter_exists.exchange(true))
        throw std::runtime_error("only one Python interpreter per process (an earlier one is "
                                 "still alive, or kept alive by a WsgiApp not yet destroyed)");
    try {
        // UTF-8 mode: an isolated pre-configuration neither coerces the C locale nor
        // reads LANG, which left open() and the file system encoding at ASCII (a UTF-8
        // template raised UnicodeDecodeError where `python3` reads it). Servers often run
        // with LANG unset, so UTF-8 is the only encoding that does not depend on who
        // started us (PEP 540; what Python 3.15 makes the default).
        PyPreConfig preconfig;
        PyPreConfig_InitIsolatedConfig(&preconfig);
        preconfig.utf8_mode = 1;
        if (PyStatus status = Py_PreInitialize(&preconfig); PyStatus_Exception(status))
            throw std::runtime_error(std::string("Python pre-initialisation failed: ") +
                                     (status.err_msg ? status.err_msg : "unknown error"));
        PyConfig config;
        // Isolated: PYTHON* environment variables, the user site directory and the
        // script directory are ignored, and Python installs no signal handlers (ours).
        PyConfig_InitIsolatedConfig(&config);
        config.site_import = options.import_site ? 1 : 0;
        // Taken from the options only: PYTHONDONTWRITEBYTECODE in the environment is
        // ignored on purpose (isolated config), so a server's behaviour does not depend
        // on whoever started it.
        config.write_bytecode = options.write_bytecode ? 1 : 0;
        if (options.hash_seed) {
            config.use_hash_seed = 1;
            config.hash_seed = *options.hash_seed;
        }
        config.parse_argv = 0;
        config.install_signal_handlers = 0; // already 0 when isolated; the servers own signals
        check(PyConfig_SetBytesString(&config, &config.program_name, options.program_name.c_str()),
              config, "program name");
        check(Py_InitializeFromConfig(&config), config, "initialisation");
        PyConfig_Clear(&config);
    } catch (...) {
        interpreter_exists = false;
        throw;
    }
    try {
        setup_sys_path(options);
        set_executable();
    } catch (...) {
        Py_FinalizeEx();
        interpreter_exists = false;
        throw;
    }
    py::bump_interpreter_generation();
    // From here on any thread takes the GIL (GilAcquire).
    runtime_->saved_thread = PyEval_SaveThread();
}

void Interpreter::exit_process(int status)
{
    {
        py::GilAcquire gil;
        py::PyRef atexit = py::PyRef::steal(PyImport_ImportModule("atexit"));
        if (atexit) py::PyRef::steal(PyObject_CallMethod(atexit.get(), "_run_exitfuncs", nullptr));
        PyErr_Clear();
        for (const char* name : {"stdout", "stderr"}) {
            if (PyObject* stream = PySys_GetObject(name)) // borrowed
                py::PyRef::steal(PyObject_CallMethod(stream, "flush", nullptr));
            PyErr_Clear();
        }
    }
    std::fflush(nullptr);
    std::_Exit(status);
}

int Interpreter::fork()
{
    py::GilAcquire gil;
    PyOS_BeforeFork();
    int pid = ::fork();
    int saved_errno = errno;
    if (pid == 0)
        PyOS_AfterFork_Child();
    else
        PyOS_AfterFork_Parent();
    errno = saved_errno;
    return pid;
}

bool Interpreter::dump_tracebacks_on(int sig, int fd) noexcept
{
    py::GilAcquire gil;
    PyObject* module = PyImport_ImportModule("faulthandler");
    PyObject* result =
        module ? PyObject_CallMethod(module, "register", "iiOO", sig, fd, Py_True, Py_False)
               : nullptr;
    bool ok = result != nullptr;
    if (!ok) PyErr_Clear();
    Py_XDECREF(result);
    Py_XDECREF(module);
    return ok;
}

std::vector<std::string> Interpreter::application_files()
{
    static constexpr const char* code = R"(
import os as _os, sys as _sys
_prefixes = tuple(p + _os.sep for p in {_sys.base_prefix, _sys.prefix, _sys.base_exec_prefix})
files = sorted({_os.path.abspath(m.__file__) for m in list(_sys.modules.values())
                if isinstance(getattr(m, "__file__", None), str) and m.__file__.endswith(".py")
                and not _os.path.abspath(m.__file__).startswith(_prefixes)})
)";
    py::GilAcquire gil;
    std::vector<std::string> out;
    PyObject* globals = PyDict_New();
    if (!globals) {
        PyErr_Clear();
        return out;
    }
    PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
    PyObject* result = PyRun_String(code, Py_file_input, globals, globals);
    PyObject* files = result ? PyDict_GetItemString(globals, "files") : nullptr;
    if (files && PyList_Check(files)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(files); ++i) {
            Py_ssize_t size = 0;
            const char* text = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(files, i), &size);
            if (text) out.emplace_back(text, static_cast<std::size_t>(size));
        }
    }
    if (PyErr_Occurred()) PyErr_Clear();
    Py_XDECREF(result);
    Py_DECREF(globals);
    return out;
}

// Finalises through Runtime's destructor when no WsgiApp holds a share any more.
Interpreter::~Interpreter() = default;

} // namespace wsgibridge
