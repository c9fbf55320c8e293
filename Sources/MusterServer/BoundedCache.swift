import Foundation

/// Values by key for what the server reads from the journal again and again and that is right once read (an answer
/// link, which never changes; a fold of a run's events, which only moves on). Bounded the simplest way: at `limit`
/// keys it is emptied and fills again.
final class BoundedCache<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: Value] = [:]
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    func value(_ key: String) -> Value? {
        lock.lock()
        defer { lock.unlock() }
        return values[key]
    }

    /// Keeps `value` for `key`, unless `keepCurrent` says the value already there should stay.
    func store(_ value: Value, for key: String, unless keepCurrent: (Value) -> Bool = { _ in false }) {
        lock.lock()
        defer { lock.unlock() }
        if let current = values[key], keepCurrent(current) { return }
        if values.count >= limit && values[key] == nil { values.removeAll(keepingCapacity: true) }
        values[key] = value
    }

    /// Forgets `key` (a value that is no longer right).
    func remove(_ key: String) {
        lock.lock()
        defer { lock.unlock() }
        values[key] = nil
    }
}
