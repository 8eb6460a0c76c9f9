// wsgi-http serving HTTPS itself (--certfile/--keyfile): curl and Python's ssl client
// (OpenSSL) over TLS 1.2 and 1.3 with ALPN http/1.1, a chain file (server certificate,
// then the intermediate) verified against the test's own root, the environ a TLS request
// gets (wsgi.url_scheme https, HTTPS=on as Apache and nginx set it), TLS 1.1 refused,
// plain HTTP on the TLS port answered with 400, a client that never handshakes closed at
// --header-timeout without holding the only thread, --static-map files over TLS, and a
// SIGHUP to the master serving a replaced certificate without failing a request in flight.
#include "http_server.hpp"

#include <arpa/inet.h>
#include <filesystem>
#include <future>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

/// A root CA, an intermediate it signed, and server certificates the intermediate signs
/// (localhost, 127.0.0.1), all made by openssl in one temp dir.
class Pki
{
public:
    Pki()
    {
        write_file(dir_ / "ca.ext", "basicConstraints=critical,CA:TRUE\n"
                                    "keyUsage=critical,keyCertSign,cRLSign\n");
        write_file(dir_ / "leaf.ext", "basicConstraints=CA:FALSE\n"
                                      "keyUsage=critical,digitalSignature\n"
                                      "extendedKeyUsage=serverAuth\n"
                                      "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
        ok_ = openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                       "-nodes", "-days", "2", "-subj", "/CN=wsgi-bridge test root", "-keyout",
                       path("root.key"), "-out", path("root.pem")}) &&
              sign("intermediate", "/CN=wsgi-bridge test intermediate", "root", "ca.ext", "0A");
    }

    bool ok() const noexcept { return ok_; }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }
    /// The root clients trust (--cacert): the intermediate only comes from the server.
    std::string root() const { return path("root.pem"); }

    /// A server certificate with `serial` (hex) and O=`org`, written as the chain file
    /// `chain` (certificate, then intermediate) and the key `key`; replaced atomically, as
    /// a certificate renewal would.
    bool server_cert(const std::string& serial, const std::string& org, const std::string& chain,
                     const std::string& key)
    {
        std::string name = "server-" + serial;
        if (!sign(name, "/CN=localhost/O=" + org, "intermediate", "leaf.ext", serial)) return false;
        write_file(dir_ / (chain + ".tmp"),
                   read_file(dir_ / (name + ".pem")) + read_file(dir_ / "intermediate.pem"));
        std::filesystem::rename(dir_ / (chain + ".tmp"), dir_ / chain);
        std::filesystem::copy_file(dir_ / (name + ".key"), dir_ / (key + ".tmp"),
                                   std::filesystem::copy_options::overwrite_existing);
        std::filesystem::rename(dir_ / (key + ".tmp"), dir_ / key);
        return true;
    }

private:
    bool openssl(std::vector<std::string> args)
    {
        args.insert(args.begin(), "/usr/bin/openssl");
        auto r = run_command(args);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.exit_code == 0;
    }

    bool sign(const std::string& name, const std::string& subject, const std::string& issuer,
              const std::string& ext, const std::string& serial)
    {
        return openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-subj", subject, "-keyout", path(name + ".key"), "-out",
                        path(name + ".csr")}) &&
               openssl({"x509", "-req", "-in", path(name + ".csr"), "-CA", path(issuer + ".pem"),
                        "-CAkey", path(issuer + ".key"), "-set_serial", "0x" + serial, "-days", "2",
                        "-extfile", path(ext), "-out", path(name + ".pem")});
    }

    TempDir dir_;
    bool ok_ = false;
};

/// wsgi-http on tests/apps/http_env_app.py with a fresh server certificate.
struct TlsServer
{
    Pki pki;
    bool cert = pki.ok() && pki.server_cert("1001", "first", "chain.pem", "key.pem");
    WsgiHttpProcess s;

    explicit TlsServer(std::vector<std::string> extra = {})
        : s([&] {
              std::vector<std::string> args{"--app",      "tests/apps/http_env_app.py",
                                            "--certfile", pki.path("chain.pem"),
                                            "--keyfile",  pki.path("key.pem")};
              args.insert(args.end(), extra.begin(), extra.end());
              return args;
          }())
    {
    }

