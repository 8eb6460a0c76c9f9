// --user, --group and --allow-root of wsgi-http, wsgi-fcgi, wsgi-scgi and wsgi-uwsgi,
// run as root (as CI runs): each program binds a privileged port (or a socket in a
// directory only root may enter), then runs as nobody:nogroup before the application is
// imported. The application reports os.getuid()/getgid()/getgroups() at import time and
// per request; /proc/PID/status of the master and of a worker shows the drop; setuid(0)
// failing is checked by the program itself. Root without --user is refused (exit 2, the
// message names --user and --allow-root), an unknown user is refused by name.
#include "fcgi_common.hpp"
#include "raw_fcgi_client.hpp"
#include "stream_common.hpp"

#include <functional>
#include <grp.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <pwd.h>
#include <signal.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;
using json = nlohmann::json;
namespace wire = wsgibridge::test::fcgi;

namespace {

const std::vector<std::string> servers{"wsgi-http", "wsgi-fcgi", "wsgi-scgi", "wsgi-uwsgi"};

// What the application saw when it was imported and what it sees per request.
constexpr const char* ids_app = R"(import json, os
IMPORTED_AS = {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(),
               "egid": os.getegid(), "groups": sorted(os.getgroups())}

def regains_root():
    try:
        os.setuid(0)
        return True
    except PermissionError:
        return False

def application(environ, start_response):
    body = json.dumps({"imported_as": IMPORTED_AS, "regains_root": regains_root(),
                       "uid": os.getuid(), "euid": os.geteuid(),
                       "gid": os.getgid(), "egid": os.getegid(),
                       "groups": sorted(os.getgroups()), "pid": os.getpid()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
)";

uid_t nobody_uid()
{
    const passwd* p = ::getpwnam("nobody");
    return p ? p->pw_uid : 65534;
}

gid_t nogroup_gid()
{
    const group* g = ::getgrnam("nogroup");
    return g ? g->gr_gid : 65534;
}

// A socket answers from its listen(); the chown of its file and the pidfile follow just
// before the privilege drop. A check of those waits for them, bounded.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds within = 5s)
{
    for (auto until = std::chrono::steady_clock::now() + within; !done();) {
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

bool owned_by_nobody(const std::filesystem::path& p)
{
    struct stat st
    {
    };
    return ::stat(p.c_str(), &st) == 0 && st.st_uid == nobody_uid();
}

/// A port below 1024 nobody listens on (only root may bind it), from a place that depends
/// on the pid, so two runs of this test at once do not pick the same one.
unsigned short free_privileged_port()
{
    static unsigned next = 600 + static_cast<unsigned>(::getpid()) % 400;
    for (int tries = 0; tries < 400; ++tries) {
        auto port = static_cast<unsigned short>(600 + (next++ - 600) % 400);
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        if (ok) return port;
    }
    return 0;
}

/// The Uid:, Gid: or Groups: line of /proc/PID/status, as numbers.
std::vector<long> status_ids(pid_t pid, const std::string& field)
{
    std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
    std::string line;
    while (std::getline(in, line)) {
        if (!line.starts_with(field + ":")) continue;
        std::istringstream values(line.substr(field.size() + 1));
        std::vector<long> ids;
        for (long id; values >> id;)
            ids.push_back(id);
        return ids;
    }
    return {};
}

std::string after_head(const std::string& raw)
{
    auto at = raw.find("\r\n\r\n");
    return at == std::string::npos ? std::string() : raw.substr(at + 4);
}

/// One GET / to `program` on 127.0.0.1:port in its protocol; the application's JSON.
json ask(const std::string& program, unsigned short port)
{
    std::string body;
    if (program == "wsgi-http") {
        body = after_head(curl({"http://127.0.0.1:" + std::to_string(port) + "/"}).out);
    } else if (program == "wsgi-fcgi") {
        RawFcgiClient c(port);
        if (c.send(wire::request(1, wire::cgi_params("GET", "/")))) body = c.read_reply(1).body();
    } else {
        Vars vars{
            {"CONTENT_LENGTH", "0"},      {"SCGI", "1"},         {"REQUEST_METHOD", "GET"},
            {"REQUEST_URI", "/"},         {"PATH_INFO", "/"},    {"QUERY_STRING", ""},
            {"SERVER_NAME", "localhost"}, {"SERVER_PORT", "80"}, {"SERVER_PROTOCOL", "HTTP/1.1"}};
        body = after_head(
            raw_exchange(port, program == "wsgi-scgi" ? scgi_netstring(vars) : uwsgi_packet(vars)));
    }
    auto parsed = json::parse(body, nullptr, false);
    return parsed.is_discarded() ? json{{"unparsed", body}} : parsed;
}

/// A server program started by the test with the ids application, its log in the dir.
struct Server
{
    TempDir dir;
    std::string program;
    ChildProcess process;

    Server(std::string name, const std::vector<std::string>& extra) : program(std::move(name))
    {
        write_file(dir / "ids.py", ids_app);
        std::vector<std::string> argv{gateway_path(program), "--app", (dir / "ids.py").string(),
                                      "--log-file", (dir / "server.log").string()};
        argv.insert(argv.end(), extra.begin(), extra.end());
        SpawnOptions o;
        o.stderr_file = dir / "stderr.log";
        o.cwd = dir.path(); // nobody may not enter the source tree
        o.unset_env = {"LISTEN_FDS", "LISTEN_PID", "NOTIFY_SOCKET", "PHP_FCGI_CHILDREN",
                       "REQUEST_METHOD"};
        process = ChildProcess(argv, o);
    }
    std::string logs() const
    {
        return read_file(dir / "server.log") + read_file(dir / "stderr.log");
    }
};

void expect_nobody(const json& seen, const std::string& what)
{
    SCOPED_TRACE(what + ": " + seen.dump());
    for (const char* key : {"uid", "euid"})
        EXPECT_EQ(seen.value(key, -1L), static_cast<long>(nobody_uid())) << key;
    for (const char* key : {"gid", "egid"})
        EXPECT_EQ(seen.value(key, -1L), static_cast<long>(nogroup_gid())) << key;
    EXPECT_EQ(seen.value("groups", json::array()), json::array({nogroup_gid()}));
    // Per request: os.setuid(0) fails (EPERM), the saved set-user-ID is gone too.
    if (seen.contains("regains_root")) {
        EXPECT_FALSE(seen.value("regains_root", true));
    }
}

void expect_status_dropped(pid_t pid, const std::string& what)
{
    SCOPED_TRACE(what + " " + std::to_string(pid));
    long u = nobody_uid(), g = nogroup_gid();
    EXPECT_EQ(status_ids(pid, "Uid"), (std::vector<long>{u, u, u, u}));
    EXPECT_EQ(status_ids(pid, "Gid"), (std::vector<long>{g, g, g, g}));
    EXPECT_EQ(status_ids(pid, "Groups"), (std::vector<long>{g}));
}

} // namespace

// Each program: a privileged port bound as root, then the master and the worker (and the
// application, from its import on) run as nobody:nogroup with no other group.
TEST(PrivilegeDrop, EveryServerBindsAPrivilegedPortThenRunsAsNobody)
{
    ASSERT_EQ(::geteuid(), 0u) << "the privilege tests run as root (as CI does)";
    for (const auto& program : servers) {
        SCOPED_TRACE(program);
        auto port = free_privileged_port();
        ASSERT_NE(port, 0);
        Server s(program, {"--bind", "127.0.0.1:" + std::to_string(port), "--user", "nobody",
                           "--group", "nogroup"});
        ASSERT_TRUE(wait_for_tcp(port, 20s)) << s.logs();
        json seen = ask(program, port);
        expect_nobody(seen, "per request");
        expect_nobody(seen.value("imported_as", json::object()), "at import");
        expect_status_dropped(s.process.pid(), "master");
        auto worker = seen.value("pid", 0);
        EXPECT_NE(worker, s.process.pid()) << "a worker answers";
        if (worker > 0) expect_status_dropped(worker, "worker");
        EXPECT_NE(s.logs().find("running as uid " + std::to_string(nobody_uid())),
                  std::string::npos)
            << s.logs();
        EXPECT_EQ(s.process.stop(SIGTERM, 10s) & 0xffff, 0) << s.logs();
    }
}

// Root without --user and without --allow-root: refused before anything binds, exit 2
// (a usage error), the message names both ways out. An unknown user or group is refused
// by name; --group alone needs --user.
TEST(PrivilegeDrop, RootWithoutUserIsRefused)
{
    for (const auto& program : servers) {
        SCOPED_TRACE(program);
        TempDir dir;
        write_file(dir / "ids.py", ids_app);
        auto port = std::to_string(free_tcp_port());
        std::vector<std::string> base{gateway_path(program), "--app", (dir / "ids.py").string(),
                                      "--bind", "127.0.0.1:" + port};
        auto r = run_command(base);
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find("refusing to run the application as root"), std::string::npos)
            << r.err;
        EXPECT_NE(r.err.find("--user"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("--allow-root"), std::string::npos) << r.err;

        auto with = [&](std::vector<std::string> extra) {
            auto argv = base;
            argv.insert(argv.end(), extra.begin(), extra.end());
            return run_command(argv);
        };
        r = with({"--user", "no-such-user-wsgibridge"});
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find("--user no-such-user-wsgibridge: no such user"), std::string::npos)
            << r.err;
        r = with({"--user", "nobody", "--group", "no-such-group-wsgibridge"});
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find("--group no-such-group-wsgibridge: no such group"), std::string::npos)
            << r.err;
        r = with({"--group", "nogroup", "--allow-root"});
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find("--group nogroup needs --user"), std::string::npos) << r.err;
        r = with({"--user", "root"});
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find("--user root runs the application as root"), std::string::npos)
            << r.err;
    }
}

