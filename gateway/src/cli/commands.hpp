#pragma once
// Subcommands that live outside main.cpp.

#include <string>

namespace simpul::cli {

// `simpul demo`: one node on loopback fed with sample complaints; prints the journey.
int run_demo(const std::string& config_path, const std::string& samples_path, bool keep_running);

}  // namespace simpul::cli
