// Loading applications (lib/wsgi/app_loader.cpp): module and file specs, shebang
// scripts, missing or non-callable objects, import errors with a one-line reason.
#include <filesystem>

#include "harness.hpp"
#include "process.hpp"

namespace wsgibridge::test {
namespace {

std::string load_error(std::string_view spec, LogCapture& log)
{
    try {
        WsgiApp app(interpreter(), spec_of(spec), {}, log.logger());
    } catch (const AppLoadError& e) {
        return e.what();
    }
    return "loaded";
}

MemorySink hello(WsgiApp& app)
{
    auto sink = serve(app, RequestBuilder("GET", "/"));
    EXPECT_EQ(sink.finish_calls, 1);
    return sink;
}

TEST(AppLoader, ModuleDefaultCallable)
{
    LogCapture log;
    WsgiApp app(interpreter(), spec_of("echo"), {}, log.logger());
    auto sink = hello(app);
    EXPECT_EQ(sink.header("X-Echo-Method"), "GET");
}

TEST(AppLoader, FileWithApplication)
{
    LogCapture log;
    WsgiApp app(interpreter(), spec_of((apps_dir() / "late_start.py").string()), {}, log.logger());
    EXPECT_EQ(hello(app).status_code, 201);
}

TEST(AppLoader, ShebangScriptAndAppFallback)
{
    TempDir dir;
    // A CGI-style script: '#!' line, no .py, callable named `app`, a sibling module.
    write_file(dir / "helper_mod_for_loader.py", "GREETING = b'from sibling'\n");
    write_file(dir / "hello.cgi",
               "#!/usr/bin/env python3\n"
               "import helper_mod_for_loader\n"
               "def app(environ, start_response):\n"
               "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
               "    return [helper_mod_for_loader.GREETING]\n",
               true);
    LogCapture log;
    WsgiApp app(interpreter(), spec_of((dir / "hello.cgi").string()), {}, log.logger());
    EXPECT_EQ(hello(app).body, "from sibling") << "the file's directory is on sys.path";
}

TEST(AppLoader, NamedCallableInFile)
{
    TempDir dir;
    write_file(dir / "site_app.py", "def make(environ, start_response):\n"
                                    "    start_response('200 OK', [])\n"
                                    "    return [b'made']\n"
                                    "class Holder:\n"
                                    "    inner = staticmethod(make)\n");
    LogCapture log;
    WsgiApp a(interpreter(), spec_of((dir / "site_app.py").string() + ":make"), {}, log.logger());
    EXPECT_EQ(hello(a).body, "made");
    WsgiApp b(interpreter(), spec_of((dir / "site_app.py").string() + ":Holder.inner"), {},
              log.logger());
    EXPECT_EQ(hello(b).body, "made");
}

TEST(AppLoader, FileNamedLikeAStdlibModule)
{
    TempDir dir;
    write_file(dir / "json.py", "import sys\n"
                                "def application(environ, start_response):\n"
                                "    start_response('200 OK', [])\n"
                                "    return [__name__.encode()]\n");
    LogCapture log;
    WsgiApp app(interpreter(), spec_of((dir / "json.py").string()), {}, log.logger());
    EXPECT_EQ(hello(app).body, "__wsgi_app_json") << "the stdlib json module is not replaced";
}

TEST(AppLoader, Errors)
{
    LogCapture log;
    EXPECT_EQ(load_error("no_such_module_xyz", log),
              "ModuleNotFoundError: No module named 'no_such_module_xyz'");
    EXPECT_NE(log.text().find("[error]"), std::string::npos);
    EXPECT_NE(log.text().find("cannot load the application 'no_such_module_xyz'"),
              std::string::npos)
        << log.text();
    EXPECT_EQ(load_error("/nonexistent/dir/app.py", log), "no such file: /nonexistent/dir/app.py");
    EXPECT_EQ(load_error("echo:nothing_here", log), "echo has no attribute 'nothing_here'");
    EXPECT_EQ(load_error("wsgi_cases:FILE_PATH", log),
              "wsgi_cases:FILE_PATH is not callable (it is a str)");

    TempDir dir;
    write_file(dir / "broken_app.py", "x = 1\nraise RuntimeError('broken at import')\n");
    write_file(dir / "empty_app.py", "x = 1\n");
    write_file(dir / "syntax_app.py", "def (:\n");
    EXPECT_EQ(load_error((dir / "broken_app.py").string(), log), "RuntimeError: broken at import");
    EXPECT_NE(log.text().find("Traceback"), std::string::npos) << "the traceback goes to the log";
    EXPECT_NE(log.text().find("broken_app.py\", line 2"), std::string::npos) << log.text();
    EXPECT_NE(load_error((dir / "empty_app.py").string(), log)
                  .find("defines neither 'application' nor 'app'"),
              std::string::npos);
    EXPECT_NE(load_error((dir / "syntax_app.py").string(), log).find("SyntaxError"),
              std::string::npos);
}

} // namespace
} // namespace wsgibridge::test
