#include "app_loader.hpp"

#include "py_error.hpp"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>

namespace wsgibridge::py {
namespace {

// Runs the file as a module with a private name (`_wsgi_bridge_<hash of the path>`, as
// mod_wsgi's `_mod_wsgi_<hash>`), so a file called flask.py, django.cgi or json.py never
// takes the place of the package it imports: `import flask` inside flask.py must find
// Flask. __name__ is that private name (not '__main__': an `if __name__ == '__main__':
// app.run()` block must not run) and __file__ the file, which is what Flask's root_path
// (templates/, static/ next to the file) is derived from. Only the frozen importlib
// modules are used: importlib.util would import contextlib, collections... (~7 ms of a
// CGI cold start).
constexpr const char* file_loader_source = R"(
def load(name, path, stem_finder):
    import sys, _frozen_importlib as bootstrap, _frozen_importlib_external as external
    loader = external.SourceFileLoader(name, path)
    spec = external.spec_from_file_location(name, path, loader=loader)
    module = bootstrap.module_from_spec(spec)
    if stem_finder is not None:
        finders = sys.meta_path
        at = finders.index(external.PathFinder) if external.PathFinder in finders else 0
        finders.insert(at, stem_finder)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
)";

// The file's own stem stays importable for the application's other modules (the usual
// `from app import db` in a sibling of app.py) through a finder placed just before the
// path finder: when the stem resolves to the application file itself (a flask.py in
// a directory on sys.path) or to nothing, the import gives the loaded module; when a
// real module or package of that name exists elsewhere on sys.path, that one is
// imported. The finder's name test is C (StemFinder below); this part is compiled only
// when the stem is imported, so a cold start does not pay for compiling it.
constexpr const char* stem_resolver_source = R"(
def resolve(fullname, name, path):
    import sys, posix, _frozen_importlib as bootstrap, _frozen_importlib_external as external
    PathFinder = external.PathFinder
    found = PathFinder.find_spec(fullname)
    if found is not None and found.origin == path:
        def same_dir(a, b):
            try:
                sa, sb = posix.stat(a), posix.stat(b)
            except (OSError, ValueError):
                return False
            return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)
        app_dir = path.rpartition('/')[0]
        others = [p for p in sys.path if not same_dir(p or '.', app_dir)]
        found = PathFinder.find_spec(fullname, others)
    module = sys.modules.get(name)
    if found is not None or module is None:
        return found
    spec = module.__spec__

    class AliasLoader:
        def create_module(self, alias_spec):
            return module
        def exec_module(self, alias):
            alias.__spec__ = spec  # module_from_spec set the alias's

    return bootstrap.ModuleSpec(fullname, AliasLoader(), origin=path)
)";

/// A meta path finder object: a module whose find_spec is a C function bound to a dict
/// {stem, name, path, resolve}. Anything but a top-level import of the stem is None at
/// once.
PyObject* stem_find_spec(PyObject* self, PyObject* args, PyObject* kwargs)
{
    PyObject* fullname = nullptr;
    PyObject* search_path = Py_None;
    PyObject* target = Py_None;
    static const char* keywords[] = {"fullname", "path", "target", nullptr};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "U|OO", const_cast<char**>(keywords), &fullname,
                                     &search_path, &target))
        return nullptr;
    PyObject* stem = PyDict_GetItemString(self, "stem"); // borrowed
    if (search_path != Py_None || stem == nullptr || PyUnicode_Compare(fullname, stem) != 0)
        Py_RETURN_NONE;
    PyObject* resolve = PyDict_GetItemString(self, "resolve"); // borrowed
    if (resolve == nullptr) {
        PyRef globals = PyRef::steal(PyDict_New());
        if (!globals ||
            PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins()) != 0)
            return nullptr;
        PyRef done = PyRef::steal(
            PyRun_String(stem_resolver_source, Py_file_input, globals.get(), globals.get()));
        if (!done) return nullptr;
        resolve = PyDict_GetItemString(globals.get(), "resolve");
        if (resolve == nullptr || PyDict_SetItemString(self, "resolve", resolve) != 0)
            return nullptr;
    }
    return PyObject_CallFunctionObjArgs(resolve, fullname, PyDict_GetItemString(self, "name"),
                                        PyDict_GetItemString(self, "path"), nullptr);
}

