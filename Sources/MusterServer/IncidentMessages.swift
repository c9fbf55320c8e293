import Foundation
import Logging
import MusterCore
import MusterDelivery
import MusterNotify
import MusterRuntime
import ServiceLifecycle

/// Keeps the incident message of each bound chat channel current (docs/chat.md): posted once per channel, then
/// edited in place. Each pass looks at the open runs with bound channels (and the runs it was showing that have
/// closed since, for a last edit); each run's message goes to every channel ever bound to it, builds each one's `IncidentMessage` and sends what changed, at most once per
/// `incidentMessageInterval` per message: a burst of commands gives one edit per interval, not one per command.
/// The message is a view, not a notification: an edit that fails is not queued but superseded by the next one
/// (retried after a back-off), so nothing of the run is lost if the platform is down; the run's own
/// notifications still go through the durable outbox.
///
/// The platform's id of each posted message is journaled (`chat-message-posted`), so a restarted server, or the
/// one that takes over the timer pump's lease in a cluster, edits the same message rather than posting another.
/// Only the timer pump's holder publishes: one server edits each message.
final class IncidentMessagePublisher: @unchecked Sendable {
    struct Key: Hashable {
        var runID: String
        var binding: ChatChannelBinding
    }

    struct Entry {
        /// What was last sent (its time left out, so only a change of substance counts).
        var shown: IncidentMessage?
        var messageID: String?
        /// The message id is not in the journal yet (the database was down when it was posted).
        var unrecorded = false
        var sentAt: ContinuousClock.Instant?
        var retryAt: ContinuousClock.Instant?
        var failures = 0
    }

    /// What the publisher did, for tests and the benchmark.
    struct Counts: Sendable, Hashable {
        var posts = 0
        var edits = 0
        var failures = 0
    }

