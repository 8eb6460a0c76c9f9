#include "fcgi_common.hpp"

#include <chrono>
#include <pwd.h>
#include <unistd.h>

namespace wsgibridge::test {
using namespace std::chrono_literals;

std::string gateway_path(const std::string& program)
{
    auto p = build_root() / "cli" / program;
    return ::access(p.c_str(), X_OK) == 0 ? p.string() : std::string{};
}

std::string wsgi_fcgi_path()
{
    return gateway_path("wsgi-fcgi");
}

std::string fcgi_test_app()
{
    return (source_root() / "tests" / "apps" / "fcgi_flask_app.py").string();
}

ChildProcess start_gateway(const std::string& program, const std::string& bind,
                           const std::filesystem::path& log, const std::vector<std::string>& extra)
{
    // The tests run as root (CI): the application runs as root on purpose.
    std::vector<std::string> argv{
        gateway_path(program), "--allow-root", "--app",      fcgi_test_app(), "--bind", bind,
        "--log-level",         "debug",        "--log-file", log.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    SpawnOptions o;
    o.stderr_file = log;
    ChildProcess child(argv, o);
    bool up =
        bind.starts_with("unix:")
            ? wait_for_unix(bind.substr(5), 10s)
            : wait_for_tcp(static_cast<unsigned short>(std::stoi(bind.substr(bind.rfind(':') + 1))),
                           10s);
    EXPECT_TRUE(up) << program << " did not start: " << read_file(log);
    return child;
}

ChildProcess start_wsgi_fcgi(const std::string& bind, const std::filesystem::path& log,
                             const std::vector<std::string>& extra)
{
    return start_gateway("wsgi-fcgi", bind, log, extra);
}

namespace {
std::string body_of(const std::string& raw)
{
    // curl -i may show several heads (100 Continue); the body follows the last one.
    auto pos = raw.rfind("\r\n\r\n");
    return pos == std::string::npos ? raw : raw.substr(pos + 4);
}

int status_of(const std::string& raw)
{
    auto pos = raw.rfind("HTTP/1.1 ");
    return pos == std::string::npos ? 0 : std::stoi(raw.substr(pos + 9, 3));
}
} // namespace

void check_http_front(unsigned short port, const std::string& prefix)
{
    std::string base = "http://127.0.0.1:" + std::to_string(port) + prefix;

    auto r = curl({base + "/"});
    EXPECT_EQ(status_of(r.out), 200) << r.out;
    EXPECT_EQ(body_of(r.out), "hello from flask\n");

    r = curl({base + "/link"});
    EXPECT_EQ(body_of(r.out), prefix + "/target/x\n") << "url_for must include the mount point";
    r = curl({base + "/target/x"});
    EXPECT_EQ(body_of(r.out), "target x\n");

    // 1 MiB POST echoed byte for byte
    TempDir tmp;
    std::string big(1024 * 1024, '\0');
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>('A' + (i * 7) % 26);
    write_file(tmp / "big.bin", big);
    r = curl({"-H", "Content-Type: application/octet-stream", "--data-binary",
              "@" + (tmp / "big.bin").string(), base + "/echo"});
    EXPECT_EQ(status_of(r.out), 200);
    auto echoed = body_of(r.out);
    EXPECT_EQ(echoed.size(), big.size());
    EXPECT_TRUE(echoed == big) << "echoed body differs";

    r = curl({base + "/stream"});
    EXPECT_EQ(body_of(r.out), "chunk0\nchunk1\nchunk2\n");

    // an exception escaping the application: 500, then the next request is fine
    r = curl({base + "/crash"});
    EXPECT_EQ(status_of(r.out), 500) << r.out;
    r = curl({base + "/"});
    EXPECT_EQ(status_of(r.out), 200);

    // HTTP keep-alive: three requests on one client connection
    SpawnOptions no_proxy;
    no_proxy.unset_env = {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"};
    auto k = run_command({"/usr/bin/curl", "-sv", "-o", "/dev/null", "-o", "/dev/null", "-o",
                          "/dev/null", base + "/", base + "/link", base + "/"},
                         {}, no_proxy);
    EXPECT_EQ(k.exit_code, 0);
    EXPECT_NE(k.err.find("Re-using existing connection"), std::string::npos) << k.err;
}

std::string example_with(const std::string& name,
                         const std::vector<std::pair<std::string, std::string>>& edits)
{
    std::string text = read_file(source_root() / "examples" / name);
    for (const auto& [from, to] : edits) {
        auto pos = text.find(from);
        EXPECT_NE(pos, std::string::npos)
            << "examples/" << name << " no longer contains '" << from << "'";
        if (pos != std::string::npos) text.replace(pos, from.size(), to);
    }
    return text;
}

std::string example_fcgi_wrapper(const std::filesystem::path& log)
{
    return example_with("apache-fcgid/app.fcgi",
                        {{"/usr/local/bin/wsgi-fcgi", wsgi_fcgi_path()},
                         {"--app /srv/app/app.py",
                          // --allow-root: cgi-fcgi -start runs it as the test's user, root in CI
                          // (mod_fcgid runs it as Apache's User).
                          "--app " + fcgi_test_app() +
                              " --allow-root --log-level debug --log-file " + log.string()}});
}

int connections_accepted(const std::filesystem::path& log)
{
    auto text = read_file(log);
    int n = 0;
    for (auto p = text.find(" accepted"); p != std::string::npos; p = text.find(" accepted", p + 1))
        ++n;
    return n;
}

ChildProcess start_apache(const std::string& apache, const std::filesystem::path& dir,
                          const std::string& conf_template, unsigned short port,
                          std::map<std::string, std::string> vars)
{
    bool root = ::geteuid() == 0;
    vars["DIR"] = dir.string();
    vars["PORT"] = std::to_string(port);
    vars["USER"] = root ? "www-data" : ::getpwuid(::geteuid())->pw_name;
    vars["GROUP"] = root ? "www-data" : "#" + std::to_string(::getegid());
    write_file(dir / "httpd.conf",
               substitute(read_file(source_root() / "tests/e2e/conf" / conf_template), vars));
    SpawnOptions options;
    options.stdout_file = dir / "stdout.log";
    options.stderr_file = dir / "stderr.log";
    return ChildProcess(
        {apache, "-d", dir.string(), "-f", (dir / "httpd.conf").string(), "-DFOREGROUND"}, options);
}

std::string apache_logs(const std::filesystem::path& dir)
{
    return read_file(dir / "error.log") + read_file(dir / "stderr.log");
}

} // namespace wsgibridge::test
