// systemd readiness (sd_notify "READY=1") without linking libsystemd: one datagram to
// $NOTIFY_SOCKET, the protocol documented in sd_notify(3).
#pragma once

#include "wsgibridge/log.hpp"

#include <string>

namespace wsgibridge::cli {

/// Takes NOTIFY_SOCKET out of the environment and returns it ("" when unset). Call it
/// before the interpreter starts, so neither os.environ, the application's children
/// nor forked workers ever see it and speak for this service.
std::string take_notify_socket();

/// Tells the service manager at `socket` (from take_notify_socket) that the server is
/// ready: the application is imported and the socket listens. "" does nothing. A
/// failure is logged as a warning: systemd then times the start-up out by itself.
void notify_ready(const std::string& socket, const Logger& log) noexcept;

} // namespace wsgibridge::cli
