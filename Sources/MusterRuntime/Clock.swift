import Foundation
import MusterCore

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
