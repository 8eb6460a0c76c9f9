// An owning Python reference (pybind11's reinterpret_steal / reinterpret_borrow), so no
// code path needs a Py_DECREF ladder. Use only with the GIL held.
#pragma once

#include <Python.h>
#include <utility>

namespace wsgibridge::py {

class PyRef
{
public:
    PyRef() noexcept = default;
    /// Takes over a new reference (nullptr allowed: a failed call).
    static PyRef steal(PyObject* p) noexcept { return PyRef(p); }
    /// Adds a reference to a borrowed pointer.
    static PyRef borrow(PyObject* p) noexcept
    {
        Py_XINCREF(p);
        return PyRef(p);
    }

    PyRef(const PyRef& other) noexcept : p_(other.p_) { Py_XINCREF(p_); }
    PyRef(PyRef&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
    PyRef& operator=(PyRef other) noexcept
    {
        std::swap(p_, other.p_);
        return *this;
    }
    ~PyRef() { Py_XDECREF(p_); }

    PyObject* get() const noexcept { return p_; }
    /// Gives the reference to the caller (e.g. as a return value to Python).
    PyObject* release() noexcept { return std::exchange(p_, nullptr); }
    void reset() noexcept { Py_CLEAR(p_); }
    explicit operator bool() const noexcept { return p_ != nullptr; }

private:
    explicit PyRef(PyObject* p) noexcept : p_(p) {}
    PyObject* p_ = nullptr;
};

} // namespace wsgibridge::py
