// Interpreter::fork_process: the pre-fork worker model loads the application once in
// the parent (copy-on-write sharing, gunicorn's preload_app) and forks the workers.
#include <Python.h>
#include <unistd.h>

#include "wsgibridge/invoker.hpp"

namespace wsgibridge {

int Interpreter::fork_process()
{
    // The constructing thread gave its thread state up after initialising; take it back
    // so the hooks run with the GIL held, as CPython requires.
    PyEval_RestoreThread(static_cast<PyThreadState*>(saved_thread_));
    PyOS_BeforeFork();
    pid_t pid = ::fork();
    if (pid == 0)
        PyOS_AfterFork_Child();
    else
        PyOS_AfterFork_Parent();
    saved_thread_ = PyEval_SaveThread();
    return pid;
}

} // namespace wsgibridge
