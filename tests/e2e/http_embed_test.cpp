// examples/embed: a program built only against the public library serves hello.py.
#include "http_server.hpp"

using namespace wsgibridge::test;

TEST(EmbedExample, ServesHello)
{
    unsigned short port = free_tcp_port();
    WsgiHttpProcess s({"examples/hello.py", "127.0.0.1:" + std::to_string(port)},
                      (build_root() / "examples" / "embed" / "embed-example").string(), false);
    ASSERT_TRUE(wait_for_tcp(port, std::chrono::seconds(20))) << s.error_log();
    auto r = curl({"http://127.0.0.1:" + std::to_string(port) + "/"});
    EXPECT_EQ(response_body(r.out), "Hello, World!\n");
    EXPECT_NE(r.out.find("Server: embed-example"), std::string::npos);
}

TEST(EmbedExample, CallsInProcess)
{
    // The call API part of the example: no socket, the response printed.
    SpawnOptions in_source;
    in_source.cwd = source_root();
    auto r = run_command({(build_root() / "examples" / "embed" / "embed-example").string(),
                          "examples/hello.py", "--call", "/"},
                         {}, in_source);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "200 OK\nContent-Type: text/plain\nContent-Length: 14\n\nHello, World!\n");
}