    unowned let state: ServerState
    /// The outbox's back-off, shorter: a message is a view, worth trying again soon (up to every 2 s at first,
    /// jittered, at most 5 minutes apart), or when the platform's `Retry-After` says.
    static let retries = RetryPolicy(base: .seconds(2), cap: .minutes(5), floor: .seconds(1))
    /// Nil when no platform has a bot token: nothing is posted, and no transport threads are started.
    let poster: ChatPoster?
    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]
    private var counts = Counts()

    init(state: ServerState) {
        self.state = state
        let settings = state.configuration.chatPosting
        poster = settings.isEmpty ? nil : ChatPoster(transport: CurlTransport(configuration: .init(maxConnectionsPerHost: 4, threads: 1)),
                                                     settings: settings, actions: state.configuration.chatCallbacks.mattermostActions)
    }

    var snapshotCounts: Counts {
        lock.withLock { counts }
    }

    /// One pass: every bound channel of the open runs (and of runs closed since the last pass) brought up to date.
    func pass() async {
        let settings = state.configuration.chatPosting
        guard let poster, state.leases.holdsPump else { return }
        // The open runs with bound channels, from the server's binding index (read from the journal at most every
        // second), and those shown before (a run closed since gets its last edit).
        guard let bound = try? state.boundRuns() else { return }
        var runIDs = bound.keys.sorted()
        let shown = lock.withLock { Set(entries.keys.map(\.runID)) }
        runIDs += shown.subtracting(runIDs).sorted()
        for runID in runIDs {
            guard let run = try? state.runtime.currentRun(runID: runID) else { continue }
            let bindings = run.chatChannels.keys.filter { settings.posts(to: $0.platform) }
            guard !bindings.isEmpty else { continue }
            let message = IncidentMessage(runID: runID, run: run, now: messageTime(runID: runID, run: run))
            for binding in bindings.sorted(by: { ($0.platform, $0.channel) < ($1.platform, $1.channel) }) {
                await publish(message, run: run, key: Key(runID: runID, binding: binding), poster: poster)
            }
            if run.status == .closed { forget(runID: runID) }
        }
    }

    /// Exercise runs are timed on their scenario clock: countdowns read it there (when this server drives it).
    func messageTime(runID: String, run: Run) -> Instant {
        guard run.mode == .exercise, let handle = state.exercise(runID) else { return state.now }
        handle.lock.lock()
        defer { handle.lock.unlock() }
        return handle.session.exercise.clock.scenarioTime(at: state.now)
    }

    func publish(_ message: IncidentMessage, run: Run, key: Key, poster: ChatPoster) async {
        let now = ContinuousClock.now
        let interval = state.configuration.incidentMessageInterval
        var substance = message
        substance.asOf = Instant(millisecondsSinceEpoch: 0)
        var entry = lock.withLock { entries[key] } ?? Entry()
        if entry.messageID == nil { entry.messageID = run.chatMessages[key.binding] }
        if entry.unrecorded, let id = entry.messageID { entry.unrecorded = !recordPosted(id, key: key) }
        let due = entry.shown != substance && (entry.sentAt.map { now - $0 >= interval } ?? true) && (entry.retryAt.map { now >= $0 } ?? true)
        guard due else { return store(entry, key) }

        let editing = entry.messageID
        var outcome = await poster.publish(message, in: key.binding, editing: editing)
        if case .gone = outcome { outcome = await poster.publish(message, in: key.binding, editing: nil) }
        switch outcome {
        case .posted(let id):
            entry.messageID = id
            entry.unrecorded = !recordPosted(id, key: key)
            fallthrough
        case .edited:
            entry.shown = substance
            entry.sentAt = now
            entry.retryAt = nil
            entry.failures = 0
            let posted = if case .posted = outcome { true } else { false }
            lock.withLock { if posted { counts.posts += 1 } else { counts.edits += 1 } }
        case .failed(let reason, let status, let retryAfter):
            entry.failures += 1
            let wait = Self.retries.delay(afterAttempt: entry.failures, key: "\(key.runID) \(key.binding.platform) \(key.binding.channel)",
                                          status: status, retryAfter: retryAfter, now: state.now)
            entry.retryAt = now + .milliseconds(wait.milliseconds)
            lock.withLock { counts.failures += 1 }
            state.logger.warning("incident message not sent", metadata: [
                "run": "\(key.runID)", "platform": "\(key.binding.platform)", "why": "\(reason)", "attempt": "\(entry.failures)"])
        case .gone:
            break
        }
        store(entry, key)
    }

    private func store(_ entry: Entry, _ key: Key) {
        lock.withLock { entries[key] = entry }
    }

    private func forget(runID: String) {
        // A closed run keeps an entry only while a last edit is still owed (it failed, or came too soon).
        lock.withLock {
            for (key, entry) in entries where key.runID == runID && entry.retryAt == nil && !entry.unrecorded && entry.shown?.closed == true {
                entries[key] = nil
            }
        }
    }

    /// Journals the posted message's id; false when the journal could not take it (tried again next pass).
    private func recordPosted(_ id: String, key: Key) -> Bool {
        do {
            try ChatCommands.appendFact(state, .chatMessagePosted(ChatMessagePosted(binding: key.binding, message: id)), on: key.runID, by: Command.system)
            return true
        } catch {
            state.logger.warning("incident message posted but not journaled yet", metadata: ["run": "\(key.runID)", "error": "\(error)"])
            return false
        }
    }
}

/// Runs the publisher's passes while the server runs (nothing at all without a bot token).
struct IncidentMessageService: ServiceLifecycle.Service {
    let publisher: IncidentMessagePublisher

    func run() async throws {
        let state = publisher.state
        guard publisher.poster != nil else {
            try? await gracefulShutdown()
            return
        }
        let tick = state.configuration.incidentMessageTick
        await cancelWhenGracefulShutdown {
            while !_Concurrency.Task.isCancelled && !_Concurrency.Task.isShuttingDownGracefully {
                await DatabaseExecutor.run { await publisher.pass() }
                try? await _Concurrency.Task.sleep(for: tick)
            }
        }
    }
}

/// Test and benchmark hooks: what the incident-message publisher did.
public enum IncidentMessageControl {
    public static func counts(_ state: ServerState) -> (posts: Int, edits: Int, failures: Int) {
        let c = state.incidentMessages.snapshotCounts
        return (c.posts, c.edits, c.failures)
    }

}
