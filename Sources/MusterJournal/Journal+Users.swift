import Foundation
import MusterCore

/// A person who may use `muster serve`. The token itself is never stored: only its SHA-256.
public struct UserRecord: Sendable, Hashable {
    public var name: String
    public var admin: Bool
    public var createdAt: Instant
    public var revokedAt: Instant?

    public var isActive: Bool { revokedAt == nil }

    public init(name: String, admin: Bool, createdAt: Instant, revokedAt: Instant? = nil) {
        self.name = name
        self.admin = admin
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// User names: what roles are assigned to, what the timeline shows as the actor, and a path segment of
/// `DELETE /api/users/{name}`.
public enum UserName {
    /// `muster`, the system actor on timelines (timers, the outbox worker): no person may take it, in any case.
    public static let reserved = "muster"
    public static let maximumLength = 64

    /// Why `name` is not a valid user name, or nil when it is: 1 to 64 characters of letters, digits (any script),
    /// combining marks, space and `. _ - ' ,`, not starting or ending with a space, and not `muster`.
    public static func problem(_ name: String) -> String? {
        let scalars = name.unicodeScalars
        guard !scalars.isEmpty, scalars.count <= maximumLength else {
            return "a user name is 1 to \(maximumLength) characters ('\(name.prefix(80))' has \(scalars.count))"
        }
        if name.lowercased() == reserved {
            return "'\(name)' is reserved: it is the name Muster itself writes on timelines"
        }
        for scalar in scalars where !allowed(scalar) {
            let shown = scalar.properties.generalCategory == .control || scalar.properties.isWhitespace && scalar != " "
                ? "U+" + String(scalar.value, radix: 16, uppercase: true) : String(scalar)
            return "a user name may hold letters, digits, spaces and . _ - ' , only ('\(shown)' is not allowed)"
        }
        if name.first == " " || name.last == " " { return "a user name does not start or end with a space" }
        return nil
    }

    static func allowed(_ scalar: Unicode.Scalar) -> Bool {
        if " ._-',".unicodeScalars.contains(scalar) { return true }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .nonspacingMark, .spacingMark:
            return true
        default:
            return false
        }
    }
}

extension Journal {
    /// The actor Muster writes for what no person did (a migration, a run created without events).
    public static let systemActor = UserName.reserved

    /// Adds a user with the SHA-256 (64 lower-case hex digits) of their token, on the access log. A name already
    /// taken (even by a revoked user) is refused with `.userExists`; a name outside `UserName`'s set with
    /// `.invalidUserName`.
    public func addUser(name: String, tokenSHA256: String, admin: Bool, at: Instant, by actor: String = Journal.systemActor) throws(JournalError) {
        if let problem = UserName.problem(name) { throw .invalidUserName(name, reason: problem) }
        try write { db in
            if try db.value(Int.self, "SELECT 1 FROM users WHERE name = ?", [name]) != nil {
                throw JournalError.userExists(name)
            }
            try db.execute("INSERT INTO users (name, token_sha256, admin, created_at) VALUES (?, ?, ?, ?)",
                           [name, tokenSHA256, admin ? 1 : 0, at.millisecondsSinceEpoch])
            try Journal.appendAccess(db, .userAdded(name: name, admin: admin, tokenSHA256: tokenSHA256), actor: actor, at: at)
        }
    }

    /// Every user, by name.
    public func users() throws(JournalError) -> [UserRecord] {
        try read { db in
            try db.all("SELECT name, admin, created_at, revoked_at FROM users ORDER BY name").map(Self.user)
        }
    }

    /// The active (not revoked) user whose token hashes to `tokenSHA256`, if any.
    public func user(tokenSHA256: String) throws(JournalError) -> UserRecord? {
        try read { db in
            try db.one("SELECT name, admin, created_at, revoked_at FROM users WHERE token_sha256 = ? AND revoked_at IS NULL",
                             [tokenSHA256]).map(Self.user)
        }
    }

    /// Revokes a user's token (the row stays, so the name is never reused by someone else), on the access log.
    /// Any existing name can be revoked, also one a newer muster would no longer accept.
    public func revokeUser(name: String, at: Instant, by actor: String = Journal.systemActor) throws(JournalError) {
        try write { db in
            guard try db.value(Int.self, "SELECT 1 FROM users WHERE name = ? AND revoked_at IS NULL", [name]) != nil else {
                throw JournalError.unknownUser(name)
            }
            try db.execute("UPDATE users SET revoked_at = ? WHERE name = ?", [at.millisecondsSinceEpoch, name])
            try Journal.appendAccess(db, .userRevoked(name: name), actor: actor, at: at)
        }
    }

    /// Gives an active user a new token (its SHA-256), on the access log: the old token stops working at once
    /// (a running server's token cache drops it within its lifetime, 2 s).
    public func rotateUserToken(name: String, tokenSHA256: String, at: Instant, by actor: String = Journal.systemActor) throws(JournalError) {
        try write { db in
            guard try db.value(Int.self, "SELECT 1 FROM users WHERE name = ? AND revoked_at IS NULL", [name]) != nil else {
                throw JournalError.unknownUser(name)
            }
            try db.execute("UPDATE users SET token_sha256 = ? WHERE name = ?", [tokenSHA256, name])
            try Journal.appendAccess(db, .userTokenRotated(name: name, tokenSHA256: tokenSHA256), actor: actor, at: at)
        }
    }

    /// Lets a revoked user sign in again with a new token, on the access log (the revocation stays on it too).
    public func reinstateUser(name: String, tokenSHA256: String, at: Instant, by actor: String = Journal.systemActor) throws(JournalError) {
        try write { db in
            guard try db.value(Int.self, "SELECT 1 FROM users WHERE name = ? AND revoked_at IS NOT NULL", [name]) != nil else {
                throw JournalError.notRevoked(name)
            }
            try db.execute("UPDATE users SET token_sha256 = ?, revoked_at = NULL WHERE name = ?", [tokenSHA256, name])
            try Journal.appendAccess(db, .userReinstated(name: name, tokenSHA256: tokenSHA256), actor: actor, at: at)
        }
    }

    /// The ids of restricted runs, and of runs without an access row (fail closed). To list runs with their access,
    /// use `runsWithAccess()`, which reads both in one transaction.
    public func restrictedRunIDs() throws(JournalError) -> Set<String> {
        try read { db in try Journal.restrictedRunIDs(db) }
    }

    private static func user(_ row: SQLRow) -> UserRecord {
        let revoked: Int64? = row[3]
        return UserRecord(name: row[0], admin: (row[1] as Int) != 0,
                          createdAt: Instant(millisecondsSinceEpoch: row[2]),
                          revokedAt: revoked.map { Instant(millisecondsSinceEpoch: $0) })
    }
}
