#include "termination.hpp"

#include <csignal>
#include <signal.h>

namespace wsgibridge::cgi {
namespace {

volatile std::sig_atomic_t terminated = 0;

extern "C" void on_sigterm(int)
{
    terminated = 1;
}

} // namespace

void install_termination_handler() noexcept
{
    struct sigaction sa
    {
    };
    sa.sa_handler = on_sigterm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    ::sigaction(SIGTERM, &sa, nullptr);
}

bool termination_requested() noexcept
{
    return terminated != 0;
}

} // namespace wsgibridge::cgi
