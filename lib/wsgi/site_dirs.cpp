#include "site_dirs.hpp"

#include "py_error.hpp"
#include "py_ref.hpp"

#include <Python.h>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <pwd.h>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace wsgibridge::py {
namespace {

namespace fs = std::filesystem;

const std::string python_x_y =
    "python" + std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION);

[[noreturn]] void raise_python(const char* what)
{
    auto err = fetch_error();
    throw std::runtime_error(std::string(what) + ": " + err.summary);
}

PyObject* sys_path()
{
    PyObject* path = PySys_GetObject("path"); // borrowed
    if (path == nullptr || !PyList_Check(path))
        throw std::runtime_error("cannot initialise Python: sys.path is not a list");
    return path;
}

/// Appends `dir` unless sys.path has it already (site's known_paths).
void append_once(const std::string& dir)
{
    PyRef item = PyRef::steal(PyUnicode_DecodeFSDefault(dir.c_str()));
    if (!item) raise_python("cannot extend sys.path");
    int has = PySequence_Contains(sys_path(), item.get());
    if (has < 0 || (has == 0 && PyList_Append(sys_path(), item.get()) != 0))
        raise_python("cannot extend sys.path");
}

/// An "import" line of a .pth file runs as `site.addpackage` runs it: exec() in a frame
/// whose locals hold `sitedir` (setuptools' namespace-package lines read it through
/// sys._getframe(1)). A failing line ends that file, with site's message on stderr.
constexpr const char* pth_runner_source = R"(
def run(sitedir, fullname, n, line):
    try:
        exec(line)
        return True
    except Exception as e:
        import sys
        sys.stderr.write(f'Error processing line {n} of {fullname}:\n'
                         f'  {type(e).__name__}: {e}\nRemainder of file ignored\n')
        return False
)";

/// Compiled on the first import line met: most start-ups have none to run.
class PthRunner
{
public:
    bool run(const std::string& sitedir, const std::string& file, int line_no,
             const std::string& line)
    {
        if (!runner_) {
            PyRef globals = PyRef::steal(PyDict_New());
            if (!globals ||
                PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins()) != 0)
                raise_python("cannot process .pth files");
            PyRef done = PyRef::steal(
                PyRun_String(pth_runner_source, Py_file_input, globals.get(), globals.get()));
            if (!done) raise_python("cannot process .pth files");
            runner_ = PyRef::borrow(PyDict_GetItemString(globals.get(), "run"));
        }
        PyRef ok = PyRef::steal(PyObject_CallFunction(runner_.get(), "ssis", sitedir.c_str(),
                                                      file.c_str(), line_no, line.c_str()));
        if (!ok) {
            PyErr_Clear();
            return false;
        }
        return PyObject_IsTrue(ok.get()) == 1;
    }

private:
    PyRef runner_;
};

/// Which "import" lines of a site directory's .pth files run. In the user site all of
/// them, as `site` does. In Debian's dist-packages only those of editable installs
/// (pip install -e writes `__editable__.*.pth` whose import line installs the finder
/// the package needs); the others there are setuptools' distutils override and pre-PEP
/// 420 namespace shims (zope.*-nspkg.pth) that Python 3's implicit namespace packages do
/// not need, and running them imports importlib.util (~3 ms of a CGI start).
enum class PthImports { all, editable_only };

/// The whole file, or "" when it cannot be read. POSIX calls, not an ifstream: the first
/// ifstream of a process sets up its locale (~80 us of a CGI start).
std::string read_small_file(const std::string& file)
{
    std::string text;
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return text;
    char buf[8192];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
        text.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return text;
}

/// site.addpackage: each line names a directory (relative to the site directory)
/// appended when it exists, or is an import statement; '#' lines and blank lines skip.
void process_pth(const std::string& sitedir, const std::string& name, PthImports imports,
                 PthRunner& runner)
{
    const std::string file = sitedir + "/" + name;
    const std::string text = read_small_file(file);
    const bool run_imports = imports == PthImports::all || name.starts_with("__editable__");
    std::string_view rest = text;
    for (int n = 1; !rest.empty(); ++n) {
        auto eol = rest.find('\n');
        std::string_view line = rest.substr(0, eol);
        rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
        if (line.starts_with('#')) continue;
        if (std::all_of(line.begin(), line.end(), [](unsigned char c) { return std::isspace(c); }))
            continue;
        if (line.starts_with("import ") || line.starts_with("import\t")) {
            if (run_imports && !runner.run(sitedir, file, n, std::string(line))) return;
            continue;
        }
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
            line.remove_suffix(1);
        std::error_code ec;
        fs::path dir = fs::absolute(fs::path(sitedir) / line, ec).lexically_normal();
        if (!ec && fs::exists(dir, ec)) append_once(dir.string());
    }
}

/// site.addsitedir: the directory, then its .pth files in name order.
void add_site_dir(const std::string& dir, PthImports imports, PthRunner& runner)
{
    DIR* listing = ::opendir(dir.c_str());
    if (listing == nullptr) return; // missing or unreadable: nothing added
    std::vector<std::string> pth;
    while (const dirent* entry = ::readdir(listing)) {
        std::string_view name = entry->d_name;
        if (name.ends_with(".pth") && !name.starts_with('.')) pth.emplace_back(name);
    }
    ::closedir(listing);
    append_once(dir);
    std::sort(pth.begin(), pth.end());
    for (const auto& name : pth)
        process_pth(dir, name, imports, runner);
}

} // namespace

std::string user_site_packages(const PythonOptions& options)
{
    // site.check_enableusersite: not for set-uid/set-gid processes.
    if (::getuid() != ::geteuid() || ::getgid() != ::getegid()) return {};
    std::string base = options.user_base;
    if (base.empty()) {
        std::string home;
        if (const char* env = std::getenv("HOME"); env && *env)
            home = env;
        else if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir)
            home = pw->pw_dir;
        if (home.empty()) return {};
        base = home + "/.local";
    }
    return base + "/lib/" + python_x_y + "/site-packages";
}

void add_site_directories(const PythonOptions& options)
{
    PthRunner runner;
    if (options.user_site && options.virtualenv.empty()) {
        std::string user_site = user_site_packages(options);
        if (!user_site.empty()) add_site_dir(user_site, PthImports::all, runner);
    }
    add_site_dir("/usr/local/lib/" + python_x_y + "/dist-packages", PthImports::editable_only,
                 runner);
    add_site_dir("/usr/lib/python3/dist-packages", PthImports::editable_only, runner);
}

} // namespace wsgibridge::py
