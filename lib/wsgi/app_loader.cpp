#include "app_loader.hpp"

#include <filesystem>

#include "py_error.hpp"

namespace wsgibridge::py {
namespace {

// Runs the file under a module name derived from its own (so `import app` elsewhere in
// the application finds the same module), unless that name is taken (a file called
// json.py must not replace the standard library's json). Only the frozen importlib
// modules are used: importlib.util would import contextlib, collections... (~7 ms of a
// CGI cold start).
constexpr const char* file_loader_source = R"(
def load(name, path):
    import sys, _frozen_importlib as bootstrap, _frozen_importlib_external as external
    if name in sys.modules:
        name = '__wsgi_app_' + name
    loader = external.SourceFileLoader(name, path)
    spec = external.spec_from_file_location(name, path, loader=loader)
    module = bootstrap.module_from_spec(spec)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
)";

/// "hello.cgi" -> "hello", "my-app.py" -> "my_app", "1st.py" -> "_1st".
std::string module_name_for(const std::filesystem::path& file)
{
    std::string stem = file.filename().string();
    stem = stem.substr(0, stem.find('.'));
    for (char& c : stem) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!ok) c = '_';
    }
    if (stem.empty() || (stem[0] >= '0' && stem[0] <= '9')) stem.insert(0, "_");
    return stem;
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
    // The file's directory comes first, so its sibling modules import as they would
    // when the file runs as a script.
    PyObject* sys_path = PySys_GetObject("path");
    PyRef dir = PyRef::steal(PyUnicode_DecodeFSDefault(path.parent_path().c_str()));
    if (!dir || !sys_path || PyList_Insert(sys_path, 0, dir.get()) != 0) fail(describe(spec), log);

    PyRef globals = PyRef::steal(PyDict_New());
    if (!globals || PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins()) != 0)
        fail(describe(spec), log);
    PyRef done =
        PyRef::steal(PyRun_String(file_loader_source, Py_file_input, globals.get(), globals.get()));
    if (!done) fail(describe(spec), log);
    PyObject* load = PyDict_GetItemString(globals.get(), "load"); // borrowed
    PyRef module = PyRef::steal(
        PyObject_CallFunction(load, "ss", module_name_for(path).c_str(), path.c_str()));
    if (!module) fail(describe(spec), log);
    return module;
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
    PyRef module = spec.file.empty() ? PyRef::steal(PyImport_ImportModule(spec.module.c_str()))
                                     : import_file(spec, log);
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
