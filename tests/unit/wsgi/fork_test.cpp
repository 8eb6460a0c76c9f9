// Interpreter::fork (lib/wsgi/interpreter.cpp): a preforked child serves requests and
// runs Python threads; the parent keeps serving too.
#include "harness.hpp"

#include <sys/wait.h>
#include <unistd.h>

namespace wsgibridge::test {
namespace {

class ForkTest : public CasesTest
{
};

TEST_F(ForkTest, ChildServesAndRunsThreads)
{
    get("/list"); // this thread has served before the fork (its kept thread state)
    int pid = interpreter().fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        RequestBuilder rb("GET", "/thread-check");
        MemoryBody body;
        MemorySink sink;
        app_->handle(rb.request(), body, sink);
        bool ok = sink.status_code == 200 && sink.finish_calls == 1 &&
                  sink.body == "thread ran in " + std::to_string(::getpid());
        ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_EQ(get("/thread-check").status_code, 200) << "the parent still serves";
}

} // namespace
} // namespace wsgibridge::test
