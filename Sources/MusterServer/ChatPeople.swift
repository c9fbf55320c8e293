import Foundation
import MusterCore
import MusterJournal
import MusterRuntime

/// The directory people who type slash commands, by chat id (Slack member id, Mattermost username), kept for
/// `timeToLive` so that a command does not read the directory each time. `muster people` in another process (or
/// another server) may change the directory meanwhile: a person removed, or whose chat id moved to someone else,
/// is still answered as before for at most `timeToLive`.
///
/// Strangers (no person has the chat id) are not kept: someone told to get added is seen at once after
/// `muster people add`, and a stranger's command costs one read of the directory, no more than before (each is
/// authenticated by the platform first, so nobody outside the workspace can make them).
public final class ChatPeople: Sendable {
    public static let timeToLive = TimeSpan.seconds(5)
    private let cache = BoundedCache<(person: Person, at: Instant)>(limit: 10_000)

    /// The person whose Slack member id is `id`, as `Journal.person(slackID:)` gives it (at most `timeToLive` old).
    func person(slackID id: String, _ state: ServerState) throws -> Person? {
        try person("slack:" + id, state) { () throws(JournalError) in try state.journal.person(slackID: id) }
    }

    /// The person whose Mattermost username is `username`, as `Journal.person(mattermostUser:)` gives it (at most
    /// `timeToLive` old); kept under the username as the journal matches it (no `@`, any case).
    func person(mattermostUser username: String, _ state: ServerState) throws -> Person? {
        let plain = (username.hasPrefix("@") ? String(username.dropFirst()) : username).lowercased()
        return try person("mattermost:" + plain, state) { () throws(JournalError) in try state.journal.person(mattermostUser: username) }
    }

    private func person(_ key: String, _ state: ServerState, read: () throws(JournalError) -> Person?) throws -> Person? {
        let now = state.cacheNow
        if let kept = cache.value(key), kept.at <= now, now < kept.at + Self.timeToLive { return kept.person }
        guard let person = try read() else {
            cache.remove(key)
            return nil
        }
        cache.store((person, now), for: key)
        return person
    }
}

extension ServerState {
    /// The time the server's caches of what other processes may change (`ChatPeople`, `ChatBindingIndex`) age by:
    /// the runtime's clock (a test's manual clock), but the wall clock when the runtime's is pinned (`MUSTER_NOW`),
    /// which would otherwise keep them forever.
    var cacheNow: Instant { runtime.clock is FixedClock ? SystemClock().now : runtime.clock.now }
}
