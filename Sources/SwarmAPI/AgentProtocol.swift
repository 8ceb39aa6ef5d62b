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
    /// For a new manager only: what it needs to act as one.
    public var manager: ManagerMaterial?

    public struct ManagerMaterial: Codable, Sendable {
        public var clusterID: String
        /// Managers sign nodes' certificates: each has the CA's key.
        public var caKeyPEM: String
        /// Where the managers keep the state (`etcd://…`).
        public var store: String?
        /// The key secrets are sealed with in the store (base64): the same on every manager.
        public var secretsKey: String
        /// Without `store`: the managers' own etcd, which the new manager's
        /// member joins (`name=peerURL` of every member, the new one included).
        public var etcdInitialCluster: [String]?
        public init(clusterID: String, caKeyPEM: String, store: String?, secretsKey: String) {
            self.clusterID = clusterID; self.caKeyPEM = caKeyPEM; self.store = store; self.secretsKey = secretsKey
        }
    }

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
    /// Every manager's cluster address (ip:port), the leader first: where
    /// the agent turns when this one fails (nil from a manager that does not say).
    public var managers: [String]?
    /// The role the node is to have (`node promote`, `node demote`): a
    /// node whose role differs asks for its new certificate (`POST /agent/role`).
    public var role: NodeRole?
    public init(nodeID: String, heartbeatPeriod: Int64, managers: [String]? = nil, role: NodeRole? = nil) {
        self.nodeID = nodeID; self.heartbeatPeriod = heartbeatPeriod; self.managers = managers; self.role = role
    }
}

/// `POST /agent/role`: a node whose role changed asks for the certificate
/// of its new role (a new key's CSR); a new manager gives the cluster
/// address it will listen at. Answered as a join is.
public struct RoleChangeRequest: Codable, Sendable {
    public var csrPEM: String
    public var advertiseAddr: String
    public init(csrPEM: String, advertiseAddr: String) { self.csrPEM = csrPEM; self.advertiseAddr = advertiseAddr }
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

/// `GET /agent/assignments?since=N`: the node's tasks (running ones and
/// ones to stop), answered when they changed after version N or when the
/// long poll times out. Without N, or when the dispatcher no longer has
/// the changes since N, the answer is the complete set; otherwise only
/// what changed: tasks added or updated, and the ids of tasks taken away.
public struct Assignments: Codable, Sendable {
    public var version: UInt64
    /// True: `tasks` is the whole set. False: `tasks` changed since the version asked for.
    public var complete: Bool
    public var tasks: [SwarmTask]
    /// Tasks no longer assigned to the node (in an incremental answer).
    public var removed: [String]
    /// The overlay networks the node needs (see `NetworkView`), whole; nil
    /// when they did not change since the version asked for.
    public var networks: [NetworkView]?

    public init(version: UInt64, tasks: [SwarmTask]) {
        self.init(version: version, complete: true, tasks: tasks, removed: [])
    }

    public init(version: UInt64, complete: Bool, tasks: [SwarmTask], removed: [String]) {
        self.version = version; self.complete = complete; self.tasks = tasks; self.removed = removed
    }

    /// What the node knew, brought up to this answer.
    public func applied(to known: [String: SwarmTask]) -> [String: SwarmTask] {
        var result = complete ? [:] : known
        for id in removed { result[id] = nil }
        for task in tasks { result[task.id] = task }
        return result
    }
}
