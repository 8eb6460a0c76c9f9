// The public owner (include/wsgibridge/unique_fd.hpp), under the name internal code uses.
#pragma once

#include "wsgibridge/unique_fd.hpp"

namespace wsgibridge::util {

using wsgibridge::UniqueFd;

} // namespace wsgibridge::util
