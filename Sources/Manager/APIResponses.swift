import Foundation
import SwarmAPI

public struct CreateResponse: Codable, Sendable {
    public var id: String
}

public struct UpdateResponse: Codable, Sendable {
    public var warnings: [String]? = nil
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: APIJSON.Key.self)
        try container.encodeNil(forKey: APIJSON.Key(stringValue: "Warnings"))
    }
}

/// `GET /services?status=true`: Docker adds running/desired counts.
public struct ServiceWithStatus: Encodable, Sendable {
    public var service: Service
    public var serviceStatus: Status
    public struct Status: Codable, Sendable {
        public var runningTasks: Int
        public var desiredTasks: Int
        public var completedTasks: Int
    }

    init(_ service: Service, tasks: [SwarmTask], nodes: [String: Node]) {
        self.service = service
        let mine = tasks.filter { $0.serviceID == service.id }
        let running = mine.filter { $0.status.state == .running && $0.desiredState == .running
            && nodes[$0.nodeID ?? ""]?.status.state == .ready }.count
        let desired: Int
        if service.spec.mode.isGlobal {
            desired = mine.filter { $0.desiredState == .running }.count
        } else {
            desired = Int(service.spec.mode.replicated?.replicas ?? 0)
        }
        serviceStatus = Status(runningTasks: running, desiredTasks: desired,
                               completedTasks: mine.filter { $0.status.state == .complete }.count)
    }

    public func encode(to encoder: Encoder) throws {
        try service.encode(to: encoder)
        var container = encoder.container(keyedBy: APIJSON.Key.self)
        try container.encode(serviceStatus, forKey: APIJSON.Key(stringValue: "ServiceStatus"))
    }
}

public struct VersionInfo: Codable, Sendable {
    public var version: String
    public var apiVersion = APIRouter.apiVersion
    public var minAPIVersion = "1.12"
    public var os = "linux"
    public var arch = "amd64"
    public var kernelVersion: String = {
        var name = utsname()
        uname(&name)
        return withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }()
    init(version: String) { self.version = version }
}

public struct SystemInfo: Codable, Sendable {
    public struct RemoteManager: Codable, Sendable {
        public var nodeID: String
        public var addr: String
    }
    public struct SwarmPart: Codable, Sendable {
        public var nodeID: String
        public var nodeAddr: String
        public var localNodeState: String
        public var controlAvailable: Bool
        public var error: String
        public var remoteManagers: [RemoteManager]
        public var nodes: Int
        public var managers: Int
        public var cluster: SwarmInfo?
    }
    public var id: String
    public var name: String
    public var serverVersion: String
    public var operatingSystem: String
    public var osType: String
    public var architecture: String
    public var ncpu: Int
    public var memTotal: Int64
    public var swarm: SwarmPart
}
