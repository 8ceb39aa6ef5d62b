import SwarmCLI

// The CLI. Commands that need the daemon's binary (init, join, daemon,
// registries, tcp:// hosts) are run again by `swarmd`; see DaemonBinary.
// No top-level `await`: a synchronous command then runs without Swift's
// async runtime starting (see startCLI).
startCLI()
