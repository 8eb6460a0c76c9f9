// The built wsgi-cgi program run directly, as a web server would: a crafted CGI
// environment, the body on stdin, the response read from stdout.
#include "process.hpp"

#include <gtest/gtest.h>
#include <string>
#include <thread>

using namespace wsgibridge::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string wsgi_cgi()
{
    return (build_root() / "cli" / "wsgi-cgi").string();
}
std::string unit_app()
{
    return (source_root() / "tests/apps/cgi_unit_app.py").string();
}

SpawnOptions cgi_env(const std::string& method, const std::string& path_info,
                     std::map<std::string, std::string> extra = {})
{
    SpawnOptions o;
    o.env = {{"GATEWAY_INTERFACE", "CGI/1.1"},
             {"REQUEST_METHOD", method},
             {"SCRIPT_NAME", "/app.cgi"},
             {"PATH_INFO", path_info},
             {"QUERY_STRING", ""},
             {"SERVER_NAME", "localhost"},
             {"SERVER_PORT", "80"},
             {"SERVER_PROTOCOL", "HTTP/1.1"},
             {"REMOTE_ADDR", "127.0.0.1"}};
    for (auto& [k, v] : extra)
        o.env[k] = v;
    o.unset_env = {"CONTENT_LENGTH", "CONTENT_TYPE", "REQUEST_URI", "HTTP_PROXY", "HTTPS"};
    return o;
}

CommandResult run_app(const SpawnOptions& o, const std::string& input = {},
                      std::vector<std::string> args = {})
{
    std::vector<std::string> argv{wsgi_cgi()};
    if (args.empty()) args = {unit_app()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, input, o, 20s);
}

std::string body_of(const std::string& out)
{
    auto end = out.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : out.substr(end + 4);
}

} // namespace

