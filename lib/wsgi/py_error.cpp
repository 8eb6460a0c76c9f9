#include "py_error.hpp"

#include "py_ref.hpp"

namespace wsgibridge::py {

std::string to_utf8(PyObject* obj)
{
    if (obj == nullptr) return "None";
    PyRef text = PyRef::steal(PyObject_Str(obj));
    if (!text) {
        PyErr_Clear();
        return "<unprintable>";
    }
    // Surrogates (from surrogateescape) must not fail the log line.
    PyRef utf8 = PyRef::steal(PyUnicode_AsEncodedString(text.get(), "utf-8", "backslashreplace"));
    if (!utf8) {
        PyErr_Clear();
        return "<unprintable>";
    }
    return {PyBytes_AS_STRING(utf8.get()), static_cast<std::size_t>(PyBytes_GET_SIZE(utf8.get()))};
}

PythonError fetch_error()
{
    PyObject *type_raw = nullptr, *value_raw = nullptr, *tb_raw = nullptr;
    PyErr_Fetch(&type_raw, &value_raw, &tb_raw);
    PyErr_NormalizeException(&type_raw, &value_raw, &tb_raw);
    PyRef type = PyRef::steal(type_raw), value = PyRef::steal(value_raw), tb = PyRef::steal(tb_raw);
    if (value && tb) PyException_SetTraceback(value.get(), tb.get());

    PythonError out;
    if (type && PyType_Check(type.get()))
        out.summary = reinterpret_cast<PyTypeObject*>(type.get())->tp_name;
    else
        out.summary = "unknown exception";
    std::string message = value ? to_utf8(value.get()) : std::string();
    if (!message.empty()) out.summary += ": " + message;

    PyRef module = PyRef::steal(PyImport_ImportModule("traceback"));
    PyRef lines;
    if (module && type)
        lines = PyRef::steal(PyObject_CallMethod(module.get(), "format_exception", "OOO",
                                                 type.get(), value ? value.get() : Py_None,
                                                 tb ? tb.get() : Py_None));
    if (lines && PyList_Check(lines.get())) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(lines.get()); ++i)
            out.traceback += to_utf8(PyList_GET_ITEM(lines.get(), i));
        while (!out.traceback.empty() && out.traceback.back() == '\n')
            out.traceback.pop_back();
    } else {
        PyErr_Clear();
        out.traceback = out.summary;
    }
    return out;
}

} // namespace wsgibridge::py
