// The checks every CGI server runs against the Flask app of tests/apps/cgi_flask_app.py
// (one function per group of requests; each request is a cold start of wsgi-cgi).
#pragma once

#include "cgi_site.hpp"

namespace wsgibridge::test {

/// The gateway without Python (htdocs/probe.cgi, see cgi_probe.cpp).
void check_gateway_with_probe(const CgiSite& site, unsigned short port);

void check_routing_query_and_forms(const CgiSite& site, unsigned short port);
void check_large_and_ignored_bodies(const CgiSite& site, unsigned short port);
void check_status_codes(const CgiSite& site, unsigned short port);
void check_non_ascii_path(const CgiSite& site, unsigned short port);
void check_failures(const CgiSite& site, unsigned short port);
void check_environ_and_httpoxy(const CgiSite& site, unsigned short port);
void check_head_and_nph(const CgiSite& site, unsigned short port);

} // namespace wsgibridge::test
