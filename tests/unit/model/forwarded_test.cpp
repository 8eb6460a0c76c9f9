// Proxy headers (RFC 7239 Forwarded, X-Forwarded-*) from trusted peers.
#include "model/forwarded.hpp"

#include <gtest/gtest.h>
#include <stdexcept>
#include <string>
#include <vector>

using namespace wsgibridge;

namespace {

struct Fixture
{
    Request req;
    ForwardedStorage storage;
    std::vector<std::string> warnings;

    Fixture()
    {
        req.method = "GET";
        req.target = "/x";
        req.scheme = "http";
        req.server_name = "127.0.0.1";
        req.server_port = "8000";
        req.remote_addr = "127.0.0.1";
        req.remote_port = "50000";
        req.path_info = "/x";
        req.headers.add("Host", "127.0.0.1:8000");
    }
    bool apply(const TrustedProxies& proxies)
    {
        return apply_forwarded(req, proxies, storage,
                               [this](std::string_view m) { warnings.emplace_back(m); });
    }
};

const TrustedProxies local("127.0.0.1,::1");

} // namespace

TEST(TrustedProxies, AddressesRangesAndAny)
{
    TrustedProxies p("127.0.0.1, ::1,10.0.0.0/8,2001:db8::/32");
    EXPECT_TRUE(p.trusts("127.0.0.1"));
    EXPECT_TRUE(p.trusts("::ffff:127.0.0.1")); // IPv4-mapped counts as IPv4
    EXPECT_TRUE(p.trusts("::1"));
    EXPECT_TRUE(p.trusts("10.200.3.4"));
    EXPECT_TRUE(p.trusts("2001:db8:1::5"));
    EXPECT_FALSE(p.trusts("11.0.0.1"));
    EXPECT_FALSE(p.trusts("127.0.0.2"));
    EXPECT_FALSE(p.trusts("2001:db9::1"));
    EXPECT_FALSE(p.trusts("not-an-address"));
    EXPECT_FALSE(p.trusts(""));
    EXPECT_TRUE(TrustedProxies("*").trusts("203.0.113.9"));
    EXPECT_TRUE(TrustedProxies("192.168.1.0/25").trusts("192.168.1.127"));
    EXPECT_FALSE(TrustedProxies("192.168.1.0/25").trusts("192.168.1.128"));
    EXPECT_TRUE(TrustedProxies("").empty());
}

TEST(TrustedProxies, BadEntriesNameTheOption)
{
    for (const char* bad : {"localhost", "10.0.0.0/33", "::1/129", "1.2.3.4/", "1.2.3.4/x"}) {
        try {
            TrustedProxies p(bad);
            ADD_FAILURE() << bad << " was accepted";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("--forwarded-allow-ips"), std::string::npos);
        }
    }
}

TEST(Forwarded, QuickTestFindsOnlyProxyHeaders)
{
    HeaderList h;
    h.add("Host", "a");
    h.add("X-Real-IP", "1.2.3.4");
    EXPECT_FALSE(has_proxy_headers(h));
    h.add("x-forwarded-proto", "https");
    EXPECT_TRUE(has_proxy_headers(h));
    HeaderList f;
    f.add("FORWARDED", "for=1.2.3.4");
    EXPECT_TRUE(has_proxy_headers(f));
}

// The nginx set-up: X-Forwarded-For appended by $proxy_add_x_forwarded_for, proto and
// host set by the proxy.
TEST(Forwarded, XForwardedHeadersSetClientSchemeHostAndPort)
{
    Fixture f;
    f.req.headers.add("X-Forwarded-For", "203.0.113.7");
    f.req.headers.add("X-Forwarded-Proto", "https");
    f.req.headers.add("X-Forwarded-Host", "www.example.org");
    EXPECT_TRUE(f.apply(local));
    EXPECT_EQ(f.req.remote_addr, "203.0.113.7");
    EXPECT_EQ(f.req.remote_port, "");
    EXPECT_EQ(f.req.scheme, "https");
    EXPECT_EQ(f.req.variables.find("HTTPS").value_or(""), "on");
    EXPECT_EQ(f.req.headers.find("Host").value_or(""), "www.example.org");
    EXPECT_EQ(f.req.server_name, "www.example.org");
    EXPECT_EQ(f.req.server_port, "443");
    EXPECT_TRUE(f.warnings.empty());
}

TEST(Forwarded, PortHeaderAndNonDefaultPortsStayInHost)
{
    Fixture f;
    f.req.headers.add("X-Forwarded-Proto", "https");
    f.req.headers.add("X-Forwarded-Host", "example.org");
    f.req.headers.add("X-Forwarded-Port", "8443");
    f.apply(local);
    EXPECT_EQ(f.req.headers.find("Host").value_or(""), "example.org:8443");
    EXPECT_EQ(f.req.server_name, "example.org");
    EXPECT_EQ(f.req.server_port, "8443");

    Fixture g; // proto only: the Host header the proxy passed decides the name
    g.req.headers = {};
    g.req.headers.add("Host", "shop.example:444");
    g.req.headers.add("X-Forwarded-Proto", "https");
    g.apply(local);
    EXPECT_EQ(g.req.server_name, "shop.example");
    EXPECT_EQ(g.req.server_port, "444");
    EXPECT_EQ(g.req.headers.find("Host").value_or(""), "shop.example:444");
}

