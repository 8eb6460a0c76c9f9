// Destruction order of the public objects (include/wsgibridge/interpreter.hpp,
// wsgi_app.hpp): a WsgiApp keeps its interpreter alive, so destroying the Interpreter
// first is safe, and the interpreter is finalised when the last of them goes. Its own
// executable: it creates and finalises interpreters itself.
#include "process.hpp"
#include "wsgibridge/call.hpp"
#include "wsgibridge/wsgi_app.hpp"

#include <gtest/gtest.h>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace wsgibridge::test {
namespace {

PythonOptions options()
{
    PythonOptions o;
    o.python_path.push_back((source_root() / "tests" / "apps").string());
    o.write_bytecode = false;
    return o;
}

AppSpec spec()
{
    return *AppSpec::parse("call_app:application");
}

int get_status(WsgiApp& app, std::string target)
{
    CallRequest req;
    req.target = std::move(target);
    return call(app, req).status;
}

TEST(Lifetime, InterpreterDestroyedBeforeItsApps)
{
    std::vector<std::string> lines;
    Logger log([&lines](LogLevel, std::string_view m) { lines.emplace_back(m); });

    auto interpreter = std::make_unique<Interpreter>(options());
    auto first = std::make_unique<WsgiApp>(*interpreter, spec(), WsgiOptions{}, log);
    auto second = std::make_unique<WsgiApp>(*interpreter, spec(), WsgiOptions{}, log);
    interpreter.reset(); // the "wrong" order: used to finalise Python under the apps

    // The apps still serve: they hold the interpreter.
    EXPECT_EQ(get_status(*first, "/hello"), 200);
    EXPECT_EQ(get_status(*second, "/stream"), 200);
    // And it is still the process's one interpreter: a new one is refused, clearly.
    try {
        Interpreter another(options());
        ADD_FAILURE() << "a second interpreter started while one is kept alive";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("kept alive by a WsgiApp"), std::string::npos)
            << e.what();
    }

    first.reset();
    EXPECT_EQ(get_status(*second, "/hello"), 200) << "one app going leaves the other working";
    second.reset(); // the last share: Python is finalised here

    // Finalised, so a new interpreter may start (and serve).
    Interpreter fresh(options());
    WsgiApp app(fresh, spec(), WsgiOptions{}, log);
    EXPECT_EQ(get_status(app, "/hello"), 200);
    for (const auto& line : lines)
        ADD_FAILURE() << "unexpected log line: " << line;
}

TEST(Lifetime, UsualOrderStillFinalisesAtTheInterpreter)
{
    Logger log([](LogLevel, std::string_view) {});
    {
        Interpreter interpreter(options());
        WsgiApp app(interpreter, spec(), WsgiOptions{}, log);
        EXPECT_EQ(get_status(app, "/hello"), 200);
    }                             // app first, then the interpreter
    Interpreter again(options()); // the previous one is gone
}

} // namespace
} // namespace wsgibridge::test
