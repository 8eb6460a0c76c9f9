// The GIL as RAII (after pybind11's gil.h). Python code runs with the GIL held; every
// blocking call (body reads, sink writes, sendfile) runs inside a GilRelease so other
// threads can run Python meanwhile. Never lock a C++ mutex while holding the GIL.
#pragma once

#include <Python.h>

namespace wsgibridge::py {

/// Takes the GIL from any thread (creating its thread state on first use).
class GilAcquire
{
public:
    GilAcquire() noexcept : state_(PyGILState_Ensure()) {}
    ~GilAcquire() { PyGILState_Release(state_); }
    GilAcquire(const GilAcquire&) = delete;
    GilAcquire& operator=(const GilAcquire&) = delete;

private:
    PyGILState_STATE state_;
};

/// Gives the GIL up for a scope. Precondition: the GIL is held by this thread.
class GilRelease
{
public:
    GilRelease() noexcept : saved_(PyEval_SaveThread()) {}
    ~GilRelease() { PyEval_RestoreThread(saved_); }
    GilRelease(const GilRelease&) = delete;
    GilRelease& operator=(const GilRelease&) = delete;

private:
    PyThreadState* saved_;
};

/// Runs `fn` with the GIL released and returns its result.
template <class Fn>
auto without_gil(Fn&& fn) -> decltype(fn())
{
    GilRelease released;
    return fn();
}

} // namespace wsgibridge::py
