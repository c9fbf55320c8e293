import Foundation
import MusterCore
import MusterJournal
import MusterRuntime

/// Group commit for `POST /api/runs/{id}/commands` on live runs. Request handlers hand their command over and
/// await the answer; one serial queue (its own threads, not Swift's cooperative pool, so synchronous SQLite
/// writes and fsyncs never starve the HTTP server's tasks) takes every command waiting for a run and runs them as
/// one batch: permission check and engine decision one after another against the state the previous ones left,
/// one journal transaction (`IncidentRuntime.executeBatch`), then each handler gets its own events or refusal.
/// Under load a batch holds many commands and costs one fsync; alone, a command is a batch of one.
final class CommandWriter: @unchecked Sendable {
    typealias Outcome = Result<CommandResult, any Error>

    private struct Pending {
        let user: UserRecord
        let action: Command.Action
        let key: CommandKey?
        /// A person answering their own personal message (a chat button, an SMS reply), authenticated by the
        /// platform's signature: a restricted run does not hide itself from someone it asked.
        let personal: Bool
        /// Refused on a closed run even when a note (which the API takes on a closed run): a command sent to the
        /// run a chat channel is bound to, whose binding ends when the run closes.
        let openOnly: Bool
        let continuation: CheckedContinuation<Outcome, Never>
    }

    private unowned let state: ServerState
    private let queue = DispatchQueue(label: "muster.command-writer")
    private let lock = NSLock()
    private var pending: [String: [Pending]] = [:]
    private var order: [String] = []   // runs with pending commands, oldest first
    private var draining = false
    /// Idempotency keys (user and key) of commands waiting or being written here: the same key again meanwhile is
    /// a 409, so that one batch never holds a key twice.
    private var keysInFlight: Set<[String]> = []
    /// Task and decision roles per run (a run's playbook never changes): the permission check without scanning
    /// the playbook per command.
    private var roles: [String: RoleIndex] = [:]

    init(state: ServerState) {
        self.state = state
    }

    /// Runs `action` as `user` on `runID` with whatever else is waiting for that run; the run's events, or the
    /// error the route maps to a status (404 unknown or hidden run, 403 with why, 409 closed run).
    /// With `key`, the command is applied at most once (see `IdempotencyKeys`); a stored key comes back as a result
    /// with `replayed`.
    func submit(runID: String, user: UserRecord, action: Command.Action, key: CommandKey? = nil, personal: Bool = false,
                openOnly: Bool = false) async -> Outcome {
        await withCheckedContinuation { continuation in
            lock.lock()
            if let key {
                guard keysInFlight.insert([key.user, key.key]).inserted else {
                    lock.unlock()
                    continuation.resume(returning: .failure(APIError(409, "a request with Idempotency-Key '\(key.key)' is still being handled; retry in a moment")))
                    return
                }
            }
            if pending[runID] == nil { order.append(runID) }
            pending[runID, default: []].append(Pending(user: user, action: action, key: key, personal: personal, openOnly: openOnly, continuation: continuation))
            let start = !draining
            draining = true
            lock.unlock()
            if start { queue.async { self.drain() } }
        }
    }

    private func drain() {
        while true {
            lock.lock()
            guard !order.isEmpty else {
                draining = false
                lock.unlock()
                return
            }
            let runID = order.removeFirst()
            let batch = pending.removeValue(forKey: runID) ?? []
            lock.unlock()
            let outcomes = run(batch, on: runID)
            lock.lock()
            for case let key? in batch.map(\.key) { keysInFlight.remove([key.user, key.key]) }
            lock.unlock()
            for (item, outcome) in zip(batch, outcomes) { item.continuation.resume(returning: outcome) }
        }
    }

    private func run(_ batch: [Pending], on runID: String) -> [Outcome] {
        // The per-run lock keeps the timer pump (and exercise controls) from racing this batch in this process.
        let lock = state.runLock(runID)
        lock.lock()
        defer { lock.unlock() }
        var refusals = [APIError?](repeating: nil, count: batch.count)
        do {
            let restricted = try state.journal.isRestricted(runID: runID)
            let facilitator = state.exercise(runID)?.facilitator
            var index: RoleIndex?
            let keys = batch.map(\.key)
            let results = try state.runtime.executeBatch(batch.map { Command(actor: $0.user.name, $0.action) },
                                                         keys: keys.contains { $0 != nil } ? keys : [], on: runID) { i, run in
                if index == nil { index = roleIndex(runID, run.playbook) }
                let access = RunAccess(holders: run.holders, restricted: restricted && !batch[i].personal, facilitator: facilitator, commanderRole: run.commanderRole)
                refusals[i] = Permissions.decide(index!.action(batch[i].action), by: batch[i].user.name, on: access).refusal(runID: runID)
                if refusals[i] == nil, run.status == .closed, !batch[i].action.isNote || batch[i].openOnly {
                    refusals[i] = APIError(409, "run \(runID) is closed")
                }
                return refusals[i] == nil
            }
            let effects = results.compactMap { $0 }.flatMap(\.allEffects)
            if results.contains(where: { $0?.sequences != nil }) {
                var appended: [(RunEvent, WrittenEvent)] = []
                for case let result? in results where result.written.count == result.timerEvents.count + result.events.count {
                    appended += zip(result.timerEvents + result.events, result.written).map { ($0, $1) }
                    for followUp in result.followUps where followUp.written.count == followUp.timerEvents.count + followUp.events.count {
                        appended += zip(followUp.timerEvents + followUp.events, followUp.written).map { ($0, $1) }
                    }
                }
                state.hub.appended(runID: runID, appended)
                state.wrote(runID: runID, effects: effects)
            }
            return results.indices.map { i in
                if let result = results[i] { return .success(result) }
                return .failure(refusals[i] ?? APIError(500, "command neither decided nor refused"))
            }
        } catch RuntimeError.journal(.unknownRun) {
            return batch.map { _ in .failure(APIError.notFound("no run '\(runID)'")) }
        } catch {
            return batch.map { _ in .failure(error) }
        }
    }

    private func roleIndex(_ runID: String, _ playbook: Playbook) -> RoleIndex {
        if let known = roles[runID] { return known }
        let made = RoleIndex(playbook)
        if roles.count >= 1_024 { roles.removeAll() }  // bounded; an index is rebuilt from the playbook on demand
        roles[runID] = made
        return made
    }

    /// Runs with a role index or pending commands (bounded: see `roleIndex`; pending entries leave with their batch).
    var trackedRuns: Int {
        lock.lock()
        let waiting = pending.count
        lock.unlock()
        return waiting + queue.sync { roles.count }
    }
}

extension Command.Action {
    var isNote: Bool { if case .note = self { true } else { false } }
}
