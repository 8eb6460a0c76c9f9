// --ini FILE on the real programs: a uWSGI-style [uwsgi] file serves an application
// (checked with curl and a raw uwsgi request), the command line overrides the file, a
// key we do not read is refused by name (exit 2, a usage error), and --help lists every
// option of the one table the command line and the ini file are read from.
#include "stream_common.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

std::string program(const std::string& name)
{
    auto path = gateway_path(name);
    if (path.empty()) ADD_FAILURE() << name << " was not built";
    return path;
}

std::string port_text(unsigned short port)
{
    return std::to_string(port);
}

const std::vector<std::string> programs{"wsgi-http", "wsgi-fcgi", "wsgi-cgi", "wsgi-scgi",
                                        "wsgi-uwsgi"};

} // namespace

TEST(CliIni, WsgiHttpServesAUwsgiIniFile)
{
    TempDir dir;
    auto port = free_tcp_port();
    // The shape of a uWSGI quick-start file: comments of both kinds, another section
    // (uWSGI reads [uwsgi] only), the common tuning keys.
    write_file(dir / "app.ini", "; served by wsgi-http\n"
                                "[uwsgi]\n"
                                "http-socket = 127.0.0.1:" +
                                    port_text(port) +
                                    "\n"
                                    "chdir = " +
                                    (source_root() / "examples").string() +
                                    "\n"
                                    "mount = /hello=hello.py\n"
                                    "callable = application\n"
                                    "processes = 2\n"
                                    "threads = 2\n"
                                    "harakiri = 30\n"
                                    "max-requests = 1000\n"
                                    "reload-on-rss = 512\n"
                                    "buffer-size = 8192\n"
                                    "# the end\n"
                                    "[production]\n"
                                    "master = true\n");
    SpawnOptions o;
    o.stderr_file = dir / "err.log";
    ChildProcess server({program("wsgi-http"), "--allow-root", "--ini", (dir / "app.ini").string()},
                        o);
    ASSERT_TRUE(wait_for_tcp(port)) << read_file(dir / "err.log");
    auto base = "http://127.0.0.1:" + port_text(port);
    auto r = curl({base + "/hello/"});
    EXPECT_EQ(status_code(r.out), 200) << r.out;
    EXPECT_NE(r.out.find("Hello, World!"), std::string::npos) << r.out;
    // mount = /hello: other paths are not the application's (SCRIPT_NAME /hello).
    EXPECT_EQ(status_code(curl({base + "/other"}).out), 404);
    // buffer-size = 8192 is --max-header-bytes: a 10 KB head is refused (431).
    r = curl({"-H", "X-Big: " + std::string(10000, 'a'), base + "/hello/"});
    EXPECT_EQ(status_code(r.out), 431) << r.out;
    int status = server.stop(SIGTERM, 10s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_NE(read_file(dir / "err.log").find("2 workers x 2 threads"), std::string::npos)
        << read_file(dir / "err.log");
}

TEST(CliIni, CommandLineOverridesTheFile)
{
    TempDir dir;
    auto file_port = free_tcp_port();
    auto port = free_tcp_port();
    write_file(dir / "app.ini", "[uwsgi]\n"
                                "http-socket = 127.0.0.1:" +
                                    port_text(file_port) +
                                    "\n"
                                    "wsgi-file = " +
                                    (source_root() / "examples/hello.py").string() +
                                    "\n"
                                    "threads = 0\n"); // invalid, but overridden below
    SpawnOptions o;
    o.stderr_file = dir / "err.log";
    ChildProcess server({program("wsgi-http"), "--allow-root", "--bind",
                         "127.0.0.1:" + port_text(port), "--threads", "1", "--ini",
                         (dir / "app.ini").string(), "--no-master"},
                        o);
    ASSERT_TRUE(wait_for_tcp(port)) << read_file(dir / "err.log");
    auto r = curl({"http://127.0.0.1:" + port_text(port) + "/"});
    EXPECT_NE(r.out.find("Hello, World!"), std::string::npos) << r.out;
    EXPECT_FALSE(wait_for_tcp(file_port, 200ms));
}

// uWSGI's https = ADDRESS,CERT,KEY (and https-socket, the same value) is wsgi-http's
// --bind, --certfile and --keyfile: curl trusts the self-signed certificate and gets the
// application over TLS.
TEST(CliIni, WsgiHttpServesHttpsFromTheFile)
{
    TempDir dir;
    auto made = run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                             "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout",
                             (dir / "key.pem").string(), "-out", (dir / "cert.pem").string()});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    for (std::string key : {"https", "https-socket"}) {
        SCOPED_TRACE(key);
        auto port = free_tcp_port();
        write_file(dir / "app.ini",
                   "[uwsgi]\n" + key + " = 127.0.0.1:" + port_text(port) + "," +
                       (dir / "cert.pem").string() + "," + (dir / "key.pem").string() +
                       "\nwsgi-file = " + (source_root() / "examples/hello.py").string() + "\n");
        SpawnOptions o;
        o.stderr_file = dir / "err.log";
        ChildProcess server(
            {program("wsgi-http"), "--allow-root", "--ini", (dir / "app.ini").string()}, o);
        ASSERT_TRUE(wait_for_tcp(port)) << read_file(dir / "err.log");
        auto r = curl({"--cacert", (dir / "cert.pem").string(), "--resolve",
                       "localhost:" + port_text(port) + ":127.0.0.1",
                       "https://localhost:" + port_text(port) + "/"});
        EXPECT_EQ(status_code(r.out), 200) << r.out << r.err << read_file(dir / "err.log");
        EXPECT_NE(r.out.find("Hello, World!"), std::string::npos) << r.out;
        EXPECT_NE(read_file(dir / "err.log").find("listening on https://"), std::string::npos)
            << read_file(dir / "err.log");
    }
}

