// Loading applications (lib/wsgi/app_loader.cpp): module and file specs, shebang
// scripts, missing or non-callable objects, import errors with a one-line reason.
#include "harness.hpp"
#include "process.hpp"

#include <filesystem>

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
    write_file(dir / "json.py", "import sys, json\n"
                                "def application(environ, start_response):\n"
                                "    start_response('200 OK', [])\n"
                                "    return [json.dumps([__name__]).encode()]\n");
    LogCapture log;
    WsgiApp app(interpreter(), spec_of((dir / "json.py").string()), {}, log.logger());
    auto body = hello(app).body;
    EXPECT_TRUE(body.starts_with("[\"_wsgi_bridge_")) << body << ": the stdlib json module is used";
}

// The file's module has a private name (mod_wsgi's `_mod_wsgi_<hash>` scheme): a file
// named like the package it imports must not stand in for that package. The package
// here is created for the test, so it is certainly not imported yet (the real
// frameworks below may have been imported by earlier tests of this process; wsgi-cgi's
// e2e tests cover the cold case with them).
TEST(AppLoader, FileNamedLikeThePackageItImports)
{
    TempDir dir;
    std::filesystem::create_directories(dir / "lib/shadowpkg_q7");
    write_file(dir / "lib/shadowpkg_q7/__init__.py", "");
    write_file(dir / "lib/shadowpkg_q7/conf.py", "VALUE = 'from the package'\n");
    std::filesystem::create_directories(dir / "site");
    const std::string body = "import sys\n"
                             "sys.path.append(" +
                             ("'" + (dir / "lib").string() + "'") +
                             ")\n"
                             "import shadowpkg_q7.conf\n"
                             "def application(environ, start_response):\n"
                             "    start_response('200 OK', [])\n"
                             "    return [shadowpkg_q7.conf.VALUE.encode()]\n";
    // Shebang-style (not importable by its file name) and .py (the directory on sys.path
    // holds a module of the package's name: the file itself).
    write_file(dir / "site/shadowpkg_q7.cgi", "#!/usr/bin/wsgi-cgi\n" + body, true);
    LogCapture log;
    WsgiApp cgi(interpreter(), spec_of((dir / "site/shadowpkg_q7.cgi").string()), {}, log.logger());
    EXPECT_EQ(hello(cgi).body, "from the package") << log.text();

    std::filesystem::create_directories(dir / "lib/shadowpkg_r8");
    write_file(dir / "lib/shadowpkg_r8/__init__.py", "VALUE = 'package r8'\n");
    write_file(dir / "site/shadowpkg_r8.py", "import sys\n"
                                             "sys.path.append('" +
                                                 (dir / "lib").string() +
                                                 "')\n"
                                                 "import shadowpkg_r8\n"
                                                 "def application(environ, start_response):\n"
                                                 "    start_response('200 OK', [])\n"
                                                 "    return [shadowpkg_r8.VALUE.encode()]\n");
    WsgiApp py(interpreter(), spec_of((dir / "site/shadowpkg_r8.py").string()), {}, log.logger());
    EXPECT_EQ(hello(py).body, "package r8") << log.text();
}

TEST(AppLoader, PrivateModuleNameFileAndNoMainBlock)
{
    TempDir dir;
    write_file(dir / "attrs_app.py",
               "import sys, pickle\n"
               "ran_main = False\n"
               "if __name__ == '__main__':\n"
               "    ran_main = True\n"
               "class Point:\n"
               "    def __init__(self, x): self.x = x\n"
               "def application(environ, start_response):\n"
               "    start_response('200 OK', [])\n"
               "    me = sys.modules[__name__]\n"
               "    p = pickle.loads(pickle.dumps(Point(7)))\n"
               "    count = sum(1 for e in sys.path if e == __file__.rpartition('/')[0])\n"
               "    return [f'{__name__}|{__file__}|{me.Point is Point}|{ran_main}|{p.x}|"
               "{count}'.encode()]\n");
    LogCapture log;
    WsgiApp app(interpreter(), spec_of((dir / "attrs_app.py").string()), {}, log.logger());
    auto body = hello(app).body;
    auto fields = body.substr(body.find('|'));
    EXPECT_TRUE(body.starts_with("_wsgi_bridge_")) << body;
    EXPECT_EQ(fields, "|" + (dir / "attrs_app.py").string() + "|True|False|7|1")
        << "__file__ set, registered in sys.modules, no __main__ block, picklable classes, "
           "the directory once on sys.path";
}