PyMethodDef stem_find_spec_def = {
    "find_spec", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(stem_find_spec)),
    METH_VARARGS | METH_KEYWORDS, "top-level imports of the application file's stem"};

/// The finder for `stem`, or None when the stem is empty (not an identifier) or
/// already imported (json.py: `import json` is the standard library's).
PyRef make_stem_finder(const std::string& stem, const std::string& name, const std::string& path)
{
    if (stem.empty() || PyDict_GetItemString(PyImport_GetModuleDict(), stem.c_str()) != nullptr)
        return PyRef::borrow(Py_None);
    PyRef state = PyRef::steal(PyDict_New());
    PyRef finder = PyRef::steal(PyModule_New("_wsgi_bridge_stem_finder"));
    PyRef stem_obj = PyRef::steal(PyUnicode_DecodeFSDefault(stem.c_str()));
    PyRef name_obj = PyRef::steal(PyUnicode_FromString(name.c_str()));
    PyRef path_obj = PyRef::steal(PyUnicode_DecodeFSDefault(path.c_str()));
    if (!state || !finder || !stem_obj || !name_obj || !path_obj) return {};
    if (PyDict_SetItemString(state.get(), "stem", stem_obj.get()) != 0 ||
        PyDict_SetItemString(state.get(), "name", name_obj.get()) != 0 ||
        PyDict_SetItemString(state.get(), "path", path_obj.get()) != 0)
        return {};
    PyRef find_spec = PyRef::steal(PyCFunction_New(&stem_find_spec_def, state.get()));
    if (!find_spec || PyObject_SetAttrString(finder.get(), "find_spec", find_spec.get()) != 0)
        return {};
    return finder;
}

/// "hello.cgi" -> "hello", "my-app.py" -> "" (not an identifier: nothing can import it).
std::string stem_of(const std::filesystem::path& file)
{
    std::string stem = file.filename().string();
    stem = stem.substr(0, stem.find('.'));
    for (char c : stem) {
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return {};
    }
    if (stem.empty() || (stem[0] >= '0' && stem[0] <= '9')) return {};
    return stem;
}

/// "_wsgi_bridge_" + FNV-1a 64 of the absolute path: stable for a path, private to it.
std::string private_module_name(const std::filesystem::path& file)
{
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char c : file.native()) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return std::string("_wsgi_bridge_") + hex;
}

/// Puts `dir` first on sys.path, once: the interpreter already added the current
/// directory, which for a CGI script is usually the script's own.
bool put_first_on_path(const std::string& dir)
{
    PyObject* sys_path = PySys_GetObject("path"); // borrowed
    PyRef item = PyRef::steal(PyUnicode_DecodeFSDefault(dir.c_str()));
    if (!item || !sys_path || !PyList_Check(sys_path)) return false;
    for (Py_ssize_t i = PyList_GET_SIZE(sys_path) - 1; i >= 0; --i) {
        int same = PyObject_RichCompareBool(PyList_GET_ITEM(sys_path, i), item.get(), Py_EQ);
        if (same < 0) return false;
        if (same == 1 && PySequence_DelItem(sys_path, i) != 0) return false;
    }
    return PyList_Insert(sys_path, 0, item.get()) == 0;
}

[[noreturn]] void fail(const std::string& spec_text, const Logger& log)
{
    PythonError err = fetch_error();
    log.error(concat("cannot load the application '", spec_text, "':\n", err.traceback));
    throw AppLoadError(err.summary);
}

std::string describe(const AppSpec& spec)
{
    std::string where = spec.file.empty() ? spec.module : spec.file;
    return spec.callable.empty() ? where : where + ":" + spec.callable;
}

