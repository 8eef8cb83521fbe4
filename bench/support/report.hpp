#pragma once
// Figures for BENCHMARKS.md. A benchmark calls record() for each figure it prints; when
// SIMPUL_BENCH_REPORT names a file, each becomes one JSON line there, and `bench_report`
// (bench/report) turns the file into BENCHMARKS.md: value, the same-run reference it is
// compared with, the ratio, the machine and the command. Without the variable nothing is written.

#include <string>

namespace simpul::bench {

// The command line this benchmark was started with (for the report), set once from main.
void set_command(int argc, char** argv);

// `reference`: what the value is compared with, measured in the same run ("" when none); the
// ratio is value / reference_value. `target`: the goal in words ("" when none).
void record(const std::string& bench, const std::string& figure, double value,
            const std::string& unit, const std::string& reference = "", double reference_value = 0,
            const std::string& target = "", const std::string& note = "");

}  // namespace simpul::bench
