import Foundation
import MusterCore

/// What `run_summary` keeps of a run (format 4): its current state, its role holders and when it closed, as the
/// engine's `Run.apply` derives them from the same events (`state-entered`, `role-assigned`, `role-relieved`,
/// `run-closed`). Kept in the transaction that appends those events, so listing runs and finding open ones never
/// reads a run's events.
struct RunDigest: Sendable, Hashable {
    var state: String?
    var holders: [String: String] = [:]
    var closedAtMS: Int64?

    /// The event types that change a digest.
    static let types = ["state-entered", "role-assigned", "role-relieved", "run-closed"]

    enum Change: Sendable, Hashable {
        case entered(String)
        case assigned(role: String, person: String)
        case relieved(role: String)
        case closed

        init?(_ body: RunEvent.Body) {
            switch body {
            case .stateEntered(let state, _, _): self = .entered(state)
            case .roleAssigned(let role, let person): self = .assigned(role: role, person: person)
            case .roleRelieved(let role, _, _): self = .relieved(role: role)
            case .runClosed: self = .closed
            default: return nil
            }
        }
    }

    mutating func apply(_ change: Change, atMS: Int64) {
        switch change {
        case .entered(let s): state = s
        case .assigned(let role, let person): holders[role] = person
        case .relieved(let role): holders[role] = nil
        case .closed: if closedAtMS == nil { closedAtMS = atMS }
        }
    }

    static func holdersJSON(_ holders: [String: String]) -> String {
        var out: [UInt8] = [0x7B]
        for (index, key) in holders.keys.sorted().enumerated() {
            if index > 0 { out.append(0x2C) }
            CanonicalJSON.writeString(key, to: &out)
            out.append(0x3A)
            CanonicalJSON.writeString(holders[key]!, to: &out)
        }
        out.append(0x7D)
        return String(decoding: out, as: UTF8.self)
    }

    static func holders(json: String) -> [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(json.utf8))) ?? [:]
    }

    static func load(_ db: any SQLSession, runID: String) throws -> RunDigest {
        guard let row = try db.one("SELECT state, holders, closed_at FROM run_summary WHERE run_id = ?", [runID]) else {
            return RunDigest()
        }
        return RunDigest(state: row[0], holders: holders(json: row[1]), closedAtMS: row[2])
    }

    func save(_ db: any SQLSession, runID: String) throws {
        try db.execute("""
            INSERT INTO run_summary (run_id, state, holders, closed_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (run_id) DO UPDATE SET state = excluded.state, holders = excluded.holders, closed_at = excluded.closed_at
            """,
                       [runID, state, RunDigest.holdersJSON(holders), closedAtMS])
    }
}

/// A run as `GET /api/runs` lists it: the header without the playbook text, and its summary (no event is read).
public struct RunListing: Sendable, Hashable {
    public var id: String
    public var playbookID: String
    public var playbookVersion: Int
    public var mode: RunMode
    public var title: String
    public var createdAt: Instant
    /// The seq of the run's last event (0 when it has none).
    public var lastSequence: Int
    /// The current state's id (nil before the run started).
    public var state: String?
    /// role id -> person.
    public var holders: [String: String]
    /// When its first `run-closed` event happened; nil while open.
    public var closedAt: Instant?
    /// Read in the same transaction as the run; a run without its access row counts as restricted (fail closed).
    public var restricted: Bool

    public var isClosed: Bool { closedAt != nil }
}

extension Journal {
    /// Every run with its summary and its restricted flag (one statement, so one snapshot), oldest first, without
    /// reading any event or playbook text.
    public func runListings() throws(JournalError) -> [RunListing] {
        try read { db in
            try db.all("""
                SELECT r.id, r.playbook_id, r.playbook_version, r.mode, r.title, r.created_at,
                       COALESCE((SELECT MAX(seq) FROM events e WHERE e.run_id = r.id), 0), s.state, s.holders, s.closed_at,
                       COALESCE(a.restricted, 1)
                FROM runs r LEFT JOIN run_summary s ON s.run_id = r.id LEFT JOIN run_access a ON a.run_id = r.id
                ORDER BY r.created_at, r.\(db.dialect.runInsertionOrder)
                """).map { row in
                let closed: Int64? = row[9]
                return RunListing(id: row[0], playbookID: row[1], playbookVersion: row[2], mode: RunMode(rawValue: row[3]) ?? .live,
                                  title: row[4], createdAt: Instant(millisecondsSinceEpoch: row[5]), lastSequence: row[6],
                                  state: row[7], holders: (row[8] as String?).map(RunDigest.holders(json:)) ?? [:],
                                  closedAt: closed.map { Instant(millisecondsSinceEpoch: $0) }, restricted: (row[10] as Int) != 0)
            }
        }
    }

    /// The ids and modes of runs without a `run-closed` event, through the partial index on open runs: the cost
    /// does not grow with closed runs or events.
    public func openRuns() throws(JournalError) -> [(id: String, mode: RunMode)] {
        try read { db in
            // SQLite is told to use the partial index (its planner may not); PostgreSQL's finds it by itself.
            try db.all("""
                SELECT s.run_id, r.mode FROM run_summary s \(db.dialect == .sqlite ? "INDEXED BY run_summary_open" : "") JOIN runs r ON r.id = s.run_id
                WHERE s.closed_at IS NULL ORDER BY s.run_id
                """).map { (id: $0[0], mode: RunMode(rawValue: $0[1]) ?? .live) }
        }
    }

    /// Whether the run has a `run-closed` event (one indexed row read).
    public func isClosed(runID: String) throws(JournalError) -> Bool {
        try read { db in
            try db.value(Bool.self, "SELECT closed_at IS NOT NULL FROM run_summary WHERE run_id = ?", [runID]) ?? false
        }
    }

    /// The first event of a type in a run (`exercise-started` comes in a run's first transaction), decoded.
    public func firstEvent(runID: String, type: String) throws(JournalError) -> RunEvent? {
        try read { db in
            guard let row = try db.one("SELECT at_ms, actor, role, payload FROM events WHERE run_id = ? AND type = ? ORDER BY seq LIMIT 1",
                                             [runID, type]) else { return nil }
            let body = try JSONDecoder().decode(RunEvent.Body.self, from: Data((row[3] as String).utf8))
            return RunEvent(at: Instant(millisecondsSinceEpoch: row[0]), actor: row[1], role: row[2], body)
        }
    }
}
