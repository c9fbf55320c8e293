import Foundation
import MusterCore

/// One entry of the access log: a hash-chained, append-only record of who may use the server and which runs are
/// restricted (format 4). The `users` and `run_access` tables are what the server reads; the log is what
/// `verifyAccessLog` checks them against.
public struct AccessRecord: Sendable, Hashable {
    public var seq: Int
    public var at: Instant
    public var actor: String
    /// The user's name or the run's id.
    public var subject: String
    /// `user-added`, `user-revoked`, `user-token-rotated`, `user-reinstated`, `run-access`, and from format 7
    /// `person-added`, `person-updated`, `person-removed` (field names only, never values).
    public var type: String
    /// Canonical JSON of the change, as stored and hashed.
    public var payload: String
    public var prevHash: String
    public var hash: String
}

extension Chain {
    static let accessLogTag = "muster-access-log/1"
    static let accessEventTag = "muster-access/1"

    /// The `prev_hash` of the access log's first entry: SHA-256 of `["muster-access-log/1"]`.
    static var accessLogStart: String { logStart(tag: accessLogTag) }
}

/// A change to who may use the server or see a run, as the access log stores it.
enum AccessChange {
    case userAdded(name: String, admin: Bool, tokenSHA256: String)
    case userRevoked(name: String)
    /// A new token for an active user; the old one stops working at once.
    case userTokenRotated(name: String, tokenSHA256: String)
    /// A revoked user may sign in again, with a new token.
    case userReinstated(name: String, tokenSHA256: String)
    case runAccess(runID: String, restricted: Bool)
    /// A person added to the directory, updated or removed (format 7), with the names of the fields set or changed:
    /// never their values, which are personal data (an append-only log cannot forget them).
    case personAdded(name: String, fields: [Person.Field])
    case personUpdated(name: String, fields: [Person.Field])
    case personRemoved(name: String)

    var subject: String {
        switch self {
        case .userAdded(let name, _, _), .userRevoked(let name), .userTokenRotated(let name, _), .userReinstated(let name, _): name
        case .runAccess(let runID, _): runID
        case .personAdded(let name, _), .personUpdated(let name, _), .personRemoved(let name): name
        }
    }

    var type: String {
        switch self {
        case .userAdded: "user-added"
        case .userRevoked: "user-revoked"
        case .userTokenRotated: "user-token-rotated"
        case .userReinstated: "user-reinstated"
        case .runAccess: "run-access"
        case .personAdded: "person-added"
        case .personUpdated: "person-updated"
        case .personRemoved: "person-removed"
        }
    }

    /// Canonical JSON (sorted keys; the token hash is 64 hex digits, so nothing needs escaping).
    var payload: String {
        switch self {
        case .userAdded(_, let admin, let token): #"{"admin":\#(admin),"token_sha256":\#(Self.quoted(token))}"#
        case .userRevoked: "{}"
        case .userTokenRotated(_, let token), .userReinstated(_, let token): #"{"token_sha256":\#(Self.quoted(token))}"#
        case .runAccess(_, let restricted): #"{"restricted":\#(restricted)}"#
        case .personAdded(_, let fields), .personUpdated(_, let fields):
            #"{"fields":[\#(fields.map { Self.quoted($0.rawValue) }.joined(separator: ","))]}"#
        case .personRemoved: "{}"
        }
    }

