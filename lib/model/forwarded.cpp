#include "model/forwarded.hpp"

#include "model/uri.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace wsgibridge {
namespace {

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

/// A textual address as 16 bytes (IPv4 mapped into ::ffff:0:0/96); false if not one.
bool parse_address(std::string_view text, std::array<std::uint8_t, 16>& out, bool& v4) noexcept
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (text.empty() || text.size() >= sizeof buf) return false;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    in_addr a4{};
    if (::inet_pton(AF_INET, buf, &a4) == 1) {
        out = {};
        out[10] = out[11] = 0xff;
        std::memcpy(out.data() + 12, &a4, 4);
        v4 = true;
        return true;
    }
    in6_addr a6{};
    if (::inet_pton(AF_INET6, buf, &a6) != 1) return false;
    std::memcpy(out.data(), &a6, 16);
    static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    v4 = std::memcmp(out.data(), mapped, 12) == 0;
    return true;
}

bool parse_port(std::string_view text, unsigned& port) noexcept
{
    if (text.empty() || text.size() > 5) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    return ec == std::errc{} && end == text.data() + text.size() && port > 0 && port <= 65535;
}

/// The comma-separated entries of every field named `name`, in wire order (RFC 9110
/// §5.3: repeated fields are one list).
std::vector<std::string_view> list_values(const HeaderList& headers, std::string_view name)
{
    std::vector<std::string_view> out;
    for (const auto& h : headers) {
        if (!iequals(h.name, name)) continue;
        std::string_view rest = h.value;
        while (true) {
            auto comma = rest.find(',');
            out.push_back(trim(rest.substr(0, comma)));
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    return out;
}

/// "192.0.2.1", "192.0.2.1:80", "[2001:db8::1]", "[2001:db8::1]:80", "2001:db8::1" ->
/// the address part; "" when it is not an address with an optional port.
std::string_view node_address(std::string_view node) noexcept
{
    std::array<std::uint8_t, 16> bytes;
    bool v4 = false;
    if (node.starts_with('[')) {
        auto end = node.find(']');
        if (end == std::string_view::npos) return {};
        auto rest = node.substr(end + 1);
        unsigned port = 0;
        if (!rest.empty() && !(rest.front() == ':' && parse_port(rest.substr(1), port))) return {};
        auto addr = node.substr(1, end - 1);
        return parse_address(addr, bytes, v4) && !v4 ? addr : std::string_view{};
    }
    if (parse_address(node, bytes, v4)) return node; // bare IPv6 (X-Forwarded-For) or IPv4
    auto colon = node.rfind(':');
    unsigned port = 0;
    if (colon == std::string_view::npos || !parse_port(node.substr(colon + 1), port)) return {};
    auto addr = node.substr(0, colon);
    return parse_address(addr, bytes, v4) && v4 ? addr : std::string_view{};
}

/// A Host value: reg-name, IPv4 or [IPv6], optional :port (RFC 9110 §7.2, RFC 3986 §3.2.2).
bool valid_host(std::string_view host) noexcept
{
    if (host.empty() || host.size() > 255) return false;
    std::string_view name = host, port;
    if (host.starts_with('[')) {
        auto end = host.find(']');
        if (end == std::string_view::npos) return false;
        std::array<std::uint8_t, 16> bytes;
        bool v4 = false;
        if (!parse_address(host.substr(1, end - 1), bytes, v4)) return false;
        name = {};
        port = host.substr(end + 1);
        if (!port.empty() && port.front() != ':') return false;
        if (!port.empty()) port.remove_prefix(1);
    } else if (auto colon = host.find(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
        port = host.substr(colon + 1);
        if (name.empty()) return false;
    }
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_' || c == '~';
        if (!ok) return false;
    }
    unsigned p = 0;
    return port.empty() ? host.find(':') == std::string_view::npos || host.starts_with('[')
                        : parse_port(port, p);
}

std::string_view host_name(std::string_view host) noexcept
{
    if (host.starts_with('[')) return host.substr(0, host.find(']') + 1);
    return host.substr(0, host.find(':'));
}

std::string_view host_port(std::string_view host) noexcept
{
    auto name = host_name(host);
    return host.size() > name.size() + 1 ? host.substr(name.size() + 1) : std::string_view{};
}

/// One RFC 7239 forwarded-element: "for=...;proto=...;host=...;by=...".
struct Element
{
    std::string_view for_, proto, host;
    bool ok = true;
};

/// Parses the pairs of one element; quoted-strings lose their quotes (a value with a
/// quoted-pair is refused: no address, scheme or host needs one).
Element parse_element(std::string_view text)
{
    Element e;
    while (!text.empty()) {
        auto semi = text.find(';');
        auto pair = trim(text.substr(0, semi));
        text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        if (eq == std::string_view::npos) {
            e.ok = false;
            continue;
        }
        auto name = trim(pair.substr(0, eq));
        auto value = trim(pair.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
            value = value.substr(1, value.size() - 2);
            if (value.find('\\') != std::string_view::npos) e.ok = false;
        } else if (value.find('"') != std::string_view::npos) {
            e.ok = false;
        }
        if (iequals(name, "for"))
            e.for_ = value;
        else if (iequals(name, "proto"))
            e.proto = value;
        else if (iequals(name, "host"))
            e.host = value;
    }
    return e;
}

/// Splits a Forwarded field list on commas outside quoted-strings.
std::vector<std::string_view> forwarded_elements(const HeaderList& headers)
{
    std::vector<std::string_view> out;
    for (const auto& h : headers) {
        if (!iequals(h.name, "Forwarded")) continue;
        std::string_view v = h.value;
        bool quoted = false;
        std::size_t start = 0;
        for (std::size_t i = 0; i <= v.size(); ++i) {
            if (i < v.size() && v[i] == '"') quoted = !quoted;
            if (i == v.size() || (v[i] == ',' && !quoted)) {
                auto item = trim(v.substr(start, i - start));
                if (!item.empty()) out.push_back(item);
                start = i + 1;
            }
        }
    }
    return out;
}

/// Printable for a log line: the client chose these bytes.
std::string shown(std::string_view value)
{
    std::string s(value.substr(0, 100));
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    return s;
}

} // namespace

TrustedProxies::TrustedProxies(std::string_view list)
{
    while (!list.empty()) {
        auto comma = list.find(',');
        auto item = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (item.empty()) continue;
        if (item == "*") {
            any_ = true;
            continue;
        }
        Range r;
        auto slash = item.find('/');
        bool v4 = false;
        if (!parse_address(item.substr(0, slash), r.bytes, v4))
            throw std::invalid_argument(
                concat("--forwarded-allow-ips: not an IP address or range: '", shown(item), "'"));
        r.prefix = 128;
        if (slash != std::string_view::npos) {
            unsigned bits = 0;
            auto text = item.substr(slash + 1);
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), bits);
            if (ec != std::errc{} || end != text.data() + text.size() || text.empty() ||
                bits > (v4 ? 32u : 128u))
                throw std::invalid_argument(
                    concat("--forwarded-allow-ips: bad prefix length in '", shown(item), "'"));
            r.prefix = v4 ? 96 + bits : bits;
        }
        ranges_.push_back(r);
    }
}

