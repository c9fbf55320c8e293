import Foundation
import MusterCore
import MusterJournal
import MusterRuntime

/// Which open run each chat channel is bound to (docs/chat.md), kept in memory so that a slash command does not
/// read the open runs and their new events each time.
///
/// Built from the open runs' `chat-channel-bound` events (`Run.chatChannels`) and read again from the journal at
/// most every `refreshInterval` (other servers and processes bind too, and close runs); a binding made by this
/// server is in it at once. A channel follows its latest binding among the open runs (ties: the smaller run id,
/// as the journal lists them). A run this server knows to be closed (its runtime's copy says so, or the writer
/// found it closed) is never answered: its bindings end with it, and the channel falls back to the latest binding
/// among the other open runs.
public final class ChatBindingIndex: @unchecked Sendable {
    public static let refreshInterval = TimeSpan.seconds(1)

    private let lock = NSLock()
    /// Open runs with bound channels, as last read plus this server's own bindings since: run → channel → when.
    private var runs: [String: [ChatChannelBinding: Instant]] = [:]
    private var refreshedAt: Instant?
    private var refreshing = false
    /// This server's own bindings, numbered, so that a read of the journal that began before one was appended
    /// does not drop it (the read may not have seen it).
    private var own: [(number: Int, runID: String, binding: ChatChannelBinding, at: Instant)] = []
    private var numbered = 0

    /// The open run the chat channel is bound to; nil when none is.
    func boundRun(_ state: ServerState, platform: String, channel: String) throws -> String? {
        try refreshIfDue(state)
        while true {
            guard let runID = lock.withLock({ latest(platform: platform, channel: channel) }) else { return nil }
            if Self.isClosed(state, runID) {
                ended(runID)
                continue
            }
            return runID
        }
    }

    /// Every open run with a bound channel, with the channels that follow it (a channel bound again to another open
    /// run is that run's only), at most `refreshInterval` old: for whatever keeps the channels told (the incident
    /// message).
    func boundRuns(_ state: ServerState) throws -> [String: [ChatChannelBinding]] {
        try refreshIfDue(state)
        let current = lock.withLock { runs }
        var latest: [ChatChannelBinding.Channel: (runID: String, binding: ChatChannelBinding, at: Instant)] = [:]
        for (runID, bindings) in current where !Self.isClosed(state, runID) {
            for (binding, at) in bindings {
                if let found = latest[binding.key], !Self.later(at, runID, than: found.at, found.runID) { continue }
                latest[binding.key] = (runID, binding, at)
            }
        }
        var out: [String: [ChatChannelBinding]] = [:]
        for found in latest.values { out[found.runID, default: []].append(found.binding) }
        return out.mapValues { $0.sorted { ($0.platform, $0.channel) < ($1.platform, $1.channel) } }
    }

    /// This server bound `binding` to `runID` (the event is in the journal): commands there act on it from now on.
    func bound(_ binding: ChatChannelBinding, to runID: String, at: Instant) {
        lock.withLock {
            numbered += 1
            own.append((numbered, runID, binding, at))
            runs[runID, default: [:]][binding] = at
        }
    }

    /// `runID` is closed: its bindings end.
    func ended(_ runID: String) {
        lock.withLock { runs[runID] = nil }
    }

    /// Reads the open runs' bindings from the journal (through the runtime's copies of the runs: one indexed read
    /// of what was appended to each since), when the last read is `refreshInterval` old. While one request reads,
    /// the others use the last read.
    private func refreshIfDue(_ state: ServerState) throws {
        let now = state.cacheNow
        let start: Int? = lock.withLock {
            let due = refreshedAt.map { now < $0 || now >= $0 + Self.refreshInterval } ?? true
            guard due, !refreshing || refreshedAt == nil else { return nil }
            refreshing = true
            return numbered
        }
        guard let start else { return }
        var read: [String: [ChatChannelBinding: Instant]] = [:]
        do {
            for open in try state.journal.openRuns() {
                guard let run = try? state.runtime.currentRun(runID: open.id), run.status != .closed, !run.chatChannels.isEmpty else { continue }
                read[open.id] = run.chatChannels
            }
        } catch {
            lock.withLock { refreshing = false }
            throw error
        }
        lock.withLock {
            for entry in own where entry.number > start {
                if let known = read[entry.runID]?[entry.binding], known >= entry.at { continue }
                read[entry.runID, default: [:]][entry.binding] = entry.at
            }
            own.removeAll { $0.number <= start }
            runs = read
            refreshedAt = now
            refreshing = false
        }
    }

    /// The run of the latest binding of the channel (call with `lock` held).
    private func latest(platform: String, channel: String) -> String? {
        var found: (runID: String, at: Instant)?
        for (runID, bindings) in runs {
            for (binding, at) in bindings where binding.platform == platform && binding.channel == channel {
                if let best = found, !Self.later(at, runID, than: best.at, best.runID) { continue }
                found = (runID, at)
            }
        }
        return found?.runID
    }

    /// Whether a binding at `at` on `runID` wins over one at `other` on `otherRun`: the later; on a tie the smaller
    /// run id (the first of the journal's open runs, which are listed by id).
    private static func later(_ at: Instant, _ runID: String, than other: Instant, _ otherRun: String) -> Bool {
        at > other || (at == other && runID < otherRun)
    }

    /// Closed as this server knows it (its runtime's copy of the run, without reading the journal once loaded),
    /// or gone.
    private static func isClosed(_ state: ServerState, _ runID: String) -> Bool {
        guard let run = try? state.runtime.remembered(runID: runID) else { return true }
        return run.status == .closed
    }
}

extension ChatChannelBinding {
    /// A chat channel on its platform (the team is not part of it: a channel id is unique on its platform).
    struct Channel: Hashable {
        var platform: String
        var channel: String
    }

    var key: Channel { Channel(platform: platform, channel: channel) }
}

extension ServerState {
    /// Every open run with a bound chat channel and the channels bound to it (each channel at its latest binding
    /// among the open runs), at most `ChatBindingIndex.refreshInterval` old; reads the journal at most that often.
    public func boundRuns() throws -> [String: [ChatChannelBinding]] {
        try chatBindings.boundRuns(self)
    }
}
