#pragma once
// Small files a node or a command writes whole (keys, certificates, secrets): written beside
// the target with their mode from the start, synced, then renamed over it, so a reader sees the
// old file or the new one, never half of one, and a secret is never readable by others.

#include <sys/types.h>

#include <string>
#include <string_view>

namespace simpul {

// Throws std::runtime_error "cannot write PATH: <the system's reason>"; the target is then as
// it was.
void write_file_atomically(const std::string& path, std::string_view data, mode_t mode);

}  // namespace simpul
