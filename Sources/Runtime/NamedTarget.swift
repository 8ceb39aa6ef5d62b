import AsyncHTTPClient

extension HTTPClient.Configuration {
    /// Connections to `name` go to the host of `address` ("ip:port"), while
    /// TLS sends `name` as SNI and checks the certificate for it: how nodes
    /// reach their manager by address yet check it by role ("swarm-manager").
    /// Returns `name:port`, the authority to put in URLs.
    public mutating func reach(_ address: String, as name: String) -> String {
        let colon = address.lastIndex(of: ":") ?? address.endIndex
        dnsOverride[name] = String(address[..<colon])
        return name + address[colon...]
    }
}
