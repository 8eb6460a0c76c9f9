// AcceptLoop (lib/net): what every socket server's connections inherit from the listener.
#include "net/accept_loop.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace wsgibridge;

namespace {

int nodelay(int fd)
{
    int v = -1;
    socklen_t len = sizeof v;
    ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
    return v;
}

} // namespace

TEST(AcceptLoop, TcpConnectionsInheritNodelayFromTheListener)
{
    boost::asio::io_context io;
    net::AcceptLoop loop("test", "127.0.0.1:0", -1, 0, io);
    EXPECT_TRUE(loop.tcp());
    ASSERT_TRUE(loop.nodelay_inherited());
    EXPECT_EQ(nodelay(loop.listen_fd()), 1);

    // Linux copies TCP_NODELAY from the listener to each accepted socket, so the servers
    // set it once instead of once per connection.
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(loop.listen_fd(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    int client = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), len), 0);
    int accepted = ::accept(loop.listen_fd(), nullptr, nullptr);
    ASSERT_GE(accepted, 0);
    EXPECT_EQ(nodelay(accepted), 1);
    ::close(accepted);
    ::close(client);
}
