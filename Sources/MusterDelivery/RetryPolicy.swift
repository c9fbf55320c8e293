import MusterCore
import MusterNotify

/// When a notification that failed is tried again, and when the outbox gives up on it.
///
/// Exponential backoff with full jitter: after attempt `n` the wait is drawn uniformly from
/// `0 ... min(cap, base × 2^(n-1))`, then raised to `floor`. The draw is not random: it is derived from the
/// idempotency key and the attempt number (FNV-1a, then SplitMix64), so two notifications failing together
/// spread out, the same notification always waits the same, and tests can predict every instant.
/// A receiver's `Retry-After` (on 429 and 503) replaces the drawn wait, bounded by `maximumRetryAfter`.
public struct RetryPolicy: Sendable, Hashable {
    public var base: TimeSpan
    public var cap: TimeSpan
    /// Never retry sooner than this (a pass never picks the same item twice).
    public var floor: TimeSpan
    /// When a channel has no `max_attempts`.
    public var defaultMaxAttempts: Int
    /// A longer `Retry-After` is cut to this: a receiver cannot park a notification for days.
    public var maximumRetryAfter: TimeSpan

    public init(
        base: TimeSpan = .seconds(10), cap: TimeSpan = .minutes(15), floor: TimeSpan = .seconds(1),
        defaultMaxAttempts: Int = 8, maximumRetryAfter: TimeSpan = .hours(1)
    ) {
        self.base = base
        self.cap = cap
        self.floor = floor
        self.defaultMaxAttempts = defaultMaxAttempts
        self.maximumRetryAfter = maximumRetryAfter
    }

    public static let standard = RetryPolicy()

    /// The ceiling of the wait after `attempt` (1-based): `min(cap, base × 2^(attempt-1))`.
    public func ceiling(afterAttempt attempt: Int) -> TimeSpan {
        let exponent = max(0, min(attempt - 1, 40))
        let grown = base.milliseconds.multipliedReportingOverflow(by: Int64(1) << Int64(exponent))
        return grown.overflow ? cap : min(cap, TimeSpan(milliseconds: grown.partialValue))
    }

    /// The backoff after a failed `attempt` of the notification with `key` (deterministic).
    public func backoff(afterAttempt attempt: Int, key: String) -> TimeSpan {
        let ceiling = ceiling(afterAttempt: attempt).milliseconds
        let draw = Int64(Self.jitter(key: key, attempt: attempt) % UInt64(max(1, ceiling + 1)))
        return max(floor, TimeSpan(milliseconds: draw))
    }

    /// The wait before the next attempt: the receiver's `Retry-After` when it sent one with a 429 or 503
    /// (at least `floor`, at most `maximumRetryAfter`), else the backoff.
    public func delay(afterAttempt attempt: Int, key: String, status: Int?, retryAfter: RetryAfter?, now: Instant) -> TimeSpan {
        if let retryAfter, status == 429 || status == 503 {
            return min(maximumRetryAfter, max(floor, retryAfter.delay(from: now)))
        }
        return backoff(afterAttempt: attempt, key: key)
    }

    /// 64 well-mixed bits from the key and the attempt: FNV-1a over `KEY#ATTEMPT`, then a SplitMix64 finaliser.
    public static func jitter(key: String, attempt: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(key)#\(attempt)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        var z = hash &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

