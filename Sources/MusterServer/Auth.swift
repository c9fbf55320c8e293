import Crypto
import Foundation
import MusterCore
import MusterJournal

/// Tokens: `mst_` and 64 hex digits of system randomness. Only the SHA-256 of a token is stored.
public enum Tokens {
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        return "mst_" + hex(bytes)
    }

    public static func sha256(_ token: String) -> String { hex(Array(SHA256.hash(data: Array(token.utf8)))) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Who is calling, from the bearer token. Looks tokens up in the journal's `users` table, remembering an answer
/// for `cacheFor` (so a revocation takes effect within that time, also when made by another process).
final class Authenticator: @unchecked Sendable {
    let journal: Journal
    let cacheFor: TimeSpan
    private let lock = NSLock()
    private var cache: [String: (user: UserRecord?, until: Instant)] = [:]

    init(journal: Journal, cacheFor: TimeSpan = TimeSpan(milliseconds: 2_000)) {
        self.journal = journal
        self.cacheFor = cacheFor
    }

    func user(token: String, now: Instant) throws(JournalError) -> UserRecord? {
        let hash = Tokens.sha256(token)
        lock.lock()
        if let hit = cache[hash], now < hit.until {
            lock.unlock()
            return hit.user
        }
        lock.unlock()
        let user = try journal.user(tokenSHA256: hash)
        lock.lock()
        if cache.count > 10_000 { cache.removeAll() }
        cache[hash] = (user, now + cacheFor)
        lock.unlock()
        return user
    }

    /// Drops cached answers for `name` (revoked through this server: effective at once, not within `cacheFor`).
    func forget(name: String) {
        lock.lock()
        cache = cache.filter { $0.value.user?.name != name }
        lock.unlock()
    }
}

/// Failed logins per remote address in a sliding window: after `limit` failures within `window`, further
/// failing requests from that address are answered 429 (not 401) until the oldest failure leaves the window.
/// A request with a valid token is never throttled: the token is checked before this limiter is asked.
final class LoginLimiter: @unchecked Sendable {
    let limit: Int
    let window: TimeSpan
    private let lock = NSLock()
    private var failures: [String: [Instant]] = [:]

    init(limit: Int = 10, window: TimeSpan = TimeSpan(milliseconds: 60_000)) {
        self.limit = limit
        self.window = window
    }

    /// Seconds until the address may try again, or nil when it may try now.
    func retryAfter(_ address: String, now: Instant) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        var list = failures[address, default: []].filter { now - $0 < window }
        failures[address] = list.isEmpty ? nil : list
        guard list.count >= limit else { return nil }
        list.sort()
        let wait = (list[0] + window) - now
        return max(1, Int((wait.milliseconds + 999) / 1000))
    }

    func recordFailure(_ address: String, now: Instant) {
        lock.lock()
        failures[address, default: []].append(now)
        lock.unlock()
    }
}
