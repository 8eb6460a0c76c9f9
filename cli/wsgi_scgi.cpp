// wsgi-scgi: a WSGI application behind SCGI (nginx scgi_pass, Apache mod_proxy_scgi,
// lighttpd mod_scgi).
#include "stream_main.hpp"

int main(int argc, char** argv)
{
    return wsgibridge::cli::stream_main(argc, argv, wsgibridge::StreamProtocol::scgi);
}
