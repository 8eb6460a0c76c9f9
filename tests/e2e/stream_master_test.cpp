// wsgi-uwsgi and wsgi-scgi under their master (the process model of wsgi-fcgi and
// wsgi-http), behind nginx uwsgi_pass / scgi_pass with the stock uwsgi_params and
// scgi_params: os.abort() in the application costs one request (nginx answers 502 for
// the connection closed without a response) and a new worker serves the next one;
// SIGHUP reloads changed code while nginx keeps sending requests, none refused;
// --timeout ends a stuck request with a 504 that nginx passes on, and logs it; and the
// socket handed over on fd 0 (spawn-fcgi's way, no --bind) or by systemd is served.
#include "fcgi_common.hpp"
#include "stream_common.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <netinet/in.h>
#include <optional>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

/// A copy of tests/apps/process_app.py and its version.txt in `dir`, so a test can
/// change what the workers import.
std::string copy_app(const TempDir& dir, const std::string& version)
{
    std::filesystem::copy_file(source_root() / "tests/apps/process_app.py", dir / "process_app.py");
    write_file(dir / "version.txt", version + "\n");
    return (dir / "process_app.py").string();
}

/// nginx in front of `upstream` ("unix:/path" or "127.0.0.1:port") with the stock
/// uwsgi_params or scgi_params, on 127.0.0.1:port.
struct Nginx
{
    unsigned short port = free_tcp_port();
    ChildProcess process;

    Nginx(const TempDir& dir, const std::string& protocol, const std::string& upstream)
    {
        auto nginx = find_program({"/usr/sbin/nginx"});
        if (nginx.empty()) {
            ADD_FAILURE() << "nginx missing (scripts/lib.sh installs it)";
            return;
        }
        std::string d = dir.path().string();
        write_file(dir / "nginx.conf",
                   "daemon off;\nmaster_process off;\nworker_processes 1;\npid " + d +
                       "/nginx.pid;\nerror_log " + d +
                       "/nginx-error.log info;\nevents { worker_connections 64; }\n"
                       "http {\n  access_log off;\n  client_body_temp_path " +
                       d + "/body;\n  " + protocol + "_temp_path " + d +
                       "/temp;\n  server {\n    listen 127.0.0.1:" + std::to_string(port) +
                       ";\n    location / {\n      include /etc/nginx/" + protocol +
                       "_params;\n      " + protocol + "_pass " + upstream + ";\n    }\n  }\n}\n");
        process =
            ChildProcess({nginx, "-p", d, "-c", d + "/nginx.conf", "-e", d + "/nginx-error.log"});
        EXPECT_TRUE(wait_for_tcp(port)) << read_file(dir / "nginx-error.log");
    }
};

struct Answer
{
    int code = 0;
    std::string body; ///< "<pid> <version>" from the application
};

Answer get(unsigned short port, const std::string& path)
{
    auto r =
        curl({"-o", "-", "-w", "\n%{http_code}", "http://127.0.0.1:" + std::to_string(port) + path},
             20s);
    auto nl = r.out.rfind('\n');
    if (nl == std::string::npos) return {0, r.err};
    auto raw = r.out.substr(0, nl);
    auto end = raw.rfind("\r\n\r\n");
    return {std::atoi(r.out.c_str() + nl + 1),
            end == std::string::npos ? raw : raw.substr(end + 4)};
}

pid_t pid_of(const Answer& a)
{
    return a.body.empty() ? -1 : static_cast<pid_t>(std::atol(a.body.c_str()));
}

std::string version_of(const Answer& a)
{
    auto space = a.body.find(' ');
    return space == std::string::npos ? "" : a.body.substr(space + 1);
}

/// Waits (bounded) until `path` holds `text`: the master logs some events after the
/// client already got its answer.
bool log_shows(const std::filesystem::path& path, const std::string& text,
               std::chrono::milliseconds timeout = 10s)
{
    for (auto until = std::chrono::steady_clock::now() + timeout;;) {
        if (read_file(path).find(text) != std::string::npos) return true;
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(50ms);
    }
}

/// The gateway with its master on a unix socket in `dir`, the copied process_app.py,
/// `extra` arguments; nginx in front.
struct MasterSite
{
    TempDir dir;
    std::string app;
    std::filesystem::path log = dir / "gateway.log";
    ChildProcess gateway;
    std::optional<Nginx> nginx;

    MasterSite(const Protocol& p, const std::vector<std::string>& extra)
    {
        if (gateway_path(p.program).empty()) {
            ADD_FAILURE() << p.program << " was not built";
            return;
        }
        app = copy_app(dir, "v1");
        std::string sock = (dir / "gw.sock").string();
        std::vector<std::string> argv{
            gateway_path(p.program), "--allow-root", "--app",     app, "--bind",
            "unix:" + sock,          "--log-file",   log.string()};
        argv.insert(argv.end(), extra.begin(), extra.end());
        SpawnOptions o;
        o.stderr_file = dir / "stderr";
        gateway = ChildProcess(argv, o);
        EXPECT_TRUE(wait_for_unix(sock)) << read_file(log) << read_file(dir / "stderr");
        nginx.emplace(dir, p.name, "unix:" + sock);
    }
    unsigned short port() const { return nginx->port; }
    std::string logs() const
    {
        return read_file(log) + "\n--- nginx:\n" + read_file(dir / "nginx-error.log");
    }
};

