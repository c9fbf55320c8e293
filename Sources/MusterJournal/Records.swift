import MusterCore

/// What a new run records once, before its first event: the playbook it pins (id, version, SHA-256 of the
/// file's bytes and a copy of its text), so the run can be replayed and reported after the file changes.
public struct RunHeader: Sendable, Hashable {
    /// Short slug like `r-7f3a2c` (see `Journal.makeRunID()`).
    public var id: String
    public var playbookID: String
    public var playbookVersion: Int
    /// The playbook file's text; its UTF-8 bytes are what `playbookSHA256` hashes.
    public var playbookText: String
    public var mode: RunMode
    public var title: String
    public var createdAt: Instant
    /// Only the people on the run see it (the server's rule); written with the run, in the same transaction.
    public var restricted: Bool

    public init(id: String, playbookID: String, playbookVersion: Int, playbookText: String, mode: RunMode, title: String, createdAt: Instant,
                restricted: Bool = false) {
        self.id = id
        self.playbookID = playbookID
        self.playbookVersion = playbookVersion
        self.playbookText = playbookText
        self.mode = mode
        self.title = title
        self.createdAt = createdAt
        self.restricted = restricted
    }

    /// Lower-case hex SHA-256 of the playbook text's UTF-8 bytes.
    public var playbookSHA256: String { Digest256.hex(of: Array(playbookText.utf8)) }
}

/// A run as stored, with how far its timeline goes.
public struct RunRecord: Sendable, Hashable {
    public var id: String
    public var playbookID: String
    public var playbookVersion: Int
    public var playbookSHA256: String
    public var playbookText: String
    public var mode: RunMode
    public var title: String
    public var createdAt: Instant
    /// The seq of the run's last event (0 when it has none).
    public var lastSequence: Int
}

/// An event to append, with its scenario time in an exercise (nil in live runs).
public struct JournalEntry: Sendable, Hashable {
    public var event: RunEvent
    public var scenarioTime: Instant?

    public init(_ event: RunEvent, scenarioTime: Instant? = nil) {
        self.event = event
        self.scenarioTime = scenarioTime
    }
}

/// One stored event row, decoded.
public struct StoredEvent: Sendable, Hashable {
    public var runID: String
    public var seq: Int
    public var event: RunEvent
    public var scenarioTime: Instant?
    /// `RunEvent.Body.typeName`.
    public var type: String
    /// The canonical JSON of `event.body`, as stored and hashed.
    public var payload: String
    public var prevHash: String
    public var hash: String
}

/// The end of a run's chain: the seq and hash the next event must follow.
public struct Head: Sendable, Hashable {
    /// 0 when the run has no event yet.
    public var sequence: Int
    /// The last event's hash, or the run header's hash when there is no event.
    public var hash: String
}

/// What one append wrote.
public struct AppendResult: Sendable, Hashable {
    /// Seqs of the events written, `expectedSequence + 1 ... head.sequence` (empty when no event was given).
    public var sequences: ClosedRange<Int>?
    public var head: Head
    /// Ids of the outbox rows written, in the order given.
    public var outboxIDs: [Int64]
    /// Each event written, in seq order, with its stored payload and hash: what a caller that has the events in
    /// hand needs to show them as stored without reading and decoding them back.
    public var written: [WrittenEvent] = []
}

/// One event as just written: its seq, canonical JSON payload (as stored and hashed) and chain hash.
public struct WrittenEvent: Sendable, Hashable {
    public var seq: Int
    public var payload: String
    public var hash: String

    public init(seq: Int, payload: String, hash: String) {
        self.seq = seq
        self.payload = payload
        self.hash = hash
    }
}

/// The outcome of walking a run's chain.
public struct VerificationReport: Sendable, Hashable, CustomStringConvertible {
    public var runID: String
    /// Rows read.
    public var eventCount: Int
    /// The hash of the last event checked (the header's hash when there is none).
    public var headHash: String
    /// The first broken link, or nil when the chain is intact.
    public var firstBroken: BrokenLink?
    /// Things that do not break the chain but weaken its protection (for example a dropped append-only trigger).
    public var warnings: [String]

    public var isIntact: Bool { firstBroken == nil }

    public var description: String {
        if let firstBroken {
            return "run \(runID): chain broken at event \(firstBroken.seq): \(firstBroken.problem)"
        }
        return "run \(runID): \(eventCount) event\(eventCount == 1 ? "" : "s"), chain intact (head \(headHash.prefix(12)))"
    }
}

public struct BrokenLink: Sendable, Hashable {
    /// The seq where the chain first breaks (0: the run header).
    public var seq: Int
    public var problem: Problem

    public enum Problem: Sendable, Hashable, CustomStringConvertible {
        /// The row's stored hash is not the hash of its content: the row was altered.
        case hashMismatch(stored: String, computed: String)
        /// The row's `prev_hash` is not the previous row's hash: a row before it was removed, reordered or rewritten.
        case prevHashMismatch(stored: String, expected: String)
        /// The seq that should come next is missing (`found` is the next seq present).
        case sequenceGap(expected: Int, found: Int)
        /// The run header's playbook text does not hash to the recorded SHA-256.
        case playbookAltered(stored: String, computed: String)
        /// The stored type column does not name the payload's kind, or the payload is not canonical JSON.
        case malformedRow(String)
        /// A table the log records (`users`, `run_access`) says something the log does not.
        case recordDisagrees(String)

        public var description: String {
            switch self {
            case let .hashMismatch(stored, computed):
                "hash mismatch: the row was altered (stored \(stored.prefix(12)), content hashes to \(computed.prefix(12)))"
            case let .prevHashMismatch(stored, expected):
                "prev_hash mismatch: an earlier row was removed, reordered or rewritten (stored \(stored.prefix(12)), previous row hashes to \(expected.prefix(12)))"
            case let .sequenceGap(expected, found):
                "gap in seq: event \(expected) is missing (next present is \(found))"
            case let .playbookAltered(stored, computed):
                "the stored playbook text was altered (recorded sha256 \(stored.prefix(12)), text hashes to \(computed.prefix(12)))"
            case let .malformedRow(detail):
                "malformed row: \(detail)"
            case let .recordDisagrees(detail):
                "\(detail)"
            }
        }
    }
}
