#include "request_from_env.hpp"

#include <array>
#include <charconv>
#include <vector>

namespace wsgibridge::cgi {
namespace {

using Field = std::string_view Request::*;

// Variables that fill a Request field instead of Request::variables.
constexpr std::array<std::pair<std::string_view, Field>, 10> request_fields{{
    {"REQUEST_METHOD", &Request::method},
    {"SCRIPT_NAME", &Request::script_name},
    {"PATH_INFO", &Request::path_info},
    {"QUERY_STRING", &Request::query_string},
    {"REQUEST_URI", &Request::target},
    {"SERVER_PROTOCOL", &Request::protocol},
    {"SERVER_NAME", &Request::server_name},
    {"SERVER_PORT", &Request::server_port},
    {"REMOTE_ADDR", &Request::remote_addr},
    {"REMOTE_PORT", &Request::remote_port},
}};

// RFC 3875 meta-variables without a Request field, and what the servers commonly add.
constexpr std::array<std::string_view, 18> passed_names{
    "AUTH_TYPE",   "GATEWAY_INTERFACE", "PATH_TRANSLATED", "REMOTE_HOST",      "REMOTE_IDENT",
    "REMOTE_USER", "SERVER_SOFTWARE",   "DOCUMENT_ROOT",   "SCRIPT_FILENAME",  "SCRIPT_URI",
    "SCRIPT_URL",  "SERVER_ADDR",       "SERVER_ADMIN",    "SERVER_SIGNATURE", "REQUEST_SCHEME",
    "HTTPS",       "UNIQUE_ID",         "ORIG_PATH_INFO"};
constexpr std::array<std::string_view, 3> passed_prefixes{"CONTEXT_", "REDIRECT_", "SSL_"};

enum class Kind : unsigned char { field, header, content_type, content_length, variable };

struct Entry
{
    Kind kind;
    std::string_view name; // the header name still with HTTP_ and underscores
    std::string_view value;
    Field field = nullptr;
};

bool is_token(std::string_view s) noexcept
{
    if (s.empty()) return false;
    for (char c : s) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

bool matches_pass_env(std::string_view name, const std::vector<std::string>& pass_env) noexcept
{
    for (std::string_view p : pass_env) {
        if (p.ends_with('*') ? name.starts_with(p.substr(0, p.size() - 1)) : name == p) return true;
    }
    return false;
}

bool passed_variable(std::string_view name, const CgiOptions& options) noexcept
{
    for (auto n : passed_names)
        if (name == n) return true;
    for (auto p : passed_prefixes)
        if (name.starts_with(p)) return true;
    return matches_pass_env(name, options.pass_env);
}

// Sorts one NAME=VALUE string into `out`; returns false for what the app never sees.
bool classify(std::string_view name, std::string_view value, const CgiOptions& options,
              const Logger& log, Entry& out)
{
    out = {Kind::variable, name, value};
    for (const auto& [n, field] : request_fields)
        if (name == n) return out.kind = Kind::field, out.field = field, true;
    if (name == "CONTENT_TYPE") return out.kind = Kind::content_type, !value.empty();
    if (name == "CONTENT_LENGTH") return out.kind = Kind::content_length, !value.empty();
    if (name.starts_with("HTTP_")) {
        out.kind = Kind::header;
        if (name == "HTTP_PROXY") {
            log.warning("dropped HTTP_PROXY from the request (httpoxy, CVE-2016-5385)");
            return false;
        }
        if (name == "HTTP_CONTENT_TYPE" || name == "HTTP_CONTENT_LENGTH") {
            // CONTENT_TYPE/CONTENT_LENGTH are the authority (RFC 3875 §4.1.3): a copy
            // under HTTP_ would make the header appear twice.
            log.debug(concat("ignored ", name, ": CONTENT_* carries it"));
            return false;
        }
        if (!is_token(name.substr(5))) {
            log.warning(concat("dropped request header variable with an invalid name: ", name));
            return false;
        }
        return true;
    }
    return passed_variable(name, options);
}

// The first pass: what the application will see, and how big it is.
struct Scan
{
    std::vector<Entry> entries;
    std::size_t env_bytes = 0;    // NAME=VALUE\0 of what is passed on
    std::size_t bytes = 0;        // NAME=VALUE without separators
    std::size_t header_count = 0; // HTTP_* variables
    std::string_view redirect_auth;
    bool has_authorization = false;
};

Scan scan_environment(char** env, const CgiOptions& options, const Logger& log)
{
    Scan scan;
    scan.entries.reserve(64);
    for (char** e = env; e && *e; ++e) {
        std::string_view kv = *e;
        auto eq = kv.find('=');
        if (eq == std::string_view::npos) continue;
        Entry entry;
        if (!classify(kv.substr(0, eq), kv.substr(eq + 1), options, log, entry)) continue;
        scan.env_bytes += kv.size() + 1;
        scan.bytes += kv.size();
        if (entry.kind == Kind::header) {
            ++scan.header_count;
            scan.has_authorization |= entry.name == "HTTP_AUTHORIZATION";
        }
        if (entry.name == "REDIRECT_HTTP_AUTHORIZATION") scan.redirect_auth = entry.value;
        scan.entries.push_back(entry);
    }
    return scan;
}

// "HTTP_ACCEPT_LANGUAGE" -> "ACCEPT-LANGUAGE", written into `buf`.
std::string_view append_header_name(std::string_view var, std::string& buf)
{
    std::size_t at = buf.size();
    for (char c : var.substr(5))
        buf += c == '_' ? '-' : c;
    return std::string_view(buf).substr(at);
}

std::string_view append(std::string_view s, std::string& buf)
{
    std::size_t at = buf.size();
    buf += s;
    return std::string_view(buf).substr(at);
}

bool parse_length(std::string_view text, std::uint64_t& out) noexcept
{
    if (text.empty() || text.size() > 19) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

} // namespace

void append_encoded_path(std::string_view raw, std::string& out)
{
    constexpr std::string_view keep = "-._~!$&'()*+,;=:@/";
    constexpr char hex[] = "0123456789ABCDEF";
    for (char c : raw) {
        auto u = static_cast<unsigned char>(c);
        bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (alnum || keep.find(c) != std::string_view::npos) {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
}

std::error_code EnvRequest::parse(char** env, const CgiOptions& options, const Logger& log)
{
    const Limits& limits = options.limits;
    Scan scan = scan_environment(env, options, log);
    const std::size_t env_bytes = scan.env_bytes, header_count = scan.header_count;
    if (env_bytes > limits.max_header_bytes) {
        limit_option = "--max-header-bytes";
        error_detail =
            concat("CGI environment of ", env_bytes, " bytes exceeds ", limits.max_header_bytes);
        return errc::header_too_large;
    }
    if (header_count > limits.max_header_count) {
        limit_option = "--max-header-count";
        error_detail = concat(header_count, " HTTP_* variables exceed ", limits.max_header_count);
        return errc::too_many_headers;
    }
    // The buffer never reallocates, so the views stay valid. Bound: the copies take at
    // most scan.bytes, a rebuilt REQUEST_URI at most 3 bytes per byte of SCRIPT_NAME,
    // PATH_INFO and QUERY_STRING (+ '/' and '?'), then the promoted Authorization.
    buffer_.reserve(scan.bytes * 4 + scan.redirect_auth.size() + 2);
    request.headers.reserve(header_count + 3);
    for (const Entry& entry : scan.entries) {
        switch (entry.kind) {
        case Kind::field:
            request.*entry.field = append(entry.value, buffer_);
            break;
        case Kind::header:
            request.headers.add(append_header_name(entry.name, buffer_),
                                append(entry.value, buffer_));
            break;
        case Kind::content_type:
            request.headers.add("CONTENT-TYPE", append(entry.value, buffer_));
            break;
        case Kind::content_length:
            if (!parse_length(entry.value, request.content_length.emplace())) {
                error_detail = concat("CONTENT_LENGTH is not a number: '", entry.value, "'");
                return errc::bad_content_length;
            }
            request.headers.add("CONTENT-LENGTH", append(entry.value, buffer_));
            break;
        case Kind::variable:
            request.variables.add(append(entry.name, buffer_), append(entry.value, buffer_));
            break;
        }
    }
    if (options.promote_redirect_authorization && !scan.redirect_auth.empty() &&
        !scan.has_authorization)
        request.headers.add("AUTHORIZATION", append(scan.redirect_auth, buffer_));
    return finish();
}

std::error_code EnvRequest::finish()
{
    Request& r = request;
    if (!is_token(r.method)) {
        error_detail = r.method.empty() ? "REQUEST_METHOD is not set"
                                        : concat("REQUEST_METHOD is not a token: '", r.method, "'");
        return errc::bad_request;
    }
    if (r.protocol.empty()) r.protocol = "HTTP/1.0";
    auto https = r.variables.find("HTTPS");
    auto scheme = r.variables.find("REQUEST_SCHEME");
    bool secure = (https && (iequals(*https, "on") || *https == "1")) ||
                  (scheme && iequals(*scheme, "https"));
    r.scheme = secure ? "https" : "http";
    if (r.target.empty()) {
        // RFC 3875 has no REQUEST_URI; Apache and nginx send one and apps read it: rebuild it
        // encoded.
        std::size_t at = buffer_.size();
        append_encoded_path(r.script_name, buffer_);
        append_encoded_path(r.path_info, buffer_);
        if (buffer_.size() == at) buffer_ += '/';
        if (!r.query_string.empty()) (buffer_ += '?') += r.query_string;
        r.target = std::string_view(buffer_).substr(at);
    }
    if (r.content_length)
        body_mode = BodyMode::content_length;
    else if (r.headers.find("TRANSFER-ENCODING"))
        body_mode = BodyMode::until_eof;
    return {};
}

} // namespace wsgibridge::cgi
