// libFuzzer target for the CGI environment parser (RFC 3875 section 4.1): the input is
// a list of NAME=VALUE variables separated by newlines, parsed as wsgi-cgi's environ.
// When it is accepted, the Request must have a method, a scheme and a body mode
// consistent with CONTENT_LENGTH. (PATH_INFO is taken as the web server set it: RFC
// 3875 section 4.1.5 makes a value not starting with '/' the server's error, and the
// parser passes it on.)
#include "request_from_env.hpp"

#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

using namespace wsgibridge;

namespace {
void check(bool ok)
{
    if (!ok) std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const Logger log(::open("/dev/null", O_WRONLY | O_CLOEXEC), LogLevel::debug);
    if (size > 128 * 1024) return -1;

    // NUL-separated storage (terminated before any pointer into it is taken); each
    // line becomes one environ entry.
    std::string text(reinterpret_cast<const char*>(data), size);
    text.push_back('\0');
    std::vector<char*> env;
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' || text[i] == '\0') {
            text[i] = '\0';
            if (i > start) env.push_back(text.data() + start);
            start = i + 1;
        }
    }
    env.push_back(nullptr);

    CgiOptions options;
    options.limits.max_header_bytes = 16 * 1024;
    options.limits.max_header_count = 50;
    options.promote_redirect_authorization = size % 2 == 1;
    options.pass_env = {"PASS_ME", "PREFIX_*"};

    cgi::EnvRequest parsed;
    if (parsed.parse(env.data(), options, log)) return 0;
    const auto& req = parsed.request;
    check(!req.method.empty());
    check(req.scheme == "http" || req.scheme == "https");
    if (parsed.body_mode == cgi::BodyMode::content_length) check(req.content_length.has_value());
    return 0;
}
