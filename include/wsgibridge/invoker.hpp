// Compatibility umbrella: the WSGI side in one include. New code includes what it uses:
// app_spec.hpp (AppSpec), interpreter.hpp (Interpreter, PythonOptions), wsgi_app.hpp
// (WsgiApp, WsgiOptions, AppLoadError).
#pragma once

#include "app_spec.hpp"
#include "interpreter.hpp"
#include "wsgi_app.hpp"
