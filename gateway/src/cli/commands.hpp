#pragma once
// Subcommands that live outside main.cpp.

#include <string>

namespace simpul::cli {

// `simpul demo`: a three-tier federation on loopback (nasional.json, provinsi-kepri.json and
// kota-batam.json in `config_dir`) fed with sample complaints; prints each journey.
int run_demo(const std::string& config_dir, const std::string& samples_path, bool keep_running);

// `simpul connector list`: each compiled-in type, what it does, and its settings (from its
// schema, with each setting's description).
int list_connector_types();

// `simpul lapor-sim --config FILE`: the national hub simulator until SIGINT/SIGTERM.
int run_lapor_sim(const std::string& config_path, const std::string& ready_file);

}  // namespace simpul::cli
