#include "start_response.hpp"

#include "py_error.hpp"
#include "response.hpp"
#include "validate.hpp"

#include <cassert>
#include <structmember.h>

namespace wsgibridge::py {
namespace {

struct StartResponseObject
{
    PyObject ob_base; // PyObject_HEAD, spelled out so clang-format keeps it
    RequestContext* ctx;
    vectorcallfunc vectorcall; ///< called without building an argument tuple
    /// The write() callable handed out, made once and kept while the object is reused
    /// (a reference cycle, broken by detach_start_response when the object is not).
    PyObject* write;
};

StartResponseObject* as_start_response(PyObject* self)
{
    return reinterpret_cast<StartResponseObject*>(self);
}

RequestContext* context_of(PyObject* self, const char* what)
{
    auto* ctx = reinterpret_cast<StartResponseObject*>(self)->ctx;
    if (ctx == nullptr) PyErr_Format(PyExc_RuntimeError, "%s called after the request ended", what);
    return ctx;
}

/// Raises the error latin1_view found (kept out of line: the fast path stays small).
[[gnu::noinline, gnu::cold]] bool latin1_error(PyObject* s, const char* what)
{
    if (!PyUnicode_Check(s)) {
        PyErr_Format(PyExc_TypeError, "%s must be str, not %.200s: %R", what, Py_TYPE(s)->tp_name,
                     s);
        return false;
    }
    if (PyUnicode_READY(s) < 0) return false; // a legacy (wstr) string from old C code
    PyErr_Format(PyExc_ValueError,
                 "%s %R is not latin-1 (PEP 3333 headers are ISO-8859-1; encode other "
                 "text, e.g. RFC 8187 for filenames)",
                 what, s);
    return false;
}

/// PEP 3333 strings are native str holding only latin-1 code points; their 1-byte
/// representation IS the latin-1 encoding, so the view needs no copy.
[[gnu::always_inline]] inline bool latin1_view(PyObject* s, const char* what, std::string_view& out)
{
    // The usual case first: a compact ASCII str (every literal and str(int)).
    if (PyUnicode_Check(s) && PyUnicode_IS_COMPACT_ASCII(s)) {
        out = {static_cast<const char*>(PyUnicode_DATA(s)),
               static_cast<std::size_t>(PyUnicode_GET_LENGTH(s))};
        return true;
    }
    if (!PyUnicode_Check(s) || PyUnicode_READY(s) < 0 || PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND)
        return latin1_error(s, what);
    out = {static_cast<const char*>(PyUnicode_DATA(s)),
           static_cast<std::size_t>(PyUnicode_GET_LENGTH(s))};
    return true;
}

/// `name` (a valid token) is Content-Length, in any case. A token has no byte that
/// OR 0x20 turns into a lower-case letter or '-' unless it is that letter (either
/// case) or '-', so the one-instruction fold is exact here.
bool is_content_length(std::string_view name) noexcept
{
    static constexpr std::string_view lower = "content-length";
    if (name.size() != lower.size()) return false;
    for (std::size_t i = 0; i < lower.size(); ++i)
        if ((static_cast<unsigned char>(name[i]) | 0x20) != static_cast<unsigned char>(lower[i]))
            return false;
    return true;
}

bool invalid(PyObject* exc, const char* what, PyObject* value, std::string_view reason)
{
    // The reasons are string literals, so data() is NUL-terminated.
    PyErr_Format(exc, "%s %R: %s", what, value, reason.data());
    return false;
}

/// Validates the status and every header into `staged`; on failure `staged` holds a
/// partial head the caller drops.
bool stage_head(PyObject* status, PyObject* headers, ResponseState& staged, HeaderNameCache* names)
{
    if (names && names->is_last_status(status, staged.code)) {
        // The status object validated last time (an app's "200 OK" literal).
        staged.status = {static_cast<const char*>(PyUnicode_DATA(status)),
                         static_cast<std::size_t>(PyUnicode_GET_LENGTH(status))};
    } else {
        if (!latin1_view(status, "status", staged.status)) return false;
        if (auto why = wsgi::check_status(staged.status, staged.code); !why.empty())
            return invalid(PyExc_ValueError, "status", status, why);
        if (names && PyUnicode_CheckExact(status)) names->set_last_status(status, staged.code);
    }
    staged.status_ref = PyRef::borrow(status);

    if (!PyList_Check(headers))
        return invalid(PyExc_TypeError, "response_headers", headers,
                       "must be a list of (name, value) tuples");
    bool keep_length = wsgi::status_allows_content_length(staged.code);
    Py_ssize_t n = PyList_GET_SIZE(headers);
    for (Py_ssize_t i = 0; i < n; ++i) {
        PyObject* item = PyList_GET_ITEM(headers, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2)
            return invalid(PyExc_TypeError, "header", item,
                           "must be a (name, value) tuple of two str");
        Header h;
        PyObject* name = PyTuple_GET_ITEM(item, 0);
        PyObject* value = PyTuple_GET_ITEM(item, 1);
        const HeaderNameCache::Entry* known = names ? names->find(name) : nullptr;
        bool content_length;
        if (known) {
            // Validated before: an exact, ready, 1-byte str (latin1_view's fast path).
            h.name = {static_cast<const char*>(PyUnicode_DATA(name)),
                      static_cast<std::size_t>(PyUnicode_GET_LENGTH(name))};
            if (!latin1_view(value, "header value", h.value)) return false;
            if (auto why = wsgi::check_header_value(h.value); !why.empty())
                return invalid(PyExc_ValueError, "header value", item, why);
            content_length = known->content_length;
        } else {
            if (!latin1_view(name, "header name", h.name) ||
                !latin1_view(value, "header value", h.value))
                return false;
            if (auto why = wsgi::check_header_name(h.name); !why.empty())
                return invalid(PyExc_ValueError, "header name", name, why);
            if (auto why = wsgi::check_header_value(h.value); !why.empty())
                return invalid(PyExc_ValueError, "header value", item, why);
            if (wsgi::is_hop_by_hop(h.name))
                return invalid(PyExc_ValueError, "header", item,
                               "is hop-by-hop: the gateway owns the connection (PEP 3333)");
            content_length = is_content_length(h.name);
            if (names && PyUnicode_CheckExact(name)) names->add(name, content_length);
        }
        if (content_length) {
            auto length = wsgi::parse_content_length(h.value);
            if (!length)
                return invalid(PyExc_ValueError, "header", item, "Content-Length is not a number");
            if (staged.content_length && *staged.content_length != *length)
                return invalid(PyExc_ValueError, "header", item,
                               "contradicts an earlier Content-Length");
            if (staged.content_length) continue; // a repeat of the same value: send it once
            if (!keep_length) continue;          // 1xx and 204 carry no Content-Length
            staged.content_length = length;
        }
        staged.refs.push_back(PyRef::borrow(item));
        staged.headers.push_back(h);
    }
    return true;
}

/// Re-raises exc_info (PEP 3333: the head is already sent, the app must see its error).
PyObject* reraise(PyObject* exc_info)
{
    if (!PyTuple_Check(exc_info) || PyTuple_GET_SIZE(exc_info) != 3) {
        invalid(PyExc_TypeError, "exc_info", exc_info, "must be a (type, value, traceback) tuple");
        return nullptr;
    }
    PyObject* type = PyTuple_GET_ITEM(exc_info, 0);
    PyObject* value = PyTuple_GET_ITEM(exc_info, 1);
    PyObject* tb = PyTuple_GET_ITEM(exc_info, 2);
    if (!PyExceptionClass_Check(type) || !PyExceptionInstance_Check(value)) {
        invalid(PyExc_TypeError, "exc_info", exc_info, "must come from sys.exc_info()");
        return nullptr;
    }
    Py_INCREF(type);
    Py_INCREF(value);
    Py_XINCREF(tb == Py_None ? nullptr : tb);
    PyErr_Restore(type, value, tb == Py_None ? nullptr : tb);
    return nullptr;
}

PyObject* write_fn(PyObject* self, PyObject* data)
{
    RequestContext* ctx = context_of(self, "write()");
    if (ctx == nullptr) return nullptr;
    auto& r = ctx->resp;
    if (!ctx->app_running)
        return PyErr_Format(PyExc_RuntimeError,
                            "write() called after the application returned (PEP 3333: yield the "
                            "rest of the body from the iterable)");
    if (!PyBytes_Check(data))
        return PyErr_Format(PyExc_TypeError, "write() argument must be bytes, not %.200s",
                            Py_TYPE(data)->tp_name);
    if (!r.head_ready())
        return PyErr_Format(PyExc_RuntimeError, "write() called before start_response()");
    r.write_used = true;
    std::string_view bytes(PyBytes_AS_STRING(data),
                           static_cast<std::size_t>(PyBytes_GET_SIZE(data)));
    // write(b"") must not send the head (uWSGI, gunicorn and wsgiref do).
    if (bytes.empty()) Py_RETURN_NONE;
    if (write_body(*ctx, bytes) == Sent::failed)
        return PyErr_Format(PyExc_OSError, "write() failed: the client is gone (%s)",
                            ctx->sink_error.message().c_str());
    Py_RETURN_NONE;
}

PyMethodDef write_def = {"write", write_fn, METH_O, "write(data: bytes): send data now (PEP 3333)"};

/// start_response(status, headers, exc_info=None), arguments by position or name.
bool parse_args(PyObject* const* args, std::size_t nargs, PyObject* kwnames, PyObject* (&out)[3])
{
    static const char* names[] = {"status", "headers", "exc_info"};
    out[0] = out[1] = nullptr;
    out[2] = Py_None;
    if (nargs > 3) {
        PyErr_Format(PyExc_TypeError, "start_response() takes at most 3 arguments (%zu given)",
                     nargs);
        return false;
    }
    for (std::size_t i = 0; i < nargs; ++i)
        out[i] = args[i];
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; ++k) {
        PyObject* name = PyTuple_GET_ITEM(kwnames, k);
        std::size_t i = 0;
        while (i < 3 && PyUnicode_CompareWithASCIIString(name, names[i]) != 0)
            ++i;
        if (i == 3 || (i < nargs)) {
            PyErr_Format(PyExc_TypeError,
                         "start_response() got an unexpected or repeated argument %R", name);
            return false;
        }
        out[i] = args[nargs + static_cast<std::size_t>(k)];
    }
    if (out[0] == nullptr || out[1] == nullptr) {
        PyErr_SetString(PyExc_TypeError, "start_response() needs status and headers");
        return false;
    }
    return true;
}

PyObject* vectorcall(PyObject* self, PyObject* const* args, std::size_t nargsf, PyObject* kwnames)
{
    RequestContext* ctx = context_of(self, "start_response()");
    if (ctx == nullptr) return nullptr;
    PyObject* parsed[3];
    if (!parse_args(args, PyVectorcall_NARGS(nargsf), kwnames, parsed)) return nullptr;
    PyObject *status = parsed[0], *headers = parsed[1], *exc_info = parsed[2];
    auto& r = ctx->resp;
    // sys.exc_info() outside an except block is (None, None, None): no error to report.
    if (PyTuple_Check(exc_info) && PyTuple_GET_SIZE(exc_info) > 0 &&
        PyTuple_GET_ITEM(exc_info, 0) == Py_None)
        exc_info = Py_None;
    if (exc_info != Py_None) {
        if (r.head_sent()) return reraise(exc_info);
        // Before the head is sent, an error page may replace the head (PEP 3333).
    } else if (r.start_called()) {
        return PyErr_Format(PyExc_RuntimeError,
                            "start_response() called a second time without exc_info");
    }
    if (r.phase == Phase::no_head) {
        // The first call: nothing to keep, so validate straight into the state.
        r.phase = Phase::bad_head; // until the head validates
        if (!stage_head(status, headers, r, ctx->header_names)) {
            r.drop_head();
            return nullptr;
        }
    } else {
        // exc_info replacing a head (held or bad): a bad new head must leave the held one.
        static thread_local ResponseState staged;
        staged.reset();
        if (!stage_head(status, headers, staged, ctx->header_names)) {
            staged.reset();
            return nullptr;
        }
        r.status_ref = std::move(staged.status_ref);
        r.status = staged.status;
        r.code = staged.code;
        r.refs.swap(staged.refs);
        r.headers.swap(staged.headers);
        r.content_length = staged.content_length;
        staged.reset();
    }
    r.phase = Phase::head_held;
    auto* obj = as_start_response(self);
    if (obj->write == nullptr) obj->write = PyCFunction_New(&write_def, self);
    return Py_XNewRef(obj->write);
}

void dealloc(PyObject* self)
{
    PyTypeObject* type = Py_TYPE(self);
    // write() holds the object, so a live write() means no dealloc: nothing to drop.
    assert(as_start_response(self)->write == nullptr);
    type->tp_free(self);
    Py_DECREF(type); // instances of heap types own a reference to their type
}

PyMemberDef members[] = {
    {const_cast<char*>("__vectorcalloffset__"), T_PYSSIZET,
     offsetof(StartResponseObject, vectorcall), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(dealloc)},
    {Py_tp_call, reinterpret_cast<void*>(PyVectorcall_Call)},
    {Py_tp_members, members},
    {Py_tp_doc, const_cast<char*>("start_response(status, headers, exc_info=None) (PEP 3333)")},
    {0, nullptr},
};

PyType_Spec spec = {"wsgibridge.StartResponse", sizeof(StartResponseObject), 0,
                    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL, slots};

} // namespace