// --allow-root: the explicit opt-in; the application runs as root.
TEST(PrivilegeDrop, AllowRootRunsAsRoot)
{
    for (const auto& program : servers) {
        SCOPED_TRACE(program);
        auto port = free_tcp_port();
        Server s(program, {"--bind", "127.0.0.1:" + std::to_string(port), "--allow-root"});
        ASSERT_TRUE(wait_for_tcp(port, 20s)) << s.logs();
        json seen = ask(program, port);
        EXPECT_EQ(seen.value("uid", -1), 0) << seen.dump();
        EXPECT_EQ(seen.value("imported_as", json::object()).value("uid", -1), 0) << seen.dump();
    }
}

// --preload imports in the master: after the drop too. --no-master: the one process.
TEST(PrivilegeDrop, PreloadAndNoMasterImportAfterTheDrop)
{
    for (std::string mode : {"--preload", "--no-master"}) {
        for (const auto& program : {std::string("wsgi-http"), std::string("wsgi-fcgi")}) {
            SCOPED_TRACE(program + " " + mode);
            auto port = free_tcp_port();
            Server s(program, {"--bind", "127.0.0.1:" + std::to_string(port), mode, "--user",
                               "nobody", "--group", "nogroup"});
            ASSERT_TRUE(wait_for_tcp(port, 20s)) << s.logs();
            json seen = ask(program, port);
            expect_nobody(seen.value("imported_as", json::object()), "at import");
            expect_nobody(seen, "per request");
            expect_status_dropped(s.process.pid(), "master");
        }
    }
}