    static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        CanonicalJSON.writeString(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

extension Journal {
    /// Appends one access-log entry inside the caller's write transaction (the change it records is written in the
    /// same transaction, so the table and the log never disagree after a commit).
    static func appendAccess(_ db: any SQLSession, _ change: AccessChange, actor: String, at: Instant) throws {
        try db.lockLog("access_events")
        let head = try db.one("SELECT seq, hash FROM access_events ORDER BY seq DESC LIMIT 1")
        let seq: Int = (head?[0] ?? 0) + 1
        let prev: String = head?[1] ?? Chain.accessLogStart
        let payload = change.payload
        let hash = Chain.logEntryHash(tag: Chain.accessEventTag, seq: seq, atMS: at.millisecondsSinceEpoch, actor: actor,
                                      subject: change.subject, type: change.type, payload: payload, prevHash: prev)
        try db.execute("""
            INSERT INTO access_events (seq, at_ms, actor, subject, type, payload, prev_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [seq, at.millisecondsSinceEpoch, actor, change.subject, change.type, payload, prev, hash])
    }

    /// The whole access log in seq order.
    public func accessEvents() throws(JournalError) -> [AccessRecord] {
        try read { db in
            try db.all("SELECT seq, at_ms, actor, subject, type, payload, prev_hash, hash FROM access_events ORDER BY seq").map {
                AccessRecord(seq: $0[0], at: Instant(millisecondsSinceEpoch: $0[1]), actor: $0[2], subject: $0[3], type: $0[4],
                             payload: $0[5], prevHash: $0[6], hash: $0[7])
            }
        }
    }

    /// Every run, oldest first, with whether it is restricted, read in ONE transaction. A run without its access
    /// row (written with the run since format 4) counts as restricted: fail closed.
    public func runsWithAccess() throws(JournalError) -> [(run: RunRecord, restricted: Bool)] {
        try read { db in
            let restricted = try Journal.restrictedRunIDs(db)
            return try Journal.runs(db).map { ($0, restricted.contains($0.id)) }
        }
    }

    /// Whether the run is restricted; a run without its access row counts as restricted (fail closed).
    public func isRestricted(runID: String) throws(JournalError) -> Bool {
        try read { db in
            try db.value(Int.self, "SELECT restricted FROM run_access WHERE run_id = ?", [runID]) != 0
        }
    }

    /// The ids of restricted runs, and of runs without an access row (fail closed).
    static func restrictedRunIDs(_ db: any SQLSession) throws -> Set<String> {
        Set(try db.column(String.self, """
            SELECT r.id FROM runs r LEFT JOIN run_access a ON a.run_id = r.id WHERE a.restricted IS NOT 0
            """))
    }

    /// Walks the access log's chain like `verifyImprovementLog`, then replays it and compares the result with the
    /// `users` and `run_access` tables: a user added, revoked, un-revoked, made admin or given another token
    /// outside Muster, and a run's restricted flag changed or its access row removed, are reported as broken.
    public func verifyAccessLog() throws(JournalError) -> VerificationReport {
        try read { db in
            var report = VerificationReport(runID: "access-log", eventCount: 0, headHash: Chain.accessLogStart, firstBroken: nil, warnings: [])
            // A read-only copy of a journal written before format 4 cannot be migrated: it has no access log.
            guard try db.tableExists("access_events") else {
                report.warnings.append("this journal predates format 4 and has no access log: user and access changes are not on a chain")
                return report
            }
            let present = try db.triggerNames()
            for trigger in Schema.accessTriggers where !present.contains(trigger) {
                report.warnings.append("the append-only trigger \(trigger) is missing: the database was modified outside Muster")
            }
            struct User: Equatable { var admin: Bool; var token: String; var revoked: Bool }
            var users: [String: (User, seq: Int)] = [:]
            var access: [String: (Bool, seq: Int)] = [:]
            var people: [String: Int] = [:]
            var expected = 1
            let rows = try db.all("SELECT seq, at_ms, actor, subject, type, payload, prev_hash, hash FROM access_events ORDER BY seq")
            for row in rows {
                let seq: Int = row[0]
                guard seq == expected else {
                    report.firstBroken = BrokenLink(seq: expected, problem: .sequenceGap(expected: expected, found: seq))
                    return report
                }
                let subject: String = row[3]
                let type: String = row[4]
                let payload: String = row[5]
                let prev: String = row[6]
                let stored: String = row[7]
                let computed = Chain.logEntryHash(tag: Chain.accessEventTag, seq: seq, atMS: row[1], actor: row[2], subject: subject,
                                                  type: type, payload: payload, prevHash: prev)
                guard computed == stored else {
                    report.firstBroken = BrokenLink(seq: seq, problem: .hashMismatch(stored: stored, computed: computed))
                    return report
                }
                guard prev == report.headHash else {
                    report.firstBroken = BrokenLink(seq: seq, problem: .prevHashMismatch(stored: prev, expected: report.headHash))
                    return report
                }
                let object = (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any] ?? [:]
                switch type {
                case "user-added":
                    users[subject] = (User(admin: object["admin"] as? Bool ?? false, token: object["token_sha256"] as? String ?? "", revoked: false), seq)
                case "user-revoked":
                    if var user = users[subject] {
                        user.0.revoked = true
                        user.seq = seq
                        users[subject] = user
                    }
                case "user-token-rotated", "user-reinstated":
                    if var user = users[subject] {
                        user.0.token = object["token_sha256"] as? String ?? ""
                        if type == "user-reinstated" { user.0.revoked = false }
                        user.seq = seq
                        users[subject] = user
                    }
                case "run-access":
                    access[subject] = (object["restricted"] as? Bool ?? true, seq)
                case "person-added", "person-updated":
                    people[subject] = seq
                case "person-removed":
                    people[subject] = nil
                default:
                    report.firstBroken = BrokenLink(seq: seq, problem: .malformedRow("unknown access change '\(type)'"))
                    return report
                }
                report.eventCount += 1
                report.headHash = stored
                expected += 1
            }
            // The tables as the log says they must be.
            for row in try db.all("SELECT name, admin, token_sha256, revoked_at FROM users ORDER BY name") {
                let name: String = row[0]
                let revokedAt: Int64? = row[3]
                let table = User(admin: (row[1] as Int) != 0, token: row[2], revoked: revokedAt != nil)
                guard let logged = users.removeValue(forKey: name) else {
                    report.firstBroken = BrokenLink(seq: 0, problem: .recordDisagrees("user '\(name)' is in the users table but was never added through Muster"))
                    return report
                }
                guard logged.0 == table else {
                    report.firstBroken = BrokenLink(seq: logged.seq, problem: .recordDisagrees("user '\(name)' in the users table differs from the access log (admin, token or revocation changed outside Muster)"))
                    return report
                }
            }
            if let (name, logged) = users.min(by: { $0.value.seq < $1.value.seq }) {
                report.firstBroken = BrokenLink(seq: logged.seq, problem: .recordDisagrees("user '\(name)' is in the access log but was removed from the users table"))
                return report
            }
            // The directory (format 7) holds exactly the people the log added and did not remove.
            if try db.tableExists("people") {
                for name in try db.column(String.self, "SELECT name FROM people ORDER BY name") where people.removeValue(forKey: name) == nil {
                    report.firstBroken = BrokenLink(seq: 0, problem: .recordDisagrees("person '\(name)' is in the people table but was never added through Muster"))
                    return report
                }
                if let (name, seq) = people.min(by: { $0.value < $1.value }) {
                    report.firstBroken = BrokenLink(seq: seq, problem: .recordDisagrees("person '\(name)' is in the access log but was removed from the people table outside Muster"))
                    return report
                }
            }
            let table = Dictionary(uniqueKeysWithValues: try db.all("SELECT run_id, restricted FROM run_access").map { ($0[0] as String, ($0[1] as Int) != 0) })
            for id in try db.column(String.self, "SELECT id FROM runs ORDER BY created_at, \(db.dialect.runInsertionOrder)") {
                guard let logged = access[id] else {
                    report.firstBroken = BrokenLink(seq: 0, problem: .recordDisagrees("run \(id) has no access entry in the access log"))
                    return report
                }
                guard let restricted = table[id] else {
                    report.firstBroken = BrokenLink(seq: logged.seq, problem: .recordDisagrees("run \(id) lost its access row (it is hidden from people not on it until restored)"))
                    return report
                }
                guard restricted == logged.0 else {
                    report.firstBroken = BrokenLink(seq: logged.seq, problem: .recordDisagrees("run \(id) is \(restricted ? "" : "not ")restricted in run_access but the access log says \(logged.0 ? "restricted" : "not restricted")"))
                    return report
                }
            }
            return report
        }
    }

    // MARK: - Heads kept outside the database

    /// Every chain's head in one read: each run's last seq and hash, and the access and improvement logs' heads.
    public func heads() throws(JournalError) -> ChainHeads {
        let path = self.path
        return try read { db in
            var runs: [String: Head] = [:]
            for id in try db.column(String.self, "SELECT id FROM runs") { runs[id] = try Journal.head(db, runID: id, path: path) }
            func logHead(_ table: String, start: String) throws -> Head {
                guard let row = try db.one("SELECT seq, hash FROM \(table) ORDER BY seq DESC LIMIT 1") else {
                    return Head(sequence: 0, hash: start)
                }
                return Head(sequence: row[0], hash: row[1])
            }
            return ChainHeads(runs: runs, accessLog: try logHead("access_events", start: Chain.accessLogStart),
                              improvementLog: try logHead("improvement_events", start: Chain.improvementLogStart))
        }
    }

    /// What no longer reaches the heads recorded in `recorded` (an export of `heads()`): a run that is gone, whose
    /// chain is broken, or whose row at the recorded seq is missing (events removed from the end) or has another
    /// hash; the same for the two logs. Empty when every recorded head is still reached. Runs created since the
    /// export are not named (they have no recorded head).
    public func unreachedHeads(_ recorded: ChainHeads) throws(JournalError) -> [String] {
        var problems: [String] = []
        let known = Set(try runs().map(\.id))
        for (id, head) in recorded.runs.sorted(by: { $0.key < $1.key }) {
            guard known.contains(id) else {
                problems.append("run \(id): gone from the journal (its recorded head was seq \(head.sequence))")
                continue
            }
            let report = try verify(runID: id)
            if let problem = Journal.unreached(head, report, rowHash: try rowHash(table: "events", runID: id, seq: head.sequence)) {
                problems.append("run \(id): \(problem)")
            }
        }
        let logs: [(String, Head, VerificationReport, String)] = [
            ("access log", recorded.accessLog, try verifyAccessLog(), "access_events"),
            ("improvement log", recorded.improvementLog, try verifyImprovementLog(), "improvement_events"),
        ]
        for (name, head, report, table) in logs {
            if let problem = Journal.unreached(head, report, rowHash: try rowHash(table: table, runID: nil, seq: head.sequence)) {
                problems.append("\(name): \(problem)")
            }
        }
        return problems
    }

    static func unreached(_ head: Head, _ report: VerificationReport, rowHash: String?) -> String? {
        if let broken = report.firstBroken {
            return "chain broken at \(broken.seq) (\(broken.problem)); it no longer verifies up to its recorded head seq \(head.sequence)"
        }
        guard let rowHash else {
            return "no longer reaches its recorded head: seq \(head.sequence) is missing (the chain now ends at \(report.eventCount)); entries were removed"
        }
        guard rowHash == head.hash else {
            return "no longer reaches its recorded head: seq \(head.sequence) hashes to \(rowHash.prefix(12)), recorded \(head.hash.prefix(12))"
        }
        return nil
    }

    /// The stored hash of one row, nil when there is no such row; seq 0 is the chain's start (a run's header hash).
    func rowHash(table: String, runID: String?, seq: Int) throws(JournalError) -> String? {
        try read { db in
            if let runID {
                if seq == 0 {
                    guard let run = try db.one("SELECT playbook_id, playbook_version, playbook_sha256 FROM runs WHERE id = ?", [runID]) else { return nil }
                    return Chain.headerHash(runID: runID, playbookID: run[0], playbookVersion: run[1], playbookSHA256: run[2])
                }
                return try db.value(String.self, "SELECT hash FROM events WHERE run_id = ? AND seq = ?", [runID, seq])
            }
            if seq == 0 { return table == "access_events" ? Chain.accessLogStart : Chain.improvementLogStart }
            return try db.value(String.self, "SELECT hash FROM \(table) WHERE seq = ?", [seq])
        }
    }
}

/// The heads of every chain in a journal, as `muster verify --export-heads FILE` writes them and
/// `muster verify --against FILE` reads them back (`docs/journal.md`).
public struct ChainHeads: Sendable, Hashable {
    public static let format = "muster-heads/1"
    public var runs: [String: Head]
    public var accessLog: Head
    public var improvementLog: Head

    public init(runs: [String: Head], accessLog: Head, improvementLog: Head) {
        self.runs = runs
        self.accessLog = accessLog
        self.improvementLog = improvementLog
    }

    /// `{"format":"muster-heads/1","exported_at":…,"runs":{ID:{"seq":N,"hash":H}},"access_log":{…},"improvement_log":{…}}`
    public func json(exportedAt: Instant) -> [UInt8] {
        func head(_ h: Head) -> [String: Any] { ["seq": h.sequence, "hash": h.hash] }
        let object: [String: Any] = [
            "format": Self.format, "exported_at": exportedAt.iso8601,
            "runs": runs.mapValues(head), "access_log": head(accessLog), "improvement_log": head(improvementLog),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return Array(data) + [0x0A]
    }

    /// Reads an export back; nil with why when the file is not one.
    public static func parse(_ bytes: [UInt8]) -> Result<ChainHeads, HeadsFileError> {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            return .failure(HeadsFileError("not a JSON object"))
        }
        guard object["format"] as? String == format else { return .failure(HeadsFileError("its \"format\" is not \"\(format)\"")) }
        func head(_ value: Any?, _ what: String) -> Result<Head, HeadsFileError> {
            guard let o = value as? [String: Any], let seq = o["seq"] as? Int, seq >= 0, let hash = o["hash"] as? String, hash.utf8.count == 64 else {
                return .failure(HeadsFileError("\(what) is not {\"seq\": N, \"hash\": 64 hex digits}"))
            }
            return .success(Head(sequence: seq, hash: hash))
        }
        guard let runObjects = object["runs"] as? [String: Any] else { return .failure(HeadsFileError("\"runs\" is not an object")) }
        var runs: [String: Head] = [:]
        for (id, value) in runObjects {
            switch head(value, "run \(id)") {
            case .success(let h): runs[id] = h
            case .failure(let e): return .failure(e)
            }
        }
        return head(object["access_log"], "\"access_log\"").flatMap { access in
            head(object["improvement_log"], "\"improvement_log\"").map { ChainHeads(runs: runs, accessLog: access, improvementLog: $0) }
        }
    }
}

public struct HeadsFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
