// Management records (request id 0, spec 4): GET_VALUES answered with the server's
// real figures, anything else with UNKNOWN_TYPE.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace wsgibridge::fastcgi {

struct ServerFigures
{
    unsigned max_conns = 0; ///< FCGI_MAX_CONNS
    unsigned max_reqs = 0;  ///< FCGI_MAX_REQS
    bool mpxs_conns = true; ///< FCGI_MPXS_CONNS
};

/// The content of the GET_VALUES_RESULT for the GET_VALUES `content`: the known names
/// asked for, with ASCII decimal values; unknown names are left out, as are malformed
/// pairs (the spec has no error answer for them).
std::string get_values_result(std::span<char> content, const ServerFigures& figures);

/// The content of the UNKNOWN_TYPE record answering a management record of `type`.
std::string unknown_type_body(std::uint8_t type);

} // namespace wsgibridge::fastcgi
