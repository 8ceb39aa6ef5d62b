import Dispatch
import FoundationEssentials
import Glibc
import SystemCalls

/// The generated /etc/hostname, /etc/hosts and /etc/resolv.conf, written in
/// the container's state directory and bound into the container.
public enum EtcFiles {
    public static func hosts(hostname: String, network: NetworkMode, hostHosts: String?, address: String? = nil) -> String {
        if network == .host, let hostHosts { return hostHosts }
        let own = address.map { "\($0)\t\(hostname)\n" } ?? ""
        return """
        127.0.0.1\tlocalhost
        ::1\tlocalhost ip6-localhost ip6-loopback
        fe00::0\tip6-localnet
        ff00::0\tip6-mcastprefix
        ff02::1\tip6-allnodes
        ff02::2\tip6-allrouters

        """ + own
    }

    /// The host's resolv.conf; in a private network namespace the host's
    /// loopback resolvers are unreachable, so they are dropped (Docker does
    /// the same) and Google's public resolvers take their place if none remain.
    /// `nameservers`: replace the host's (an overlay task's DNS server,
    /// 127.0.0.11); its search and options lines stay.
    public static func resolvConf(network: NetworkMode, hostResolvConf: String, nameservers replacement: [String]? = nil) -> String {
        guard network != .host else { return hostResolvConf }
        var lines: [String] = []
        var nameservers = 0
        for line in hostResolvConf.split(separator: "\n", omittingEmptySubsequences: false) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.first == "nameserver", replacement != nil { continue }
            if fields.first == "nameserver", fields.count > 1 {
                let address = fields[1]
                if address.hasPrefix("127.") || address == "::1" { continue }
                nameservers += 1
            }
            lines.append(String(line))
        }
        while lines.last == "" { lines.removeLast() }
        if let replacement { return (replacement.map { "nameserver \($0)" } + lines).joined(separator: "\n") + "\n" }
        if nameservers == 0 { lines += ["nameserver 8.8.8.8", "nameserver 8.8.4.4"] }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the three files into `dir`; `nameservers` and `address` as
    /// in `resolvConf` and `hosts`.
    public static func write(to dir: String, hostname: String, network: NetworkMode,
                             nameservers: [String]? = nil, address: String? = nil) throws {
        let hostHosts = try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)
        let hostResolv = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        let files = [
            "hostname": hostname + "\n",
            "hosts": hosts(hostname: hostname, network: network, hostHosts: hostHosts, address: address),
            "resolv.conf": resolvConf(network: network, hostResolvConf: hostResolv, nameservers: nameservers),
        ]
        for (name, content) in files where !writeFile(dir + "/" + name, Data(content.utf8)) {
            throw RuntimeError.system(errno: errno, call: "write", detail: dir + "/" + name)
        }
    }
}