// A unix socket in a directory only root may enter (mode 0700): bound as root, given to
// nobody:nogroup with --socket-mode 0660; the server, now nobody, still serves it (it
// accepts on the descriptor it bound), and root reaches it by path.
TEST(PrivilegeDrop, UnixSocketInARootOnlyDirectoryGetsOwnerGroupAndMode)
{
    for (const auto& program : {std::string("wsgi-http"), std::string("wsgi-fcgi")}) {
        SCOPED_TRACE(program);
        TempDir sockets;
        ASSERT_EQ(::chmod(sockets.path().c_str(), 0700), 0);
        auto sock = sockets / "app.sock";
        Server s(program, {"--bind", "unix:" + sock.string(), "--socket-mode", "0660", "--user",
                           "nobody", "--group", "nogroup"});
        ASSERT_TRUE(wait_for_unix(sock, 20s)) << s.logs();
        EXPECT_TRUE(eventually([&] { return owned_by_nobody(sock); }));
        struct stat st
        {
        };
        ASSERT_EQ(::stat(sock.c_str(), &st), 0);
        EXPECT_TRUE(S_ISSOCK(st.st_mode));
        EXPECT_EQ(st.st_uid, nobody_uid());
        EXPECT_EQ(st.st_gid, nogroup_gid());
        EXPECT_EQ(st.st_mode & 07777, 0660u);
        json seen;
        if (program == "wsgi-http") {
            auto r = curl({"--unix-socket", sock.string(), "http://localhost/"});
            seen = json::parse(after_head(r.out), nullptr, false);
        } else {
            RawFcgiClient c(sock); // waits in the backlog until the worker accepts
            ASSERT_TRUE(c.send(wire::request(1, wire::cgi_params("GET", "/"))));
            seen = json::parse(c.read_reply(1).body(), nullptr, false);
        }
        ASSERT_FALSE(seen.is_discarded()) << s.logs();
        expect_nobody(seen, "over the unix socket");
    }
}

