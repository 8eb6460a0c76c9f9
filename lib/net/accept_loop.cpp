#include "net/accept_loop.hpp"

#include "net/listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdexcept>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

namespace wsgibridge::net {

using boost::asio::generic::stream_protocol;

AcceptLoop::AcceptLoop(std::string name, const std::string& bind, int listen_fd,
                       unsigned socket_mode, boost::asio::io_context& io)
    : signals_(io)
{
    // ServerOptions::listen_fd: an inherited socket wins over `bind`.
    if (listen_fd >= 0) {
        listen_fd_ = listen_fd;
    } else {
        if (bind.empty()) throw std::invalid_argument(name + ": no --bind and no listening fd");
        owned_ = Listener(bind, socket_mode);
        listen_fd_ = owned_.fd();
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
        throw std::system_error(errno, std::generic_category(),
                                "getsockname on the listening socket");
    tcp_ = ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
    if (tcp_) {
        // Responses go out in one write; Nagle would only delay the next small one.
        int one = 1;
        nodelay_inherited_ =
            ::setsockopt(listen_fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0;
    }
    // The acceptor takes its own duplicate: an inherited fd 0 stays open for mod_fcgid.
    int fd = ::fcntl(listen_fd_, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "dup listening socket");
    acceptor_.emplace(io);
    acceptor_->assign(stream_protocol(ss.ss_family, SOCK_STREAM), fd);
}

AcceptLoop::~AcceptLoop() = default;

void AcceptLoop::handle_signals(std::function<void(int)> on_signal)
{
    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.add(SIGUSR1);
    signals_.async_wait(
        [on_signal = std::move(on_signal)](const boost::system::error_code& ec, int sig) {
            if (!ec) on_signal(sig);
        });
}

void AcceptLoop::close()
{
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    acceptor_->close(ignored);
    signals_.cancel(ignored);
}

std::string AcceptLoop::local_endpoint() const
{
    return describe_local(listen_fd_);
}

} // namespace wsgibridge::net
