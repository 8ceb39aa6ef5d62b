import HTTPServer

extension APIRouter {
    /// A request's route for metrics: "GET services/*", "POST agent/status",
    /// "GET v2" (the image mirror), "other" for anything unrouted, so that
    /// the number of series stays bounded whatever paths clients send.
    public static func metricsRoute(_ request: HTTPRequest) -> String {
        let parts = unversioned(request.path).split(separator: "/").map(String.init)
        let method = request.method == "HEAD" ? "GET" : request.method
        if parts.first == "v2" { return method + " v2" }
        let key = routeKey(method, parts)
        return openRoutes[key] != nil || nodeRoutes[key] != nil || managerRoutes[key] != nil ? key : "other"
    }
}
