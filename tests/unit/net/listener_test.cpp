// --bind forms, the unix socket file's life (mode, stale vs live), TCP options and the
// errors a bad --bind gets.
#include "net/listener.hpp"
#include "process.hpp"
#include "wsgibridge/fastcgi_server.hpp"
#include "wsgibridge/http_server.hpp"
#include "wsgibridge/listener.hpp"
#include "wsgibridge/stream_server.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

using namespace wsgibridge;
using wsgibridge::test::TempDir;

namespace {

/// Connects to a unix socket; true when something accepts (or queues) the connection.
bool unix_connects(const std::string& path)
{
    util::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

int int_option(int fd, int level, int name)
{
    int value = -1;
    socklen_t len = sizeof value;
    ::getsockopt(fd, level, name, &value, &len);
    return value;
}

} // namespace

TEST(Listener, TcpBindForms)
{
    auto v4 = net::open_listener("127.0.0.1:0", 0);
    EXPECT_TRUE(net::describe_local(v4.get()).starts_with("127.0.0.1:"));
    EXPECT_NE(net::describe_local(v4.get()), "127.0.0.1:0") << "port 0 picks a real port";
    auto any = net::open_listener(":0", 0);
    EXPECT_TRUE(net::describe_local(any.get()).starts_with("0.0.0.0:"));
    // A name is resolved (from /etc/hosts: no network needed).
    auto named = net::open_listener("localhost:0", 0);
    auto where = net::describe_local(named.get());
    EXPECT_TRUE(where.starts_with("127.0.0.1:") || where.starts_with("[::1]:")) << where;
    util::UniqueFd v6;
    try {
        v6 = net::open_listener("[::1]:0", 0);
    } catch (const std::system_error&) {
        GTEST_SKIP() << "no IPv6 loopback here";
    }
    EXPECT_TRUE(net::describe_local(v6.get()).starts_with("[::1]:"));
}

TEST(Listener, TcpSocketOptions)
{
    auto fd = net::open_listener("127.0.0.1:0", 0);
    EXPECT_EQ(int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR), 1);
    EXPECT_EQ(int_option(fd.get(), SOL_SOCKET, SO_ACCEPTCONN), 1);
    EXPECT_TRUE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC) << "workers' children must not inherit it";
}

TEST(Listener, PortInUseIsASystemError)
{
    auto first = net::open_listener("127.0.0.1:0", 0);
    auto taken = net::describe_local(first.get());
    try {
        net::open_listener(taken, 0);
        FAIL() << "a second listener on " << taken;
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), EADDRINUSE);
        EXPECT_NE(std::string(e.what()).find(taken), std::string::npos) << e.what();
    }
}

TEST(Listener, UnixSocketModeAndCloexec)
{
    TempDir dir;
    auto path = (dir / "a.sock").string();
    auto fd = net::open_listener("unix:" + path, 0660);
    struct stat st
    {
    };
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    EXPECT_EQ(net::describe_local(fd.get()), "unix:" + path);
    EXPECT_TRUE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC);
    EXPECT_TRUE(unix_connects(path));
}

TEST(Listener, StaleUnixSocketIsReplacedLiveOneIsInUse)
{
    TempDir dir;
    auto path = (dir / "s.sock").string();
    {
        auto live = net::open_listener("unix:" + path, 0);
        // Somebody accepts on it: taking it over would steal their clients.
        try {
            net::open_listener("unix:" + path, 0);
            FAIL() << "a live socket was replaced";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code().value(), EADDRINUSE);
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        }
        EXPECT_TRUE(unix_connects(path)) << "the live server lost its socket file";
    } // closed, file left behind, as after a crash
    ASSERT_TRUE(std::filesystem::exists(path));
    EXPECT_FALSE(unix_connects(path));
    auto again = net::open_listener("unix:" + path, 0);
    EXPECT_TRUE(unix_connects(path));
}

TEST(Listener, RegularFileIsNeverRemoved)
{
    TempDir dir;
    auto file = dir / "f";
    test::write_file(file, "x");
    EXPECT_THROW(net::open_listener("unix:" + file.string(), 0), std::system_error);
    EXPECT_EQ(test::read_file(file), "x");
}