    std::string url(const std::string& path) const
    {
        return "https://localhost:" + std::to_string(s.port()) + path;
    }
    /// curl trusting only the test root, localhost resolved to 127.0.0.1.
    CommandResult curl_tls(std::vector<std::string> args) const
    {
        std::vector<std::string> all{"--cacert", pki.root(), "--resolve",
                                     "localhost:" + std::to_string(s.port()) + ":127.0.0.1"};
        all.insert(all.end(), args.begin(), args.end());
        return curl(all);
    }
    /// Python's ssl client (tests/e2e/tls_client.py) offering only `version`.
    std::pair<int, json> python(const std::string& version,
                                std::vector<std::string> options = {}) const
    {
        std::vector<std::string> argv{system_python,
                                      (source_root() / "tests/e2e/tls_client.py").string(),
                                      std::to_string(s.port()), pki.root(), version};
        argv.insert(argv.end(), options.begin(), options.end());
        auto r = run_command(argv);
        auto parsed = json::parse(r.out, nullptr, false);
        EXPECT_FALSE(parsed.is_discarded()) << r.out << r.err;
        return {r.exit_code, parsed};
    }
};

/// A TCP connection to 127.0.0.1:port that sends nothing.
int silent_connection(unsigned short port)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

/// Waits for the peer to close `fd` (recv 0 or a reset); false after `timeout`.
bool closed_by_peer(int fd, std::chrono::milliseconds timeout)
{
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char c;
    return ::recv(fd, &c, 1, 0) <= 0;
}

} // namespace

TEST(WsgiHttpTls, CurlGetsTheEnvironOverTlsWithAlpnAndKeepAlive)
{
    TlsServer t;
    ASSERT_TRUE(t.cert);
    ASSERT_TRUE(t.s.ready()) << t.s.error_log();

    auto r = t.curl_tls({"-v", t.url("/env")});
    ASSERT_EQ(r.exit_code, 0) << r.err << t.s.error_log();
    EXPECT_EQ(response_status(r.out), "HTTP/1.1 200 OK");
    auto env = json::parse(response_body(r.out), nullptr, false);
    ASSERT_FALSE(env.is_discarded()) << r.out;
    // PEP 3333 URL reconstruction: the scheme of the connection; HTTPS=on as Apache's
    // mod_ssl and nginx's fastcgi_params give CGI programs.
    EXPECT_EQ(env["wsgi.url_scheme"], "https");
    EXPECT_EQ(env["HTTPS"], "on");
    EXPECT_EQ(env["SERVER_PORT"], std::to_string(t.s.port()));
    // RFC 7301: the server picked http/1.1 from curl's "h2,http/1.1".
    EXPECT_NE(r.err.find("ALPN: server accepted http/1.1"), std::string::npos) << r.err;

    // HTTP/1.0 (curl offers ALPN "http/1.0" only): a body without Content-Length ends with
    // the connection (RFC 9112 section 6.3), after close_notify.
    auto old = t.curl_tls({"--http1.0", t.url("/stream")});
    ASSERT_EQ(old.exit_code, 0) << old.err << t.s.error_log();
    EXPECT_EQ(response_status(old.out), "HTTP/1.1 200 OK");
    EXPECT_NE(response_body(old.out).find("part 2"), std::string::npos) << old.out;

    // Two requests in one curl run share the connection (the same client port).
    auto two = t.curl_tls({t.url("/env"), t.url("/env")});
    ASSERT_EQ(two.exit_code, 0) << two.err;
    std::vector<std::string> ports;
    for (std::size_t pos = 0;
         (pos = two.out.find("\"REMOTE_PORT\": \"", pos)) != std::string::npos;) {
        pos += 16;
        ports.push_back(two.out.substr(pos, two.out.find('"', pos) - pos));
    }
    ASSERT_EQ(ports.size(), 2u) << two.out;
    EXPECT_EQ(ports[0], ports[1]) << "the second request did not reuse the TLS connection";
}

TEST(WsgiHttpTls, OneMebibytePostIsEchoedIntact)
{
    TlsServer t;
    ASSERT_TRUE(t.cert);
    ASSERT_TRUE(t.s.ready()) << t.s.error_log();
    TempDir work;
    std::string body;
    body.reserve(1 << 20);
    for (std::size_t i = 0; body.size() < (1u << 20); ++i)
        body.push_back(static_cast<char>((i * 7919) >> 3));
    write_file(work / "body.bin", body);
    auto r = t.curl_tls({"-o", (work / "back.bin").string(), "--data-binary",
                         "@" + (work / "body.bin").string(), t.url("/echo")});
    ASSERT_EQ(r.exit_code, 0) << r.err << t.s.error_log();
    auto back = read_file(work / "back.bin"); // curl -i: the head, then the body
    EXPECT_EQ(response_status(back), "HTTP/1.1 200 OK");
    EXPECT_TRUE(response_body(back) == body) << "the echoed body differs";
}

