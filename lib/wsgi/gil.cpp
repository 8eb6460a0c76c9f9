#include "gil.hpp"

#include <atomic>

namespace wsgibridge::py {
namespace {

std::atomic<unsigned> generation{0};

/// This thread's kept thread state. At thread exit it is deleted through the
/// PyGILState_Release that balances the first Ensure, unless its interpreter is gone
/// (Py_FinalizeEx already freed every thread state).
struct KeptThreadState
{
    PyThreadState* state = nullptr;
    PyGILState_STATE outer{};
    unsigned generation = 0;

    ~KeptThreadState()
    {
        if (state == nullptr || generation != py::interpreter_generation()) return;
        PyEval_RestoreThread(state);
        PyGILState_Release(outer); // counter back to 0: clears and deletes the state
    }
};

thread_local KeptThreadState kept;

} // namespace

unsigned interpreter_generation() noexcept
{
    return generation.load(std::memory_order_acquire);
}

void bump_interpreter_generation() noexcept
{
    generation.fetch_add(1, std::memory_order_acq_rel);
}

GilAcquire::GilAcquire() noexcept : nested_(false)
{
    // Not PyGILState_Check(): it answers 1 whenever a sub-interpreter was ever created.
    PyThreadState* current = PyGILState_GetThisThreadState();
    if (current != nullptr && _PyThreadState_UncheckedGet() == current) {
        nested_ = true; // already holding the GIL (a nested call from Python)
        return;
    }
    if (kept.state != nullptr && kept.generation == interpreter_generation()) {
        PyEval_RestoreThread(kept.state);
        return;
    }
    kept.outer = PyGILState_Ensure();
    kept.state = PyThreadState_Get();
    kept.generation = interpreter_generation();
}

GilAcquire::~GilAcquire()
{
    if (!nested_) PyEval_SaveThread();
}

} // namespace wsgibridge::py
