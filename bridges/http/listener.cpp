#include "http/listener.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <sys/stat.h>
#include <sys/un.h>
#include <system_error>
#include <unistd.h>

namespace wsgibridge::http {
namespace asio = boost::asio;
using generic_endpoint = asio::generic::stream_protocol::endpoint;

namespace {

[[noreturn]] void fail(const std::string& bind, const std::string& why)
{
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "--bind " + bind + ": " + why);
}

asio::ip::tcp::endpoint tcp_endpoint(asio::io_context& ioc, const std::string& bind)
{
    auto colon = bind.rfind(':');
    if (colon == std::string::npos)
        fail(bind, "expected HOST:PORT, [IPV6]:PORT, :PORT or unix:PATH");
    std::string host = bind.substr(0, colon);
    std::string_view port_text = std::string_view(bind).substr(colon + 1);
    unsigned short port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port_text.empty())
        fail(bind, "bad port");
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host.empty()) return {asio::ip::address_v4::any(), port};
    boost::system::error_code bad;
    auto addr = asio::ip::make_address(host, bad);
    if (!bad) return {addr, port};
    asio::ip::tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, std::string(port_text), bad);
    if (bad || results.empty()) fail(bind, "cannot resolve " + host + ": " + bad.message());
    return *results.begin();
}

/// A socket file nobody accepts on any more (left by a killed server) is removed; a
/// live one is an error, as a TCP port in use would be.
void remove_stale_socket(const std::string& path)
{
    struct stat st
    {
    };
    if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
    asio::io_context probe_ctx;
    asio::local::stream_protocol::socket probe(probe_ctx);
    boost::system::error_code ec;
    probe.connect(asio::local::stream_protocol::endpoint(path), ec);
    if (!ec)
        throw std::system_error(std::make_error_code(std::errc::address_in_use), "unix:" + path);
    ::unlink(path.c_str());
}

} // namespace

Acceptor open_listener(asio::io_context& ioc, const std::string& bind, unsigned socket_mode)
{
    Acceptor acceptor(ioc);
    generic_endpoint endpoint;
    std::string path;
    if (bind.starts_with("unix:")) {
        path = bind.substr(5);
        if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path))
            fail(bind, "bad socket path");
        remove_stale_socket(path);
        endpoint = generic_endpoint(asio::local::stream_protocol::endpoint(path));
    } else {
        endpoint = generic_endpoint(tcp_endpoint(ioc, bind));
    }
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec && path.empty()) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::system_error(ec.value(), std::generic_category(), "cannot listen on " + bind);
    if (!path.empty() && ::chmod(path.c_str(), socket_mode) != 0)
        throw std::system_error(errno, std::generic_category(), "chmod " + path);
    return acceptor;
}

std::string describe_listener(Acceptor& acceptor)
{
    auto ep = acceptor.local_endpoint();
    const auto* sa = reinterpret_cast<const sockaddr*>(ep.data());
    if (sa->sa_family == AF_UNIX)
        return std::string("unix:") + reinterpret_cast<const sockaddr_un*>(sa)->sun_path;
    asio::ip::tcp::endpoint tcp;
    std::memcpy(tcp.data(), ep.data(), ep.size());
    tcp.resize(ep.size());
    if (tcp.address().is_v6())
        return "[" + tcp.address().to_string() + "]:" + std::to_string(tcp.port());
    return tcp.address().to_string() + ":" + std::to_string(tcp.port());
}

} // namespace wsgibridge::http