PyRef create_start_response_type()
{
    return PyRef::steal(PyType_FromSpec(&spec));
}

PyRef new_start_response(PyObject* type)
{
    auto* obj = PyObject_New(StartResponseObject, reinterpret_cast<PyTypeObject*>(type));
    if (obj != nullptr) {
        obj->ctx = nullptr;
        obj->vectorcall = vectorcall;
        obj->write = nullptr;
    }
    return PyRef::steal(reinterpret_cast<PyObject*>(obj));
}

void attach_start_response(PyObject* obj, RequestContext& ctx) noexcept
{
    as_start_response(obj)->ctx = &ctx;
}

bool detach_start_response(PyObject* obj, bool keep) noexcept
{
    auto* sr = as_start_response(obj);
    sr->ctx = nullptr;
    // Reusable only if no one else can reach it: the caller's reference (and the one
    // write() holds), and write() held by nothing but the object.
    PyObject* write = sr->write;
    bool alone =
        write == nullptr ? Py_REFCNT(obj) == 1 : Py_REFCNT(obj) == 2 && Py_REFCNT(write) == 1;
    if (keep && alone) return true;
    // Kept by the app (or going): break the cycle; an app holding write() keeps the
    // object alive through it, detached.
    Py_CLEAR(sr->write);
    return false;
}

} // namespace wsgibridge::py