// --stats is bound with the main socket, as root, before the drop (nginx binds every
// listening socket before it starts its unprivileged workers; uWSGI 2.0 binds its stats
// socket after setuid and stops with EACCES here): a unix socket in a directory only
// root may enter gets nobody:nogroup and mode 0600, and a port below 1024 is bound. The
// master, now nobody, serves both.
TEST(PrivilegeDrop, StatsSocketIsBoundBeforeTheDrop)
{
    for (const auto& program : {std::string("wsgi-http"), std::string("wsgi-uwsgi")}) {
        SCOPED_TRACE(program);
        TempDir sockets;
        ASSERT_EQ(::chmod(sockets.path().c_str(), 0700), 0);
        auto stats = sockets / "stats.sock";
        auto port = free_tcp_port();
        Server s(program, {"--bind", "127.0.0.1:" + std::to_string(port), "--stats",
                           "unix:" + stats.string(), "--user", "nobody", "--group", "nogroup"});
        ASSERT_TRUE(wait_for_unix(stats, 20s)) << s.logs();
        EXPECT_TRUE(eventually([&] { return owned_by_nobody(stats); }));
        struct stat st
        {
        };
        ASSERT_EQ(::stat(stats.c_str(), &st), 0);
        EXPECT_TRUE(S_ISSOCK(st.st_mode));
        EXPECT_EQ(st.st_uid, nobody_uid());
        EXPECT_EQ(st.st_gid, nogroup_gid());
        EXPECT_EQ(st.st_mode & 07777, 0600u);
        ASSERT_TRUE(wait_for_tcp(port, 20s)) << s.logs();
        expect_nobody(ask(program, port), "per request");
        auto r = curl({"--unix-socket", stats.string(), "http://stats/"});
        json seen = json::parse(after_head(r.out), nullptr, false);
        ASSERT_FALSE(seen.is_discarded()) << r.out << r.err << s.logs();
        EXPECT_EQ(seen.value("pid", 0), s.process.pid()) << seen.dump();
        expect_status_dropped(s.process.pid(), "master");
        EXPECT_EQ(s.process.stop(SIGTERM, 10s) & 0xffff, 0) << s.logs();
    }
    // A privileged port for --stats (wsgi-scgi: the socket programs' path).
    auto stats_port = free_privileged_port();
    ASSERT_NE(stats_port, 0);
    auto port = free_tcp_port();
    Server s("wsgi-scgi",
             {"--bind", "127.0.0.1:" + std::to_string(port), "--stats",
              "127.0.0.1:" + std::to_string(stats_port), "--user", "nobody", "--group", "nogroup"});
    ASSERT_TRUE(wait_for_tcp(stats_port, 20s)) << s.logs();
    auto r = curl({"http://127.0.0.1:" + std::to_string(stats_port) + "/"});
    json seen = json::parse(after_head(r.out), nullptr, false);
    ASSERT_FALSE(seen.is_discarded()) << r.out << r.err << s.logs();
    EXPECT_EQ(seen.value("pid", 0), s.process.pid()) << seen.dump();
    expect_status_dropped(s.process.pid(), "master");
}

