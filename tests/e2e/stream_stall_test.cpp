// wsgi-uwsgi and wsgi-scgi with a peer that stops reading in the middle of a large
// streamed response (nginx with uwsgi_buffering / scgi_buffering off passes a stalled
// client's back-pressure on; a web server may also hang itself). Each write making no
// progress for --io-timeout fails: the connection is dropped with a log line naming the
// option, the application's iterable is closed (PEP 3333: "the server must call close()
// ... whether the request was completed normally, or terminated early due to an error"),
// and the one thread (--threads 1) serves the next request while the stalled peer still
// holds its connection open.
#include "stream_common.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

namespace {

// /big streams 64 KiB chunks until 256 MiB (far past any socket buffer) and records
// close(); anything else answers "ok".
constexpr const char* app_source = R"(import os

CLOSED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "closed")


class Big:
    def __init__(self):
        self.sent = 0

    def __iter__(self):
        chunk = b"x" * 65536
        while self.sent < 256 * 1024 * 1024:
            self.sent += len(chunk)
            yield chunk

    def close(self):
        with open(CLOSED, "w") as f:
            f.write("closed after %d bytes\n" % self.sent)


def application(environ, start_response):
    if environ["PATH_INFO"] == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return Big()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
)";

std::string request(const Protocol& p, const std::string& path)
{
    Vars vars{
        {"REQUEST_METHOD", "GET"}, {"REQUEST_URI", path},           {"PATH_INFO", path},
        {"QUERY_STRING", ""},      {"SERVER_PROTOCOL", "HTTP/1.1"}, {"SERVER_NAME", "localhost"},
        {"SERVER_PORT", "80"},     {"REMOTE_ADDR", "127.0.0.1"}};
    if (std::string(p.name) == "uwsgi") return uwsgi_packet(vars);
    vars.insert(vars.begin(), {{"CONTENT_LENGTH", "0"}, {"SCGI", "1"}});
    return scgi_netstring(vars);
}

/// Connects to 127.0.0.1:port with a small receive buffer, sends `data` and reads
/// nothing: the peer that stopped reading. -1 on failure.
int stalled_peer(unsigned short port, const std::string& data)
{
    int fd = connect_loopback(port, 4096);
    if (fd < 0) return -1;
    if (::send(fd, data.data(), data.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(data.size())) {
        ::close(fd);
        return -1;
    }
    return fd;
}

bool wait_for_file_text(const std::filesystem::path& path, const std::string& text,
                        std::chrono::milliseconds timeout)
{
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        if (read_file(path).find(text) != std::string::npos) return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

class StreamStall : public testing::TestWithParam<Protocol>
{
};

} // namespace

TEST_P(StreamStall, AStalledPeerIsDroppedAfterIoTimeoutAndTheThreadServesOn)
{
    const Protocol& p = GetParam();
    if (gateway_path(p.program).empty()) GTEST_FAIL() << p.program << " was not built";
    TempDir dir;
    write_file(dir / "stall_app.py", app_source);
    auto log = dir / "gateway.log";
    unsigned short port = free_tcp_port();
    SpawnOptions o;
    o.stderr_file = dir / "stderr";
    ChildProcess gateway({gateway_path(p.program), "--app", (dir / "stall_app.py").string(),
                          "--bind", "127.0.0.1:" + std::to_string(port), "--threads", "1",
                          "--io-timeout", "1", "--log-file", log.string(), "--allow-root"},
                         o);
    ASSERT_TRUE(wait_for_tcp(port)) << read_file(log) << read_file(dir / "stderr");
    auto logs = [&] { return read_file(log) + read_file(dir / "stderr"); };
    ASSERT_NE(raw_exchange(port, request(p, "/")).find("ok"), std::string::npos) << logs();

    auto started = std::chrono::steady_clock::now();
    int peer = stalled_peer(port, request(p, "/big"));
    ASSERT_GE(peer, 0);
    EXPECT_TRUE(wait_for_file_text(log, "--io-timeout (1000 ms)", 15s)) << logs();
    auto dropped_after = std::chrono::steady_clock::now() - started;
    EXPECT_GE(dropped_after, 1s) << "dropped before the stall lasted --io-timeout";
    EXPECT_NE(logs().find("the peer stopped reading; dropping the connection"), std::string::npos)
        << logs();
    EXPECT_TRUE(wait_for_file_text(dir / "closed", "closed after", 5s))
        << "the iterable's close() was not called\n"
        << logs();

    // The stalled peer still holds its connection; the only thread serves the next one.
    auto next = raw_exchange(port, request(p, "/"));
    EXPECT_NE(next.find("200 OK"), std::string::npos) << next << logs();
    EXPECT_TRUE(next.ends_with("ok")) << next;
    // Dropped with a reset: the peer reads what was queued, then ECONNRESET (not a clean
    // end that would pass for a complete response without Content-Length).
    timeval tv{5, 0};
    ::setsockopt(peer, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(peer, buf, sizeof buf, 0)) > 0) {
    }
    int err = n < 0 ? errno : 0;
    EXPECT_EQ(err, ECONNRESET) << "the connection ended with a FIN or not at all, not a reset";
    ::close(peer);
    EXPECT_TRUE(gateway.running()) << logs();
}

INSTANTIATE_TEST_SUITE_P(Protocols, StreamStall,
                         testing::Values(Protocol{"uwsgi", "wsgi-uwsgi"},
                                         Protocol{"scgi", "wsgi-scgi"}),
                         protocol_label);