TEST(WsgiCgi, ServesAGet)
{
    auto r = run_app(cgi_env("GET", "/"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("Status: 200 OK\r\n")) << r.out << r.err;
    EXPECT_EQ(body_of(r.out), "hello\n");
}

TEST(WsgiCgi, PostReadsExactlyContentLength)
{
    // More bytes on stdin than announced: the app sees exactly CONTENT_LENGTH.
    auto r =
        run_app(cgi_env("POST", "/post", {{"CONTENT_LENGTH", "5"}, {"CONTENT_TYPE", "text/plain"}}),
                "hello, and bytes the server never announced");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(body_of(r.out), "got hello") << r.out << r.err;
}

TEST(WsgiCgi, ShortBodyIs400)
{
    auto r = run_app(cgi_env("POST", "/post", {{"CONTENT_LENGTH", "50"}}), "short");
    EXPECT_TRUE(r.out.starts_with("Status: 400 ")) << r.out << r.err;
}

TEST(WsgiCgi, OversizedBodyIs413NamingTheOption)
{
    auto r = run_app(cgi_env("POST", "/post", {{"CONTENT_LENGTH", "20"}}), std::string(20, 'x'),
                     {"--max-body", "10", unit_app()});
    EXPECT_TRUE(r.out.starts_with("Status: 413 ")) << r.out << r.err;
    EXPECT_NE(r.err.find("--max-body"), std::string::npos) << r.err;
}

TEST(WsgiCgi, PrintDoesNotCorruptTheResponse)
{
    auto r = run_app(cgi_env("GET", "/print"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("Status: 200 OK\r\n")) << r.out;
    EXPECT_EQ(body_of(r.out), "printed\n");
    EXPECT_NE(r.err.find("stray print to stdout"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("raw write to fd 1"), std::string::npos) << r.err;
}

TEST(WsgiCgi, ExceptionIs500WithTheTracebackOnStderrOnly)
{
    auto r = run_app(cgi_env("GET", "/raise"));
    EXPECT_TRUE(r.out.starts_with("Status: 500 ")) << r.out << r.err;
    EXPECT_EQ(r.out.find("secret-value-in-traceback"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("secret-value-in-traceback"), std::string::npos) << r.err;
}

TEST(WsgiCgi, ImportErrorIs500AndExit3)
{
    TempDir dir;
    write_file(dir / "broken.py", "import module_that_does_not_exist_anywhere\n");
    auto r = run_app(cgi_env("GET", "/"), {}, {(dir / "broken.py").string()});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_TRUE(r.out.starts_with("Status: 500 ")) << r.out;
    EXPECT_NE(r.err.find("module_that_does_not_exist_anywhere"), std::string::npos) << r.err;
}

TEST(WsgiCgi, TerminalModeExplainsAndExits2)
{
    SpawnOptions o;
    o.unset_env = {"REQUEST_METHOD"};
    auto r = run_command({wsgi_cgi(), unit_app()}, {}, o, 10s);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("REQUEST_METHOD=GET"), std::string::npos) << r.err;
}

TEST(WsgiCgi, HttpoxyNeverReachesTheAppOrItsChildren)
{
    auto env =
        cgi_env("GET", "/environ", {{"HTTP_PROXY", "http://evil:1"}, {"HTTP_X_TEST", "yes"}});
    env.unset_env.clear();
    auto r = run_app(env);
    std::string body = body_of(r.out);
    EXPECT_NE(body.find("HTTP_PROXY=<absent>\n"), std::string::npos) << r.out << r.err;
    EXPECT_NE(body.find("os.environ.HTTP_PROXY=<absent>"), std::string::npos) << body;
    EXPECT_NE(body.find("HTTP_X_TEST=yes\n"), std::string::npos) << body;
    EXPECT_NE(body.find("\nPATH=<absent>\n"), std::string::npos) << body;
    EXPECT_NE(body.find("wsgi.run_once=True\n"), std::string::npos) << body;
    EXPECT_NE(body.find("wsgi.multithread=False\n"), std::string::npos) << body;
    EXPECT_NE(body.find("wsgi.multiprocess=True\n"), std::string::npos) << body;
    EXPECT_NE(body.find("REQUEST_URI=/app.cgi/environ\n"), std::string::npos) << body;

    auto child = run_app(cgi_env("GET", "/child", {{"HTTP_PROXY", "http://evil:1"}}));
    EXPECT_EQ(body_of(child.out), "child is clean") << child.out << child.err;
}

TEST(WsgiCgi, AtexitCallbacksRunAfterTheResponse)
{
    TempDir dir;
    auto marker = (dir / "marker").string();
    auto r = run_app(cgi_env("GET", "/atexit", {{"QUERY_STRING", marker}}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(body_of(r.out), "registered\n");
    EXPECT_EQ(read_file(marker), "ran");
    EXPECT_NE(r.err.find("atexit callback ran"), std::string::npos) << r.err;
}

TEST(WsgiCgi, ShebangModeWithOptionsOnTheShebangLine)
{
    TempDir dir;
    write_file(dir / "app.cgi", "#!" + wsgi_cgi() + " --max-body 100\n" + read_file(unit_app()),
               /*executable=*/true);
    auto ok = run_command({(dir / "app.cgi").string()}, {}, cgi_env("GET", "/created"), 20s);
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_TRUE(ok.out.starts_with("Status: 201 Created\r\nLocation: /items/5\r\n"))
        << ok.out << ok.err;

    auto big = run_command({(dir / "app.cgi").string()}, std::string(200, 'x'),
                           cgi_env("POST", "/post", {{"CONTENT_LENGTH", "200"}}), 20s);
    EXPECT_TRUE(big.out.starts_with("Status: 413 ")) << big.out << big.err;
}

TEST(WsgiCgi, QueryWordsAppendedByTheServerAreNotOptions)
{
    // Apache passes "?--app%3Dos:system" as the argument "--app=os:system" after the script.
    auto r = run_app(cgi_env("GET", "/", {{"QUERY_STRING", "--app%3Dos:system"}}), {},
                     {unit_app(), "--app=os:system"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(body_of(r.out), "hello\n") << r.out << r.err;
}

TEST(WsgiCgi, NphFlagWritesAStatusLine)
{
    auto r = run_app(cgi_env("GET", "/"), {}, {"--nph", unit_app()});
    EXPECT_TRUE(r.out.starts_with("HTTP/1.1 200 OK\r\nDate: ")) << r.out << r.err;
}

TEST(WsgiCgi, HeadHasNoBody)
{
    auto r = run_app(cgi_env("HEAD", "/"));
    EXPECT_TRUE(r.out.starts_with("Status: 200 OK\r\n")) << r.out << r.err;
    EXPECT_EQ(body_of(r.out), "");
}

TEST(WsgiCgi, PythonPathFromTheEnvironmentForShebangScripts)
{
    TempDir dir;
    write_file(dir / "lib/greeting.py", "TEXT = b'from the pythonpath\\n'\n");
    write_file(dir / "site/app.cgi",
               "#!" + wsgi_cgi() +
                   "\n"
                   "from greeting import TEXT\n"
                   "def application(environ, start_response):\n"
                   "    start_response('200 OK', [])\n"
                   "    return [TEXT]\n",
               /*executable=*/true);
    auto without = run_command({(dir / "site/app.cgi").string()}, {}, cgi_env("GET", "/"), 20s);
    EXPECT_TRUE(without.out.starts_with("Status: 500 ")) << without.out;
    auto with = run_command(
        {(dir / "site/app.cgi").string()}, {},
        cgi_env("GET", "/", {{"WSGI_CGI_PYTHONPATH", "/nonexistent:" + (dir / "lib").string()}}),
        20s);
    EXPECT_EQ(with.exit_code, 0) << with.err;
    EXPECT_EQ(body_of(with.out), "from the pythonpath\n") << with.out << with.err;
}

TEST(WsgiCgi, ChunksLeaveAsTheAppYieldsThem)
{
    // The app yields "one", sleeps a second, yields "two": "one" must be on stdout while
    // the process is still in its sleep (no buffering of the response).
    TempDir dir;
    auto o = cgi_env("GET", "/stream");
    o.stdout_file = dir / "out";
    ChildProcess child({wsgi_cgi(), unit_app()}, o);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    std::string seen;
    while (std::chrono::steady_clock::now() < deadline) {
        seen = read_file(dir / "out");
        if (seen.find("one\n") != std::string::npos) break;
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(seen.ends_with("\r\n\r\none\n")) << seen;
    EXPECT_TRUE(child.running());
    EXPECT_EQ(child.wait(10s), 0);
    EXPECT_TRUE(read_file(dir / "out").ends_with("one\ntwo\n"));
}

// A shebang script named like the framework it imports (django.cgi, flask.py), run as the
// web server runs it: exec'd directly, in its own directory. Each process is a first
// import of the framework, so the file must not stand in for the package (it is loaded
// under a private module name), and Flask finds templates/ and static/ next to it.
TEST(WsgiCgi, ScriptNamedLikeItsFramework)
{
    TempDir dir;
    write_file(dir / "templates/page.html", "hello {{ who }}");
    write_file(dir / "static/s.txt", "static next to flask.py");
    write_file(dir / "flask.py",
               "#!" + wsgi_cgi() +
                   "\n"
                   "from flask import Flask, render_template\n"
                   "app = Flask(__name__)\n"
                   "@app.route('/')\n"
                   "def index():\n"
                   "    return render_template('page.html', who='flask.py')\n",
               /*executable=*/true);
    auto o = cgi_env("GET", "/");
    o.cwd = dir.path();
    auto page = run_command({(dir / "flask.py").string()}, {}, o, 20s);
    EXPECT_EQ(page.exit_code, 0) << page.err;
    EXPECT_EQ(body_of(page.out), "hello flask.py") << page.out << page.err;
    auto file = run_command(
        {(dir / "flask.py").string()}, {},
        [&] {
            auto s = cgi_env("GET", "/static/s.txt");
            s.cwd = dir.path();
            return s;
        }(),
        20s);
    EXPECT_EQ(body_of(file.out), "static next to flask.py") << file.out << file.err;

    // A complete Django project in one file: the URLconf is the script's own module.
    write_file(dir / "django.cgi",
               "#!" + wsgi_cgi() +
                   "\n"
                   "import django\n"
                   "from django.conf import settings\n"
                   "from django.http import HttpResponse\n"
                   "from django.urls import path\n"
                   "settings.configure(DEBUG=False, ALLOWED_HOSTS=['*'], ROOT_URLCONF=__name__,\n"
                   "                   SECRET_KEY='test', MIDDLEWARE=[])\n"
                   "def hello(request):\n"
                   "    return HttpResponse('django.cgi says ' + request.path_info)\n"
                   "urlpatterns = [path('hi', hello)]\n"
                   "from django.core.wsgi import get_wsgi_application\n"
                   "application = get_wsgi_application()\n",
               /*executable=*/true);
    auto d = cgi_env("GET", "/hi", {{"SCRIPT_NAME", "/django.cgi"}});
    d.cwd = dir.path();
    auto dj = run_command({(dir / "django.cgi").string()}, {}, d, 20s);
    EXPECT_EQ(dj.exit_code, 0) << dj.err;
    EXPECT_EQ(body_of(dj.out), "django.cgi says /hi") << dj.out << dj.err;
}

// wsgi-cgi starts Python without `site` but adds what `site` adds for /usr/bin/python3:
// the user site-packages (~/.local/lib/python3.11/site-packages, with the directories
// its .pth files name and their import lines run), then Debian's dist-packages, in the
// same order. (Under suexec there is no HOME: cgi_apache_suexec covers the user
// database lookup.)
TEST(WsgiCgi, UserSitePackagesAsSiteAddsThem)
{
    TempDir dir;
    const auto user_site = dir / "home/.local/lib/python3.11/site-packages";
    write_file(user_site / "usersitepkg_t1/__init__.py", "VALUE = 'user site'\n");
    write_file(dir / "pthdir/pthmod_t1.py", "VALUE = 'pth dir'\n");
    write_file(user_site / "t1.pth",
               "# comment\n\n" + (dir / "pthdir").string() + "\nimport sys; sys.t1 = 1\n");
    write_file(dir / "site/app.cgi",
               "#!" + wsgi_cgi() +
                   "\n"
                   "import sys, usersitepkg_t1, pthmod_t1\n"
                   "def application(environ, start_response):\n"
                   "    start_response('200 OK', [])\n"
                   "    return ['\\n'.join(sys.path[1:] + [usersitepkg_t1.VALUE, pthmod_t1.VALUE,\n"
                   "                      str(sys.t1)]).encode()]\n",
               /*executable=*/true);
    auto o = cgi_env("GET", "/", {{"HOME", (dir / "home").string()}});
    o.cwd = dir / "site";
    auto r = run_command({(dir / "site/app.cgi").string()}, {}, o, 20s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto reference =
        run_command({system_python, "-c", "import sys; print('\\n'.join(sys.path[1:]))"}, {}, o);
    EXPECT_EQ(body_of(r.out), reference.out + "user site\npth dir\n1") << r.err;

    // WSGI_CGI_PYTHONUSERBASE moves the base (PYTHONUSERBASE is not read: isolated).
    fs::rename(dir / "home/.local", dir / "base");
    auto moved = cgi_env("GET", "/",
                         {{"HOME", (dir / "home").string()},
                          {"PYTHONUSERBASE", (dir / "nowhere").string()},
                          {"WSGI_CGI_PYTHONUSERBASE", (dir / "base").string()}});
    moved.cwd = dir / "site";
    auto m = run_command({(dir / "site/app.cgi").string()}, {}, moved, 20s);
    EXPECT_EQ(m.exit_code, 0) << m.err;
    EXPECT_NE(body_of(m.out).find("user site\npth dir\n1"), std::string::npos) << m.out << m.err;
}

TEST(WsgiCgi, PythonHashSeedAsPython3ReadsIt)
{
    // The isolated interpreter reads no PYTHON* variable but this one: with a fixed seed
    // str hashes (dict and set orders) are those of python3 under the same seed.
    TempDir dir;
    write_file(dir / "hash_app.py",
               "def application(environ, start_response):\n"
               "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
               "    return [str(hash('wsgi-bridge')).encode()]\n");
    for (std::string seed : {"0", "4294967295"}) {
        auto r = run_app(cgi_env("GET", "/", {{"PYTHONHASHSEED", seed}}), {},
                         {(dir / "hash_app.py").string()});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        SpawnOptions python;
        python.env = {{"PYTHONHASHSEED", seed}};
        auto reference =
            run_command({system_python, "-c", "print(hash('wsgi-bridge'), end='')"}, {}, python);
        ASSERT_EQ(reference.exit_code, 0) << reference.err;
        EXPECT_EQ(body_of(r.out), reference.out) << "PYTHONHASHSEED=" << seed << "\n" << r.err;
    }
    // Unset and "random": a seed of its own per process, as python3 (two runs differ).
    auto a = run_app(cgi_env("GET", "/", {{"PYTHONHASHSEED", "random"}}), {},
                     {(dir / "hash_app.py").string()});
    auto b = run_app(cgi_env("GET", "/", {{"PYTHONHASHSEED", "random"}}), {},
                     {(dir / "hash_app.py").string()});
    EXPECT_NE(body_of(a.out), body_of(b.out)) << a.err << b.err;
}

TEST(WsgiCgi, BadPythonHashSeedStopsTheProgram)
{
    // python3 refuses to start with a seed it cannot read; so do we, naming the variable.
    for (std::string seed : {"-1", "4294967296", "12abc", " 7"}) {
        auto r = run_app(cgi_env("GET", "/", {{"PYTHONHASHSEED", seed}}));
        EXPECT_NE(r.exit_code, 0) << seed;
        EXPECT_NE(r.err.find("PYTHONHASHSEED must be \"random\" or an integer in [0, 4294967295], "
                             "not \"" +
                             seed + "\""),
                  std::string::npos)
            << r.err;
    }
}
