/// An API error: the HTTP status Docker's engine would answer and its
/// one-line message (sent as `{"message": …}`).
public struct APIError: Error, CustomStringConvertible, Sendable {
    public var status: Int
    public var message: String
    public init(_ status: Int, _ message: String) { self.status = status; self.message = message }
    public var description: String { message }

    public static func badRequest(_ message: String) -> APIError { APIError(400, message) }
    public static func notFound(_ message: String) -> APIError { APIError(404, message) }
    public static func conflict(_ message: String) -> APIError { APIError(409, message) }
    public static func forbidden(_ message: String) -> APIError { APIError(403, message) }
    public static func unavailable(_ message: String) -> APIError { APIError(503, message) }
}