TEST(WsgiHttpTls, PythonSslTls12And13WithAlpnAndTls11Refused)
{
    TlsServer t;
    ASSERT_TRUE(t.cert);
    ASSERT_TRUE(t.s.ready()) << t.s.error_log();
    for (const auto& [offer, expected] :
         {std::pair<std::string, std::string>{"1.2", "TLSv1.2"}, {"1.3", "TLSv1.3"}}) {
        auto [code, out] = t.python(offer);
        ASSERT_EQ(code, 0) << out.dump() << t.s.error_log();
        EXPECT_EQ(out["version"], expected);
        EXPECT_EQ(out["alpn"], "http/1.1");
        EXPECT_EQ(out["status"], "HTTP/1.1 200 OK");
        auto env = json::parse(out["body"].get<std::string>(), nullptr, false);
        ASSERT_FALSE(env.is_discarded()) << out.dump();
        EXPECT_EQ(env["wsgi.url_scheme"], "https");
        EXPECT_EQ(env["HTTPS"], "on");
    }
    // Pipelined requests inside TLS records: each is answered, in order (RFC 9112 9.3.2).
    auto [piped_code, piped] = t.python("1.3", {"--pipeline", "5"});
    EXPECT_EQ(piped_code, 0) << piped.dump();
    EXPECT_EQ(piped["responses"], 5) << piped.dump();
    // RFC 7301 section 3.2: no protocol in common (only h2 offered) is the
    // no_application_protocol alert.
    auto [h2_code, h2] = t.python("1.3", {"--alpn", "h2"});
    EXPECT_EQ(h2_code, 3) << h2.dump();
    EXPECT_NE(h2.value("refused", "").find("no application protocol"), std::string::npos)
        << h2.dump();
    // TLS 1.1 (RFC 8996 deprecates it): the handshake is refused and logged.
    auto [code, out] = t.python("1.1");
    EXPECT_EQ(code, 3) << out.dump();
    EXPECT_TRUE(out.contains("refused")) << out.dump();
    EXPECT_NE(t.s.error_log().find("TLS handshake with 127.0.0.1:"), std::string::npos)
        << t.s.error_log();
    // ...and the server goes on serving.
    EXPECT_EQ(t.python("1.3").first, 0);
}

TEST(WsgiHttpTls, PlainHttpOnTheTlsPortGets400)
{
    TlsServer t({"--header-timeout", "3"});
    ASSERT_TRUE(t.cert);
    ASSERT_TRUE(t.s.ready()) << t.s.error_log();
    auto start = std::chrono::steady_clock::now();
    auto out = raw_exchange(t.s.port(), "GET /env HTTP/1.1\r\nHost: localhost\r\n\r\n", 10s);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(out.starts_with("HTTP/1.1 400 ")) << out;
    EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
    EXPECT_LT(took, 3s) << "the answer waited for the header timeout";
    EXPECT_NE(t.s.error_log().find("plain HTTP on the TLS port (--certfile)"), std::string::npos)
        << t.s.error_log();
    // curl with an http:// URL sees the same answer.
    auto r = curl({"http://127.0.0.1:" + std::to_string(t.s.port()) + "/env"});
    EXPECT_EQ(response_status(r.out), "HTTP/1.1 400 Bad Request") << r.out << r.err;
}

TEST(WsgiHttpTls, ClientThatNeverHandshakesIsClosedAtHeaderTimeoutWhileOthersAreServed)
{
    // One io thread: were the handshake waiting on it, nobody else would be served.
    TlsServer t({"--threads", "1", "--header-timeout", "2"});
    ASSERT_TRUE(t.cert);
    ASSERT_TRUE(t.s.ready()) << t.s.error_log();
    auto start = std::chrono::steady_clock::now();
    int silent = silent_connection(t.s.port());
    ASSERT_GE(silent, 0);
    int half = silent_connection(t.s.port());
    ASSERT_GE(half, 0);
    // A handshake that stops half way: the first bytes of a ClientHello record.
    const char partial[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
    ASSERT_EQ(::send(half, partial, sizeof partial, MSG_NOSIGNAL), 6);

    auto r = t.curl_tls({t.url("/env")});
    EXPECT_EQ(response_status(r.out), "HTTP/1.1 200 OK") << r.err;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms)
        << "the other client waited for the stalled handshakes";

    EXPECT_TRUE(closed_by_peer(silent, 5s)) << "still open after --header-timeout";
    EXPECT_TRUE(closed_by_peer(half, 1s)) << "still open after --header-timeout";
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, 1800ms);
    EXPECT_LT(took, 4s);
    ::close(silent);
    ::close(half);
    EXPECT_NE(t.s.error_log().find("not completed within --header-timeout (2000 ms)"),
              std::string::npos)
        << t.s.error_log();
}

