/// Who holds each number the allocator hands out: an address in a
/// network, a published port, a VNI, a subnet. What the store holds is set
/// from its objects (`hold`); what a commit in flight will hold is reserved
/// until the allocator has seen that commit (`reserve`, `committed`,
/// `expire`), so no number is handed out twice in between, and none that
/// the commit did not keep stays taken.
struct ClaimLedger: Sendable {
    enum Claim: Hashable, Sendable {
        case address(network: String, UInt32)
        case port(protocol: String, UInt32)
        case vni(UInt32)
        case subnet(network: String, IPv4Subnet)
    }

    private(set) var ownerOf: [Claim: String] = [:]
    /// The subnet of each network (held or reserved): overlap checks read it.
    private(set) var subnets: [String: IPv4Subnet] = [:]
    private var held: [String: Set<Claim>] = [:]
    private struct Reservation: Sendable {
        var owner: String
        var claims: Set<Claim>
        /// The store index once the commit succeeded; `.max` while in flight.
        var until: UInt64
    }
    private var reservations: [UInt64: Reservation] = [:]
    private var nextToken: UInt64 = 0
    /// Claims an object held that another owner held already (a bug, logged).
    var doubled: [String] = []

    func owner(of claim: Claim) -> String? { ownerOf[claim] }
    func isTaken(_ claim: Claim) -> Bool { ownerOf[claim] != nil }
    func holds(_ owner: String) -> Set<Claim> { held[owner] ?? [] }
    func isReserving(_ owner: String) -> Bool { reservations.values.contains { $0.owner == owner } }

    /// What `owner` holds in the store, now: claims it no longer holds are freed.
    mutating func hold(_ owner: String, _ claims: Set<Claim>) {
        let old = held[owner] ?? []
        guard old != claims else { return }
        held[owner] = claims.isEmpty ? nil : claims
        for claim in claims.subtracting(old) { take(claim, owner) }
        for claim in old.subtracting(claims) { releaseIfUnused(claim, owner) }
    }

    /// Claims for a commit in flight; the caller has checked they are free.
    mutating func reserve(_ owner: String, _ claims: Set<Claim>) -> UInt64 {
        nextToken += 1
        reservations[nextToken] = Reservation(owner: owner, claims: claims, until: .max)
        for claim in claims { take(claim, owner) }
        return nextToken
    }

    /// The commit landed at `index`: the reservation lasts until the allocator has seen it.
    mutating func committed(_ token: UInt64, at index: UInt64) {
        reservations[token]?.until = index
    }

    /// The commit failed: its claims are free again (unless the store holds them).
    mutating func cancel(_ token: UInt64) {
        guard let reservation = reservations.removeValue(forKey: token) else { return }
        for claim in reservation.claims { releaseIfUnused(claim, reservation.owner) }
    }

    /// The allocator has seen every change through `index`: the store's objects now say what is held.
    mutating func expire(through index: UInt64) {
        for (token, reservation) in reservations where reservation.until <= index { cancel(token) }
    }

    /// Before a rebuild from a snapshot: nothing held, reservations kept.
    mutating func forgetHeld() {
        held = [:]; ownerOf = [:]; subnets = [:]
        for reservation in reservations.values { for claim in reservation.claims { take(claim, reservation.owner) } }
    }

    private mutating func take(_ claim: Claim, _ owner: String) {
        if let current = ownerOf[claim], current != owner { doubled.append("\(claim) held by \(current) and \(owner)") }
        ownerOf[claim] = owner
        if case .subnet(let network, let subnet) = claim { subnets[network] = subnet }
    }

    private mutating func releaseIfUnused(_ claim: Claim, _ owner: String) {
        guard ownerOf[claim] == owner else { return }
        if held[owner]?.contains(claim) == true { return }
        if reservations.values.contains(where: { $0.owner == owner && $0.claims.contains(claim) }) { return }
        ownerOf[claim] = nil
        if case .subnet(let network, _) = claim { subnets[network] = nil }
    }
}
