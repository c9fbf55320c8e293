import Foundation
import MusterCore
import MusterJournal

/// Where the runtime reads the time. The engine never reads a clock; the runtime reads this one once per
/// command, so tests (a manual clock) and the CLI's testing aid (`MUSTER_NOW`) decide what "now" is.
public protocol Clock: Sendable {
    var now: Instant { get }
}

/// The machine's wall clock, in UTC milliseconds.
public struct SystemClock: Clock {
    public init() {}

    public var now: Instant {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Instant(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}

/// A clock that always says the same instant (the CLI's `MUSTER_NOW`, a testing aid).
public struct FixedClock: Clock {
    public let now: Instant

    public init(_ now: Instant) { self.now = now }
}

/// This machine's clock corrected to the journal database's clock, for servers sharing one PostgreSQL: event
/// times, timer due times, exercise clocks and outbox retries then agree between servers even when a host's
/// clock is minutes off. The offset is measured (`synchronize`, half the round trip taken off) at start and again
/// by the server every half minute; reading `now` costs no round trip.
public final class DatabaseClock: Clock, @unchecked Sendable {
    private let journal: Journal
    private let local = SystemClock()
    private let lock = NSLock()
    private var offsetMS: Int64 = 0
    private var measuredAt: Instant?

    public init(journal: Journal) {
        self.journal = journal
        try? synchronize()
    }

    public var now: Instant {
        lock.lock()
        defer { lock.unlock() }
        return Instant(millisecondsSinceEpoch: local.now.millisecondsSinceEpoch + offsetMS)
    }

    /// Measures the offset again (when the last measurement is older than `every`); a database that cannot be
    /// reached keeps the last offset.
    public func synchronize(every: TimeSpan = .seconds(0)) throws(JournalError) {
        lock.lock()
        let due = measuredAt.map { local.now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch >= every.milliseconds } ?? true
        lock.unlock()
        guard due else { return }
        let before = local.now.millisecondsSinceEpoch
        let database = try journal.databaseTime().millisecondsSinceEpoch
        let after = local.now.millisecondsSinceEpoch
        lock.lock()
        offsetMS = database - (before + after) / 2
        measuredAt = Instant(millisecondsSinceEpoch: after)
        lock.unlock()
    }
}
