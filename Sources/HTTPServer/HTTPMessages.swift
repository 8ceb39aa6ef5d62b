/// One HTTP request as the handler sees it: the whole body already read.
public struct HTTPRequest: Sendable {
    public var method: String
    /// Percent-decoded path without the query, e.g. "/v1.41/services/abc".
    public var path: String
    /// Percent-decoded query parameters, parsed like Go's `url.ParseQuery` ('+' is a space).
    public var query: [String: [String]]
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// DER of the leaf certificate the TLS client presented; nil on a unix socket or without one.
    public var peerCertificateDER: [UInt8]?
    public var isUnixSocket: Bool
    /// The request target exactly as sent, e.g. "/v1.41/services?filters=%7B%7D".
    public var uri: String

    public init(
        method: String,
        path: String,
        query: [String: [String]] = [:],
        headers: [(String, String)] = [],
        body: [UInt8] = [],
        peerCertificateDER: [UInt8]? = nil,
        isUnixSocket: Bool = false,
        uri: String? = nil
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.peerCertificateDER = peerCertificateDER
        self.isUnixSocket = isUnixSocket
        self.uri = uri ?? path
    }

    /// The first value of the header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { asciiCaseInsensitiveEquals($0.0, name) }?.1
    }

    /// The first value of query parameter `name`.
    public func queryValue(_ name: String) -> String? {
        query[name]?.first
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Body

    public enum Body: Sendable {
        /// Sent with `Content-Length`.
        case bytes([UInt8])
        /// The file's content, read in chunks while sending, with `Content-Length`.
        /// 404 if the file cannot be found when the response is sent, 500 if it cannot be read.
        case file(path: String)
        /// Chunked transfer encoding: each element is sent as it arrives, the response
        /// ends when the stream finishes. Iteration is cancelled when the client goes away.
        case stream(AsyncStream<[UInt8]>)
        /// The head is written as given (see `HTTPResponse.hijack`), then HTTP
        /// ends on the connection and the closure has its raw bytes.
        case hijack(@Sendable (HijackedConnection) async -> Void)
    }

    public init(status: Int, headers: [(String, String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ status: Int, _ bytes: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: .bytes(bytes))
    }

    public static func text(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: [("Content-Type", "text/plain; charset=utf-8")],
            body: .bytes(Array(text.utf8))
        )
    }

    /// No body, e.g. 204 or 304.
    public static func empty(_ status: Int) -> HTTPResponse {
        HTTPResponse(status: status)
    }

    public static func file(_ status: Int = 200, path: String, contentType: String = "application/octet-stream") -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", contentType)], body: .file(path: path))
    }

    public static func stream(_ status: Int = 200, contentType: String, _ stream: AsyncStream<[UInt8]>) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", contentType)], body: .stream(stream))
    }

    /// The first value of the header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { asciiCaseInsensitiveEquals($0.0, name) }?.1
    }
}

func asciiCaseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
    let a = a.utf8, b = b.utf8
    guard a.count == b.count else { return false }
    // Header names are ASCII: folding A-Z is all the case-insensitivity they need.
    func lower(_ c: UInt8) -> UInt8 { c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") ? c | 0x20 : c }
    return zip(a, b).allSatisfy { lower($0) == lower($1) }
}

// MARK: - Request-target parsing

enum URIParsing {
    /// Splits a request target into a decoded path and query. Nil when the path has a
    /// malformed percent escape (Go's server answers 400 there too).
    static func split(_ uri: String) -> (path: String, query: [String: [String]])? {
        var target = Substring(uri)
        // Absolute form ("http://host/p?q"), which proxies send: keep only path and query.
        if !target.hasPrefix("/"), let scheme = target.firstRange(of: "://") {
            let afterAuthority = target[scheme.upperBound...]
            target = afterAuthority.firstIndex(where: { $0 == "/" || $0 == "?" }).map { afterAuthority[$0...] } ?? "/"
            if target.hasPrefix("?") { target = "/" + target }
        }
        // A fragment is never sent by clients; drop one if it is.
        if let hash = target.firstIndex(of: "#") { target = target[..<hash] }
        let rawPath: Substring
        let rawQuery: Substring
        if let q = target.firstIndex(of: "?") {
            rawPath = target[..<q]
            rawQuery = target[target.index(after: q)...]
        } else {
            rawPath = target
            rawQuery = ""
        }
        guard let path = unescape(rawPath, plusIsSpace: false) else { return nil }
        return (path, parseQuery(rawQuery))
    }

    /// Go's `url.ParseQuery`: pairs split on '&'; pairs with ';' or a bad escape are skipped
    /// (Go reports an error but `Request.URL.Query()` ignores it); a key without '=' has value "".
    static func parseQuery(_ raw: Substring) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for pair in raw.split(separator: "&", omittingEmptySubsequences: true) {
            if pair.contains(";") { continue }
            let key: Substring
            let value: Substring
            if let eq = pair.firstIndex(of: "=") {
                key = pair[..<eq]
                value = pair[pair.index(after: eq)...]
            } else {
                key = pair
                value = ""
            }
            guard let k = unescape(key, plusIsSpace: true), let v = unescape(value, plusIsSpace: true) else { continue }
            result[k, default: []].append(v)
        }
        return result
    }

    /// Percent-decoding; nil for '%' not followed by two hex digits.
    static func unescape(_ s: Substring, plusIsSpace: Bool) -> String? {
        let utf8 = Array(s.utf8)
        guard utf8.contains(UInt8(ascii: "%")) || (plusIsSpace && utf8.contains(UInt8(ascii: "+"))) else {
            return String(s)
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var i = 0
        while i < utf8.count {
            let c = utf8[i]
            if c == UInt8(ascii: "%") {
                guard i + 2 < utf8.count, let hi = hexValue(utf8[i + 1]), let lo = hexValue(utf8[i + 2]) else {
                    return nil
                }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(plusIsSpace && c == UInt8(ascii: "+") ? UInt8(ascii: " ") : c)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