// What wsgi-http cannot do of uWSGI's https value is refused by name: a cipher list, a
// client CA, a shared socket (=N); and https is wsgi-http's, one socket per program.
TEST(CliIni, HttpsFieldsWithoutAnOptionAreRefused)
{
    TempDir dir;
    auto refused = [&](const std::string& name, const std::string& ini) {
        write_file(dir / "t.ini", "[uwsgi]\nwsgi-file = app.py\n" + ini);
        return run_command({program(name), "--ini", (dir / "t.ini").string()});
    };
    auto r = refused("wsgi-http", "https = :8443,a.crt,a.key,HIGH\n");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("[uwsgi] https ciphers 'HIGH': wsgi-http has no cipher option"),
              std::string::npos)
        << r.err;
    r = refused("wsgi-http", "https-socket = :8443,a.crt,a.key,,ca.crt\n");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("[uwsgi] https-socket client CA 'ca.crt': wsgi-http does not verify "
                         "client certificates"),
              std::string::npos)
        << r.err;
    r = refused("wsgi-http", "https = =0,a.crt,a.key\n");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("a shared-socket number"), std::string::npos) << r.err;
    r = refused("wsgi-http", "https = :8443\n");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("expected ADDRESS,CERT,KEY"), std::string::npos) << r.err;
    r = refused("wsgi-http", "http-socket = :8000\nhttps = :8443,a.crt,a.key\n");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("[uwsgi] https and http-socket both name a socket"), std::string::npos)
        << r.err;
    r = refused("wsgi-uwsgi", "https = :8443,a.crt,a.key\n");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("[uwsgi] https is wsgi-http's; wsgi-uwsgi takes socket"),
              std::string::npos)
        << r.err;
}

