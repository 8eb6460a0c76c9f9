// A CGI program built on run_cgi() with a C++ handler instead of Python: the e2e tests
// use it to check what the gateway itself owes the web server (explicit Status, NPH,
// draining, limits) independently of the WSGI invoker.
//   /echo     reads the body, answers "length=N sum=S"
//   /ignore   answers 403 without reading the body
//   /created  answers 201 with Location: /items/5
//   other     200 "METHOD PATH_INFO?QUERY_STRING"
#include "wsgibridge/cgi_gateway.hpp"

#include <cstdlib>
#include <string>
#include <vector>

using namespace wsgibridge;

namespace {

class Probe final : public RequestHandler
{
public:
    void handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept override
    {
        try {
            serve(req, body, sink);
        } catch (...) {
            sink.abort("probe failed");
        }
    }

private:
    static void respond(ResponseSink& sink, const char* status, std::string_view text,
                        std::span<const Header> extra = {})
    {
        std::vector<Header> headers{{"Content-Type", "text/plain"}};
        headers.insert(headers.end(), extra.begin(), extra.end());
        std::string length = std::to_string(text.size());
        headers.push_back({"Content-Length", length});
        ResponseHead head;
        head.status_code = std::atoi(status);
        head.status = status;
        head.headers = headers;
        head.content_length = text.size();
        (void)sink.start(head);
        (void)sink.write(text);
        (void)sink.finish();
    }

    static void serve(const Request& req, BodySource& body, ResponseSink& sink)
    {
        if (req.path_info == "/echo") {
            std::uint64_t length = 0, sum = 0;
            char buf[65536];
            for (;;) {
                auto n = body.read(buf);
                if (!n) return respond(sink, "400 Bad Request", n.error().message());
                if (*n == 0) break;
                length += *n;
                for (std::size_t i = 0; i < *n; ++i)
                    sum += static_cast<unsigned char>(buf[i]);
            }
            return respond(sink, "200 OK", concat("length=", length, " sum=", sum));
        }
        if (req.path_info == "/ignore") return respond(sink, "403 Forbidden", "forbidden\n");
        if (req.path_info == "/created") {
            Header location{"Location", "/items/5"};
            return respond(sink, "201 Created", "created\n", {&location, 1});
        }
        respond(sink, "200 OK", concat(req.method, " ", req.path_info, "?", req.query_string));
    }
};

} // namespace

int main()
{
    scrub_cgi_environment();
    Probe probe;
    Logger log;
    CgiOptions options;
    options.limits.max_body_bytes = 4 << 20;
    // Drain a refused 5 MiB body entirely, so the 413 check does not depend on timing.
    options.limits.max_drain_bytes = 8 << 20;
    return run_cgi(options, probe, log);
}
