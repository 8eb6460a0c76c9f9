#include "http/date_cache.hpp"

#include <array>
#include <ctime>

namespace wsgibridge::http {

std::string_view http_date() noexcept
{
    thread_local std::time_t cached_second = 0;
    thread_local std::array<char, 40> text{};
    thread_local std::size_t length = 0;

    std::time_t now = std::time(nullptr); // vDSO: no system call
    if (now != cached_second) {
        std::tm tm{};
        ::gmtime_r(&now, &tm);
        // The C locale's %a/%b are the English names HTTP requires; this program never
        // calls setlocale.
        length = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached_second = now;
    }
    return {text.data(), length};
}

} // namespace wsgibridge::http
