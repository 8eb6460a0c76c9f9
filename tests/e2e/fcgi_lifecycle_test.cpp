// wsgi-fcgi under the process managers of SPEC-TRAPS §3.6, simulated exactly as each
// hands over its socket: a listening unix socket on fd 0 (mod_fcgid, spawn-fcgi), the
// same socket on fd 3 with LISTEN_FDS/LISTEN_PID and NOTIFY_SOCKET (systemd).
// mod_fcgid, spawn-fcgi and systemd process conventions; a tiny app (no Flask) keeps each start-up
// short.
#include "fcgi_common.hpp"
#include "raw_fcgi_client.hpp"

#include <poll.h>
#include <set>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;
namespace wire = wsgibridge::test::fcgi;

namespace {

const char* app_text = R"(import os, time

def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    if environ["PATH_INFO"] == "/errors":
        environ["wsgi.errors"].write("complaint from the app\n")
        return [b"ok"]
    if environ["PATH_INFO"] == "/slow":
        def ticks():
            for _ in range(10):
                yield b"tick\n"
                time.sleep(0.1)
        return ticks()
    names = ("LISTEN_FDS", "LISTEN_PID", "NOTIFY_SOCKET", "PHP_FCGI_CHILDREN")
    lines = ["%s=%s" % (n, os.environ.get(n, "<absent>")) for n in names]
    lines += ["pid=%d" % os.getpid(), "multithread=%s" % environ["wsgi.multithread"],
              "multiprocess=%s" % environ["wsgi.multiprocess"], "cwd=%s" % os.getcwd()]
    return [("\n".join(lines) + "\n").encode()]
)";

/// A unix socket bound and listening at `path`, as mod_fcgid creates it before the
/// fork; the caller closes it once the child has it.
int listening_unix_socket(const std::filesystem::path& path)
{
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string p = path.string();
    p.copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, 16) != 0) {
        ADD_FAILURE() << "cannot listen on " << p;
        return -1;
    }
    return fd;
}

/// GET `path` on a new connection to the socket at `sock`; the reply body.
std::string get(const std::filesystem::path& sock, const std::string& path)
{
    RawFcgiClient c(sock);
    if (!c.send(wire::request(1, wire::cgi_params("GET", path)))) return "<send failed>";
    return c.read_reply(1, 10s).body();
}

struct Fd0Server
{
    TempDir dir;
    std::filesystem::path sock = dir / "fcgid.sock";
    std::filesystem::path log = dir / "wsgi-fcgi.log";
    ChildProcess child;

    /// wsgi-fcgi with the listening socket on fd 0, `extra` arguments, `env` added.
    void start(const std::vector<std::string>& extra = {},
               const std::map<std::string, std::string>& env = {})
    {
        write_file(dir / "app.py", app_text);
        int fd = listening_unix_socket(sock);
        std::vector<std::string> argv{
            wsgi_fcgi_path(), "--allow-root", "--app",      (dir / "app.py").string(),
            "--log-level",    "debug",        "--log-file", log.string()};
        argv.insert(argv.end(), extra.begin(), extra.end());
        SpawnOptions o;
        o.env = env;
        o.unset_env = {"LISTEN_FDS", "LISTEN_PID", "NOTIFY_SOCKET", "PHP_FCGI_CHILDREN",
                       "REQUEST_METHOD"};
        o.stdin_fd = fd;
        o.stdout_file = dir / "stdout"; // spawn-fcgi without -n: /dev/null in real life
        o.stderr_file = dir / "stderr";
        child = ChildProcess(argv, o);
        ::close(fd);
    }
};

} // namespace

TEST(FcgiLifecycle, Fd0SocketServesOneThreadAndIgnoresMaxRequests)
{
    // mod_fcgid's process model and FcgidMaxRequestsPerProcess: fd-0 mode is one process, one
    // thread; a self-imposed
    // --max-requests would race mod_fcgid's queued connection, so it is ignored.
    if (wsgi_fcgi_path().empty()) GTEST_FAIL() << "wsgi-fcgi was not built";
    Fd0Server s;
    s.start({"--max-requests", "1"});
    std::set<std::string> bodies;
    for (int i = 0; i < 3; ++i) {
        auto body = get(s.sock, "/env");
        EXPECT_NE(body.find("multithread=False\n"), std::string::npos) << body;
        EXPECT_NE(body.find("multiprocess=True\n"), std::string::npos) << body;
        EXPECT_NE(body.find("pid=" + std::to_string(s.child.pid()) + "\n"), std::string::npos)
            << body;
        bodies.insert(body);
    }
    EXPECT_EQ(bodies.size(), 1u);
    EXPECT_TRUE(s.child.running()) << "exited after --max-requests: " << read_file(s.log);
    auto log = read_file(s.log);
    EXPECT_NE(log.find("--max-requests is ignored when serving an inherited socket"),
              std::string::npos)
        << log;
    // spawn-fcgi without -n sends stderr to /dev/null: --log-file holds the log even when stderr
    // goes nowhere useful.
    EXPECT_EQ(read_file(s.dir / "stderr").find("--max-requests is ignored"), std::string::npos);
}

