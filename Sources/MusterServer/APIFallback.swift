import Foundation
import HTTPTypes
import Hummingbird

/// What the router answers with an empty 404 under `/api` (and the callbacks' `/hooks`), answered as the API's JSON error instead: a documented
/// path with a method it does not take is 405 with `Allow` (the path's methods in openapi.json), any other path
/// 404. The paths come from openapi.json, which `BoardAPITests` keeps equal to the registered routes.
struct APIFallbackResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == MusterRequestContext {
    typealias Context = MusterRequestContext
    let inner: Inner
    let routes: APIRoutes

    func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        guard path == "/api" || path.hasPrefix("/api/") || path.hasPrefix("/hooks/") else { return try await inner.respond(to: request, context: context) }
        let response: Response
        do {
            response = try await inner.respond(to: request, context: context)
        } catch let error as HTTPError where error.status == .notFound {
            return fallback(request)
        }
        // The router's own 404 has no body type; a route's refusal is JSON already.
        guard response.status == .notFound, response.headers[.contentType] == nil else { return response }
        return fallback(request)
    }

    func fallback(_ request: Request) -> Response {
        let path = request.uri.path
        let methods = routes.methods(path)
        guard !methods.isEmpty else { return API.error(APIError(404, "no API path \(path) (see /openapi.json)")) }
        var response = API.error(APIError(405, "\(request.method) is not a method of \(path); it takes \(methods.joined(separator: ", "))"))
        response.headers[.allow] = methods.joined(separator: ", ")
        return response
    }
}

/// The API's path templates and their methods, from openapi.json (`{name}` matches one path segment).
struct APIRoutes: Sendable {
    let templates: [(segments: [String], methods: [String])]

    init(document: Data?) {
        var out: [(segments: [String], methods: [String])] = []
        let object = document.flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]
        for (path, item) in (object?["paths"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
            let methods = ((item as? [String: Any]).map { Array($0.keys) } ?? [])
                .filter { ["get", "put", "post", "delete", "patch"].contains($0) }.map { $0.uppercased() }.sorted()
            out.append((path.split(separator: "/").map(String.init), methods))
        }
        templates = out
    }

    static let shipped = APIRoutes(document: Static.openAPIData())

    /// The methods openapi.json gives for the template `path` matches; empty when none matches.
    func methods(_ path: String) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        for template in templates where template.segments.count == segments.count {
            let matches = zip(template.segments, segments).allSatisfy { t, s in
                t.hasPrefix("{") ? !s.isEmpty : t == s
            }
            if matches { return template.methods }
        }
        return []
    }
}

extension HTTPField.Name {
    static let allow = HTTPField.Name("Allow")!
}
