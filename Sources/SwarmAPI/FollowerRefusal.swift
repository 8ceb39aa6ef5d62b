/// What a manager that is not the leader answers to every `/agent/...`
/// request: `status`, the leader's cluster address (ip:port) in `header`
/// when it knows one, and `{"message": message}`. Agents go to the leader
/// it names at once (see NodeAgent's `ManagerSet`).
public enum FollowerRefusal {
    public static let status = 503
    public static let header = "Swarm-Leader"
    public static let message = "this manager is not the leader"
}