TEST(FcgiLifecycle, SigtermFinishesTheRequestInFlightAndExitsZero)
{
    // mod_fcgid's idle/lifetime kill is SIGTERM, then SIGKILL ~3 s later: stop
    // accepting, finish (or abort) the request in flight within ~2 s, exit 0, no reload.
    if (wsgi_fcgi_path().empty()) GTEST_FAIL() << "wsgi-fcgi was not built";
    Fd0Server s;
    s.start();
    RawFcgiClient c(s.sock);
    ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("GET", "/slow"))));
    auto first = c.read_record(5s);
    ASSERT_EQ(first.type, wire::stdout_stream) << read_file(s.log);
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(s.child.pid(), SIGTERM), 0);
    auto reply = c.read_reply(1, 3s);
    EXPECT_TRUE(reply.ended) << "the request in flight got no END_REQUEST";
    int status = s.child.wait(3s);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << read_file(s.log);
    EXPECT_LT(took, 2500ms);
    EXPECT_NE(read_file(s.log).find("wsgi-fcgi: stopped"), std::string::npos);
    // Gone for good, not reloaded: nobody holds the listening socket any more.
    EXPECT_THROW(RawFcgiClient{s.sock}, std::runtime_error);
}

TEST(FcgiLifecycle, SigtermRightAfterARequestExitsZero)
{
    // An idle server waits a moment for mod_fcgid's next connection in poll() on the
    // io thread: SIGTERM then still stops it, well within mod_fcgid's ~3 s before SIGKILL.
    if (wsgi_fcgi_path().empty()) GTEST_FAIL() << "wsgi-fcgi was not built";
    Fd0Server s;
    s.start();
    for (int i = 0; i < 3; ++i)
        EXPECT_NE(get(s.sock, "/env").find("pid="), std::string::npos) << read_file(s.log);
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(s.child.pid(), SIGTERM), 0);
    int status = s.child.wait(3s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << read_file(s.log);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
    EXPECT_NE(read_file(s.log).find("wsgi-fcgi: stopped"), std::string::npos);
}

TEST(FcgiLifecycle, SigtermWhileAConnectionHasSentNothingExitsZero)
{
    // mod_fcgid connects before it writes, and an idle server waits a moment for those
    // first bytes: SIGTERM in that moment still stops it at once (the connection had no
    // request: nothing to finish), and a connection that never writes does not hold it.
    if (wsgi_fcgi_path().empty()) GTEST_FAIL() << "wsgi-fcgi was not built";
    Fd0Server s;
    s.start();
    EXPECT_NE(get(s.sock, "/env").find("pid="), std::string::npos) << read_file(s.log);
    RawFcgiClient silent(s.sock);
    std::this_thread::sleep_for(10ms); // accepted: its first read found nothing
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(s.child.pid(), SIGTERM), 0);
    int status = s.child.wait(3s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << read_file(s.log);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
    EXPECT_TRUE(silent.closed_by_peer(1s));
    EXPECT_NE(read_file(s.log).find("wsgi-fcgi: stopped"), std::string::npos);
}

