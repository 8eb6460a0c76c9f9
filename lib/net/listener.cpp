#include "net/listener.hpp"

#include "wsgibridge/listener.hpp"
#include "wsgibridge/log.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/un.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace wsgibridge::net {
namespace {

[[noreturn]] void bad_bind(std::string_view bind, std::string_view why)
{
    throw std::invalid_argument(concat("--bind ", bind, ": ", why));
}

[[noreturn]] void os_error(int err, const std::string& what)
{
    throw std::system_error(err, std::generic_category(), what);
}

BindAddress unix_address(std::string_view bind, std::string_view path)
{
    BindAddress out;
    auto* a = reinterpret_cast<sockaddr_un*>(&out.addr);
    if (path.empty() || path.size() >= sizeof a->sun_path) bad_bind(bind, "bad unix socket path");
    a->sun_family = AF_UNIX;
    std::memcpy(a->sun_path, path.data(), path.size());
    out.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    out.unix_path = path;
    return out;
}

BindAddress tcp_address(std::string_view bind)
{
    auto colon = bind.rfind(':');
    if (colon == std::string_view::npos)
        bad_bind(bind, "expected HOST:PORT, [IPV6]:PORT, :PORT or unix:PATH");
    std::string_view host = bind.substr(0, colon), port_text = bind.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
        port > 65535)
        bad_bind(bind, "bad port");
    bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    if (bracketed) host = host.substr(1, host.size() - 2);
    std::string name = host.empty() ? std::string("0.0.0.0") : std::string(host);
    std::string service = std::to_string(port);

    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    // "[...]" is an IPv6 literal, never a name to look up.
    if (bracketed) {
        hints.ai_flags |= AI_NUMERICHOST;
        hints.ai_family = AF_INET6;
    }
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(name.c_str(), service.c_str(), &hints, &found); rc != 0)
        bad_bind(bind, "cannot resolve " + name + ": " + ::gai_strerror(rc));
    BindAddress out;
    std::memcpy(&out.addr, found->ai_addr, found->ai_addrlen);
    out.length = found->ai_addrlen;
    ::freeaddrinfo(found);
    return out;
}

/// A socket file nobody accepts on any more (left by a killed server) is removed; a
/// live one is an error, as a TCP port in use would be. Anything but a socket is left
/// for bind to refuse.
void remove_stale_socket(const BindAddress& where)
{
    struct stat st
    {
    };
    if (::lstat(where.unix_path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
    // Non-blocking: a live server with a full backlog answers EAGAIN instead of blocking us.
    util::UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!probe) os_error(errno, "socket");
    int rc = ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&where.addr), where.length);
    if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS)
        os_error(EADDRINUSE,
                 "cannot listen on unix:" + where.unix_path + " (another server accepts on it)");
    if (errno == ECONNREFUSED) ::unlink(where.unix_path.c_str());
}

} // namespace

std::optional<unsigned> parse_socket_mode(std::string_view text) noexcept
{
    unsigned mode = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), mode, 8);
    if (text.empty() || text.front() == '-' || ec != std::errc{} ||
        end != text.data() + text.size() || mode > 0777)
        return std::nullopt;
    return mode;
}

BindAddress resolve_bind(std::string_view bind)
{
    if (bind.starts_with("unix:")) return unix_address(bind, bind.substr(5));
    return tcp_address(bind);
}

util::UniqueFd open_listener(std::string_view bind, unsigned socket_mode, int backlog)
{
    BindAddress where = resolve_bind(bind);
    if (!where.unix_path.empty()) remove_stale_socket(where);
    int family = where.addr.ss_family;
    util::UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) os_error(errno, concat("cannot create a socket for ", bind));
    int one = 1;
    // A restarted server must not wait for the old connections' TIME_WAIT to end.
    if (family != AF_UNIX) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&where.addr), where.length) != 0 ||
        ::listen(fd.get(), backlog) != 0)
        os_error(errno, concat("cannot listen on ", bind));
    if (!where.unix_path.empty() && socket_mode != 0 &&
        ::chmod(where.unix_path.c_str(), static_cast<mode_t>(socket_mode)) != 0) {
        int saved = errno;
        ::unlink(where.unix_path.c_str());
        os_error(saved, "--socket-mode: chmod " + where.unix_path);
    }
    return fd;
}

std::string describe_local(int fd)
{
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
    char text[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
        return concat(std::string_view(text), ":", ntohs(a->sin_port));
    }
    if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
        return concat("[", std::string_view(text), "]:", ntohs(a->sin6_port));
    }
    if (ss.ss_family == AF_UNIX) {
        const auto* a = reinterpret_cast<const sockaddr_un*>(&ss);
        std::size_t room =
            len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
        return concat("unix:", std::string_view(a->sun_path, ::strnlen(a->sun_path, room)));
    }
    return "?";
}

} // namespace wsgibridge::net

namespace wsgibridge {

Listener::Listener(const std::string& bind, unsigned socket_mode)
    : fd_(net::open_listener(bind, socket_mode)), owner_pid_(::getpid())
{
    if (bind.starts_with("unix:")) unix_path_ = bind.substr(5);
}

Listener::~Listener()
{
    close();
}

Listener::Listener(Listener&& other) noexcept
    : fd_(std::move(other.fd_)), unix_path_(std::exchange(other.unix_path_, {})),
      owner_pid_(std::exchange(other.owner_pid_, 0))
{
}

Listener& Listener::operator=(Listener&& other) noexcept
{
    if (this != &other) {
        close();
        fd_ = std::move(other.fd_);
        unix_path_ = std::exchange(other.unix_path_, {});
        owner_pid_ = std::exchange(other.owner_pid_, 0);
    }
    return *this;
}

void Listener::close() noexcept
{
    // A forked child holds a copy of this object: the file is the opener's to remove.
    if (fd_ && !unix_path_.empty() && owner_pid_ == ::getpid()) ::unlink(unix_path_.c_str());
    fd_.reset();
    unix_path_.clear();
}

std::string Listener::describe() const
{
    return net::describe_local(fd_.get());
}

Listener open_listener(const std::string& bind, unsigned socket_mode)
{
    return Listener(bind, socket_mode);
}

std::string describe_listener(int fd)
{
    return net::describe_local(fd);
}

} // namespace wsgibridge