TEST(WsgiHttpTls, StaticFilesOverTlsWithRanges)
{
    TempDir site;
    std::string data;
    for (int i = 0; i < 300000; ++i)
        data.push_back(static_cast<char>('a' + i % 26));
    write_file(site / "big.txt", data);
    TlsServer t({"--static-map", "/static=" + site.path().string()});
    ASSERT_TRUE(t.cert);
    ASSERT_TRUE(t.s.ready()) << t.s.error_log();

    auto r = t.curl_tls({t.url("/static/big.txt")});
    ASSERT_EQ(r.exit_code, 0) << r.err << t.s.error_log();
    EXPECT_EQ(response_status(r.out), "HTTP/1.1 200 OK");
    EXPECT_TRUE(response_body(r.out) == data)
        << "body of " << response_body(r.out).size() << " bytes differs";
    auto part = t.curl_tls({"-H", "Range: bytes=100000-100009", t.url("/static/big.txt")});
    EXPECT_EQ(response_status(part.out), "HTTP/1.1 206 Partial Content") << part.out;
    EXPECT_EQ(response_body(part.out), data.substr(100000, 10));
}

TEST(WsgiHttpTls, UnusableCertificateIsAUsageError)
{
    Pki pki;
    ASSERT_TRUE(pki.ok());
    ASSERT_TRUE(pki.server_cert("2001", "a", "a.pem", "a.key"));
    ASSERT_TRUE(pki.server_cert("2002", "b", "b.pem", "b.key"));
    auto program = (build_root() / "cli" / "wsgi-http").string();
    SpawnOptions in_source;
    in_source.cwd = source_root();
    auto missing = run_command({program, "--allow-root", "--app", "tests/apps/http_env_app.py",
                                "--certfile", pki.path("none.pem")},
                               {}, in_source);
    EXPECT_NE(missing.exit_code, 0);
    EXPECT_NE(missing.err.find("--certfile " + pki.path("none.pem") +
                               ": cannot load the certificate chain: "),
              std::string::npos)
        << missing.err;
    auto mismatch = run_command({program, "--allow-root", "--app", "tests/apps/http_env_app.py",
                                 "--certfile", pki.path("a.pem"), "--keyfile", pki.path("b.key")},
                                {}, in_source);
    EXPECT_NE(mismatch.exit_code, 0);
    EXPECT_NE(mismatch.err.find("key values mismatch"), std::string::npos) << mismatch.err;
}

TEST(WsgiHttpTls, SighupServesAReplacedCertificateWithoutFailingARequestInFlight)
{
    TlsServer t({"--workers", "1", "--threads", "2"});
    ASSERT_TRUE(t.cert);
    ASSERT_TRUE(t.s.ready()) << t.s.error_log();
    auto [code, first] = t.python("1.3");
    ASSERT_EQ(code, 0) << t.s.error_log();
    EXPECT_EQ(first["serial"], "1001");
    EXPECT_EQ(first["subject"]["organizationName"], "first");

    // /stream answers in three parts 0.4 s apart: in flight across the reload.
    auto stream = std::async(std::launch::async, [&] { return t.curl_tls({t.url("/stream")}); });
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(t.pki.server_cert("1002", "second", "chain.pem", "key.pem"));
    ASSERT_EQ(::kill(t.s.process().pid(), SIGHUP), 0);

    std::string serial;
    json latest;
    for (int i = 0; i < 50 && serial != "1002"; ++i) {
        std::this_thread::sleep_for(200ms);
        latest = t.python("1.3").second;
        serial = latest.value("serial", "");
    }
    EXPECT_EQ(serial, "1002") << latest.dump() << t.s.error_log();
    EXPECT_EQ(latest["subject"]["organizationName"], "second");

    auto r = stream.get();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(response_status(r.out), "HTTP/1.1 200 OK");
    EXPECT_NE(response_body(r.out).find("part 2"), std::string::npos) << r.out;

    // A renewal gone wrong (not a PEM file): the new worker cannot start, the master keeps
    // the old one, which goes on serving the certificate it has.
    write_file(t.pki.path("chain.pem"), "not a certificate\n");
    ASSERT_EQ(::kill(t.s.process().pid(), SIGHUP), 0);
    for (int i = 0; i < 50 && t.s.error_log().find("reload failed") == std::string::npos; ++i)
        std::this_thread::sleep_for(100ms);
    EXPECT_NE(t.s.error_log().find("--certfile " + t.pki.path("chain.pem") +
                                   ": cannot load the certificate chain: no start line"),
              std::string::npos)
        << t.s.error_log();
    EXPECT_NE(t.s.error_log().find("reload failed"), std::string::npos) << t.s.error_log();
    EXPECT_EQ(t.python("1.3").second.value("serial", ""), "1002");
}