// SIGHUP after the drop: the master (nobody) forks new workers, which stay nobody and
// import the application again as nobody.
TEST(PrivilegeDrop, ReloadKeepsWorkersUnprivileged)
{
    for (const auto& program : servers) {
        SCOPED_TRACE(program);
        auto port = free_tcp_port();
        Server s(program, {"--bind", "127.0.0.1:" + std::to_string(port), "--user", "nobody",
                           "--group", "nogroup", "--workers", "2"});
        ASSERT_TRUE(wait_for_tcp(port, 20s)) << s.logs();
        auto before = ask(program, port).value("pid", 0);
        ASSERT_GT(before, 0) << s.logs();
        ASSERT_EQ(::kill(s.process.pid(), SIGHUP), 0);
        bool reloaded = false;
        for (int i = 0; i < 100 && !reloaded; ++i) {
            std::this_thread::sleep_for(100ms);
            reloaded = s.logs().find("new workers ready") != std::string::npos;
        }
        ASSERT_TRUE(reloaded) << s.logs();
        // The old generation finishes; ask until a new worker answers.
        json seen;
        for (int i = 0; i < 50; ++i) {
            seen = ask(program, port);
            int pid = seen.value("pid", 0);
            if (pid > 0 && pid != before && ::kill(before, 0) != 0) break;
            std::this_thread::sleep_for(100ms);
        }
        EXPECT_NE(seen.value("pid", 0), before) << seen.dump() << s.logs();
        expect_nobody(seen, "after the reload");
        expect_nobody(seen.value("imported_as", json::object()), "imported after the reload");
        expect_status_dropped(seen.value("pid", 0), "new worker");
        expect_status_dropped(s.process.pid(), "master");
    }
}

// A TLS key only root may read (mode 0600, root's) is read before the drop, so
// HTTPS serves; a reload's workers read it again as nobody, fail, and the old worker
// keeps serving (the documented trade-off: restart to renew a root-only key).
TEST(PrivilegeDrop, RootOnlyTlsKeyIsReadBeforeTheDrop)
{
    TempDir keys;
    auto made = run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                             "/CN=localhost", "-keyout", (keys / "key.pem").string(), "-out",
                             (keys / "cert.pem").string()});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    ASSERT_EQ(::chmod((keys / "key.pem").c_str(), 0600), 0);
    auto port = free_privileged_port();
    ASSERT_NE(port, 0);
    Server s("wsgi-http", {"--bind", "127.0.0.1:" + std::to_string(port), "--certfile",
                           (keys / "cert.pem").string(), "--keyfile", (keys / "key.pem").string(),
                           "--user", "nobody", "--group", "nogroup"});
    ASSERT_TRUE(wait_for_tcp(port, 20s)) << s.logs();
    auto url = "https://localhost:" + std::to_string(port) + "/";
    auto resolve = "localhost:" + std::to_string(port) + ":127.0.0.1";
    auto r = curl({"--cacert", (keys / "cert.pem").string(), "--resolve", resolve, url});
    json seen = json::parse(after_head(r.out), nullptr, false);
    ASSERT_FALSE(seen.is_discarded()) << r.out << r.err << s.logs();
    expect_nobody(seen, "over TLS");
    auto worker = seen.value("pid", 0);

    ASSERT_EQ(::kill(s.process.pid(), SIGHUP), 0);
    bool failed = false;
    for (int i = 0; i < 100 && !failed; ++i) {
        std::this_thread::sleep_for(100ms);
        failed = s.logs().find("reload failed") != std::string::npos;
    }
    EXPECT_TRUE(failed) << s.logs();
    EXPECT_NE(s.logs().find("--keyfile " + (keys / "key.pem").string()), std::string::npos)
        << s.logs();
    r = curl({"--cacert", (keys / "cert.pem").string(), "--resolve", resolve, url});
    seen = json::parse(after_head(r.out), nullptr, false);
    ASSERT_FALSE(seen.is_discarded()) << r.out << s.logs();
    EXPECT_EQ(seen.value("pid", 0), worker) << "the old worker keeps serving";
}

