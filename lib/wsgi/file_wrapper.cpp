#include "file_wrapper.hpp"

#include <structmember.h>

namespace wsgibridge::py {
namespace {

struct FileWrapperObject
{
    PyObject ob_base; // PyObject_HEAD, spelled out so clang-format keeps it
    PyObject* filelike;
    Py_ssize_t blksize;
};

FileWrapperObject* as_wrapper(PyObject* self)
{
    return reinterpret_cast<FileWrapperObject*>(self);
}

PyObject* tp_new(PyTypeObject* type, PyObject* args, PyObject* kwargs)
{
    static const char* names[] = {"filelike", "blksize", nullptr};
    PyObject* filelike;
    Py_ssize_t blksize = 8192;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|n:file_wrapper", const_cast<char**>(names),
                                     &filelike, &blksize))
        return nullptr;
    if (blksize <= 0)
        return PyErr_Format(PyExc_ValueError, "blksize must be positive, not %zd", blksize);
    auto* self = reinterpret_cast<FileWrapperObject*>(type->tp_alloc(type, 0));
    if (self == nullptr) return nullptr;
    Py_INCREF(filelike);
    self->filelike = filelike;
    self->blksize = blksize;
    return reinterpret_cast<PyObject*>(self);
}

PyObject* iternext(PyObject* self)
{
    auto* w = as_wrapper(self);
    if (w->filelike == nullptr) return nullptr;
    PyObject* data = PyObject_CallMethod(w->filelike, "read", "n", w->blksize);
    if (data == nullptr) return nullptr;
    Py_ssize_t n = PyObject_Length(data);
    if (n < 0) {
        PyErr_Clear(); // not sized: returned as is, the gateway reports it like any bad item
        return data;
    }
    if (n == 0) {
        Py_DECREF(data);
        return nullptr; // StopIteration
    }
    return data;
}

PyObject* close(PyObject* self, PyObject*)
{
    PyObject* filelike = as_wrapper(self)->filelike;
    if (filelike == nullptr || !PyObject_HasAttrString(filelike, "close")) Py_RETURN_NONE;
    return PyObject_CallMethod(filelike, "close", nullptr);
}

/// seek/tell/seekable (and anything else the wrapper lacks) come from the file, so
/// frameworks that inspect the returned object (Werkzeug's ranges) keep working.
PyObject* getattro(PyObject* self, PyObject* name)
{
    PyObject* found = PyObject_GenericGetAttr(self, name);
    if (found != nullptr || !PyErr_ExceptionMatches(PyExc_AttributeError)) return found;
    PyObject* filelike = as_wrapper(self)->filelike;
    if (filelike == nullptr || !PyUnicode_Check(name) || PyUnicode_GET_LENGTH(name) == 0 ||
        PyUnicode_READ_CHAR(name, 0) == '_')
        return nullptr; // dunder lookups must not reach the file
    PyErr_Clear();
    return PyObject_GetAttr(filelike, name);
}

int traverse(PyObject* self, visitproc visit, void* arg)
{
    Py_VISIT(as_wrapper(self)->filelike);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

int clear(PyObject* self)
{
    Py_CLEAR(as_wrapper(self)->filelike);
    return 0;
}

void dealloc(PyObject* self)
{
    PyTypeObject* type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    clear(self);
    type->tp_free(self);
    Py_DECREF(type);
}

PyMethodDef methods[] = {
    {"close", close, METH_NOARGS, "close the wrapped file"},
    {nullptr, nullptr, 0, nullptr},
};

PyMemberDef members[] = {
    {const_cast<char*>("filelike"), T_OBJECT, offsetof(FileWrapperObject, filelike), READONLY,
     nullptr},
    {const_cast<char*>("blksize"), T_PYSSIZET, offsetof(FileWrapperObject, blksize), READONLY,
     nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(tp_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(clear)},
    {Py_tp_getattro, reinterpret_cast<void*>(getattro)},
    {Py_tp_iter, reinterpret_cast<void*>(PyObject_SelfIter)},
    {Py_tp_iternext, reinterpret_cast<void*>(iternext)},
    {Py_tp_methods, methods},
    {Py_tp_members, members},
    {Py_tp_doc, const_cast<char*>("wsgi.file_wrapper(filelike, blksize=8192)")},
    {0, nullptr},
};

PyType_Spec spec = {"wsgibridge.FileWrapper", sizeof(FileWrapperObject), 0,
                    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, slots};

} // namespace

PyRef create_file_wrapper_type()
{
    return PyRef::steal(PyType_FromSpec(&spec));
}

PyObject* wrapped_file(PyObject* type, PyObject* obj) noexcept
{
    if (Py_TYPE(obj) != reinterpret_cast<PyTypeObject*>(type)) return nullptr;
    return as_wrapper(obj)->filelike;
}

} // namespace wsgibridge::py
