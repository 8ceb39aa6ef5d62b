import SwarmCLI

// The CLI. Commands that need the daemon's binary (init, join, daemon,
// registries, tcp:// hosts) are run again by `swarmd`; see DaemonBinary.
await runCLI()
