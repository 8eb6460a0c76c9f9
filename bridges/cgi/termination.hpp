// SIGTERM from the web server: Apache's mod_cgi and mod_cgid send it to a script that is
// still running when its request ends (the client went away), then SIGKILL 3 s later.
// The default action would kill us mid-iteration, so the app's close() never runs
// (PEP 3333: close() is called "upon completion of the current request, whether ...
// terminated early due to ... an early disconnect of the browser"). Instead the signal
// marks the client gone: the next (or the blocked) write fails like EPIPE, the invoker
// stops iterating and calls close(), and the process exits.
#pragma once

namespace wsgibridge::cgi {

/// Installs the SIGTERM handler (no SA_RESTART: a blocked write returns EINTR).
void install_termination_handler() noexcept;
/// True once SIGTERM has arrived.
bool termination_requested() noexcept;

} // namespace wsgibridge::cgi
