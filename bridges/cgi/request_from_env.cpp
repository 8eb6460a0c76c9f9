#include "request_from_env.hpp"

#include "model/cgi_request.hpp"

#include <array>
#include <vector>

namespace wsgibridge::cgi {
namespace {

// RFC 3875 meta-variables without a Request field, and what the servers commonly add.
// The process environment holds more (PATH, HOME, LANG...): those stay out of environ.
constexpr std::array<std::string_view, 17> passed_names{
    "AUTH_TYPE",      "GATEWAY_INTERFACE", "PATH_TRANSLATED", "REMOTE_HOST",      "REMOTE_IDENT",
    "REMOTE_USER",    "SERVER_SOFTWARE",   "DOCUMENT_ROOT",   "SCRIPT_FILENAME",  "SCRIPT_URI",
    "SCRIPT_URL",     "SERVER_ADDR",       "SERVER_ADMIN",    "SERVER_SIGNATURE", "UNIQUE_ID",
    "ORIG_PATH_INFO", "DOCUMENT_URI"};
constexpr std::array<std::string_view, 3> passed_prefixes{"CONTEXT_", "REDIRECT_", "SSL_"};

bool matches_pass_env(std::string_view name, const std::vector<std::string>& pass_env) noexcept
{
    for (std::string_view p : pass_env) {
        if (p.ends_with('*') ? name.starts_with(p.substr(0, p.size() - 1)) : name == p) return true;
    }
    return false;
}

bool taken(std::string_view name, const CgiOptions& options) noexcept
{
    if (is_cgi_request_variable(name)) return true;
    for (auto n : passed_names)
        if (name == n) return true;
    for (auto p : passed_prefixes)
        if (name.starts_with(p)) return true;
    return matches_pass_env(name, options.pass_env);
}

} // namespace

std::error_code EnvRequest::parse(char** env, const CgiOptions& options, const Logger& log)
{
    const Limits& limits = options.limits;
    // The transport's part: which variables of the process environment belong to the
    // request, and how big they are (--max-header-bytes bounds what is taken).
    std::vector<std::string_view> vars;
    vars.reserve(64);
    std::size_t env_bytes = 0;
    for (char** e = env; e && *e; ++e) {
        std::string_view kv = *e;
        auto eq = kv.find('=');
        if (eq == std::string_view::npos || !taken(kv.substr(0, eq), options)) continue;
        env_bytes += kv.size() + 1;
        vars.push_back(kv);
    }
    if (env_bytes > limits.max_header_bytes) {
        error_detail = concat("CGI environment of ", env_bytes, " bytes");
        return errc::header_too_large;
    }
    // One copy, sized once: the Request views it and header names are rewritten in it.
    buffer_.reserve(env_bytes);
    for (std::string_view kv : vars)
        buffer_.append(kv);

    CgiRequestOptions model_options{.mount = {},
                                    .max_header_count = limits.max_header_count,
                                    .promote_redirect_authorization =
                                        options.promote_redirect_authorization,
                                    .log = &log};
    CgiRequestBuilder builder(model_options, request);
    std::size_t at = 0;
    for (std::string_view kv : vars) {
        auto eq = kv.find('=');
        builder.add(std::span<char>(buffer_.data() + at, eq),
                    std::string_view(buffer_).substr(at + eq + 1, kv.size() - eq - 1));
        at += kv.size();
    }
    auto ec = builder.finish(scratch_);
    if (ec) {
        error_detail = builder.error_detail();
        return ec;
    }
    if (request.content_length)
        body_mode = BodyMode::content_length;
    else if (request.headers.find("TRANSFER-ENCODING"))
        body_mode = BodyMode::until_eof;
    return {};
}

} // namespace wsgibridge::cgi