TEST(Listener, BadBindValues)
{
    for (const char* bad : {"nonsense", "127.0.0.1:99999", "127.0.0.1:", "127.0.0.1:8x", "[zz]:80",
                            "[]:80", "unix:"}) {
        try {
            net::open_listener(bad, 0);
            ADD_FAILURE() << bad << " was accepted";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("--bind"), std::string::npos) << e.what();
        }
    }
    EXPECT_THROW(net::open_listener("unix:/" + std::string(200, 'x'), 0), std::invalid_argument);
}

TEST(Listener, PublicListenerOwnsTheSocket)
{
    int fd = -1;
    {
        Listener l = wsgibridge::open_listener("127.0.0.1:0", 0);
        fd = l.fd();
        ASSERT_GE(fd, 0);
        EXPECT_TRUE(l.unix_path().empty());
        EXPECT_TRUE(l.describe().starts_with("127.0.0.1:"));
        EXPECT_EQ(describe_listener(fd), l.describe());
        EXPECT_EQ(int_option(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
    }
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1) << "not closed";
}

TEST(Listener, RemovesItsUnixSocketFileOnceMovedAndDestroyed)
{
    TempDir dir;
    auto path = (dir.path() / "l.sock").string();
    int fd = -1;
    {
        Listener outer;
        {
            Listener l("unix:" + path, 0600);
            fd = l.fd();
            EXPECT_EQ(l.unix_path(), path);
            outer = std::move(l); // the moved-from one owns nothing: no early unlink
        }
        EXPECT_TRUE(std::filesystem::exists(path));
        EXPECT_TRUE(unix_connects(path));
        EXPECT_EQ(outer.describe(), "unix:" + path);
    }
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
}

TEST(Listener, AForkedChildLeavesTheFileToTheOpener)
{
    TempDir dir;
    auto path = (dir.path() / "fork.sock").string();
    Listener l("unix:" + path, 0);
    pid_t child = ::fork();
    if (child == 0) {
        {
            Listener mine = std::move(l);
        } // a worker unwinding its copy
        ::_exit(std::filesystem::exists(path) ? 0 : 1);
    }
    int status = -1;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child removed the file";
    EXPECT_TRUE(unix_connects(path));
}

TEST(UniqueFd, ClosesOnceAndMoves)
{
    int raw[2];
    ASSERT_EQ(::pipe(raw), 0);
    ::close(raw[1]);
    {
        util::UniqueFd a(raw[0]);
        util::UniqueFd b(std::move(a));
        EXPECT_FALSE(a);
        EXPECT_EQ(b.get(), raw[0]);
        EXPECT_NE(::fcntl(raw[0], F_GETFD), -1);
    }
    EXPECT_EQ(::fcntl(raw[0], F_GETFD), -1) << "not closed";
}

TEST(SocketMode, OctalUpTo0777)
{
    EXPECT_EQ(net::parse_socket_mode("660"), 0660u);
    EXPECT_EQ(net::parse_socket_mode("0660"), 0660u);
    EXPECT_EQ(net::parse_socket_mode("0"), 0u);
    EXPECT_EQ(net::parse_socket_mode("777"), 0777u);
    // setuid/setgid/sticky mean nothing on a socket file: "6600" is a typo, not a mode.
    for (const char* bad : {"", "1000", "6600", "07777", "8", "0x1ff", "+660", "-1", " 660", "660 ",
                            "rw-rw----", "99999999999999"})
        EXPECT_FALSE(net::parse_socket_mode(bad)) << '"' << bad << '"';
}

TEST(ServerOptions, OneBaseWithEachServersDefaults)
{
    // The shared part is one struct; only HTTP's bind and socket mode differ (README).
    HttpServerOptions http;
    FastcgiServerOptions fcgi;
    StreamServerOptions stream;
    const ServerOptions& base_http = http;
    EXPECT_EQ(base_http.bind, "127.0.0.1:8000");
    EXPECT_EQ(http.socket_mode, 0666u);
    for (const ServerOptions* o :
         {static_cast<const ServerOptions*>(&fcgi), static_cast<const ServerOptions*>(&stream)}) {
        EXPECT_EQ(o->bind, "");
        EXPECT_EQ(o->socket_mode, 0u);
    }
    for (const ServerOptions* o :
         {static_cast<const ServerOptions*>(&http), static_cast<const ServerOptions*>(&fcgi),
          static_cast<const ServerOptions*>(&stream)}) {
        EXPECT_EQ(o->listen_fd, -1);
        EXPECT_EQ(o->threads, 4u);
        EXPECT_FALSE(o->handle_signals); // a library leaves the host's signals alone
    }
}
