// The GIL as RAII (after pybind11's gil.h). Python code runs with the GIL held; every
// blocking call (body reads, sink writes, sendfile) runs inside a GilRelease so other
// threads can run Python meanwhile. Never lock a C++ mutex while holding it.
#pragma once

#include <Python.h>

namespace wsgibridge::py {

/// Takes the GIL from any thread. Unlike a bare PyGILState_Ensure/Release pair, the
/// thread's Python thread state is created once and kept until the thread exits: a
/// CPython 3.11 thread state maps its own frame stack, so creating one per request
/// costs an mmap/munmap and page faults every time (measured: ~40% of a hello-world
/// request).
class GilAcquire
{
public:
    GilAcquire() noexcept;
    ~GilAcquire();
    GilAcquire(const GilAcquire&) = delete;
    GilAcquire& operator=(const GilAcquire&) = delete;

    /// The GIL was already held on entry (and stays held after this object goes).
    bool nested() const noexcept { return nested_; }

private:
    bool nested_; ///< the GIL was already held by this thread: nothing to do
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

/// Incremented by every Interpreter construction and destruction: a thread state kept
/// by a thread belongs to one generation and is never touched after it ended.
unsigned interpreter_generation() noexcept;
/// Called by Interpreter after initialising and before finalising.
void bump_interpreter_generation() noexcept;

} // namespace wsgibridge::py