bool TrustedProxies::trusts(std::string_view addr) const noexcept
{
    if (any_) return true;
    std::array<std::uint8_t, 16> a;
    bool v4 = false;
    if (!parse_address(addr, a, v4)) return false;
    for (const auto& r : ranges_) {
        unsigned full = r.prefix / 8, rest = r.prefix % 8;
        if (std::memcmp(a.data(), r.bytes.data(), full) != 0) continue;
        if (rest) {
            auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
            if ((a[full] & mask) != (r.bytes[full] & mask)) continue;
        }
        return true;
    }
    return false;
}

bool has_proxy_headers(const HeaderList& headers) noexcept
{
    for (const auto& h : headers) {
        if (h.name.size() < 9) continue;
        char c = h.name[0];
        if ((c == 'x' || c == 'X') && h.name[1] == '-' &&
            iequals(h.name.substr(2, 10), "Forwarded-"))
            return true;
        if ((c == 'f' || c == 'F') && iequals(h.name, "Forwarded")) return true;
    }
    return false;
}

bool apply_forwarded(Request& req, const TrustedProxies& proxies, ForwardedStorage& storage,
                     const std::function<void(std::string_view)>& warn)
{
    auto complain = [&](std::string_view header, std::string_view value, std::string_view why) {
        warn(concat("ignoring ", header, ": '", shown(value), "' from trusted proxy ",
                    req.remote_addr.empty() ? std::string_view("(unix socket)") : req.remote_addr,
                    ": ", why, " (--forwarded-allow-ips)"));
    };

    std::string_view client, proto, host, port, prefix;
    bool have_port = false;

    // RFC 7239 takes precedence: it is one header a proxy cannot half-set.
    auto elements = forwarded_elements(req.headers);
    if (!elements.empty()) {
        // From the right, skip our trusted proxies; the element the outermost trusted
        // proxy appended names the client and what the client asked for (§5.2-5.4).
        std::size_t i = elements.size();
        Element chosen;
        bool bad = false;
        while (i-- > 0) {
            Element e = parse_element(elements[i]);
            if (!e.ok) {
                complain("Forwarded", elements[i], "not a forwarded-element (RFC 7239 section 4)");
                bad = true;
                break;
            }
            chosen = e;
            auto addr = node_address(e.for_);
            if (addr.empty() || !proxies.trusts(addr)) break;
        }
        if (!bad) {
            if (auto addr = node_address(chosen.for_); !addr.empty())
                client = addr;
            else if (!chosen.for_.empty() && !iequals(chosen.for_, "unknown") &&
                     !chosen.for_.starts_with('_'))
                complain("Forwarded", chosen.for_, "for= is not an address");
            proto = chosen.proto;
            host = chosen.host;
        }
    } else {
        auto xff = list_values(req.headers, "X-Forwarded-For");
        for (std::size_t i = xff.size(); i-- > 0;) {
            auto addr = node_address(xff[i]);
            if (addr.empty()) {
                complain("X-Forwarded-For", xff[i], "not an IP address");
                client = {};
                break;
            }
            client = addr;
            if (!proxies.trusts(addr)) break;
        }
        auto last = [&](std::string_view name) {
            auto v = list_values(req.headers, name);
            return v.empty() ? std::string_view{} : v.back();
        };
        proto = last("X-Forwarded-Proto");
        host = last("X-Forwarded-Host");
        port = last("X-Forwarded-Port");
        have_port = !port.empty();
    }
    auto prefixes = list_values(req.headers, "X-Forwarded-Prefix");
    if (!prefixes.empty()) prefix = prefixes.back();

    bool changed = false;
    if (!client.empty()) {
        req.remote_addr = client;
        req.remote_port = {}; // the client's port is the proxy's business
        changed = true;
    }

    std::string_view scheme;
    if (!proto.empty()) {
        if (iequals(proto, "https"))
            scheme = "https";
        else if (iequals(proto, "http"))
            scheme = "http";
        else
            complain("the forwarded proto", proto, "neither http nor https");
    }
    if (!scheme.empty()) {
        req.scheme = scheme;
        if (scheme == "https") req.variables.add("HTTPS", "on");
        changed = true;
    }

    if (!host.empty() && !valid_host(host)) {
        complain("the forwarded host", host, "not a host[:port] (RFC 9110 section 7.2)");
        host = {};
    }
    unsigned port_number = 0;
    if (have_port && !parse_port(port, port_number)) {
        complain("X-Forwarded-Port", port, "not a port number");
        have_port = false;
    }

    if (!host.empty() || have_port || !scheme.empty()) {
        // SERVER_NAME/SERVER_PORT follow the public host (PEP 3333 URL reconstruction);
        // a host without a port means the scheme's default port.
        std::string_view effective = host.empty() ? req.headers.find("Host").value_or("") : host;
        if (effective.empty() || !valid_host(effective)) effective = {};
        std::string_view name = host_name(effective);
        std::string_view eport = have_port ? port : host_port(effective);
        std::string_view default_port = req.scheme == "https" ? "443" : "80";
        if (eport.empty()) eport = default_port;
        if (!name.empty()) {
            storage.host.assign(name);
            if (eport != default_port) storage.host.append(":").append(eport);
            if (have_port || !host.empty()) {
                // The app reads the Host header (HTTP_HOST) first: replace it.
                HeaderList headers;
                headers.reserve(req.headers.size() + 1);
                bool replaced = false;
                for (const auto& h : req.headers) {
                    if (iequals(h.name, "Host")) {
                        if (!replaced) headers.add(h.name, storage.host);
                        replaced = true;
                        continue;
                    }
                    headers.add(h.name, h.value);
                }
                if (!replaced) headers.add("Host", storage.host);
                req.headers = std::move(headers);
            }
            req.server_name = std::string_view(storage.host).substr(0, name.size());
        }
        if (have_port || !host.empty() || !scheme.empty()) {
            // A view that outlives this call: into the host value, the port header or
            // the constant.
            req.server_port =
                eport == default_port
                    ? (req.scheme == "https" ? std::string_view("443") : std::string_view("80"))
                    : eport;
        }
        changed = true;
    }

    if (!prefix.empty()) {
        std::string decoded;
        percent_decode_append(prefix, decoded);
        bool ok = decoded.starts_with('/') && decoded.find('\0') == std::string::npos &&
                  decoded.find('?') == std::string::npos && decoded.find('#') == std::string::npos;
        for (std::size_t i = 0; ok && i < decoded.size(); ++i) {
            auto c = static_cast<unsigned char>(decoded[i]);
            if (c < 0x20 || c == 0x7f) ok = false;
        }
        if (ok) {
            // No "." or ".." segments: the prefix is a mount point, not a path to walk.
            std::string_view rest = decoded;
            while (ok && !rest.empty()) {
                rest.remove_prefix(1);
                auto seg = rest.substr(0, rest.find('/'));
                if (seg == "." || seg == "..") ok = false;
                rest.remove_prefix(seg.size());
            }
        }
        if (!ok) {
            complain("X-Forwarded-Prefix", prefix, "not an absolute path");
        } else {
            while (decoded.ends_with('/'))
                decoded.pop_back();
            storage.script_name = std::move(decoded);
            storage.script_name.append(req.script_name);
            req.script_name = storage.script_name;
            changed = true;
        }
    }
    return changed;
}

} // namespace wsgibridge
