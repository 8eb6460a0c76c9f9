// wsgi-http behind TLS-terminating proxies (nginx proxy_pass, Apache mod_proxy_http,
// HAProxy): proxy headers from the trusted proxy give the application the client's
// address, https, the public host and the prefix (Flask url_for(_external=True), Django
// is_secure()); the same headers from an untrusted peer change nothing.
#include "fcgi_common.hpp"
#include "http_server.hpp"

#include <cctype>
#include <nlohmann/json.hpp>

using namespace wsgibridge::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

constexpr const char* public_host = "www.example.test";
// The client connects from another loopback address than the proxy's 127.0.0.1, so
// REMOTE_ADDR shows which of the two the application was told about.
constexpr const char* client_addr = "127.0.0.2";

bool have_frameworks()
{
    return run_command({system_python, "-c", "import flask, django"}).exit_code == 0;
}

/// A self-signed certificate for public_host, made by openssl in `dir`.
bool make_certificate(const TempDir& dir)
{
    auto r = run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                          std::string("/CN=") + public_host, "-addext",
                          std::string("subjectAltName=DNS:") + public_host, "-keyout",
                          (dir / "key.pem").string(), "-out", (dir / "cert.pem").string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0;
}

/// curl over TLS to https://public_host:port + path, trusting only our certificate.
CommandResult tls_get(const TempDir& dir, unsigned short port, const std::string& path)
{
    std::string p = std::to_string(port);
    return curl({"--cacert", (dir / "cert.pem").string(), "--resolve",
                 std::string(public_host) + ":" + p + ":127.0.0.1", "--interface", client_addr,
                 "https://" + std::string(public_host) + ":" + p + path});
}

