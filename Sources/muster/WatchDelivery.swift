import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import MusterRuntime

/// The outbox worker inside `muster watch`: on a thread of its own (a slow receiver never delays a timer),
/// it runs a delivery pass whenever an item is due, and checks again every `interval`. The attempts it
/// records show up in the watched timeline like any other event. `stop()` lets the pass in progress finish
/// (its transfers are bounded by their timeouts) and waits for the thread.
final class WatchDelivery: @unchecked Sendable {
    private let worker: OutboxWorker
    private let journal: Journal
    private let clock: any MusterRuntime.Clock
    private let interval: TimeSpan
    private let lock = NSLock()
    private var stopping = false
    private let wake = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)
    private let report: @Sendable (String) -> Void

    init(journal: Journal, clock: any MusterRuntime.Clock, interval: TimeSpan = TimeSpan(milliseconds: 250),
         report: @escaping @Sendable (String) -> Void) {
        self.journal = journal
        self.clock = clock
        self.interval = interval
        self.report = report
        worker = OutboxWorker(journal: journal, transport: CurlTransport(), environment: DeliveryCLI.environment,
                              clock: { clock.now })
    }

    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "muster-outbox"
        thread.start()
    }

    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        wake.signal()
        _ = exited.wait(timeout: .now() + 60)
        worker.transport.shutdown()
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func loop() {
        defer { exited.signal() }
        while !isStopping {
            do {
                if try !journal.dueOutbox(now: clock.now, limit: 1, lease: worker.lease).isEmpty {
                    _ = try worker.deliverDueBlocking()
                    continue
                }
            } catch {
                report("notification delivery: \(error)")
            }
            _ = wake.wait(timeout: .now() + .milliseconds(Int(interval.milliseconds)))
        }
    }
}

extension DeliveryCLI {
    /// One warning line per `${VAR}` (or other setting) that would stop a channel of this run from sending: the
    /// channels the playbook notifies (on entry, by timers), as the run's mode routes them. The run starts
    /// anyway; its notifications wait in the outbox.
    static func unsetVariableWarnings(playbook: Playbook, mode: RunMode, environment: [String: String] = environment) -> [String] {
        var notified: [String] = []
        func note(_ id: String) { if !notified.contains(id) { notified.append(id) } }
        for timer in playbook.timers { if let id = timer.notify?.value { note(id) } }
        for state in playbook.states {
            for action in state.onEnter { if case .notify(let n) = action { note(n.channel.value) } }
            for timer in state.timers { if let id = timer.notify?.value { note(id) } }
        }
        var seen: Set<String> = []
        var lines: [String] = []
        for channel in playbook.channels where notified.contains(channel.id.value) {
            guard case .send(let target) = ChannelRouting.route(channel: channel.id.value, in: playbook, mode: mode),
                  seen.insert(target.id.value).inserted else { continue }
            for problem in ChannelPayloads.check(target, environment: environment) {
                lines.append("\(problem.message): its notifications cannot be sent until this is fixed (then `muster outbox retry`)")
            }
        }
        return lines
    }
}
