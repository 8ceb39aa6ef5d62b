import SwarmAPI

/// Tasks and reservations per node: what the scheduler counts when it
/// spreads tasks and checks room.
struct NodeLoad {
    private var perService: [String: [String: Int]] = [:]
    private var totals: [String: Int] = [:]
    private var reservedCPU: [String: Int64] = [:]
    private var reservedMemory: [String: Int64] = [:]

    func count(_ service: String, _ node: String) -> Int { perService[service]?[node] ?? 0 }
    func total(_ node: String) -> Int { totals[node] ?? 0 }

    func fits(_ reservation: Resources, on node: Node) -> Bool {
        let have = node.description.resources
        if let cpu = reservation.nanoCPUs, cpu > 0, (reservedCPU[node.id] ?? 0) + cpu > (have.nanoCPUs ?? 0) { return false }
        if let memory = reservation.memoryBytes, memory > 0, (reservedMemory[node.id] ?? 0) + memory > (have.memoryBytes ?? 0) { return false }
        return true
    }

    mutating func add(_ service: String, _ node: String, _ reservation: Resources?, sign: Int = 1) {
        perService[service, default: [:]][node, default: 0] += sign
        totals[node, default: 0] += sign
        reservedCPU[node, default: 0] += Int64(sign) * (reservation?.nanoCPUs ?? 0)
        reservedMemory[node, default: 0] += Int64(sign) * (reservation?.memoryBytes ?? 0)
    }

    mutating func remove(_ service: String, _ node: String, _ reservation: Resources?) {
        add(service, node, reservation, sign: -1)
    }
}
