// Parsing --bind and opening the listening socket: TCP (IPv4, [IPv6], ":port" for every
// IPv4 address) or a unix socket (stale file removed, mode set). Internal.
#pragma once

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <string>

namespace wsgibridge::http {

using Acceptor = boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol>;

/// Binds and listens; throws std::system_error naming the address when it cannot.
Acceptor open_listener(boost::asio::io_context& ioc, const std::string& bind, unsigned socket_mode);

/// "127.0.0.1:8000", "[::1]:8000" or "unix:/path".
std::string describe_listener(Acceptor& acceptor);

} // namespace wsgibridge::http
