// run_cgi(): one request from the environment and stdin, one response on stdout.
#include "model/refusal.hpp"
#include "request_from_env.hpp"
#include "response_sink.hpp"
#include "stdin_body.hpp"
#include "termination.hpp"
#include "wsgibridge/cgi_gateway.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

extern char** environ;

namespace wsgibridge {
namespace {

std::string_view find_env(char** env, std::string_view name) noexcept
{
    for (char** e = env; e && *e; ++e) {
        std::string_view kv = *e;
        if (kv.size() > name.size() && kv[name.size()] == '=' && kv.starts_with(name))
            return kv.substr(name.size() + 1);
    }
    return {};
}

bool nph_wanted(const CgiOptions& o, char** env) noexcept
{
    auto basename_is_nph = [](std::string_view path) {
        auto slash = path.rfind('/');
        return path.substr(slash == std::string_view::npos ? 0 : slash + 1).starts_with("nph-");
    };
    return o.nph || basename_is_nph(o.script_path) ||
           basename_is_nph(find_env(env, "SCRIPT_FILENAME"));
}

// What a request whose environment could not be parsed still tells us.
struct Fallback
{
    std::optional<std::uint64_t> length;
    bool head = false;
};

Fallback fallback_from(char** env) noexcept
{
    Fallback f;
    f.head = find_env(env, "REQUEST_METHOD") == "HEAD";
    auto text = find_env(env, "CONTENT_LENGTH");
    if (text.empty() || text.size() > 19) return f;
    std::uint64_t n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return f;
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    f.length = n;
    return f;
}

// Reads what the application left of the body (bounded by --max-drain): under Apache
// mod_cgid a script exiting with unread input resets the client's connection.
void drain(cgi::StdinBody& body, const Limits& limits, const Logger& log) noexcept
{
    bool complete = false;
    std::uint64_t n = body.drain(limits.max_drain_bytes, complete);
    if (n > 0) log.debug(concat("discarded ", n, " unread request body bytes"));
    if (!complete)
        log.warning(concat("request body left unread beyond --max-drain (", limits.max_drain_bytes,
                           " bytes) or stalled; the server may reset the connection"));
}

int answer(const CgiOptions& o, cgi::StdoutSink& sink, int status, Fallback f,
           const Logger& log) noexcept
{
    if (!sink.started()) sink.send_simple(status, f.head);
    // A body over --max-body is not read in full: drain the bounded amount only.
    cgi::StdinBody body(o.input_fd, f.length.value_or(0), 0, o.limits.io_timeout);
    drain(body, o.limits, log);
    return sink.completed() ? 0 : 1;
}

std::string_view nph_protocol(const CgiOptions& o, char** env) noexcept
{
    if (!nph_wanted(o, env)) return {};
    auto protocol = find_env(env, "SERVER_PROTOCOL");
    return protocol == "HTTP/1.1" || protocol == "HTTP/1.0" ? protocol : "HTTP/1.0";
}

int serve(const CgiOptions& o, char** env, RequestHandler& handler, const Logger& log)
{
    cgi::StdoutSink sink(o.output_fd, nph_protocol(o, env));
    cgi::EnvRequest env_request;
    if (auto ec = env_request.parse(env, o, log)) {
        int status = http_status_for(ec);
        log.error(refusal_message("CGI request", ec, o.limits, env_request.error_detail));
        return answer(o, sink, status, fallback_from(env), log);
    }
    const Request& req = env_request.request;
    const Limits& limits = o.limits;
    if (req.content_length && *req.content_length > limits.max_body_bytes) {
        log.error(refusal_message("CGI request", errc::body_too_large, limits,
                                  concat("CONTENT_LENGTH ", *req.content_length)));
        return answer(o, sink, 413, {req.content_length, req.method == "HEAD"}, log);
    }
    std::optional<std::uint64_t> length = 0;
    if (env_request.body_mode == cgi::BodyMode::content_length) length = req.content_length;
    if (env_request.body_mode == cgi::BodyMode::until_eof) length.reset();
    cgi::StdinBody body(o.input_fd, length, limits.max_body_bytes, limits.io_timeout);

    handler.handle(req, body, sink);

    if (!sink.started()) {
        log.error("the handler returned without a response: answering 500");
        sink.send_simple(500, req.method == "HEAD");
    }
    drain(body, limits, log);
    return sink.completed() ? 0 : 1;
}

} // namespace

bool cgi_request_present(char** environment) noexcept
{
    return !find_env(environment ? environment : environ, "REQUEST_METHOD").empty();
}

void scrub_cgi_environment() noexcept
{
    ::unsetenv("HTTP_PROXY");
}

std::error_code prepare_cgi_process(CgiOptions& options) noexcept
{
    scrub_cgi_environment();
    int out = ::fcntl(options.output_fd, F_DUPFD_CLOEXEC, 3);
    int in = ::fcntl(options.input_fd, F_DUPFD_CLOEXEC, 3);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || in < 0 || null < 0 || ::dup2(2, options.output_fd) < 0 ||
        ::dup2(null, options.input_fd) < 0) {
        std::error_code ec(errno, std::generic_category());
        for (int fd : {out, in, null})
            if (fd >= 0) ::close(fd);
        return ec;
    }
    ::close(null);
    options.output_fd = out;
    options.input_fd = in;
    return {};
}

int run_cgi(const CgiOptions& options, RequestHandler& handler, const Logger& log) noexcept
{
    char** env = options.environment ? options.environment : environ;
    if (!cgi_request_present(env)) {
        log.error("no CGI request: REQUEST_METHOD is not set");
        return 2;
    }
    // A server that hangs up must show up as EPIPE on a write, not kill the process
    // before it logs.
    ::signal(SIGPIPE, SIG_IGN);
    // A server that ends the request with SIGTERM (mod_cgi, mod_cgid) is a hang-up too.
    cgi::install_termination_handler();
    try {
        return serve(options, env, handler, log);
    } catch (const std::exception& e) {
        log.error(concat("CGI gateway failed: ", e.what()));
        return 1;
    }
}

int answer_cgi_error(const CgiOptions& options, int status, const Logger& log) noexcept
{
    char** env = options.environment ? options.environment : environ;
    if (!cgi_request_present(env)) return 2;
    ::signal(SIGPIPE, SIG_IGN);
    try {
        cgi::StdoutSink sink(options.output_fd, nph_protocol(options, env));
        return answer(options, sink, status, fallback_from(env), log);
    } catch (const std::exception& e) {
        log.error(concat("CGI gateway failed: ", e.what()));
        return 1;
    }
}

} // namespace wsgibridge
