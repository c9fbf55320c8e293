import Foundation
import GRDB
import MusterCore
import Testing
@testable import MusterJournal

@Suite("Journal format 4: access rows with the run, the access log, heads, file permissions")
struct AccessLogJournalTests {
    let token = String(repeating: "ab", count: 32)

    @Test("a run is written with its access row in the same transaction; a run without one reads as restricted")
    func accessWithTheRun() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        var secret = header("r-000001")
        secret.restricted = true
        try journal.createRun(secret, events: startEvents("r-000001"))
        try journal.createRun(header("r-000002"), events: startEvents("r-000002"))
        #expect(try journal.restrictedRunIDs() == ["r-000001"])
        #expect(try journal.runsWithAccess().map { "\($0.run.id)=\($0.restricted)" } == ["r-000001=true", "r-000002=false"])
        #expect(try journal.isRestricted(runID: "r-000001"))
        #expect(try !journal.isRestricted(runID: "r-000002"))
        let row = try DatabaseQueue(path: folder.database).read { db in
            try Row.fetchOne(db, sql: "SELECT restricted, set_by FROM run_access WHERE run_id = 'r-000001'")
        }
        #expect(row?[0] as Int? == 1 && row?[1] as String? == "Dana")

        let queue = try DatabaseQueue(path: folder.database)
        try queue.write { db in try db.execute(sql: "DELETE FROM run_access WHERE run_id = 'r-000002'") }
        try queue.close()
        #expect(try journal.restrictedRunIDs() == ["r-000001", "r-000002"])
        #expect(try journal.isRestricted(runID: "r-000002"))
        let report = try journal.verifyAccessLog()
        #expect(report.firstBroken?.problem.description.contains("run r-000002 lost its access row") == true, "\(report)")
    }

    @Test("user and access changes are on a hash chain; edits to users and run_access made outside Muster are found")
    func accessChain() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        try journal.addUser(name: "Dana", tokenSHA256: token, admin: true, at: t0)
        try journal.addUser(name: "Lee", tokenSHA256: String(repeating: "cd", count: 32), admin: false, at: t0, by: "Dana")
        try journal.revokeUser(name: "Lee", at: t0 + .minutes(1), by: "Dana")
        var secret = header()
        secret.restricted = true
        try journal.createRun(secret, events: startEvents())
        let log = try journal.accessEvents()
        #expect(log.map(\.type) == ["user-added", "user-added", "user-revoked", "run-access"])
        #expect(log.map(\.actor) == ["muster", "Dana", "Dana", "Dana"])
        #expect(log[0].prevHash == Chain.accessLogStart)
        #expect(log[3].payload == #"{"restricted":true}"#)
        #expect(log[0].payload == #"{"admin":true,"token_sha256":"\#(token)"}"#)
        let intact = try journal.verifyAccessLog()
        #expect(intact.isIntact && intact.eventCount == 4 && intact.headHash == log[3].hash, "\(intact)")

        let queue = try DatabaseQueue(path: folder.database)
        defer { try? queue.close() }
        #expect(throws: DatabaseError.self) { try queue.write { db in try db.execute(sql: "DELETE FROM access_events WHERE seq = 4") } }
        #expect(throws: DatabaseError.self) { try queue.write { db in try db.execute(sql: "UPDATE access_events SET payload = '{}' WHERE seq = 4") } }
        let tampering: [(String, String)] = [
            ("UPDATE run_access SET restricted = 0", "run r-7f3a2c is not restricted in run_access but the access log says restricted"),
            ("UPDATE users SET revoked_at = NULL WHERE name = 'Lee'", "user 'Lee' in the users table differs"),
            ("UPDATE users SET admin = 1 WHERE name = 'Lee'", "user 'Lee' in the users table differs"),
            ("UPDATE users SET token_sha256 = '\(String(repeating: "ef", count: 32))' WHERE name = 'Dana'", "user 'Dana' in the users table differs"),
            ("INSERT INTO users (name, token_sha256, admin, created_at) VALUES ('Mallory', '\(String(repeating: "01", count: 32))', 1, 0)", "user 'Mallory' is in the users table but was never added"),
        ]
        for (sql, problem) in tampering {
            try queue.inTransaction { db in
                try db.execute(sql: sql)
                return .commit
            }
            let report = try journal.verifyAccessLog()
            #expect(report.firstBroken?.problem.description.contains(problem) == true, "\(sql): \(report)")
            try queue.inDatabase { db in
                // Undo, so each edit is checked alone.
                try db.execute(sql: "UPDATE run_access SET restricted = 1")
                try db.execute(sql: "UPDATE users SET revoked_at = \(t0.millisecondsSinceEpoch + 60_000), admin = 0 WHERE name = 'Lee'")
                try db.execute(sql: "UPDATE users SET token_sha256 = '\(token)' WHERE name = 'Dana'")
                try db.execute(sql: "DELETE FROM users WHERE name = 'Mallory'")
            }
            #expect(try journal.verifyAccessLog().isIntact, "\(sql): not undone")
        }
    }

    @Test("a lost token is rotated and a revoked user reinstated, each with a new token, on the access log; the old token is dead")
    func rotateAndReinstate() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        let first = String(repeating: "ab", count: 32), second = String(repeating: "cd", count: 32), third = String(repeating: "ef", count: 32)
        try journal.addUser(name: "Sam", tokenSHA256: first, admin: false, at: t0)
        try journal.rotateUserToken(name: "Sam", tokenSHA256: second, at: t0 + .minutes(1), by: "Dana")
        #expect(try journal.user(tokenSHA256: first) == nil)
        #expect(try journal.user(tokenSHA256: second)?.name == "Sam")
        try journal.revokeUser(name: "Sam", at: t0 + .minutes(2), by: "Dana")
        #expect(try journal.user(tokenSHA256: second) == nil)
        #expect(throws: JournalError.self) { try journal.rotateUserToken(name: "Sam", tokenSHA256: third, at: t0, by: "Dana") }
        #expect(throws: JournalError.self) { try journal.addUser(name: "Sam", tokenSHA256: third, admin: false, at: t0) }
        try journal.reinstateUser(name: "Sam", tokenSHA256: third, at: t0 + .minutes(3), by: "Dana")
        #expect(try journal.user(tokenSHA256: third)?.name == "Sam")
        #expect(throws: JournalError.self) { try journal.reinstateUser(name: "Sam", tokenSHA256: first, at: t0, by: "Dana") }
        #expect(try journal.accessEvents().map(\.type) == ["user-added", "user-token-rotated", "user-revoked", "user-reinstated"])
        #expect(try journal.verifyAccessLog().isIntact)

        // A token changed in SQL, outside Muster, no longer agrees with the log.
        let queue = try DatabaseQueue(path: folder.database)
        try queue.write { db in
            try db.execute(sql: "UPDATE users SET token_sha256 = ? WHERE name = 'Sam'", arguments: [first])
        }
        try queue.close()
        #expect(try !journal.verifyAccessLog().isIntact)
    }

    @Test("the access-log hash is the documented canonical array (values computed with Python's hashlib and json)")
    func documentedHash() throws {
        // python3: canon = json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        //   start = sha256(canon(["muster-access-log/1"]))
        //   sha256(canon(["muster-access/1", 1, 1772818800000, "muster", "Dana", "user-added", {"admin": True, "token_sha256": "ab"*32}, start]))
        #expect(Chain.accessLogStart == "84bc9c7b19be82e022f93b47e08729615646656c730a3e27bfd45675551269eb")
        let payload = AccessChange.userAdded(name: "Dana", admin: true, tokenSHA256: token).payload
        #expect(payload == (try CanonicalJSON.canonicalize(Array(payload.utf8))))
        let hash = Chain.logEntryHash(tag: Chain.accessEventTag, seq: 1, atMS: 1_772_818_800_000, actor: "muster", subject: "Dana",
                                      type: "user-added", payload: payload, prevHash: Chain.accessLogStart)
        #expect(hash == "646cc5b6e899161a936ad61dd64749207e97b0271852fd36d0b33b9202da6de3")
    }

    @Test("a format 3 journal opens as format 4: runs without an access row become public rows, existing users and rows start the log")
    func migratesV3() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let queue = try DatabaseQueue(path: folder.database)
        var v3 = DatabaseMigrator()
        v3.registerMigration("v1", migrate: Schema.v1)
        v3.registerMigration("v2", migrate: Schema.v2)
        v3.registerMigration("v3", migrate: Schema.v3)
        try v3.migrate(queue)
        let sha = Digest256.hex(of: Array(playbookText.utf8))
        try queue.write { db in
            for (id, at) in [("r-000001", 1000), ("r-000002", 2000)] {
                try db.execute(sql: """
                    INSERT INTO runs (id, playbook_id, playbook_version, playbook_sha256, playbook_text, mode, title, created_at)
                    VALUES (?, 'ransomware-file-servers', 3, ?, ?, 'live', 'T', ?)
                    """, arguments: [id, sha, playbookText, at])
            }
            // r-000001 declared restricted through a format 3 server; r-000002 by the CLI (no row).
            try db.execute(sql: "INSERT INTO run_access (run_id, restricted, set_by, set_at) VALUES ('r-000001', 1, 'Dana', 1500)")
            try db.execute(sql: "INSERT INTO users (name, token_sha256, admin, created_at, revoked_at) VALUES ('Dana', ?, 1, 500, NULL), ('Lee', ?, 0, 600, 700)",
                           arguments: [token, String(repeating: "cd", count: 32)])
        }
        try queue.close()
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        #expect(try journal.restrictedRunIDs() == ["r-000001"])
        let log = try journal.accessEvents()
        #expect(log.map { "\($0.type) \($0.subject)" } == ["user-added Dana", "user-added Lee", "user-revoked Lee", "run-access r-000001", "run-access r-000002"])
        #expect(try journal.verifyAccessLog().isIntact)
        #expect(try journal.verifyAll().allSatisfy(\.isIntact))
        let version = try DatabaseQueue(path: folder.database).read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'format_version'") }
        #expect(version == "\(Journal.formatVersion)")
    }

    @Test("heads recorded outside the database show a run's deleted last event, which the chain alone does not")
    func heads() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        try journal.createRun(header(), events: startEvents())
        try journal.append(runID: "r-7f3a2c", expectedSequence: 3, events: [note("first"), note("last")])
        try journal.addUser(name: "Dana", tokenSHA256: token, admin: true, at: t0)
        let heads = try journal.heads()
        #expect(heads.runs["r-7f3a2c"] == (try journal.head(runID: "r-7f3a2c")))
        #expect(heads.accessLog.sequence == 2)
        #expect(heads.improvementLog == Head(sequence: 0, hash: Chain.improvementLogStart))
        let parsed = try ChainHeads.parse(heads.json(exportedAt: t0)).get()
        #expect(parsed == heads)
        #expect(try journal.unreachedHeads(parsed).isEmpty)

        let queue = try DatabaseQueue(path: folder.database)
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER events_append_only_delete")
            try db.execute(sql: "DELETE FROM events WHERE run_id = 'r-7f3a2c' AND seq = 5")
            try db.execute(sql: """
                CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
                BEGIN SELECT RAISE(ABORT, 'muster journal: events are append-only'); END;
                """)
        }
        try queue.close()
        #expect(try journal.verify(runID: "r-7f3a2c").isIntact)  // what the chain alone cannot see
        let problems = try journal.unreachedHeads(parsed)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("run r-7f3a2c: no longer reaches its recorded head: seq 5 is missing") == true, "\(problems)")
        #expect(throws: HeadsFileError.self) { try ChainHeads.parse(Array(#"{"format":"other"}"#.utf8)).get() }
    }

    @Test("the journal folder is created 0700 and the database, -wal and -shm files 0600")
    func permissions() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let home = folder.file("nested/home")
        let journal = try Journal.open(home: home)
        defer { try? journal.close() }
        try journal.createRun(header(), events: startEvents())
        func mode(_ path: String) throws -> Int {
            try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        }
        #expect(try mode(home) == 0o700)
        for suffix in ["", "-wal", "-shm"] {
            #expect(try mode(home + "/muster.db" + suffix) == 0o600, "muster.db\(suffix)")
        }
    }

    @Test("an existing world-readable database is made 0600 when opened")
    func tightensExisting() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        try Journal.open(path: folder.database).close()
        #expect(chmod(folder.database, 0o644) == 0)
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        #expect(try FileManager.default.attributesOfItem(atPath: folder.database)[.posixPermissions] as? Int == 0o600)
    }
}
