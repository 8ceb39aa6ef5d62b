import ArgumentParser
import Lab

// `swarm lab partition|heal|pause|unpause`: faults for tests of what the
// swarm does when nodes are cut off or hang; lab.json records them, so
// `lab ls --name` shows them and `lab down` undoes them.

struct LabPartition: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partition",
        abstract: "Cut nodes off the lab's network: they keep running and reach each other, but not the other nodes or the client.",
        discussion: "Their packets to the rest of the lab are lost (their link stays up), until swarm lab heal.")

    @OptionGroup var lab: LabNameOption
    @Argument(help: ArgumentHelp("The nodes to cut off together (node2, …).", valueName: "node")) var nodes: [String] = []

    func validate() throws {
        guard !nodes.isEmpty else { throw ValidationError("\"swarm lab partition\" requires at least 1 argument: NODE [NODE...]") }
    }

    func run() throws {
        for node in try LabCluster.partition(lab.name, nodes: nodes) { writeStdout(node + "\n") }
    }
}

struct LabHeal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heal", abstract: "Put partitioned nodes back on the lab's network (all of them when no node is given).")

    @OptionGroup var lab: LabNameOption
    @Argument(help: ArgumentHelp("The nodes to put back.", valueName: "node")) var nodes: [String] = []

    func run() throws {
        for node in try LabCluster.heal(lab.name, nodes: nodes) { writeStdout(node + "\n") }
    }
}

struct LabPause: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Freeze a node as a hung machine: its daemon and its containers stop where they are (cgroup freezer).",
        discussion: "Commands started in the node by swarm lab exec are not frozen. Pausing node1 pauses the manager: its socket answers no more.")

    @OptionGroup var lab: LabNameOption
    @Argument(help: ArgumentHelp("The node to freeze.", valueName: "node")) var node: String

    func run() throws {
        try LabCluster.pause(lab.name, node: node)
        writeStdout(node + "\n")
    }
}

struct LabUnpause: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unpause", abstract: "Let a paused node run again.")

    @OptionGroup var lab: LabNameOption
    @Argument(help: ArgumentHelp("The node to thaw.", valueName: "node")) var node: String

    func run() throws {
        try LabCluster.unpause(lab.name, node: node)
        writeStdout(node + "\n")
    }
}
