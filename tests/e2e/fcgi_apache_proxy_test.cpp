// Apache mod_proxy_fcgi → a standalone wsgi-fcgi on TCP, connections reused.
#include "fcgi_common.hpp"

#include <unistd.h>

using namespace wsgibridge::test;
using namespace std::chrono_literals;

TEST(FcgiApacheProxy, ProxyPassWithMount)
{
    auto apache = find_program({"/usr/sbin/apache2"});
    if (apache.empty() || wsgi_fcgi_path().empty() ||
        ::access("/usr/lib/apache2/modules/mod_proxy_fcgi.so", R_OK) != 0)
        GTEST_FAIL() << "apache2, mod_proxy_fcgi or wsgi-fcgi missing (scripts/lib.sh installs it)";
    TempDir dir;
    auto fcgi_port = free_tcp_port();
    auto app = start_wsgi_fcgi("127.0.0.1:" + std::to_string(fcgi_port), dir / "wsgi-fcgi.log",
                               {"--mount", "/app"});
    auto port = free_tcp_port();
    write_file(dir / "wsgi-app.conf",
               example_with("apache-proxy-fcgi/wsgi-app.conf",
                            {{"fcgi://127.0.0.1:9000/",
                              "fcgi://127.0.0.1:" + std::to_string(fcgi_port) + "/"}}));
    ChildProcess server = start_apache(apache, dir.path(), "fcgi_apache_proxy.conf.in", port,
                                       {{"FCGI_PORT", std::to_string(fcgi_port)}});
    ASSERT_TRUE(wait_for_tcp(port)) << apache_logs(dir.path());

    check_http_front(port, "/app");

    auto r = curl({"http://127.0.0.1:" + std::to_string(port) + "/app/env?x=%20y"});
    EXPECT_NE(r.out.find("SCRIPT_NAME='/app'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("PATH_INFO='/env'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("QUERY_STRING='x=%20y'"), std::string::npos) << r.out;
    // enablereuse=on: connections are kept and reused
    EXPECT_LT(connections_accepted(dir / "wsgi-fcgi.log"), 12) << read_file(dir / "wsgi-fcgi.log");
    server.stop(15, 5s);
}

TEST(FcgiApacheProxy, BackendTypesAndPathinfoWithANonAsciiPath)
{
    // Apache 2.4 mod_proxy_fcgi and proxy-fcgi-pathinfo: Apache 2.4 sends the whole path as
    // SCRIPT_NAME under both ProxyFCGIBackendType GENERIC and FPM; --mount puts the mount point
    // back. With proxy-fcgi-pathinfo=unescape Apache splits it itself, and --mount changes nothing.
    // PATH_INFO is the decoded bytes as latin-1 either way (PEP 3333 'Unicode Issues': latin-1
    // strings of the raw bytes).
    auto apache = find_program({"/usr/sbin/apache2"});
    if (apache.empty() || wsgi_fcgi_path().empty() ||
        ::access("/usr/lib/apache2/modules/mod_proxy_fcgi.so", R_OK) != 0)
        GTEST_FAIL() << "apache2, mod_proxy_fcgi or wsgi-fcgi missing (scripts/lib.sh installs it)";
    TempDir dir;
    write_file(dir / "app.py", "def application(environ, start_response):\n"
                               "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                               "    return [ascii((environ['SCRIPT_NAME'], "
                               "environ['PATH_INFO'])).encode()]\n");
    struct Variant
    {
        const char* name;
        const char* directives;
        bool mount;
    };
    const char* setenvif = "LoadModule setenvif_module "
                           "/usr/lib/apache2/modules/mod_setenvif.so\n"
                           "SetEnvIf Request_URI . proxy-fcgi-pathinfo=unescape\n";
    for (const Variant& v :
         {Variant{"GENERIC", "ProxyFCGIBackendType GENERIC\n", true},
          Variant{"FPM", "ProxyFCGIBackendType FPM\n", true},
          Variant{"unescape+mount", setenvif, true}, Variant{"unescape", setenvif, false}}) {
        SCOPED_TRACE(v.name);
        auto fcgi_port = free_tcp_port();
        std::vector<std::string> argv{wsgi_fcgi_path(), "--allow-root",
                                      "--app",          (dir / "app.py").string(),
                                      "--bind",         "127.0.0.1:" + std::to_string(fcgi_port)};
        if (v.mount) argv.insert(argv.end(), {"--mount", "/app"});
        SpawnOptions fo;
        fo.stderr_file = dir / "wsgi-fcgi.log";
        ChildProcess app(argv, fo);
        ASSERT_TRUE(wait_for_tcp(fcgi_port)) << read_file(dir / "wsgi-fcgi.log");
        auto port = free_tcp_port();
        write_file(dir / "wsgi-app.conf",
                   std::string(v.directives) +
                       example_with("apache-proxy-fcgi/wsgi-app.conf",
                                    {{"fcgi://127.0.0.1:9000/",
                                      "fcgi://127.0.0.1:" + std::to_string(fcgi_port) + "/"}}));
        ChildProcess server = start_apache(apache, dir.path(), "fcgi_apache_proxy.conf.in", port,
                                           {{"FCGI_PORT", std::to_string(fcgi_port)}});
        ASSERT_TRUE(wait_for_tcp(port)) << apache_logs(dir.path());
        auto r = curl({"http://127.0.0.1:" + std::to_string(port) + "/app/caf%C3%A9/x?q=1"});
        EXPECT_TRUE(r.out.ends_with("('/app', '/caf\\xc3\\xa9/x')")) << r.out;
        server.stop(15, 5s);
    }
}
