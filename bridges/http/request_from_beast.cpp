#include "http/request_from_beast.hpp"

#include "http/head_rules.hpp"
#include "model/content_length.hpp"
#include "model/uri.hpp"

namespace wsgibridge::http {
namespace {

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// The port of a Host header, if it carries one ("example.com:8080" -> "8080").
std::string_view host_port(std::string_view host) noexcept
{
    auto name = host_without_port(host);
    if (host.size() > name.size() + 1 && host[name.size()] == ':')
        return host.substr(name.size() + 1);
    return {};
}

} // namespace

std::string_view host_without_port(std::string_view host) noexcept
{
    host = trim(host);
    if (host.starts_with('[')) {
        auto end = host.find(']');
        return end == std::string_view::npos ? host : host.substr(0, end + 1);
    }
    return host.substr(0, host.find(':'));
}

std::error_code check_head(const RequestHead& head, std::size_t max_header_count) noexcept
{
    if (head.version() != 11 && head.version() != 10)
        return make_error_code(errc::unsupported_version);

    std::size_t count = 0;
    bool has_length = false, has_te = false, te_ok = true;
    for (const auto& field : head) {
        ++count;
        if (field.name() == bhttp::field::content_length) has_length = true;
        if (field.name() == bhttp::field::transfer_encoding) {
            // Only a lone "chunked" is understood: "gzip, chunked" would hand the
            // application compressed bytes it did not ask for, and two fields are a
            // smuggling attempt more often than not.
            te_ok = !has_te && iequals(trim(field.value()), "chunked");
            has_te = true;
        }
    }
    if (count > max_header_count) return make_error_code(errc::too_many_headers);
    if (has_length && has_te) return make_error_code(errc::bad_content_length);
    if (has_te && !te_ok) return make_error_code(errc::unsupported_transfer_encoding);
    return {};
}

bool well_formed_version(std::string_view start) noexcept
{
    auto eol = start.find("\r\n");
    if (eol == std::string_view::npos || eol < 9) return false;
    auto v = start.substr(eol - 9, 9); // " HTTP/1.2"
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    return v.starts_with(" HTTP/") && digit(v[6]) && v[7] == '.' && digit(v[8]);
}

bool expects_continue(const RequestHead& head) noexcept
{
    if (head.version() < 11) return false;
    auto it = head.find(bhttp::field::expect);
    return it != head.end() && iequals(trim(it->value()), "100-continue");
}

bool request_from_beast(const RequestHead& head, const ConnectionInfo& info, std::string_view mount,
                        std::string& path_buf, Request& req)
{
    req.method = head.method_string();
    req.target = head.target();
    req.protocol =
        head.version() == 10 ? std::string_view("HTTP/1.0") : std::string_view("HTTP/1.1");
    req.scheme = "http";

    auto parts = split_target(req.target);
    // "http://host?q" has an empty path, which means "/" (RFC 9110 section 4.2.3).
    if (parts.path.empty()) parts.path = "/";
    req.query_string = parts.query;
    path_buf.clear();
    percent_decode_append(parts.path, path_buf);

    req.headers.clear();
    req.variables.clear();
    // With an absolute-form target the server uses its authority and ignores the Host
    // field (RFC 9112 section 3.2.2): HTTP_HOST and SERVER_NAME both come from it.
    std::string_view host = target_authority(req.target);
    const bool from_target = !host.empty();
    for (const auto& field : head) {
        bool is_host = field.name() == bhttp::field::host;
        req.headers.add(field.name_string(),
                        is_host && from_target ? host : std::string_view(field.value()));
        if (host.empty() && is_host) host = field.value();
    }

    // SERVER_NAME is what the client asked for (PEP 3333 url reconstruction), else
    // our own address; SERVER_PORT is where it actually arrived.
    req.server_name = host_without_port(host);
    if (req.server_name.empty())
        req.server_name =
            info.unix_socket ? std::string_view("localhost") : std::string_view(info.local_addr);
    req.server_port = info.local_port;
    if (info.unix_socket) {
        req.server_port = host_port(host);
        if (req.server_port.empty()) req.server_port = "80";
    }
    req.remote_addr = info.remote_addr;
    req.remote_port = info.remote_port;

    req.content_length.reset();
    if (auto it = head.find(bhttp::field::content_length); it != head.end()) {
        // head_rules refused anything but one plain number (lists included) before this.
        req.content_length = parse_content_length(trim(it->value()));
    }

    return split_mount(path_buf, mount, req.script_name, req.path_info);
}

} // namespace wsgibridge::http
