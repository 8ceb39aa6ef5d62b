import FoundationEssentials
import Glibc
import SystemCalls

/// An image reference as the docker CLI understands it, normalized the way
/// distribution/reference's ParseNormalizedNamed does:
///
///     reference  := name [ ":" tag ] [ "@" digest ]
///     name       := [ domain "/" ] path
///     domain     := host [ ":" port ]        ; host: DNS-ish name, IPv4, or [IPv6]
///     path       := component [ "/" component ]*
///     component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
///     tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
///     digest     := "sha256:" 64 lowercase hex digits
///
/// The first path element is a domain when it contains "." or ":", is
/// "localhost", or has an uppercase letter (paths never do, so Docker takes
/// it for a host name). Without a domain the name is on Docker Hub
/// ("docker.io"), and a one-element Hub name lives under "library/".
/// "index.docker.io" is Docker Hub's legacy name and becomes "docker.io".
/// The tag defaults to "latest" only when neither tag nor digest is given.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible {
    /// "docker.io", "localhost:5000", "registry.example:5000", "[::1]:5000".
    public var domain: String
    /// "library/busybox", "team/web".
    public var path: String
    /// nil when only a digest was given.
    public var tag: String?
    /// "sha256:<64 hex>".
    public var digest: String?

    public init(domain: String, path: String, tag: String?, digest: String?) {
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    static let defaultDomain = "docker.io"
    static let legacyDefaultDomain = "index.docker.io"
    static let officialRepoPrefix = "library/"
    static let defaultTag = "latest"
    static let maxNameLength = 255
    static let maxTagLength = 128

    /// Parses what a user typed (`busybox`, `team/web:1`,
    /// `localhost:5000/a/b@sha256:…`) into a fully qualified reference.
    /// Throws `RuntimeError.badInput` with a one-line message.
    public static func parse(_ text: String) throws -> ImageReference {
        func fail(_ message: String) -> RuntimeError { .badInput(message) }
        let shape = "expected [host[:port]/]name[:tag][@sha256:digest]"

        guard !text.isEmpty else {
            throw fail("invalid reference format: the image name is empty (\(shape))")
        }
        if text.contains("://") {
            throw fail("invalid reference format: \"\(text)\" is a URL; give the image as [host[:port]/]name[:tag] without a scheme")
        }
        if text.utf8.count == 64 && text.utf8.allSatisfy(isLowerHex) {
            throw fail("invalid repository name (\(text)), cannot specify 64-byte hexadecimal strings")
        }

        // The name and tag cannot contain "@", so the first one starts the digest.
        var namePart = Substring(text)
        var digestText: Substring?
        if let at = text.firstIndex(of: "@") {
            namePart = text[..<at]
            digestText = text[text.index(after: at)...]
        }

        // Split off the domain the way Docker does.
        var domain = defaultDomain
        var explicitDomain = false
        var remainder = namePart
        if let slash = namePart.firstIndex(of: "/") {
            let first = namePart[..<slash]
            let rest = namePart[namePart.index(after: slash)...]
            if first == "localhost" || first.contains(".") || first.contains(":") || first.lowercased() != first {
                domain = first == legacyDefaultDomain ? defaultDomain : String(first)
                explicitDomain = domain != defaultDomain
                remainder = rest
            }
        }
        var pathText = remainder
        var tagText: Substring?
        if let colon = remainder.firstIndex(of: ":") {
            pathText = remainder[..<colon]
            tagText = remainder[remainder.index(after: colon)...]
        }
        var path = String(pathText)
        if domain == defaultDomain && !path.contains("/") {
            path = officialRepoPrefix + path
        }

        if path.lowercased() != path {
            throw fail("invalid reference format: repository name (\(path)) must be lowercase")
        }
        if explicitDomain && !isValidDomain(Substring(domain)) {
            if domain.lowercased() != domain {
                // Not a usable host name either; Docker reports the case.
                throw fail("invalid reference format: repository name (\(namePart)) must be lowercase")
            }
            throw fail("invalid reference format: registry \"\(domain)\" in \"\(text)\" is not host[:port] (\(shape))")
        }
        if let bad = path.split(separator: "/", omittingEmptySubsequences: false).first(where: { !isValidPathComponent($0) }) {
            let what = bad.isEmpty ? "has an empty component" : "has an invalid component \"\(bad)\""
            let place = path == text ? "" : " in \"\(text)\""
            throw fail("invalid reference format: repository name \"\(path)\"\(place) \(what) (components are lowercase letters and digits joined by '.', '_', '__' or '-')")
        }
        if let tagText, !isValidTag(tagText) {
            throw fail("invalid reference format: tag \"\(tagText)\" in \"\(text)\" must be 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'")
        }
        if let digestText {
            try validateDigest(digestText, in: text)
        }
        if domain.utf8.count + 1 + path.utf8.count > maxNameLength {
            throw fail("invalid reference format: repository name must not be more than \(maxNameLength) characters")
        }

        let digest = digestText.map(String.init)
        let tag = tagText.map(String.init) ?? (digest == nil ? defaultTag : nil)
        return ImageReference(domain: domain, path: path, tag: tag, digest: digest)
    }

    /// "docker.io/library/busybox:latest", "host:5000/a/b@sha256:…".
    public var description: String {
        repository + suffix
    }

    /// As docker prints it: "busybox:latest", "team/web:1", "localhost:5000/a:b".
    public var familiar: String {
        familiarRepository + suffix
    }

    /// The repository as docker prints it, without tag or digest: "busybox",
    /// "team/web", "localhost:5000/a" (the REPOSITORY column of `docker images`).
    public var familiarRepository: String {
        guard domain == Self.defaultDomain else { return repository }
        if path.hasPrefix(Self.officialRepoPrefix) {
            let rest = path.dropFirst(Self.officialRepoPrefix.count)
            if !rest.contains("/") { return String(rest) }
        }
        return path
    }

    /// domain + "/" + path: what registry auth scopes and local image stores key on.
    public var repository: String {
        domain + "/" + path
    }

    /// The host[:port] to talk to: Docker Hub's registry for docker.io.
    public var registryHost: String {
        domain == Self.defaultDomain ? "registry-1.docker.io" : domain
    }

    /// Plain HTTP is allowed without configuration: localhost, 127.0.0.0/8
    /// and ::1, with any port.
    public var isInsecureByDefault: Bool {
        let host: Substring
        if domain.hasPrefix("["), let close = domain.firstIndex(of: "]") {
            host = domain[domain.index(after: domain.startIndex)..<close]
            return Self.isIPv6Loopback(String(host))
        }
        host = domain.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        if host.lowercased() == "localhost" { return true }
        return Self.isIPv4Loopback(host)
    }

    private var suffix: String {
        (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0 } ?? "")
    }

    // MARK: - Grammar

    private static func isLowerAlnum(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || isDigit(b)
    }

    private static func isDigit(_ b: UInt8) -> Bool {
        b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        isLowerAlnum(b) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
    }

    private static func isLowerHex(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f"))
    }

    private static func isHex(_ b: UInt8) -> Bool {
        isLowerHex(b) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "F"))
    }

    /// `[a-z0-9]+ ((. | _ | __ | -+) [a-z0-9]+)*`
    static func isValidPathComponent(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last, isLowerAlnum(first), isLowerAlnum(last) else {
            return false
        }
        var i = 0
        while i < bytes.count {
            if isLowerAlnum(bytes[i]) { i += 1; continue }
            var j = i
            while j < bytes.count && !isLowerAlnum(bytes[j]) { j += 1 }
            let separator = bytes[i..<j]
            let ok: Bool
            switch separator.count {
            case 1: ok = separator.first == UInt8(ascii: ".") || separator.first == UInt8(ascii: "_") || separator.first == UInt8(ascii: "-")
            case 2 where separator.allSatisfy({ $0 == UInt8(ascii: "_") }): ok = true
            default: ok = separator.allSatisfy { $0 == UInt8(ascii: "-") }
            }
            if !ok { return false }
            i = j
        }
        return true
    }

    /// `[\w][\w.-]{0,127}` with ASCII `\w`.
    static func isValidTag(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= maxTagLength else { return false }
        func word(_ b: UInt8) -> Bool { isAlnum(b) || b == UInt8(ascii: "_") }
        return word(first) && bytes.dropFirst().allSatisfy { word($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// host[:port], host being DNS-ish labels (either case, inner dashes),
    /// dotted IPv4, or an IPv6 address in brackets (no zone).
    static func isValidDomain(_ text: Substring) -> Bool {
        var hostEnd = text.endIndex
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return false }
            let inside = text[text.index(after: text.startIndex)..<close]
            guard !inside.isEmpty, inside.utf8.allSatisfy({ isHex($0) || $0 == UInt8(ascii: ":") }) else { return false }
            hostEnd = text.index(after: close)
        } else {
            if let colon = text.firstIndex(of: ":") { hostEnd = colon }
            let labels = text[..<hostEnd].split(separator: ".", omittingEmptySubsequences: false)
            for label in labels {
                let bytes = Array(label.utf8)
                guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last),
                      bytes.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") })
                else { return false }
            }
        }
        let rest = text[hostEnd...]
        if rest.isEmpty { return true }
        guard rest.first == ":" else { return false }
        let port = rest.dropFirst()
        return !port.isEmpty && port.utf8.allSatisfy(isDigit)
    }

    private static func validateDigest(_ digest: Substring, in text: String) throws {
        guard let colon = digest.firstIndex(of: ":") else {
            throw RuntimeError.badInput("invalid reference format: digest \"\(digest)\" in \"\(text)\" must be sha256:<64 lowercase hex digits>")
        }
        let algorithm = digest[..<colon]
        let encoded = digest[digest.index(after: colon)...]
        guard algorithm == "sha256" else {
            throw RuntimeError.badInput("invalid reference format: unsupported digest algorithm \"\(algorithm)\" in \"\(text)\"; use a sha256:<64 lowercase hex digits> digest")
        }
        guard encoded.utf8.count == 64, encoded.utf8.allSatisfy(isLowerHex) else {
            throw RuntimeError.badInput("invalid reference format: digest \"\(digest)\" in \"\(text)\" must be sha256: followed by 64 lowercase hex digits (got \(encoded.utf8.count) characters)")
        }
    }

    private static func isIPv4Loopback(_ host: Substring) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for part in parts {
            guard !part.isEmpty, part.utf8.count <= 3, part.utf8.allSatisfy(isDigit), let value = Int(part), value <= 255 else {
                return false
            }
        }
        return parts[0] == "127"
    }

    private static func isIPv6Loopback(_ host: String) -> Bool {
        var address = in6_addr()
        guard inet_pton(AF_INET6, host, &address) == 1 else { return false }
        return withUnsafeBytes(of: &address) { bytes in
            bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1
        }
    }
}
