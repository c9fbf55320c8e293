import Foundation
import MusterCore
import MusterRuntime

/// A clock tests move by hand: it never moves by itself, so no test sleeps.
public final class ManualClock: Clock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Instant

    public init(_ start: Instant = Instant(iso8601: "2026-03-06T17:40:00Z")!) {
        current = start
    }

    public var now: Instant {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// Moves the clock forward (a negative span is refused: clocks in tests only go forward).
    public func advance(by span: TimeSpan) {
        precondition(span.milliseconds >= 0, "a manual clock only moves forward")
        lock.lock()
        current = current + span
        lock.unlock()
    }

    /// Moves the clock to `instant` (not backwards).
    public func set(to instant: Instant) {
        lock.lock()
        precondition(instant >= current, "a manual clock only moves forward")
        current = instant
        lock.unlock()
    }
}
