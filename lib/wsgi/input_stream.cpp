#include "input_stream.hpp"

#include "gil.hpp"
#include "py_error.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace wsgibridge::py {
namespace {

/// readline() reads ahead into this buffer; read(n) goes straight into its bytes object.
constexpr std::size_t line_buffer_size = 8192;
/// read() of unknown length starts with this and doubles.
constexpr std::size_t first_chunk = 64 * 1024;

struct InputObject
{
    PyObject ob_base; // PyObject_HEAD, spelled out so clang-format keeps it
    RequestContext* ctx;
    char* buf; // line buffer, allocated on the first readline()
    std::size_t pos, len;
    bool eof;
};

InputObject* as_input(PyObject* self)
{
    return reinterpret_cast<InputObject*>(self);
}

bool check_open(InputObject* in)
{
    if (in->ctx != nullptr) return true;
    PyErr_SetString(PyExc_ValueError, "wsgi.input used after the request ended");
    return false;
}

/// One read from the source (GIL released). Returns bytes read, 0 at the end, -1 with
/// OSError set (the error is remembered: the gateway answers its status if the app
/// then fails, e.g. 413 for a body over --max-body).
Py_ssize_t read_source(InputObject* in, char* dst, std::size_t n)
{
    RequestContext& ctx = *in->ctx;
    if (ctx.body_error) {
        PyErr_Format(PyExc_OSError, "request body unavailable: %s",
                     ctx.body_error.message().c_str());
        return -1;
    }
    if (in->eof || n == 0) return 0;
    if (auto left = ctx.body.remaining(); left && *left == 0) {
        in->eof = true;
        return 0;
    }
    Result<std::size_t> got = std::size_t{0};
    {
        GilRelease unlocked;
        got = ctx.body.read({dst, n});
    }
    if (!got) {
        ctx.body_error = got.error();
        ctx.log.warning(
            concat(ctx.label(), ": reading the request body failed: ", got.error().message()));
        PyErr_Format(PyExc_OSError, "reading the request body failed: %s",
                     got.error().message().c_str());
        return -1;
    }
    if (*got == 0) in->eof = true;
    return static_cast<Py_ssize_t>(*got);
}

/// Up to n bytes: buffered ones first, else one source read.
Py_ssize_t read_some(InputObject* in, char* dst, std::size_t n)
{
    if (in->pos < in->len) {
        std::size_t k = std::min(n, in->len - in->pos);
        std::memcpy(dst, in->buf + in->pos, k);
        in->pos += k;
        return static_cast<Py_ssize_t>(k);
    }
    return read_source(in, dst, n);
}

/// Reads until `limit` bytes or the end (limit < 0: the end) into one bytes object,
/// sized from the known remaining length so a Content-Length body is read with no
/// copy and no resize.
PyObject* read_bytes(InputObject* in, Py_ssize_t limit)
{
    std::size_t want =
        limit < 0 ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(limit);
    std::size_t buffered = in->len - in->pos;
    auto left = in->ctx->body.remaining();
    std::size_t hint = buffered + (in->eof ? 0
                                   : left  ? static_cast<std::size_t>(*left)
                                           : first_chunk);
    std::size_t cap = std::min(want, hint);
    if (cap == 0) return PyBytes_FromStringAndSize(nullptr, 0); // at the end, or read(0)
    PyObject* out = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(cap));
    if (out == nullptr) return nullptr;
    std::size_t got = 0;
    while (got < want) {
        if (got == cap) {
            // Full: at the known end, stop here instead of doubling a body-sized buffer
            // only to find nothing more.
            std::optional<std::uint64_t> rest = in->ctx->body.remaining();
            bool known = rest.has_value();
            std::uint64_t rest_bytes = known ? *rest : 0;
            if (in->pos == in->len && (in->eof || (known && rest_bytes == 0))) break;
            cap = std::min(want, known ? cap + static_cast<std::size_t>(rest_bytes) : cap * 2);
            if (_PyBytes_Resize(&out, static_cast<Py_ssize_t>(cap)) != 0) return nullptr;
        }
        Py_ssize_t n = read_some(in, PyBytes_AS_STRING(out) + got, cap - got);
        if (n < 0) {
            Py_DECREF(out);
            return nullptr;
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    if (got != cap && _PyBytes_Resize(&out, static_cast<Py_ssize_t>(got)) != 0) return nullptr;
    return out;
}

/// Size arguments: None or a negative int mean "no limit".
bool size_arg(PyObject* const* args, Py_ssize_t nargs, const char* fn, Py_ssize_t& out)
{
    out = -1;
    if (nargs > 1) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most 1 argument (%zd given)", fn, nargs);
        return false;
    }
    if (nargs == 0 || args[0] == Py_None) return true;
    out = PyNumber_AsSsize_t(args[0], PyExc_OverflowError);
    return !(out == -1 && PyErr_Occurred());
}

PyObject* read(PyObject* self, PyObject* const* args, Py_ssize_t nargs)
{
    auto* in = as_input(self);
    Py_ssize_t size;
    if (!check_open(in) || !size_arg(args, nargs, "read", size)) return nullptr;
    return read_bytes(in, size);
}

PyObject* readline_impl(InputObject* in, Py_ssize_t limit)
{
    if (in->buf == nullptr) {
        in->buf = static_cast<char*>(PyMem_Malloc(line_buffer_size));
        if (in->buf == nullptr) return PyErr_NoMemory();
    }
    std::size_t want =
        limit < 0 ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(limit);
    std::string line; // only used when a line spans buffer refills
    while (true) {
        std::size_t room = want - line.size();
        if (room == 0) break;
        if (in->pos == in->len) {
            in->pos = in->len = 0;
            Py_ssize_t n = read_source(in, in->buf, line_buffer_size);
            if (n < 0) return nullptr;
            if (n == 0) break;
            in->len = static_cast<std::size_t>(n);
        }
        std::size_t avail = std::min(room, in->len - in->pos);
        const char* start = in->buf + in->pos;
        auto* nl = static_cast<const char*>(std::memchr(start, '\n', avail));
        std::size_t take = nl ? static_cast<std::size_t>(nl - start) + 1 : avail;
        in->pos += take;
        if (line.empty() && (nl || take == room)) // the whole line was in the buffer
            return PyBytes_FromStringAndSize(start, static_cast<Py_ssize_t>(take));
        line.append(start, take);
        if (nl) break;
    }
    return PyBytes_FromStringAndSize(line.data(), static_cast<Py_ssize_t>(line.size()));
}

PyObject* readline(PyObject* self, PyObject* const* args, Py_ssize_t nargs)
{
    auto* in = as_input(self);
    Py_ssize_t limit;
    if (!check_open(in) || !size_arg(args, nargs, "readline", limit)) return nullptr;
    return readline_impl(in, limit);
}

PyObject* readlines(PyObject* self, PyObject* const* args, Py_ssize_t nargs)
{
    auto* in = as_input(self);
    Py_ssize_t hint;
    if (!check_open(in) || !size_arg(args, nargs, "readlines", hint)) return nullptr;
    PyRef lines = PyRef::steal(PyList_New(0));
    if (!lines) return nullptr;
    Py_ssize_t total = 0;
    while (true) {
        PyRef line = PyRef::steal(readline_impl(in, -1));
        if (!line) return nullptr;
        Py_ssize_t n = PyBytes_GET_SIZE(line.get());
        if (n == 0) break;
        if (PyList_Append(lines.get(), line.get()) != 0) return nullptr;
        total += n;
        if (hint > 0 && total >= hint) break;
    }
    return lines.release();
}

PyObject* iternext(PyObject* self)
{
    auto* in = as_input(self);
    if (!check_open(in)) return nullptr;
    PyObject* line = readline_impl(in, -1);
    if (line != nullptr && PyBytes_GET_SIZE(line) == 0) {
        Py_DECREF(line);
        return nullptr; // StopIteration
    }
    return line;
}

PyObject* close(PyObject*, PyObject*)
{
    Py_RETURN_NONE;
} // the connection is not the app's
PyObject* readable(PyObject*, PyObject*)
{
    Py_RETURN_TRUE;
}

void dealloc(PyObject* self)
{
    PyTypeObject* type = Py_TYPE(self);
    PyMem_Free(as_input(self)->buf);
    type->tp_free(self);
    Py_DECREF(type);
}

PyMethodDef methods[] = {
    {"read", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(read)), METH_FASTCALL,
     "read(size=-1): at most size bytes; all the rest when size is negative or None"},
    {"readline", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(readline)),
     METH_FASTCALL, "readline(limit=-1): one line, at most limit bytes"},
    {"readlines", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(readlines)),
     METH_FASTCALL, "readlines(hint=-1): lines until their total size reaches hint"},
    {"close", close, METH_NOARGS, "does nothing: the gateway owns the connection"},
    {"readable", readable, METH_NOARGS, "True"},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(dealloc)},
    {Py_tp_iter, reinterpret_cast<void*>(PyObject_SelfIter)},
    {Py_tp_iternext, reinterpret_cast<void*>(iternext)},
    {Py_tp_methods, methods},
    {Py_tp_doc, const_cast<char*>("wsgi.input: the request body (PEP 3333)")},
    {0, nullptr},
};

PyType_Spec spec = {"wsgibridge.Input", sizeof(InputObject), 0, Py_TPFLAGS_DEFAULT, slots};

} // namespace

PyRef create_input_type()
{
    return PyRef::steal(PyType_FromSpec(&spec));
}

PyRef new_input(PyObject* type)
{
    auto* obj = PyObject_New(InputObject, reinterpret_cast<PyTypeObject*>(type));
    if (obj != nullptr) {
        obj->ctx = nullptr;
        obj->buf = nullptr;
        obj->pos = obj->len = 0;
        obj->eof = false;
    }
    return PyRef::steal(reinterpret_cast<PyObject*>(obj));
}

void attach_input(PyObject* obj, RequestContext& ctx) noexcept
{
    InputObject* in = as_input(obj);
    in->ctx = &ctx;
    in->pos = in->len = 0; // nothing read ahead from an earlier request's body survives
    in->eof = false;
}

bool detach_input(PyObject* obj) noexcept
{
    InputObject* in = as_input(obj);
    in->ctx = nullptr;
    in->pos = in->len = 0;
    return Py_REFCNT(obj) == 1; // only the caller's reference: the app kept none
}

} // namespace wsgibridge::py
