import Glibc
import SwarmCLI
import SwarmDaemon

// The daemon's binary: `swarmd` (or `swarmd daemon`, or `swarmd --data-dir …`)
// runs this node's daemon; with a command, it runs the CLI's command with
// everything linked (the swarm CLI hands it the commands it cannot do itself).
DaemonBinary.register(DaemonBinaryOperations())
var arguments = Array(CommandLine.arguments.dropFirst())
// The visualizer as a service reading the Engine API (examples/login-app's image): swarmd's own, not a swarm command.
if arguments.first == "visualizer" {
    exit(await EngineVisualizer.run(Array(arguments.dropFirst())))
}
if arguments.first.map({ $0.hasPrefix("--") && $0 != "--help" }) ?? true {
    arguments.insert("daemon", at: 0)
}
await runCLI(arguments)