class StreamMaster : public testing::TestWithParam<Protocol>
{
};

} // namespace

TEST_P(StreamMaster, AbortCostsOneRequestThenANewWorkerServes)
{
    MasterSite s(GetParam(), {});
    ASSERT_TRUE(s.nginx);
    auto first = get(s.port(), "/");
    ASSERT_EQ(first.code, 200) << first.body << s.logs();
    pid_t worker = pid_of(first);
    EXPECT_NE(worker, s.gateway.pid()) << "the master served a request itself";

    // The worker dies mid-request: nginx sees the connection close without a response.
    EXPECT_EQ(get(s.port(), "/abort").code, 502) << s.logs();

    auto next = get(s.port(), "/");
    EXPECT_EQ(next.code, 200) << next.body << s.logs();
    EXPECT_NE(pid_of(next), worker);
    EXPECT_TRUE(log_shows(s.log, "worker " + std::to_string(worker) +
                                     " killed by signal 6 (SIGABRT); starting a new one"))
        << s.logs();
    EXPECT_TRUE(s.gateway.running()) << "the master went down with its worker";
}

TEST_P(StreamMaster, SighupReloadsEditedCodeWithoutRefusingARequest)
{
    MasterSite s(GetParam(), {"--workers", "2"});
    ASSERT_TRUE(s.nginx);
    auto first = get(s.port(), "/");
    ASSERT_EQ(first.code, 200) << s.logs();
    ASSERT_EQ(version_of(first), "v1");

    // One client keeps nginx busy (one curl, several requests, each a new connection
    // from nginx to the gateway) across the reload; bounded in rounds.
    std::atomic<bool> done{false};
    std::atomic<int> ok{0}, failed{0};
    std::string failure;
    std::thread load([&] {
        for (int round = 0; round < 200 && !done; ++round) {
            std::vector<std::string> argv{"/usr/bin/curl", "-s", "-w", "code=%{http_code}\n"};
            for (int i = 0; i < 10; ++i)
                argv.insert(argv.end(), {"-o", "/dev/null",
                                         "http://127.0.0.1:" + std::to_string(s.port()) + "/"});
            auto r = run_command(argv, {}, {}, 20s);
            int codes = 0;
            for (std::size_t at = 0; (at = r.out.find("code=", at)) != std::string::npos; at += 5) {
                ++codes;
                (r.out.compare(at, 8, "code=200") == 0 ? ok : failed)++;
            }
            if (codes != 10 && failure.empty()) failure = "curl: " + r.out + r.err;
            failed += 10 - std::min(codes, 10);
        }
    });
    std::this_thread::sleep_for(300ms);
    write_file(s.dir / "version.txt", "v2\n");
    ASSERT_EQ(::kill(s.gateway.pid(), SIGHUP), 0);
    bool reloaded = log_shows(s.log, "reload: 2 new workers ready");
    std::this_thread::sleep_for(300ms); // requests go on after the old workers left
    done = true;
    load.join();

    EXPECT_TRUE(reloaded) << s.logs();
    EXPECT_EQ(failed.load(), 0) << ok.load() << " ok; " << failure << "\n" << s.logs();
    EXPECT_GT(ok.load(), 20);
    auto after = get(s.port(), "/");
    EXPECT_EQ(after.code, 200);
    EXPECT_EQ(version_of(after), "v2") << "SIGHUP did not pick up the edited code\n" << s.logs();
}

TEST_P(StreamMaster, TimeoutEndsAStuckRequestWith504AndLogsIt)
{
    MasterSite s(GetParam(), {"--timeout", "1"});
    ASSERT_TRUE(s.nginx);
    ASSERT_EQ(get(s.port(), "/").code, 200) << s.logs();
    auto start = std::chrono::steady_clock::now();
    auto stuck = get(s.port(), "/sleep?s=20");
    // The worker's own 504 (nothing had been sent), which nginx passes on as it is.
    EXPECT_EQ(stuck.code, 504) << stuck.body << s.logs();
    EXPECT_NE(stuck.body.find("within --timeout"), std::string::npos) << stuck.body;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 6s);
    EXPECT_TRUE(log_shows(s.log, "request timed out (--timeout 1 s): GET /sleep?s=20")) << s.logs();
    EXPECT_TRUE(log_shows(s.log, "exited with status 4 (a request passed --timeout); starting a "
                                 "new one"))
        << s.logs();
    EXPECT_EQ(get(s.port(), "/").code, 200) << s.logs();
}

