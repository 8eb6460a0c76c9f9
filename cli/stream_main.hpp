// The main() of wsgi-scgi and wsgi-uwsgi: the options and process model of wsgi-fcgi
// (socket_program.hpp) around a StreamServer speaking one protocol.
#pragma once

#include "wsgibridge/stream_server.hpp"

namespace wsgibridge::cli {

int stream_main(int argc, char** argv, StreamProtocol protocol);

} // namespace wsgibridge::cli