json body_json(const CommandResult& r)
{
    auto body = response_body(r.out);
    auto parsed = json::parse(body, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << r.out << r.err;
    return parsed;
}

/// A response header's value; names compare case-insensitively (HAProxy lower-cases them).
std::string header_value(const std::string& raw, const std::string& name)
{
    auto lower = [](std::string s) {
        for (char& c : s)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    };
    auto pos = lower(raw).find("\r\n" + lower(name) + ": ");
    if (pos == std::string::npos) return {};
    pos += name.size() + 4;
    return raw.substr(pos, raw.find("\r\n", pos) - pos);
}

/// What every TLS proxy in front of wsgi-http must give the frameworks.
void check_behind_tls_proxy(const TempDir& dir, unsigned short port, WsgiHttpProcess& app)
{
    std::string base = "https://" + std::string(public_host) + ":" + std::to_string(port) + "/pub";

    auto flask = body_json(tls_get(dir, port, "/pub/flask/info"));
    EXPECT_EQ(flask["external"], base + "/flask/info") << flask.dump();
    EXPECT_EQ(flask["remote_addr"], client_addr);
    EXPECT_EQ(flask["is_secure"], true);
    EXPECT_EQ(flask["url_scheme"], "https");
    EXPECT_EQ(flask["https"], "on");
    EXPECT_EQ(flask["script_name"], "/pub/flask");
    EXPECT_EQ(flask["server_name"], public_host);
    EXPECT_EQ(flask["server_port"], std::to_string(port));

    auto redirect = tls_get(dir, port, "/pub/flask/go");
    EXPECT_EQ(response_status(redirect.out).substr(9, 3), "302") << redirect.out;
    EXPECT_EQ(header_value(redirect.out, "Location"), base + "/flask/info") << redirect.out;

    auto django = body_json(tls_get(dir, port, "/pub/django/info"));
    EXPECT_EQ(django["is_secure"], true) << django.dump();
    EXPECT_EQ(django["absolute"], base + "/django/info");
    EXPECT_EQ(django["host"], std::string(public_host) + ":" + std::to_string(port));
    EXPECT_EQ(django["remote_addr"], client_addr);

    auto dj_redirect = tls_get(dir, port, "/pub/django/go");
    EXPECT_EQ(header_value(dj_redirect.out, "Location"), base + "/django/info") << dj_redirect.out;

    // The access log names the client, not the proxy.
    auto access = read_file(app.dir() / "access.log");
    EXPECT_NE(access.find(std::string(client_addr) + " - - ["), std::string::npos) << access;
    EXPECT_EQ(access.find("127.0.0.1 - - ["), std::string::npos) << access;
    EXPECT_EQ(app.error_log().find("ignoring"), std::string::npos) << app.error_log();
}

std::vector<std::string> app_args(std::vector<std::string> extra = {})
{
    std::vector<std::string> args{"--app", "tests/apps/proxy_app.py", "--access-log",
                                  "@DIR@/access.log"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

} // namespace

TEST(HttpProxy, NginxTerminatingTls)
{
    if (!have_frameworks())
        GTEST_FAIL() << "Flask or Django missing (scripts/lib.sh installs them)";
    auto nginx = find_program({"/usr/sbin/nginx"});
    if (nginx.empty()) GTEST_FAIL() << "nginx missing (scripts/lib.sh installs it)";
    TempDir dir;
    ASSERT_TRUE(make_certificate(dir));
    WsgiHttpProcess app(app_args());
    ASSERT_TRUE(app.ready()) << app.error_log();

    auto port = free_tcp_port();
    write_file(
        dir / "site.conf",
        example_with(
            "nginx-proxy/wsgi-app.conf",
            {{"server 127.0.0.1:8000;", "server 127.0.0.1:" + std::to_string(app.port()) + ";"},
             {"listen 443 ssl;", "listen 127.0.0.1:" + std::to_string(port) + " ssl;"},
             {"/etc/ssl/certs/www.example.org.pem", (dir / "cert.pem").string()},
             {"/etc/ssl/private/www.example.org.key", (dir / "key.pem").string()}}));
    write_file(dir / "nginx.conf",
               substitute(read_file(source_root() / "tests/e2e/conf/http_proxy_nginx.conf.in"),
                          {{"DIR", dir.path().string()}}));
    ChildProcess server({nginx, "-p", dir.path().string(), "-c", (dir / "nginx.conf").string(),
                         "-e", (dir / "nginx-error.log").string()});
    ASSERT_TRUE(wait_for_tcp(port)) << read_file(dir / "nginx-error.log");
    check_behind_tls_proxy(dir, port, app);
}

TEST(HttpProxy, ApacheModProxyHttpTerminatingTls)
{
    if (!have_frameworks())
        GTEST_FAIL() << "Flask or Django missing (scripts/lib.sh installs them)";
    auto apache = find_program({"/usr/sbin/apache2"});
    if (apache.empty()) GTEST_FAIL() << "apache2 missing (scripts/lib.sh installs it)";
    TempDir dir;
    ASSERT_TRUE(make_certificate(dir));
    WsgiHttpProcess app(app_args());
    ASSERT_TRUE(app.ready()) << app.error_log();

    auto port = free_tcp_port();
    std::string upstream = "http://127.0.0.1:" + std::to_string(app.port()) + "/";
    write_file(
        dir / "wsgi-app.conf",
        example_with("apache-proxy-http/wsgi-app.conf",
                     {{"Listen 443", "Listen 127.0.0.1:" + std::to_string(port)},
                      {"<VirtualHost *:443>", "<VirtualHost *:" + std::to_string(port) + ">"},
                      {"/etc/ssl/certs/www.example.org.pem", (dir / "cert.pem").string()},
                      {"/etc/ssl/private/www.example.org.key", (dir / "key.pem").string()},
                      {"ProxyPass \"/pub/\" \"http://127.0.0.1:8000/\"",
                       "ProxyPass \"/pub/\" \"" + upstream + "\""},
                      {"ProxyPassReverse \"/pub/\" \"http://127.0.0.1:8000/\"",
                       "ProxyPassReverse \"/pub/\" \"" + upstream + "\""}}));
    auto server = start_apache(apache, dir.path(), "http_proxy_apache.conf.in", port);
    ASSERT_TRUE(wait_for_tcp(port)) << apache_logs(dir.path());
    check_behind_tls_proxy(dir, port, app);
}

TEST(HttpProxy, HaproxyTerminatingTls)
{
    if (!have_frameworks())
        GTEST_FAIL() << "Flask or Django missing (scripts/lib.sh installs them)";
    auto haproxy = find_program({"/usr/sbin/haproxy"});
    if (haproxy.empty()) GTEST_FAIL() << "haproxy missing (scripts/lib.sh installs it)";
    TempDir dir;
    ASSERT_TRUE(make_certificate(dir));
    // HAProxy wants certificate and key in one file.
    write_file(dir / "both.pem", read_file(dir / "cert.pem") + read_file(dir / "key.pem"));
    WsgiHttpProcess app(app_args());
    ASSERT_TRUE(app.ready()) << app.error_log();

    auto port = free_tcp_port();
    write_file(
        dir / "haproxy.cfg",
        example_with(
            "haproxy/tls-proxy.cfg",
            {{"bind :443 ssl crt /etc/haproxy/www.example.org.pem",
              "bind 127.0.0.1:" + std::to_string(port) + " ssl crt " + (dir / "both.pem").string()},
             {"server app 127.0.0.1:8000", "server app 127.0.0.1:" + std::to_string(app.port())}}));
    SpawnOptions o;
    o.stdout_file = dir / "haproxy.log";
    o.stderr_file = dir / "haproxy.log";
    ChildProcess server({haproxy, "-db", "-f", (dir / "haproxy.cfg").string()}, o);
    ASSERT_TRUE(wait_for_tcp(port)) << read_file(dir / "haproxy.log");
    check_behind_tls_proxy(dir, port, app);
}

// The same headers straight from a peer that is not a trusted proxy are ordinary
// headers: they reach the app as HTTP_* and change nothing.
TEST(HttpProxy, UntrustedPeerChangesNothing)
{
    if (!have_frameworks())
        GTEST_FAIL() << "Flask or Django missing (scripts/lib.sh installs them)";
    WsgiHttpProcess app(app_args({"--forwarded-allow-ips", "10.9.9.9,192.0.2.0/24"}));
    ASSERT_TRUE(app.ready()) << app.error_log();
    std::string local = "127.0.0.1:" + std::to_string(app.port());
    std::vector<std::string> forged{
        "-H", "X-Forwarded-For: 203.0.113.66",  "-H", "X-Forwarded-Proto: https",
        "-H", "X-Forwarded-Host: evil.example", "-H", "X-Forwarded-Port: 443",
        "-H", "X-Forwarded-Prefix: /evil",      "-H", "Forwarded: for=203.0.113.66;proto=https"};
    auto args = forged;
    args.push_back(app.url("/flask/info"));
    auto flask = body_json(curl(args));
    EXPECT_EQ(flask["external"], "http://" + local + "/flask/info") << flask.dump();
    EXPECT_EQ(flask["remote_addr"], "127.0.0.1");
    EXPECT_EQ(flask["is_secure"], false);
    EXPECT_EQ(flask["https"], nullptr);
    EXPECT_EQ(flask["script_name"], "/flask");
    EXPECT_EQ(flask["x_forwarded_for"], "203.0.113.66");

    args = forged;
    args.push_back(app.url("/django/info"));
    auto django = body_json(curl(args));
    EXPECT_EQ(django["is_secure"], false);
    EXPECT_EQ(django["absolute"], "http://" + local + "/django/info");
    EXPECT_EQ(app.error_log().find("ignoring"), std::string::npos) << app.error_log();
}

// Malformed values from a trusted peer: ignored, one log line each, the request served.
TEST(HttpProxy, MalformedValuesFromTrustedPeerAreLoggedNotFatal)
{
    if (!have_frameworks())
        GTEST_FAIL() << "Flask or Django missing (scripts/lib.sh installs them)";
    WsgiHttpProcess app(app_args());
    ASSERT_TRUE(app.ready()) << app.error_log();
    auto r =
        curl({"-H", "X-Forwarded-For: 1.2.3.4, not-an-address", "-H", "X-Forwarded-Proto: gopher",
              "-H", "X-Forwarded-Host: a b", "-H", "X-Forwarded-Port: 0", "-H",
              "X-Forwarded-Prefix: relative", app.url("/flask/info")});
    auto flask = body_json(r);
    EXPECT_EQ(response_status(r.out), "HTTP/1.1 200 OK");
    EXPECT_EQ(flask["remote_addr"], "127.0.0.1");
    EXPECT_EQ(flask["url_scheme"], "http");
    EXPECT_EQ(flask["script_name"], "/flask");
    auto log = app.error_log();
    for (const char* what :
         {"not-an-address", "gopher", "'a b'", "X-Forwarded-Port: '0'", "'relative'"})
        EXPECT_NE(log.find(what), std::string::npos) << what << "\n" << log;
    auto bad_forwarded = curl({"-H", "Forwarded: for=\"unterminated", app.url("/flask/info")});
    EXPECT_EQ(response_status(bad_forwarded.out), "HTTP/1.1 200 OK");
    EXPECT_NE(app.error_log().find("ignoring Forwarded"), std::string::npos);

    // A bad --forwarded-allow-ips is a usage error naming the option.
    auto usage = run_command({(build_root() / "cli/wsgi-http").string(), "--allow-root", "--app",
                              "tests/apps/proxy_app.py", "--forwarded-allow-ips", "localhost"});
    EXPECT_EQ(usage.exit_code, 2);
    EXPECT_NE(usage.err.find("--forwarded-allow-ips"), std::string::npos) << usage.err;
}

// A proxy on the same host talking over a unix socket is trusted: only processes allowed
// by the socket file's mode can connect (gunicorn treats unix peers the same way).
TEST(HttpProxy, UnixSocketPeerIsTrusted)
{
    if (!have_frameworks())
        GTEST_FAIL() << "Flask or Django missing (scripts/lib.sh installs them)";
    WsgiHttpProcess app(
        app_args({"--bind", "unix:@DIR@/http.sock", "--forwarded-allow-ips", "10.9.9.9"}));
    auto sock = app.dir() / "http.sock";
    ASSERT_TRUE(wait_for_unix(sock)) << app.error_log();
    auto r = curl({"--unix-socket", sock.string(), "-H", "X-Forwarded-For: 198.51.100.4", "-H",
                   "X-Forwarded-Proto: https", "-H", "Host: www.example.test",
                   "http://localhost/flask/info"});
    auto flask = body_json(r);
    EXPECT_EQ(flask["remote_addr"], "198.51.100.4") << r.out;
    EXPECT_EQ(flask["external"], "https://www.example.test/flask/info");
    EXPECT_EQ(flask["server_port"], "443");
}
