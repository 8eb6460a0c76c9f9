#include "error_stream.hpp"

#include "gil.hpp"
#include "request_context.hpp"

namespace wsgibridge::py {
namespace {

struct ErrorsObject
{
    PyObject ob_base; // PyObject_HEAD, spelled out so clang-format keeps it
    const Logger* log;
};

void log_lines(const Logger& log, std::string_view prefix, std::string_view text)
{
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!line.empty()) log.warning(concat(prefix, "wsgi.errors: ", line));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
}

bool write_text(ErrorsObject* self, PyObject* text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "wsgi.errors.write() argument must be str, not %.200s",
                     Py_TYPE(text)->tp_name);
        return false;
    }
    PyRef utf8 = PyRef::steal(PyUnicode_AsEncodedString(text, "utf-8", "backslashreplace"));
    if (!utf8) return false;
    std::string_view bytes(PyBytes_AS_STRING(utf8.get()),
                           static_cast<std::size_t>(PyBytes_GET_SIZE(utf8.get())));
    if (bytes.empty()) return true;
    RequestContext* ctx = current_request;
    // The text is in `utf8` (kept alive here): no Python needed while it is written.
    GilRelease unlocked;
    if (ctx != nullptr) {
        if (!ctx->sink.write_error(bytes)) log_lines(*self->log, ctx->label() + ": ", bytes);
    } else {
        log_lines(*self->log, "", bytes);
    }
    return true;
}

PyObject* write(PyObject* self, PyObject* text)
{
    if (!write_text(reinterpret_cast<ErrorsObject*>(self), text)) return nullptr;
    return PyLong_FromSsize_t(PyUnicode_GET_LENGTH(text));
}

PyObject* writelines(PyObject* self, PyObject* lines)
{
    PyRef it = PyRef::steal(PyObject_GetIter(lines));
    if (!it) return nullptr;
    while (PyRef line = PyRef::steal(PyIter_Next(it.get())))
        if (!write_text(reinterpret_cast<ErrorsObject*>(self), line.get())) return nullptr;
    if (PyErr_Occurred()) return nullptr;
    Py_RETURN_NONE;
}

PyObject* flush(PyObject*, PyObject*)
{
    Py_RETURN_NONE;
} // every write is already out

void dealloc(PyObject* self)
{
    PyTypeObject* type = Py_TYPE(self);
    type->tp_free(self);
    Py_DECREF(type);
}

PyMethodDef methods[] = {
    {"write", write, METH_O, "write(str): log the text (one line per line)"},
    {"writelines", writelines, METH_O, "writelines(iterable of str)"},
    {"flush", flush, METH_NOARGS, "nothing to flush: writes are not buffered"},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(dealloc)},
    {Py_tp_methods, methods},
    {Py_tp_doc, const_cast<char*>("wsgi.errors: the error stream (PEP 3333)")},
    {0, nullptr},
};

PyType_Spec spec = {"wsgibridge.Errors", sizeof(ErrorsObject), 0, Py_TPFLAGS_DEFAULT, slots};

} // namespace

PyRef create_errors_type()
{
    return PyRef::steal(PyType_FromSpec(&spec));
}

PyRef new_errors(PyObject* type, const Logger& log)
{
    auto* obj = PyObject_New(ErrorsObject, reinterpret_cast<PyTypeObject*>(type));
    if (obj != nullptr) obj->log = &log;
    return PyRef::steal(reinterpret_cast<PyObject*>(obj));
}

} // namespace wsgibridge::py