// uWSGI's uid and gid keys are --user and --group.
TEST(PrivilegeDrop, IniUidAndGid)
{
    TempDir dir;
    write_file(dir / "ids.py", ids_app);
    auto port = free_tcp_port();
    write_file(dir / "app.ini", "[uwsgi]\nhttp-socket = 127.0.0.1:" + std::to_string(port) +
                                    "\nwsgi-file = " + (dir / "ids.py").string() +
                                    "\nuid = nobody\ngid = nogroup\n");
    SpawnOptions o;
    o.stderr_file = dir / "err.log";
    o.cwd = dir.path();
    ChildProcess server({gateway_path("wsgi-http"), "--ini", (dir / "app.ini").string()}, o);
    ASSERT_TRUE(wait_for_tcp(port, 20s)) << read_file(dir / "err.log");
    expect_nobody(ask("wsgi-http", port), "from the ini file");
}

// Not root: --user naming another user cannot be done, and says so; naming oneself is
// fine (a unit with User= that also says --user).
TEST(PrivilegeDrop, UserWhileNotRootMustBeOneself)
{
    TempDir dir;
    write_file(dir / "ids.py", ids_app);
    auto port = std::to_string(free_tcp_port());
    auto as_nobody = [&](std::vector<std::string> extra) {
        std::vector<std::string> argv{"/usr/bin/setpriv",
                                      "--reuid=" + std::to_string(nobody_uid()),
                                      "--regid=" + std::to_string(nogroup_gid()),
                                      "--clear-groups",
                                      gateway_path("wsgi-http"),
                                      "--app",
                                      (dir / "ids.py").string(),
                                      "--bind",
                                      "127.0.0.1:" + port};
        argv.insert(argv.end(), extra.begin(), extra.end());
        SpawnOptions o;
        o.cwd = dir.path();
        return run_command(argv, {}, o, 10s);
    };
    auto r = as_nobody({"--user", "daemon"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--user daemon: only root can switch users"), std::string::npos) << r.err;
    r = as_nobody({"--user", "nobody", "--group", "root"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--group root: only root can switch groups"), std::string::npos) << r.err;
    // Oneself: it serves.
    SpawnOptions o;
    o.cwd = dir.path();
    o.stderr_file = dir / "self.log";
    ChildProcess self({"/usr/bin/setpriv", "--reuid=" + std::to_string(nobody_uid()),
                       "--regid=" + std::to_string(nogroup_gid()), "--clear-groups",
                       gateway_path("wsgi-http"), "--app", (dir / "ids.py").string(), "--bind",
                       "127.0.0.1:" + port, "--user", "nobody"},
                      o);
    ASSERT_TRUE(wait_for_tcp(static_cast<unsigned short>(std::stoi(port)), 20s))
        << read_file(dir / "self.log");
    json seen = ask("wsgi-http", static_cast<unsigned short>(std::stoi(port)));
    EXPECT_EQ(seen.value("uid", -1L), static_cast<long>(nobody_uid())) << seen.dump();
}

// A uid and gid without a passwd or group entry (a container's): --user needs --group
// then, and the process runs with that gid as its only group.
TEST(PrivilegeDrop, NumericIdsWithoutAnEntry)
{
    const uid_t uid = 54321;
    ASSERT_EQ(::getpwuid(uid), nullptr) << "uid 54321 exists here";
    auto port = free_tcp_port();
    auto bind = "127.0.0.1:" + std::to_string(port);
    TempDir dir;
    write_file(dir / "ids.py", ids_app);
    auto r = run_command({gateway_path("wsgi-http"), "--app", (dir / "ids.py").string(), "--bind",
                          bind, "--user", "54321"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--user 54321: no such user in the passwd database; give --group"),
              std::string::npos)
        << r.err;
    Server s("wsgi-http", {"--bind", bind, "--user", "54321", "--group", "54321"});
    ASSERT_TRUE(wait_for_tcp(port, 20s)) << s.logs();
    json seen = ask("wsgi-http", port);
    EXPECT_EQ(seen.value("uid", -1), 54321) << seen.dump();
    EXPECT_EQ(seen.value("gid", -1), 54321) << seen.dump();
    EXPECT_EQ(seen.value("groups", json::array()), json::array({54321})) << seen.dump();
}

// The pidfile is written as root before the drop (root's, mode 0644, the master's pid).
// At exit the master, now nobody, removes it where nobody may (its own directory); in a
// directory only root may write to, it stays (and the next start overwrites it).
TEST(PrivilegeDrop, PidfileWrittenAsRootRemovedWhereTheUserMay)
{
    for (bool users_dir : {true, false}) {
        SCOPED_TRACE(users_dir ? "in nobody's directory" : "in root's directory");
        TempDir run;
        if (users_dir) {
            ASSERT_EQ(::chown(run.path().c_str(), nobody_uid(), nogroup_gid()), 0);
        }
        auto pidfile = run / "app.pid";
        auto port = free_tcp_port();
        Server s("wsgi-scgi", {"--bind", "127.0.0.1:" + std::to_string(port), "--pidfile",
                               pidfile.string(), "--user", "nobody", "--group", "nogroup"});
        ASSERT_TRUE(wait_for_tcp(port, 20s)) << s.logs();
        EXPECT_TRUE(eventually([&] { return !read_file(pidfile).empty(); }));
        EXPECT_EQ(read_file(pidfile), std::to_string(s.process.pid()) + "\n");
        struct stat st
        {
        };
        ASSERT_EQ(::stat(pidfile.c_str(), &st), 0);
        EXPECT_EQ(st.st_uid, 0u);
        EXPECT_EQ(st.st_mode & 0777, 0644u);
        EXPECT_EQ(s.process.stop(SIGTERM, 10s) & 0xffff, 0) << s.logs();
        EXPECT_EQ(std::filesystem::exists(pidfile), !users_dir);
    }
}

// wsgi-fcgi answering a CGI request is not a server: it runs as the web server started
// it, and refuses --user rather than ignore it.
TEST(PrivilegeDrop, FcgiInCgiModeTakesNoUser)
{
    TempDir dir;
    write_file(dir / "ids.py", ids_app);
    SpawnOptions o;
    o.env = {{"REQUEST_METHOD", "GET"}, {"SERVER_PROTOCOL", "HTTP/1.1"}};
    o.unset_env = {"LISTEN_FDS", "LISTEN_PID"};
    auto r = run_command(
        {gateway_path("wsgi-fcgi"), "--app", (dir / "ids.py").string(), "--user", "nobody"}, "", o);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--user and --group drop privileges of the FastCGI server"),
              std::string::npos)
        << r.err;
}
