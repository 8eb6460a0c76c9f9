// The TLS side of the HTTP transport (bridges/http/tls.hpp, transport.hpp) against an
// OpenSSL client on a socketpair: the certificate and key checks, gathered and direct
// writes arriving byte for byte, a file sent through TLS (sendfile cannot encrypt),
// reads, and a write to a client that stopped reading failing at the timeout.
#include "http/transport.hpp"
#include "process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge;
using namespace wsgibridge::http;
using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

struct Certificate
{
    TempDir dir;
    bool ok = false;
    Certificate()
    {
        auto r = run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                              "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                              "/CN=localhost", "-keyout", key(), "-out", cert()});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        ok = r.exit_code == 0;
    }
    std::string cert() const { return (dir / "cert.pem").string(); }
    std::string key() const { return (dir / "key.pem").string(); }
};

/// One TLS connection over a socketpair: the server end (non-blocking, as a session's)
/// and an OpenSSL client on a blocking fd, driven by the test.
struct Pair
{
    TlsContext context;
    int fds[2] = {-1, -1};
    std::optional<TlsConnection> server;
    SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
    SSL* client = nullptr;

    explicit Pair(const Certificate& c) : context(c.cert(), c.key())
    {
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        server.emplace(context, fds[0]);
        client = SSL_new(client_ctx);
        SSL_set_fd(client, fds[1]);
        // Both handshakes at once: the server's on a blocking fd for the duration.
        std::thread connecting([this] { EXPECT_EQ(SSL_connect(client), 1); });
        EXPECT_EQ(SSL_accept(server->get()), 1);
        connecting.join();
        ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    }
    ~Pair()
    {
        server.reset();
        SSL_free(client);
        SSL_CTX_free(client_ctx);
        ::close(fds[0]);
        ::close(fds[1]);
    }
    Transport transport() const { return {fds[0], server->get()}; }

    /// Reads `n` plaintext bytes on the client side.
    std::string client_read(std::size_t n)
    {
        std::string out(n, '\0');
        std::size_t got = 0;
        while (got < n) {
            std::size_t k = 0;
            if (SSL_read_ex(client, out.data() + got, n - got, &k) != 1) break;
            got += k;
        }
        out.resize(got);
        return out;
    }
};

std::string pattern(std::size_t n, char seed)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>(seed + i % 61);
    return s;
}

} // namespace

TEST(TlsContext, RefusesAMissingCertificateAndAKeyThatDoesNotMatch)
{
    Certificate a, b;
    ASSERT_TRUE(a.ok && b.ok);
    try {
        TlsContext missing((a.dir / "none.pem").string(), a.key());
        ADD_FAILURE() << "a missing certificate was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("--certfile"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos)
            << e.what();
    }
    try {
        TlsContext mismatch(a.cert(), b.key());
        ADD_FAILURE() << "another certificate's key was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("--keyfile"), std::string::npos) << e.what();
    }
    // No --keyfile: the key is read from the --certfile file (certificate and key in one).
    write_file(a.dir / "both.pem", read_file(a.cert()) + read_file(a.key()));
    TlsContext both((a.dir / "both.pem").string(), "");
    EXPECT_EQ(both.subject(), "/CN=localhost");
}

TEST(TlsTransport, GatheredAndDirectWritesArriveInOrder)
{
    Certificate c;
    ASSERT_TRUE(c.ok);
    Pair p(c);
    // A head, a chunk-size line, a body larger than a record, a CRLF: as the response
    // writer hands them over.
    std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string size = "30d40\r\n";
    std::string body = pattern(200000, 'a');
    std::string crlf = "\r\n";
    std::string expected = head + size + body + crlf;
    std::thread reader([&] { EXPECT_TRUE(p.client_read(expected.size()) == expected); });
    std::array<iovec, 4> iov{{{head.data(), head.size()},
                              {size.data(), size.size()},
                              {body.data(), body.size()},
                              {crlf.data(), crlf.size()}}};
    EXPECT_FALSE(p.transport().write_all(iov, 2000ms));
    reader.join();
}

TEST(TlsTransport, SendsAFileRangeThroughTls)
{
    Certificate c;
    ASSERT_TRUE(c.ok);
    Pair p(c);
    std::string content = pattern(300000, 'A');
    write_file(c.dir / "file.bin", content);
    int fd = ::open((c.dir / "file.bin").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    std::thread reader([&] { EXPECT_TRUE(p.client_read(250000) == content.substr(1000, 250000)); });
    EXPECT_FALSE(p.transport().send_file_all(fd, 1000, 250000, 2000ms));
    reader.join();
    // Past the end of the file: the body is truncated, not the client gone.
    EXPECT_EQ(p.transport().send_file_all(fd, 299990, 100, 2000ms), errc::body_truncated);
    ::close(fd);
}

TEST(TlsTransport, ReadsWhatTheClientSentAndTimesOutOnSilence)
{
    Certificate c;
    ASSERT_TRUE(c.ok);
    Pair p(c);
    ASSERT_EQ(SSL_write(p.client, "hello", 5), 5);
    std::array<char, 64> buf;
    auto n = p.transport().read_some(buf, 2000ms);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::string_view(buf.data(), *n), "hello");

    auto start = std::chrono::steady_clock::now();
    auto silent = p.transport().read_some(buf, 200ms);
    EXPECT_EQ(silent.error(), errc::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);

    // close_notify from the client: the end of the stream.
    ASSERT_GE(SSL_shutdown(p.client), 0);
    auto end = p.transport().read_some(buf, 2000ms);
    ASSERT_TRUE(end);
    EXPECT_EQ(*end, 0u);
}

TEST(TlsTransport, WriteToAClientThatStoppedReadingFailsAtTheTimeout)
{
    Certificate c;
    ASSERT_TRUE(c.ok);
    Pair p(c);
    std::string big = pattern(16 << 20, 'x');
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(p.transport().write_all(big, 300ms), errc::timeout);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 3s);
}
