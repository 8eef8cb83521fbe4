#pragma once
// The service manager's notification protocol (sd_notify(3)), spoken directly: a datagram of
// NEWLINE-separated VAR=VALUE assignments to the unix socket in $NOTIFY_SOCKET. Without that
// variable (not started by systemd, or not Type=notify) every call does nothing.

#include <cstdint>
#include <string_view>

namespace simpul::systemd {

// Sends `state` ("READY=1", "STOPPING=1", "RELOADING=1\nMONOTONIC_USEC=...", "WATCHDOG=1",
// "STATUS=..."). False when there is no socket or the datagram could not be sent.
bool notify(std::string_view state);

// The watchdog interval systemd expects pings within (WATCHDOG_USEC, when WATCHDOG_PID is this
// process or unset), in milliseconds; 0 when there is no watchdog.
std::int64_t watchdog_interval_ms();

// True when stdout is the journal's stream ($JOURNAL_STREAM names stdout's device and inode):
// log lines then carry a <N> syslog priority prefix.
bool stdout_is_journal();

// CLOCK_MONOTONIC in microseconds (RELOADING=1 carries it).
std::int64_t monotonic_usec();

}  // namespace simpul::systemd
