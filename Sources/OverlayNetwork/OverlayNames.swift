/// Names of what the data path makes. Interface names are ASCII and at
/// most 15 characters (IFNAMSIZ); each carries the start of the network's
/// or the task's ID, so one node's links never collide and every one of
/// them is recognisably ours.
enum OverlayNames {
    /// The gateway bridge in the node's namespace (Docker's docker_gwbridge).
    static let gatewayBridge = "swarm_gwbridge"
    /// The bridge inside each network's sandbox.
    static let sandboxBridge = "br0"
    /// The sandbox's end of the node's ingress endpoint.
    static let ingressSandboxEnd = "lb0"

    static func sandboxNamespace(_ networkID: String) -> String { "sb-" + safe(networkID) }
    static func taskNamespace(_ taskID: String) -> String { "task-" + safe(taskID) }
    /// The network's VXLAN device: made in the node's namespace, moved into the sandbox.
    static func vxlan(_ networkID: String) -> String { "vx-" + short(networkID) }
    /// A task's veth end on a sandbox's bridge (its peer is ethN in the task).
    static func taskPort(_ taskID: String) -> String { "ve-" + short(taskID) }
    /// A task's veth end on the gateway bridge, in the node's namespace.
    static func gatewayPort(_ taskID: String) -> String { "gw-" + short(taskID) }
    /// The node's ingress endpoint, in the node's namespace.
    static func ingressEndpoint(_ networkID: String) -> String { "lb-" + short(networkID) }

    /// 12 characters of an ID, ASCII letters and digits only.
    static func short(_ id: String) -> String { String(safe(id).prefix(12)) }

    static func safe(_ id: String) -> String {
        String(id.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) }.map(Character.init))
    }
}
