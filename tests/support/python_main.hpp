// The one embedded interpreter of a 'python' test executable (python_main.cpp owns it,
// as pybind11's test_embed main does): tests build WsgiApps on it.
#pragma once

#include "wsgibridge/interpreter.hpp"

#include <filesystem>

namespace wsgibridge::test {

Interpreter& interpreter();
/// tests/apps in the source tree (on sys.path).
std::filesystem::path apps_dir();

} // namespace wsgibridge::test