// The right-most address that is not a trusted proxy is the client: addresses to its
// left were written by whoever the client is and prove nothing.
TEST(Forwarded, RightMostUntrustedHopIsTheClient)
{
    Fixture f;
    f.req.headers.add("X-Forwarded-For", "6.6.6.6, 198.51.100.2, 10.0.0.5");
    f.req.headers.add("X-Forwarded-For", "127.0.0.1");
    f.apply(TrustedProxies("127.0.0.1,10.0.0.0/8"));
    EXPECT_EQ(f.req.remote_addr, "198.51.100.2");

    Fixture all_trusted;
    all_trusted.req.headers.add("X-Forwarded-For", "10.0.0.9, 10.0.0.5");
    all_trusted.apply(TrustedProxies("127.0.0.1,10.0.0.0/8"));
    EXPECT_EQ(all_trusted.req.remote_addr, "10.0.0.9");
}

TEST(Forwarded, AppendedForwardedHostTakesTheRightMostValue)
{
    // Apache mod_proxy appends to a client's own X-Forwarded-Host.
    Fixture f;
    f.req.headers.add("X-Forwarded-Host", "evil.example, public.example");
    f.apply(local);
    EXPECT_EQ(f.req.server_name, "public.example");
}

TEST(Forwarded, Rfc7239ElementOfTheFirstUntrustedHop)
{
    Fixture f;
    f.req.headers.add("Forwarded",
                      "for=6.6.6.6;proto=http;host=evil, "
                      "for=\"[2001:db8:cafe::17]:4711\";proto=https;host=\"example.com\"");
    f.req.headers.add("Forwarded", "for=127.0.0.1;proto=http;host=inner;by=127.0.0.1");
    f.req.headers.add("X-Forwarded-For", "9.9.9.9"); // Forwarded wins
    f.apply(local);
    EXPECT_EQ(f.req.remote_addr, "2001:db8:cafe::17");
    EXPECT_EQ(f.req.scheme, "https");
    EXPECT_EQ(f.req.server_name, "example.com");
    EXPECT_EQ(f.req.headers.find("Host").value_or(""), "example.com");
    EXPECT_TRUE(f.warnings.empty()) << f.warnings.front();

    Fixture v4;
    v4.req.headers.add("Forwarded", "For=192.0.2.60:1234;Proto=HTTPS");
    v4.apply(local);
    EXPECT_EQ(v4.req.remote_addr, "192.0.2.60");
    EXPECT_EQ(v4.req.scheme, "https");

    Fixture hidden; // RFC 7239 §6.2-6.3: unknown and obfuscated nodes are not addresses
    hidden.req.headers.add("Forwarded", "for=_hidden;proto=https");
    hidden.apply(local);
    EXPECT_EQ(hidden.req.remote_addr, "127.0.0.1");
    EXPECT_EQ(hidden.req.scheme, "https");
    EXPECT_TRUE(hidden.warnings.empty());
}

TEST(Forwarded, PrefixBecomesScriptName)
{
    Fixture f;
    f.req.script_name = "/app";
    f.req.headers.add("X-Forwarded-Prefix", "/public%20site/");
    f.apply(local);
    EXPECT_EQ(f.req.script_name, "/public site/app");
    EXPECT_EQ(f.req.path_info, "/x");
}

TEST(Forwarded, MalformedValuesAreIgnoredAndLogged)
{
    Fixture f;
    f.req.headers.add("X-Forwarded-For", "1.2.3.4, not-an-ip");
    f.req.headers.add("X-Forwarded-Proto", "gopher");
    f.req.headers.add("X-Forwarded-Host", "bad host/../");
    f.req.headers.add("X-Forwarded-Port", "99999");
    f.req.headers.add("X-Forwarded-Prefix", "/a/../../etc");
    EXPECT_FALSE(f.apply(local));
    EXPECT_EQ(f.req.remote_addr, "127.0.0.1");
    EXPECT_EQ(f.req.scheme, "http");
    EXPECT_EQ(f.req.server_name, "127.0.0.1");
    EXPECT_EQ(f.req.server_port, "8000");
    EXPECT_EQ(f.req.script_name, "");
    EXPECT_EQ(f.req.headers.find("Host").value_or(""), "127.0.0.1:8000");
    ASSERT_EQ(f.warnings.size(), 5u);
    for (const auto& w : f.warnings)
        EXPECT_NE(w.find("--forwarded-allow-ips"), std::string::npos) << w;

    for (const char* bad : {"for=\"1.2.3.4", "for", "for=1.2.3.4;proto=\"a\\\"b\"", "for=999.1.1.1",
                            "for=[::1", "for=\"[1.2.3.4]\""}) {
        Fixture g;
        g.req.headers.add("Forwarded", bad);
        g.apply(local);
        EXPECT_EQ(g.req.remote_addr, "127.0.0.1") << bad;
        EXPECT_EQ(g.warnings.size(), 1u) << bad;
    }
    Fixture ctl; // control bytes never reach the log
    ctl.req.headers.add("X-Forwarded-Proto", "ht\x1btp");
    ctl.apply(local);
    ASSERT_EQ(ctl.warnings.size(), 1u);
    EXPECT_EQ(ctl.warnings[0].find('\x1b'), std::string::npos);
}
