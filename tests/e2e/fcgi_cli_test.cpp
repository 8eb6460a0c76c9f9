// wsgi-fcgi's command line and process behaviour, with the raw FastCGI client as the
// web server: mode detection, usage errors, signals, FCGI_WEB_SERVER_ADDRS, GET_VALUES.
#include "fcgi_common.hpp"
#include "raw_fcgi_client.hpp"

#include <fcntl.h>
#include <set>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;
namespace wire = wsgibridge::test::fcgi;

TEST(FcgiCli, NoSocketNoCgiRequestIsAUsageError)
{
    if (wsgi_fcgi_path().empty()) GTEST_FAIL() << "wsgi-fcgi was not built";
    SpawnOptions o;
    o.unset_env = {"REQUEST_METHOD", "LISTEN_FDS", "LISTEN_PID"};
    auto r = run_command({wsgi_fcgi_path(), "--app", fcgi_test_app()}, "", o); // stdin: a pipe
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("usage: wsgi-fcgi"), std::string::npos) << r.err;
    r = run_command(
        {wsgi_fcgi_path(), "--allow-root", "--app", fcgi_test_app(), "--bind", "nonsense"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    r = run_command({wsgi_fcgi_path(), "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("--mount"), std::string::npos);
}

TEST(FcgiCli, GetValuesSigusr1AndWebServerAddrs)
{
    if (wsgi_fcgi_path().empty()) GTEST_FAIL() << "wsgi-fcgi was not built";
    TempDir dir;
    auto port = free_tcp_port();
    auto app = start_wsgi_fcgi("127.0.0.1:" + std::to_string(port), dir / "a.log");
    {
        RawFcgiClient c(port);
        std::string q = wire::pair("FCGI_MAX_CONNS", "") + wire::pair("FCGI_MPXS_CONNS", "");
        ASSERT_TRUE(c.send(wire::record(wire::get_values, 0, q)));
        auto rec = c.read_record();
        EXPECT_EQ(rec.type, wire::get_values_result);
        EXPECT_EQ(rec.content,
                  wire::pair("FCGI_MAX_CONNS", "1024") + wire::pair("FCGI_MPXS_CONNS", "1"));
        // a request on the same connection after the management record
        ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("GET", "/"))));
        EXPECT_EQ(c.read_reply(1).body(), "hello from flask\n");
    }
    int status = app.stop(SIGUSR1, 5s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

    // FCGI_WEB_SERVER_ADDRS from the environment: 127.0.0.1 is not in it
    auto port2 = free_tcp_port();
    SpawnOptions o;
    o.env = {{"FCGI_WEB_SERVER_ADDRS", "10.9.9.9,::2"}};
    o.stderr_file = dir / "b.log";
    ChildProcess guarded({wsgi_fcgi_path(), "--allow-root", "--app", fcgi_test_app(), "--bind",
                          "127.0.0.1:" + std::to_string(port2)},
                         o);
    ASSERT_TRUE(wait_for_tcp(port2));
    RawFcgiClient c(port2);
    (void)c.send(wire::request(1, wire::cgi_params("GET", "/")));
    EXPECT_TRUE(c.closed_by_peer());
    EXPECT_NE(read_file(dir / "b.log").find("not in FCGI_WEB_SERVER_ADDRS"), std::string::npos);
}

TEST(FcgiCli, StartedAsACgiScriptServesOneRequest)
{
    if (wsgi_fcgi_path().empty()) GTEST_FAIL() << "wsgi-fcgi was not built";
    SpawnOptions o;
    o.env = {{"REQUEST_METHOD", "POST"},
             {"CONTENT_LENGTH", "10"},
             {"CONTENT_TYPE", "text/plain"},
             {"SCRIPT_NAME", "/app.fcgi"},
             {"PATH_INFO", "/echo"},
             {"SERVER_NAME", "localhost"},
             {"SERVER_PORT", "80"},
             {"SERVER_PROTOCOL", "HTTP/1.1"},
             {"REQUEST_URI", "/app.fcgi/echo"}};
    auto r = run_command({wsgi_fcgi_path(), "--app", fcgi_test_app()}, "hello body", o);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("Status: 200 OK\r\n")) << r.out;
    EXPECT_TRUE(r.out.ends_with("\r\n\r\nhello body")) << r.out;
    // an application that cannot be imported: a 500 for the client, the reason in the log
    r = run_command({wsgi_fcgi_path(), "--app", "/nonexistent/app.py"}, "hello body", o);
    EXPECT_TRUE(r.out.starts_with("Status: 500")) << r.out;
    EXPECT_NE(r.err.find("cannot load the application"), std::string::npos) << r.err;
}

TEST(FcgiCli, WorkersServeTheSameSocket)
{
    if (wsgi_fcgi_path().empty()) GTEST_FAIL() << "wsgi-fcgi was not built";
    TempDir dir;
    auto port = free_tcp_port();
    auto app =
        start_wsgi_fcgi("127.0.0.1:" + std::to_string(port), dir / "w.log", {"--workers", "2"});
    std::set<std::string> pids;
    for (int i = 0; i < 20; ++i) {
        RawFcgiClient c(port);
        ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("GET", "/env"))));
        auto body = c.read_reply(1).body();
        EXPECT_NE(body.find("wsgi.multiprocess=True"), std::string::npos) << body;
        auto at = body.find("pid=");
        ASSERT_NE(at, std::string::npos);
        pids.insert(body.substr(at + 4, body.find('\n', at) - at - 4));
    }
    EXPECT_FALSE(pids.contains(std::to_string(app.pid()))); // served by forked workers
    EXPECT_LE(pids.size(), 2u);
    EXPECT_NE(read_file(dir / "w.log").find("starting 2 workers"), std::string::npos);
    int status = app.stop(SIGTERM, 5s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// A shebang-style file named after the framework it imports (--app django.cgi): loaded
// under a private module name, so `import django` finds Django, whose URLconf is the
// file's own module.
TEST(FcgiCli, FileNamedDjangoCgi)
{
    if (wsgi_fcgi_path().empty()) GTEST_FAIL() << "wsgi-fcgi was not built";
    TempDir dir;
    write_file(dir / "django.cgi",
               "#!/usr/bin/wsgi-fcgi\n"
               "import django\n"
               "from django.conf import settings\n"
               "from django.http import HttpResponse\n"
               "from django.urls import path\n"
               "settings.configure(DEBUG=False, ALLOWED_HOSTS=['*'], ROOT_URLCONF=__name__,\n"
               "                   SECRET_KEY='test', MIDDLEWARE=[])\n"
               "urlpatterns = [path('', lambda request: HttpResponse('django.cgi over fastcgi'))]\n"
               "from django.core.wsgi import get_wsgi_application\n"
               "application = get_wsgi_application()\n",
               true);
    auto port = free_tcp_port();
    SpawnOptions o;
    o.stderr_file = dir / "d.log";
    ChildProcess app({wsgi_fcgi_path(), "--allow-root", "--app", (dir / "django.cgi").string(),
                      "--bind", "127.0.0.1:" + std::to_string(port)},
                     o);
    ASSERT_TRUE(wait_for_tcp(port)) << read_file(dir / "d.log");
    RawFcgiClient c(port);
    ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("GET", "/"))));
    auto reply = c.read_reply(1);
    EXPECT_EQ(reply.status(), 200) << reply.stdout_data << read_file(dir / "d.log");
    EXPECT_EQ(reply.body(), "django.cgi over fastcgi");
}
