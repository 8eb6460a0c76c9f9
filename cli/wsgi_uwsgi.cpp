// wsgi-uwsgi: a WSGI application behind the uwsgi protocol (nginx uwsgi_pass, Apache
// mod_proxy_uwsgi).
#include "stream_main.hpp"

int main(int argc, char** argv)
{
    return wsgibridge::cli::stream_main(argc, argv, wsgibridge::StreamProtocol::uwsgi);
}