TEST(FcgiLifecycle, PhpFcgiChildrenForksThatManyWorkers)
{
    // spawn-fcgi -C 2 exports PHP_FCGI_CHILDREN=2 for a server that forks two
    // children on the socket; the children must not see the variable.
    if (wsgi_fcgi_path().empty()) GTEST_FAIL() << "wsgi-fcgi was not built";
    Fd0Server s;
    s.start({}, {{"PHP_FCGI_CHILDREN", "2"}});
    std::set<std::string> pids;
    for (int i = 0; i < 12; ++i) {
        auto body = get(s.sock, "/env");
        EXPECT_NE(body.find("PHP_FCGI_CHILDREN=<absent>\n"), std::string::npos) << body;
        auto at = body.find("pid=");
        ASSERT_NE(at, std::string::npos) << body << read_file(s.log);
        pids.insert(body.substr(at + 4, body.find('\n', at) - at - 4));
    }
    EXPECT_FALSE(pids.contains(std::to_string(s.child.pid()))) << "served by forked workers";
    EXPECT_LE(pids.size(), 2u);
    EXPECT_NE(read_file(s.log).find("with 2 workers"), std::string::npos) << read_file(s.log);
    int status = s.child.stop(SIGTERM, 5s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(FcgiLifecycle, SystemdSocketActivationAndReadiness)
{
    // sd_listen_fds(3): the socket on fd 3 with LISTEN_FDS=1 and LISTEN_PID=<our pid>; both are
    // unset before the app (and its children) run; READY=1 reaches NOTIFY_SOCKET.
    if (wsgi_fcgi_path().empty()) GTEST_FAIL() << "wsgi-fcgi was not built";
    TempDir dir;
    write_file(dir / "app.py", app_text);
    auto sock = dir / "sd.sock";
    auto notify = dir / "notify";
    int listener = listening_unix_socket(sock);
    int notify_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    notify.string().copy(addr.sun_path, sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(notify_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    // sh moves the socket from fd 0 to fd 3 and execs with its own pid in LISTEN_PID,
    // as systemd does; fd 0 becomes /dev/null so fd-0 detection cannot be what works.
    std::string script = "exec 3<&0 </dev/null; export LISTEN_PID=$$ LISTEN_FDS=1; exec '" +
                         wsgi_fcgi_path() + "' --allow-root --app '" + (dir / "app.py").string() +
                         "' --log-level debug";
    SpawnOptions o;
    o.env = {{"NOTIFY_SOCKET", notify.string()}};
    o.unset_env = {"REQUEST_METHOD", "PHP_FCGI_CHILDREN"};
    o.stdin_fd = listener;
    o.stderr_file = dir / "log";
    ChildProcess child({"/bin/sh", "-c", script}, o);
    ::close(listener);

    pollfd p{notify_fd, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 10000), 1) << "no sd_notify message: " << read_file(dir / "log");
    char buf[256];
    auto n = ::recv(notify_fd, buf, sizeof buf, 0);
    ::close(notify_fd);
    ASSERT_GT(n, 0);
    std::string message(buf, static_cast<std::size_t>(n));
    EXPECT_NE(message.find("READY=1\n"), std::string::npos) << message;
    EXPECT_NE(message.find("MAINPID=" + std::to_string(child.pid())), std::string::npos) << message;

    auto body = get(sock, "/env");
    EXPECT_NE(body.find("pid=" + std::to_string(child.pid())), std::string::npos)
        << body << read_file(dir / "log");
    for (auto name : {"LISTEN_FDS", "LISTEN_PID", "NOTIFY_SOCKET"})
        EXPECT_NE(body.find(std::string(name) + "=<absent>\n"), std::string::npos) << name << "\n"
                                                                                   << body;
    int status = child.stop(SIGTERM, 5s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(FcgiLifecycle, ModeOverrideBeatsDetection)
{
    // FastCGI 1.0 §3.2: fd 0 is a listening socket (auto would serve FastCGI), but --mode cgi
    // serves the CGI request in the environment and exits.
    if (wsgi_fcgi_path().empty()) GTEST_FAIL() << "wsgi-fcgi was not built";
    Fd0Server s;
    s.start({"--mode", "cgi"}, {{"REQUEST_METHOD", "GET"},
                                {"SCRIPT_NAME", "/app.fcgi"},
                                {"PATH_INFO", "/env"},
                                {"SERVER_NAME", "localhost"},
                                {"SERVER_PORT", "80"},
                                {"SERVER_PROTOCOL", "HTTP/1.1"}});
    int status = s.child.wait(10s);
    auto out = read_file(s.dir / "stdout");
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << read_file(s.log);
    EXPECT_TRUE(out.starts_with("Status: 200 OK\r\n")) << out << read_file(s.log);
    EXPECT_NE(out.find("multiprocess=True"), std::string::npos) << out;
}

TEST(FcgiLifecycle, WsgiErrorsToStderrRecordsOrToTheLogFile)
{
    // FastCGI 1.0 §5.3, FCGI_STDERR: wsgi.errors goes to the web server as FCGI_STDERR by default,
    // or into
    // --log-file with --wsgi-errors log (mod_fcgid's stderr is Apache's error log).
    if (wsgi_fcgi_path().empty()) GTEST_FAIL() << "wsgi-fcgi was not built";
    for (bool to_log : {false, true}) {
        Fd0Server s;
        std::vector<std::string> extra;
        if (to_log) extra = {"--wsgi-errors", "log"};
        s.start(extra);
        RawFcgiClient c(s.sock);
        ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("GET", "/errors"))));
        auto r = c.read_reply(1, 10s);
        EXPECT_EQ(r.body(), "ok");
        EXPECT_EQ(r.stderr_data, to_log ? "" : "complaint from the app\n") << to_log;
        s.child.stop(SIGTERM, 5s);
        bool logged = read_file(s.log).find("complaint from the app") != std::string::npos;
        EXPECT_EQ(logged, to_log) << read_file(s.log);
    }
}

TEST(FcgiLifecycle, OversizedParamsAre431AndTheLogNamesTheOption)
{
    // Oversized params get a 431, not a dropped socket as uWSGI's buffer-size does through the
    // program: a 100 KB cookie over the default --max-header-bytes gets a 431 (not a dropped
    // socket), the log says which option, serving goes on.
    if (wsgi_fcgi_path().empty()) GTEST_FAIL() << "wsgi-fcgi was not built";
    Fd0Server s;
    s.start();
    auto params = wire::cgi_params("GET", "/env");
    params.emplace_back("HTTP_COOKIE", std::string(100 * 1024, 'c'));
    RawFcgiClient c(s.sock);
    ASSERT_TRUE(c.send(wire::request(1, params)));
    auto r = c.read_reply(1, 10s);
    EXPECT_TRUE(r.ended);
    EXPECT_EQ(r.status(), 431);
    EXPECT_NE(get(s.sock, "/env").find("pid="), std::string::npos);
    auto log = read_file(s.log);
    EXPECT_NE(log.find("--max-header-bytes"), std::string::npos) << log;
}
