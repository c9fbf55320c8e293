import MusterCore

/// A refusal at the HTTP edge: status, a machine-readable `code`, one message a person can act on (and, for bad
/// input, the field). Every 4xx of every route answers `{"error", "status", "code", "field"?}` (openapi.json's
/// `Error`); the code is stable, the message may be reworded.
public struct APIError: Error, Sendable, Hashable {
    public var status: Int
    public var message: String
    public var field: String?
    public var code: Code
    /// For `code` `rejected`: the engine's (or the improvement log's) code for the rule that refused the command
    /// (`Rejection.Code`, e.g. `not-permitted`, `unknown-role`): the body's `rejection`. The CLI's exit status
    /// follows the same code.
    public var rejection: Rejection.Code?

    /// The codes an error body carries. Clients switch on these, never on the message.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// 400: a field (or query parameter) is missing, mistyped, unknown or not an accepted value; `field` names it.
        case invalidField = "invalid-field"
        /// 400: the body is not a JSON object, or a path segment is not valid percent-encoding.
        case badRequest = "bad-request"
        /// 401: no bearer token, or an unknown or revoked one.
        case unauthorized
        /// 403: the caller may not do this (the message says who may).
        case forbidden
        /// 404: no such run, lesson, action, user, notification, playbook or exercise, or a run the caller may not see.
        case notFound = "not-found"
        /// 405: the path exists with other methods (`Allow` lists them).
        case methodNotAllowed = "method-not-allowed"
        /// 409: the engine refused the command by the playbook's rules (a run's command, an improvement action's move).
        case rejected
        /// 409: the state of the run does not allow it (closed, not ended, not driven here, changed meanwhile).
        case conflict
        /// 413: the body is larger than the server accepts.
        case payloadTooLarge = "payload-too-large"
        /// 422: an `Idempotency-Key` sent again with another request (another path or body).
        case idempotencyKeyReused = "idempotency-key-reused"
        /// 429: too many failed logins from this address (`Retry-After` says when to try again).
        case tooManyRequests = "too-many-requests"
        /// 503: busy; try again.
        case unavailable
        /// 500.
        case internalError = "internal-error"

        static func `default`(status: Int, field: String?) -> Code {
            switch status {
            case 400: field == nil ? .badRequest : .invalidField
            case 401: .unauthorized
            case 403: .forbidden
            case 404: .notFound
            case 405: .methodNotAllowed
            case 409: .conflict
            case 413: .payloadTooLarge
            case 422: .idempotencyKeyReused
            case 429: .tooManyRequests
            case 503: .unavailable
            default: .internalError
            }
        }
    }

    public init(_ status: Int, _ message: String, field: String? = nil, code: Code? = nil) {
        self.status = status
        self.message = message
        self.field = field
        self.code = code ?? .default(status: status, field: field)
    }

    static func badRequest(_ message: String, field: String? = nil) -> APIError { APIError(400, message, field: field) }
    static func notFound(_ message: String) -> APIError { APIError(404, message) }
    /// A refusal by a rule of the engine (the playbook's) or of the improvement log, mapped by its code: 404 for a
    /// name that does not exist where the route's path named it (an improvement action), 409 otherwise.
    static func rejected(_ rejection: Rejection) -> APIError {
        var error = rejection.code == .unknownAction ? APIError(404, rejection.reason) : APIError(409, rejection.reason, code: .rejected)
        error.rejection = rejection.code
        return error
    }
}