// `from app import x` in a sibling module (the circular-import layout Flask's tutorial
// used) gets the already loaded application module, not a second copy.
TEST(AppLoader, SiblingImportsTheAppByItsFileName)
{
    TempDir dir;
    write_file(dir / "stemapp_k3.py", "GREETING = b'one module'\n"
                                      "import views_k3\n"
                                      "def application(environ, start_response):\n"
                                      "    start_response('200 OK', [])\n"
                                      "    return [views_k3.greet()]\n");
    write_file(dir / "views_k3.py", "from stemapp_k3 import GREETING\n"
                                    "import stemapp_k3, sys\n"
                                    "def greet():\n"
                                    "    same = stemapp_k3 is sys.modules[stemapp_k3.__name__]\n"
                                    "    return GREETING + (b' same' if same else b' copy')\n");
    LogCapture log;
    WsgiApp app(interpreter(), spec_of((dir / "stemapp_k3.py").string()), {}, log.logger());
    EXPECT_EQ(hello(app).body, "one module same") << log.text();
}

// The real frameworks, named after themselves: Flask finds templates/ next to flask.py
// (root_path comes from the module's __file__), Django's submodules import.
TEST(AppLoader, FlaskPyAndDjangoCgiImportTheirFramework)
{
    TempDir dir;
    std::filesystem::create_directories(dir / "templates");
    std::filesystem::create_directories(dir / "static");
    write_file(dir / "templates/page.html", "hello {{ who }}");
    write_file(dir / "static/s.txt", "static file");
    write_file(dir / "flask.py", "from flask import Flask, render_template\n"
                                 "app = Flask(__name__)\n"
                                 "@app.route('/')\n"
                                 "def index():\n"
                                 "    return render_template('page.html', who='flask.py')\n");
    LogCapture log;
    WsgiApp flask(interpreter(), spec_of((dir / "flask.py").string()), {}, log.logger());
    EXPECT_EQ(hello(flask).body, "hello flask.py") << log.text();
    auto s = serve(flask, RequestBuilder("GET", "/static/s.txt"));
    EXPECT_EQ(s.body, "static file");

    write_file(dir / "django.cgi",
               "#!/usr/bin/wsgi-cgi\n"
               "import django\n"
               "from django.conf import global_settings\n"
               "from django.utils.html import escape\n"
               "def application(environ, start_response):\n"
               "    start_response('200 OK', [])\n"
               "    return [escape('<django>').encode()]\n",
               true);
    WsgiApp django(interpreter(), spec_of((dir / "django.cgi").string()), {}, log.logger());
    EXPECT_EQ(hello(django).body, "&lt;django&gt;") << log.text();
}

// gunicorn reads `myproject.wsgi:application` as Django's module myproject/wsgi.py;
// mod_wsgi names script files `site.wsgi`. The file wins when it exists.
TEST(AppLoader, DotWsgiIsTheModuleUnlessSuchAFileExists)
{
    TempDir dir;
    std::filesystem::create_directories(dir / "djproj_k3");
    write_file(dir / "djproj_k3/__init__.py", "");
    write_file(dir / "djproj_k3/wsgi.py", "def application(environ, start_response):\n"
                                          "    start_response('200 OK', [])\n"
                                          "    return [b'the module']\n");
    write_file(dir / "modwsgi_k3.wsgi", "def application(environ, start_response):\n"
                                        "    start_response('200 OK', [])\n"
                                        "    return [b'the file']\n");
    // Puts `dir` on sys.path, as --chdir/--pythonpath would for the module.
    write_file(dir / "path_k3.py", "import sys\nsys.path.insert(0, " +
                                       ("'" + dir.path().string() + "'") +
                                       ")\napplication = None\n");
    LogCapture log;
    EXPECT_NE(load_error((dir / "path_k3.py").string(), log), "loaded");

    struct InDir // the relative names resolve in `dir`; the next test gets its cwd back
    {
        std::filesystem::path back = std::filesystem::current_path();
        explicit InDir(const std::filesystem::path& d) { std::filesystem::current_path(d); }
        ~InDir() { std::filesystem::current_path(back); }
    } in_dir(dir.path());
    WsgiApp module(interpreter(), spec_of("djproj_k3.wsgi:application"), {}, log.logger());
    EXPECT_EQ(hello(module).body, "the module") << log.text();
    WsgiApp file(interpreter(), spec_of("modwsgi_k3.wsgi"), {}, log.logger());
    EXPECT_EQ(hello(file).body, "the file") << log.text();
    EXPECT_EQ(load_error("missing_k3.wsgi", log),
              "ModuleNotFoundError: No module named 'missing_k3' (and no file named "
              "missing_k3.wsgi)");
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
