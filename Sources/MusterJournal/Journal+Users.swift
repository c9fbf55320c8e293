import Foundation
import GRDB
import MusterCore

/// A person who may use `muster serve`. The token itself is never stored: only its SHA-256.
public struct UserRecord: Sendable, Hashable {
    public var name: String
    public var admin: Bool
    public var createdAt: Instant
    public var revokedAt: Instant?

    public var isActive: Bool { revokedAt == nil }
}

extension Journal {
    /// Adds a user with the SHA-256 (64 lower-case hex digits) of their token. A name already taken (even by a
    /// revoked user) is refused with `.userExists`.
    public func addUser(name: String, tokenSHA256: String, admin: Bool, at: Instant) throws(JournalError) {
        try write { db in
            if try Int.fetchOne(db, sql: "SELECT 1 FROM users WHERE name = ?", arguments: [name]) != nil {
                throw JournalError.userExists(name)
            }
            try db.execute(sql: "INSERT INTO users (name, token_sha256, admin, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [name, tokenSHA256, admin ? 1 : 0, at.millisecondsSinceEpoch])
        }
    }

    /// Every user, by name.
    public func users() throws(JournalError) -> [UserRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT name, admin, created_at, revoked_at FROM users ORDER BY name").map(Self.user)
        }
    }

    /// The active (not revoked) user whose token hashes to `tokenSHA256`, if any.
    public func user(tokenSHA256: String) throws(JournalError) -> UserRecord? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT name, admin, created_at, revoked_at FROM users WHERE token_sha256 = ? AND revoked_at IS NULL",
                             arguments: [tokenSHA256]).map(Self.user)
        }
    }

    /// Revokes a user's token (the row stays, so the name is never reused by someone else).
    public func revokeUser(name: String, at: Instant) throws(JournalError) {
        try write { db in
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM users WHERE name = ? AND revoked_at IS NULL", arguments: [name]) != nil else {
                throw JournalError.unknownUser(name)
            }
            try db.execute(sql: "UPDATE users SET revoked_at = ? WHERE name = ?", arguments: [at.millisecondsSinceEpoch, name])
        }
    }

    /// Marks a run restricted (only the people on it see it) or not. Set once, when the run is declared.
    public func setRestricted(runID: String, _ restricted: Bool, by actor: String, at: Instant) throws(JournalError) {
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO run_access (run_id, restricted, set_by, set_at) VALUES (?, ?, ?, ?)",
                           arguments: [runID, restricted ? 1 : 0, actor, at.millisecondsSinceEpoch])
        }
    }

    /// The ids of restricted runs.
    public func restrictedRunIDs() throws(JournalError) -> Set<String> {
        try read { db in Set(try String.fetchAll(db, sql: "SELECT run_id FROM run_access WHERE restricted = 1")) }
    }

    private static func user(_ row: Row) -> UserRecord {
        let revoked: Int64? = row["revoked_at"]
        return UserRecord(name: row["name"], admin: (row["admin"] as Int) != 0,
                          createdAt: Instant(millisecondsSinceEpoch: row["created_at"]),
                          revokedAt: revoked.map { Instant(millisecondsSinceEpoch: $0) })
    }
}