PyRef import_file(const AppSpec& spec, const Logger& log)
{
    std::error_code ec;
    auto path = std::filesystem::absolute(spec.file, ec);
    if (ec || !std::filesystem::is_regular_file(path, ec))
        throw AppLoadError("no such file: " + spec.file);
    path = path.lexically_normal();
    // The file's directory comes first, so its sibling modules import as they would
    // when the file runs as a script.
    if (!put_first_on_path(path.parent_path().string())) fail(describe(spec), log);

    PyRef globals = PyRef::steal(PyDict_New());
    if (!globals || PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins()) != 0)
        fail(describe(spec), log);
    PyRef done =
        PyRef::steal(PyRun_String(file_loader_source, Py_file_input, globals.get(), globals.get()));
    if (!done) fail(describe(spec), log);
    PyObject* load = PyDict_GetItemString(globals.get(), "load"); // borrowed
    const std::string name = private_module_name(path);
    PyRef finder = make_stem_finder(stem_of(path), name, path.string());
    if (!finder) fail(describe(spec), log);
    PyRef module =
        PyRef::steal(PyObject_CallFunction(load, "ssO", name.c_str(), path.c_str(), finder.get()));
    if (!module) fail(describe(spec), log);
    return module;
}

/// "myproject.wsgi" is Django's module (myproject/wsgi.py, as gunicorn reads the spec) and
/// also a mod_wsgi script's file name (AppSpec::parse calls it a file). Without a '/',
/// a file of that name wins when it exists (mod_wsgi's reading); otherwise the module is
/// imported, so `--app myproject.wsgi:application` works as it does under gunicorn.
bool imports_wsgi_module(const AppSpec& spec)
{
    const std::string_view f = spec.file;
    if (!f.ends_with(".wsgi") || f.find('/') != std::string_view::npos) return false;
    for (char c : f)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
    std::error_code ec;
    return !std::filesystem::exists(f, ec);
}

/// getattr along "a.b.c"; nullptr (no exception) when an attribute is missing.
PyRef resolve(PyObject* module, std::string_view dotted)
{
    PyRef obj = PyRef::borrow(module);
    while (obj) {
        auto dot = dotted.find('.');
        std::string name(dotted.substr(0, dot));
        obj = PyRef::steal(PyObject_GetAttrString(obj.get(), name.c_str()));
        if (dot == std::string_view::npos) break;
        dotted.remove_prefix(dot + 1);
    }
    if (!obj && PyErr_ExceptionMatches(PyExc_AttributeError)) PyErr_Clear();
    return obj;
}

} // namespace

PyRef load_app(const AppSpec& spec, const Logger& log)
{
    const bool as_module = spec.file.empty() || imports_wsgi_module(spec);
    const std::string& module_name = spec.file.empty() ? spec.module : spec.file;
    PyRef module = as_module ? PyRef::steal(PyImport_ImportModule(module_name.c_str()))
                             : import_file(spec, log);
    if (!module && !spec.file.empty()) {
        PythonError err = fetch_error(); // the import failed and there is no such file: say both
        log.error(concat("cannot load the application '", describe(spec), "':\n", err.traceback));
        throw AppLoadError(concat(err.summary, " (and no file named ", spec.file, ")"));
    }
    if (!module) fail(describe(spec), log);

    std::string name = spec.callable.empty() ? "application" : spec.callable;
    PyRef app = resolve(module.get(), name);
    if (!app && !PyErr_Occurred() && spec.callable.empty()) {
        name = "app"; // Flask's convention, when there is no `application`
        app = resolve(module.get(), name);
    }
    if (PyErr_Occurred()) fail(describe(spec), log);
    std::string where = spec.file.empty() ? spec.module : spec.file;
    if (!app) {
        throw AppLoadError(spec.callable.empty()
                               ? concat(where, " defines neither 'application' nor 'app'")
                               : concat(where, " has no attribute '", spec.callable, "'"));
    }
    if (!PyCallable_Check(app.get()))
        throw AppLoadError(concat(where, ":", name, " is not callable (it is a ",
                                  Py_TYPE(app.get())->tp_name, ")"));
    return app;
}

} // namespace wsgibridge::py
