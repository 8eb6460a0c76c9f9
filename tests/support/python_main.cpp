// gtest main for the 'python' suite: one Interpreter for the whole run (CPython cannot
// be initialised twice reliably), with tests/apps on sys.path.
#include "python_main.hpp"

#include <cstdlib>
#include <gtest/gtest.h>
#include <memory>

namespace wsgibridge::test {
namespace {
Interpreter* the_interpreter = nullptr;
}

Interpreter& interpreter()
{
    return *the_interpreter;
}

std::filesystem::path apps_dir()
{
    const char* root = std::getenv("WSGIBRIDGE_SOURCE_ROOT");
    return std::filesystem::path(root ? root : ".") / "tests" / "apps";
}

} // namespace wsgibridge::test

int main(int argc, char** argv)
{
    ::testing::InitGoogleTest(&argc, argv);
    wsgibridge::PythonOptions options;
    options.python_path.push_back(wsgibridge::test::apps_dir().string());
    options.write_bytecode = false; // keep the source tree clean
    auto interpreter = std::make_unique<wsgibridge::Interpreter>(options);
    wsgibridge::test::the_interpreter = interpreter.get();
    int status = RUN_ALL_TESTS();
    wsgibridge::test::the_interpreter = nullptr;
    return status;
}
