// Proxy headers from trusted peers (--forwarded-allow-ips): RFC 7239 Forwarded and the
// de-facto X-Forwarded-For/-Proto/-Host/-Port/-Prefix rewrite the request's client
// address, scheme, host and mount point, but only when the connection comes from a
// proxy we trust. From anybody else they are ordinary headers. Pure: no socket, no
// Python; unit-tested with hand-made requests. Internal.
#pragma once

#include "wsgibridge/log.hpp"
#include "wsgibridge/request.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgibridge {

/// Addresses and CIDR ranges ("127.0.0.1,::1,10.0.0.0/8", "*" for any), gunicorn's
/// --forwarded-allow-ips syntax.
class TrustedProxies
{
public:
    TrustedProxies() = default; ///< trusts nobody (but unix-socket peers)
    /// Throws std::invalid_argument naming the bad entry.
    explicit TrustedProxies(std::string_view list);

    /// `addr` is a textual IPv4/IPv6 address; an IPv4-mapped IPv6 address counts as IPv4.
    bool trusts(std::string_view addr) const noexcept;
    bool trusts_any() const noexcept { return any_; }
    bool empty() const noexcept { return !any_ && ranges_.empty(); }

private:
    struct Range
    {
        std::array<std::uint8_t, 16> bytes{}; ///< IPv4 as ::ffff:a.b.c.d
        unsigned prefix = 128;
    };
    std::vector<Range> ranges_;
    bool any_ = false;
};

/// Where the rewritten values live: `Request` holds views, these strings own the bytes
/// that are not already in a header value. Reused across requests of a connection.
struct ForwardedStorage
{
    std::string host;        ///< the new Host header value
    std::string script_name; ///< prefix + the mount point
};

/// True when a header named Forwarded or X-Forwarded-* is present: the cheap test that
/// keeps requests without proxy headers from paying for apply_forwarded().
bool has_proxy_headers(const HeaderList& headers) noexcept;

/// Rewrites `req` (filled by a front end from a connection whose peer is trusted) from
/// its proxy headers: REMOTE_ADDR is the right-most address that is not a trusted
/// proxy; Forwarded's proto/host come from that hop's element (RFC 7239 §4), the
/// X-Forwarded-* values from their right-most entry (the one our proxy set). A scheme
/// of https also sets HTTPS=on. Malformed values are ignored, each reported through
/// `warn`. Returns true when anything changed. `req` must not be read after `storage`
/// changes or dies.
bool apply_forwarded(Request& req, const TrustedProxies& proxies, ForwardedStorage& storage,
                     const std::function<void(std::string_view)>& warn);

} // namespace wsgibridge
