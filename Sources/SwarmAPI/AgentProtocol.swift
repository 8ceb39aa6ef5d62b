/// Messages between an agent and the manager's dispatcher (JSON over the
/// cluster's mutual-TLS port). The node is identified by its certificate,
/// never by what a message says.

/// `POST /swarm/join` (no client certificate yet): the token proves the
/// right to join; the manager signs the node's CSR.
public struct JoinRequest: Codable, Sendable {
    public var token: String
    public var csrPEM: String
    public var hostname: String
    public var advertiseAddr: String
    public init(token: String, csrPEM: String, hostname: String, advertiseAddr: String) {
        self.token = token; self.csrPEM = csrPEM; self.hostname = hostname; self.advertiseAddr = advertiseAddr
    }
}

public struct JoinResponse: Codable, Sendable {
    public var nodeID: String
    public var role: NodeRole
    public var certificatePEM: String
    public var caCertificatePEM: String
    public init(nodeID: String, role: NodeRole, certificatePEM: String, caCertificatePEM: String) {
        self.nodeID = nodeID; self.role = role; self.certificatePEM = certificatePEM; self.caCertificatePEM = caCertificatePEM
    }
}

/// `POST /agent/session`: the node (re)registers what it has.
public struct SessionRequest: Codable, Sendable {
    public var description: NodeDescription
    public var addr: String
    public init(description: NodeDescription, addr: String) { self.description = description; self.addr = addr }
}

public struct SessionResponse: Codable, Sendable {
    public var nodeID: String
    public var heartbeatPeriod: Int64
    public init(nodeID: String, heartbeatPeriod: Int64) { self.nodeID = nodeID; self.heartbeatPeriod = heartbeatPeriod }
}

/// `POST /agent/status`: observed task states, in a batch.
public struct StatusUpdate: Codable, Sendable {
    public var taskID: String
    public var status: TaskStatus
    public init(taskID: String, status: TaskStatus) { self.taskID = taskID; self.status = status }
}

public struct StatusBatch: Codable, Sendable {
    public var updates: [StatusUpdate]
    public init(updates: [StatusUpdate]) { self.updates = updates }
}

/// `GET /agent/assignments?since=N`: every task the node should know
/// about (running ones and ones to stop), answered when the set changed
/// after version N or when the long poll times out.
public struct Assignments: Codable, Sendable {
    public var version: UInt64
    public var tasks: [SwarmTask]
    public init(version: UInt64, tasks: [SwarmTask]) { self.version = version; self.tasks = tasks }
}