namespace {

/// A listening socket bound to `path` (unix) or 127.0.0.1:port, as spawn-fcgi opens it
/// before it execs the server with the socket as fd 0.
int listening_socket(const std::filesystem::path& path, unsigned short port)
{
    int fd = -1;
    int rc = -1;
    if (!path.empty()) {
        fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        path.string().copy(a.sun_path, sizeof a.sun_path - 1);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    if (fd < 0 || rc != 0 || ::listen(fd, 64) != 0) {
        ADD_FAILURE() << "cannot listen: " << std::strerror(errno);
        return -1;
    }
    return fd;
}

} // namespace

// spawn-fcgi's way (and mod_fcgid's, for FastCGI): the listening socket is fd 0 and
// there is no --bind. One process by default (the process manager supervises it);
// PHP_FCGI_CHILDREN=N (spawn-fcgi -C N) asks for a master and N workers on it.
TEST_P(StreamMaster, ServesTheListeningSocketOnFd0)
{
    const Protocol& p = GetParam();
    if (gateway_path(p.program).empty()) GTEST_FAIL() << p.program << " was not built";
    TempDir dir;
    copy_app(dir, "v1");
    // uwsgi over TCP, as spawn-fcgi -a 127.0.0.1 -p PORT; SCGI over a unix socket
    // (spawn-fcgi -s PATH) with two children.
    bool tcp = std::string(p.name) == "uwsgi";
    unsigned short port = tcp ? free_tcp_port() : 0;
    auto sock = tcp ? std::filesystem::path() : dir / "fd0.sock";
    int fd = listening_socket(sock, port);
    ASSERT_GE(fd, 0);
    SpawnOptions o;
    o.stdin_fd = fd;
    o.stderr_file = dir / "gateway.log";
    o.unset_env = {"LISTEN_FDS", "LISTEN_PID", "NOTIFY_SOCKET", "PHP_FCGI_CHILDREN"};
    if (!tcp) o.env = {{"PHP_FCGI_CHILDREN", "2"}};
    ChildProcess gateway(
        {gateway_path(p.program), "--allow-root", "--app", (dir / "process_app.py").string()}, o);
    ::close(fd);
    Nginx nginx(dir, p.name, tcp ? "127.0.0.1:" + std::to_string(port) : "unix:" + sock.string());
    auto logs = [&] {
        return read_file(dir / "gateway.log") + "\n--- nginx:\n" +
               read_file(dir / "nginx-error.log");
    };
    // The socket accepts at once (it is ours); the application may still be importing.
    Answer a;
    for (int i = 0; i < 3; ++i) {
        a = get(nginx.port, "/");
        EXPECT_EQ(a.code, 200) << a.body << logs();
        EXPECT_EQ(version_of(a), "v1");
    }
    if (tcp)
        EXPECT_EQ(pid_of(a), gateway.pid()) << "fd-0 mode is one process by default";
    else {
        EXPECT_NE(pid_of(a), gateway.pid()) << "PHP_FCGI_CHILDREN=2: a worker answers";
        EXPECT_NE(logs().find("serving the inherited socket with 2 workers"), std::string::npos)
            << logs();
    }
    EXPECT_EQ(gateway.stop(SIGTERM, 10s) & 0xffff, 0) << logs();
}

// systemd socket activation: the socket is fd 3, LISTEN_PID/LISTEN_FDS say it is ours;
// fd 0 is /dev/null, so fd-0 detection cannot be what works.
TEST_P(StreamMaster, ServesTheSocketSystemdPasses)
{
    const Protocol& p = GetParam();
    if (gateway_path(p.program).empty()) GTEST_FAIL() << p.program << " was not built";
    TempDir dir;
    auto app = copy_app(dir, "v1");
    auto sock = dir / "sd.sock";
    int fd = listening_socket(sock, 0);
    ASSERT_GE(fd, 0);
    // sh moves the socket from fd 0 to fd 3 and execs with its own pid in LISTEN_PID.
    std::string script = "exec 3<&0 </dev/null; export LISTEN_PID=$$ LISTEN_FDS=1; exec '" +
                         gateway_path(p.program) + "' --allow-root --app '" + app + "'";
    SpawnOptions o;
    o.stdin_fd = fd;
    o.stderr_file = dir / "gateway.log";
    o.unset_env = {"NOTIFY_SOCKET", "PHP_FCGI_CHILDREN"};
    ChildProcess gateway({"/bin/sh", "-c", script}, o);
    ::close(fd);
    Nginx nginx(dir, p.name, "unix:" + sock.string());
    auto a = get(nginx.port, "/");
    EXPECT_EQ(a.code, 200) << a.body << read_file(dir / "gateway.log")
                           << read_file(dir / "nginx-error.log");
    EXPECT_EQ(pid_of(a), gateway.pid()) << "one process, as systemd supervises it";
    EXPECT_EQ(gateway.stop(SIGTERM, 10s) & 0xffff, 0) << read_file(dir / "gateway.log");
}

INSTANTIATE_TEST_SUITE_P(Protocols, StreamMaster,
                         testing::Values(Protocol{"uwsgi", "wsgi-uwsgi"},
                                         Protocol{"scgi", "wsgi-scgi"}),
                         protocol_label);
