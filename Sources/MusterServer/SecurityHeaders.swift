import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import MusterReports

/// Headers every answer carries, whatever route (or none) produced it, errors included: `nosniff` (a browser
/// never guesses a type from a body, so a JSON answer quoting user text is never run as HTML) and
/// `Referrer-Policy: no-referrer` (board URLs carry run ids). HTML under `/api` (reports, the improvement plan,
/// the programme) gets `documentPolicy`: a sandbox with an opaque origin, no scripts, its inline stylesheet allowed.
struct SecurityHeadersResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == MusterRequestContext {
    typealias Context = MusterRequestContext
    let inner: Inner

    func respond(to request: Request, context: Context) async throws -> Response {
        var response: Response
        do {
            response = try await inner.respond(to: request, context: context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        SecurityHeaders.apply(to: &response, path: request.uri.path)
        return response
    }
}

enum SecurityHeaders {
    /// For HTML documents the API serves: opened on their own (saved, or a link followed), they run nothing and
    /// reach nothing of the board's origin, and still look like the CLI's report.
    static let documentPolicy = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"

    /// The board's: its own files only. The after-action report is shown in a sandboxed frame from a `blob:`
    /// URL, which inherits this policy; the report's one stylesheet is admitted by its hash (it is the same in
    /// every report, plan and programme: `ReportHTML.css`), nothing else inline.
    static let boardPolicy: String = {
        let digest = SHA256.hash(data: Data(("\n" + ReportHTML.css).utf8))
        let hash = Data(digest).base64EncodedString()
        return "default-src 'self'; connect-src 'self'; frame-src blob:; img-src 'self' data:; style-src 'self' 'sha256-\(hash)'; frame-ancestors 'none'"
    }()

    static let nosniff = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    static func apply(to response: inout Response, path: String) {
        response.headers[nosniff] = "nosniff"
        response.headers[referrerPolicy] = "no-referrer"
        if path.hasPrefix("/api/"), response.headers[.contentType]?.lowercased().hasPrefix("text/html") == true {
            response.headers[.contentSecurityPolicy] = documentPolicy
        }
    }
}