TEST(CliIni, WsgiUwsgiServesModuleAndCallable)
{
    TempDir dir;
    auto port = free_tcp_port();
    write_file(dir / "app.ini", "[uwsgi]\n"
                                "socket = 127.0.0.1:" +
                                    port_text(port) +
                                    "\n"
                                    "pythonpath = " +
                                    (source_root() / "tests/apps").string() +
                                    "\n"
                                    "module = echo\n"
                                    "callable = application\n"
                                    "processes = 1\n"
                                    "threads = 2\n");
    SpawnOptions o;
    o.stderr_file = dir / "err.log";
    ChildProcess server(
        {program("wsgi-uwsgi"), "--allow-root", "--ini", (dir / "app.ini").string()}, o);
    ASSERT_TRUE(wait_for_tcp(port)) << read_file(dir / "err.log");
    auto reply = raw_exchange(port, uwsgi_packet({{"REQUEST_METHOD", "GET"},
                                                  {"REQUEST_URI", "/from-ini"},
                                                  {"PATH_INFO", "/from-ini"},
                                                  {"SERVER_PROTOCOL", "HTTP/1.1"}}));
    EXPECT_EQ(status_code(reply), 200) << reply << read_file(dir / "err.log");
    EXPECT_NE(reply.find("X-Echo-Path: /from-ini"), std::string::npos) << reply;
}

TEST(CliIni, UnknownKeysAreRefusedByName)
{
    TempDir dir;
    write_file(dir / "master.ini", "[uwsgi]\nmodule = echo\nmaster = true\n");
    SpawnOptions o;
    o.unset_env = {"REQUEST_METHOD"};
    for (const auto& name : programs) {
        auto r = run_command({program(name), "--ini", (dir / "master.ini").string()}, "", o);
        EXPECT_EQ(r.exit_code, 2) << name << ": " << r.err;
        EXPECT_NE(r.err.find("[uwsgi] master is not supported"), std::string::npos)
            << name << ": " << r.err;
    }
    // uWSGI's socket speaks the uwsgi protocol: wsgi-http wants http-socket, and says so.
    write_file(dir / "socket.ini", "[uwsgi]\nsocket = 127.0.0.1:1\nmodule = echo\n");
    auto r = run_command({program("wsgi-http"), "--ini", (dir / "socket.ini").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("[uwsgi] socket is a uwsgi-protocol socket"), std::string::npos) << r.err;
    // A key this program has no option for (wsgi-cgi serves one request: no processes).
    write_file(dir / "cgi.ini", "[uwsgi]\nprocesses = 4\n");
    r = run_command({program("wsgi-cgi"), "--ini", (dir / "cgi.ini").string()}, "", o);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("processes (our --workers) is not an option of wsgi-cgi"),
              std::string::npos)
        << r.err;
    // A bad value names the file and the key.
    write_file(dir / "bad.ini", "[uwsgi]\nprocesses = many\n");
    r = run_command({program("wsgi-http"), "--ini", (dir / "bad.ini").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("[uwsgi] processes: --workers: expected a whole number"),
              std::string::npos)
        << r.err;
    r = run_command({program("wsgi-http"), "--ini", (dir / "missing.ini").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("cannot read the file"), std::string::npos) << r.err;
}

TEST(CliIni, UsageErrorsKeepTheirMessages)
{
    for (const auto& name : programs) {
        auto r = run_command({program(name), "--no-such-option"});
        EXPECT_EQ(r.exit_code, 2) << name;
        EXPECT_NE(r.err.find("unknown option --no-such-option"), std::string::npos) << r.err;
        // No abbreviations: Program_options' guessing is off.
        r = run_command({program(name), "--chd", "/"});
        EXPECT_NE(r.err.find("unknown option --chd"), std::string::npos) << r.err;
        r = run_command({program(name), "--app"});
        EXPECT_EQ(r.exit_code, 2) << name;
        EXPECT_NE(r.err.find("--app needs a value (SPEC)"), std::string::npos) << r.err;
    }
    auto r = run_command({program("wsgi-http"), "--preload=yes"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--preload takes no value"), std::string::npos) << r.err;
}

TEST(CliIni, HelpListsEveryOption)
{
    const std::vector<std::string> common{"--ini",
                                          "--app",
                                          "--chdir",
                                          "--pythonpath",
                                          "--virtualenv",
                                          "--log-file",
                                          "--log-level",
                                          "--max-header-bytes",
                                          "--max-header-count",
                                          "--max-body",
                                          "--io-timeout",
                                          "--max-drain"};
    const std::map<std::string, std::vector<std::string>> own{
        {"wsgi-http",
         {"--max-target-bytes",
          "--header-timeout",
          "--keepalive-timeout",
          "--access-log",
          "--bind",
          "--socket-mode",
          "--threads",
          "--workers",
          "--no-master",
          "--preload",
          "--graceful-timeout",
          "--timeout",
          "--max-requests-jitter",
          "--reload-on-rss",
          "--stats",
          "--health",
          "--reload",
          "--log-format",
          "--pidfile",
          "--max-requests",
          "--mount",
          "--forwarded-allow-ips",
          "--static-map"}},
        {"wsgi-fcgi",
         {"--access-log", "--bind", "--socket-mode", "--threads", "--workers", "--no-master",
          "--timeout", "--reload-on-rss", "--pidfile", "--max-requests", "--max-connections",
          "--max-requests-in-flight", "--mount", "--promote-redirect-authorization",
          "--wsgi-errors", "--mode"}},
        {"wsgi-cgi", {"--nph", "--promote-redirect-authorization", "--pass-env"}},
        {"wsgi-scgi",
         {"--header-timeout", "--access-log", "--bind", "--socket-mode", "--threads", "--workers",
          "--max-requests", "--max-connections", "--mount", "--promote-redirect-authorization"}},
        {"wsgi-uwsgi",
         {"--header-timeout", "--access-log", "--bind", "--socket-mode", "--threads", "--workers",
          "--max-requests", "--max-connections", "--mount", "--promote-redirect-authorization"}},
    };
    for (const auto& name : programs) {
        for (const char* help : {"--help", "-h"}) {
            auto r = run_command({program(name), help});
            EXPECT_EQ(r.exit_code, 0) << name;
            EXPECT_NE(r.out.find("usage: " + name), std::string::npos) << r.out;
            for (const auto& options : {common, own.at(name)})
                for (const auto& option : options)
                    EXPECT_TRUE(r.out.find("\n  " + option + " ") != std::string::npos ||
                                r.out.find("\n  " + option + "\n") != std::string::npos)
                        << name << " --help lacks " << option;
        }
    }
}

// A limit option is offered only where the front end enforces it: CGI and FastCGI read no
// request line and keep no HTTP connection alive, SCGI and uwsgi keep none either. Given
// anyway, it is refused by name rather than accepted and ignored.
TEST(CliIni, LimitOptionsOnlyWhereTheyApply)
{
    const std::map<std::string, std::vector<std::string>> absent{
        {"wsgi-cgi", {"--max-target-bytes", "--header-timeout", "--keepalive-timeout"}},
        {"wsgi-fcgi", {"--max-target-bytes", "--header-timeout", "--keepalive-timeout"}},
        {"wsgi-scgi", {"--max-target-bytes", "--keepalive-timeout"}},
        {"wsgi-uwsgi", {"--max-target-bytes", "--keepalive-timeout"}},
    };
    for (const auto& [name, options] : absent) {
        auto help = run_command({program(name), "--help"});
        ASSERT_EQ(help.exit_code, 0) << name;
        for (const auto& option : options) {
            EXPECT_EQ(help.out.find("\n  " + option + " "), std::string::npos)
                << name << " --help offers " << option;
            auto r = run_command({program(name), option, "5", "--app", "x:y"});
            EXPECT_EQ(r.exit_code, 2) << name << " " << option;
            EXPECT_NE(r.err.find("unknown option " + option), std::string::npos)
                << name << ": " << r.err;
        }
    }
}
