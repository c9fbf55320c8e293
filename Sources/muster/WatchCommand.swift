import ArgumentParser
import Dispatch
import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import MusterRuntime

/// `muster watch [RUN]`: fires timers as they come due and shows the run live, until Ctrl-C or SIGTERM.
struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Fire a run's timers as they come due and show it live (Ctrl-C to stop).",
        discussion: """
            Sleeps until the next timer is due, waking at least every 500 ms to show what other terminals recorded.
            Delivers the outbox's due notifications meanwhile (all runs), as `muster outbox deliver` does.
            With --plain, prints each appended event on its own line instead of redrawing (for logs).
            A run with acknowledgements or roll calls also shows them: who acknowledged and when, or the next
            escalation; each roll call's tally against its `within`, and who is still unaccounted for.
            Stops between two steps on SIGINT or SIGTERM, so nothing is half-written, and exits 0.
            Ends by itself once the run is closed and its last notifications are delivered or dead-lettered (it says
            so while it waits for them).
            """
    )

    @Argument(help: "The run (default: the one open run, else the latest).") var runName: String?
    @OptionGroup var target: RunOption
    @Flag(help: "Print appended events line by line instead of redrawing the screen.") var plain = false
    @Option(help: "How many recent timeline events the live view shows.") var events = 10

    /// Unaccounted names shown per roll call before "and N more" (one screen line's worth).
    static let hearingBackNames = 8

    func run() throws {
        let runtime = try IncidentCLI.runtime()
        let record = try IncidentCLI.resolve(runtime, try target.or(runName))
        let stop = StopSignal()
        let sources = stop.install(signals: [SIGINT, SIGTERM])
        defer { sources.forEach { $0.cancel() } }

        let pump = TimerPump(runtime: runtime, runID: record.id, reportedFrom: plain ? record.lastSequence : 0)
        var recent: [String] = []
        // What became of the personal messages, from every event the pump reports (the whole run at first).
        var reach = HearingBackReach()
        if plain {
            IncidentCLI.out("watching \(record.id) from event #\(record.lastSequence) (Ctrl-C to stop)")
            fflush(nil)
        }
        // The outbox worker, on a thread of its own: the attempts it records show up in the watched timeline.
        let clock = runtime.clock
        let delivery = DeliveryLoop(
            worker: OutboxWorker(journal: runtime.journal, transport: CurlTransport(), environment: DeliveryCLI.environment,
                                 answerLinkBase: DeliveryCLI.publicURL, clock: { clock.now }),
            idleCheck: TimeSpan(milliseconds: 250), onError: { IncidentCLI.printError($0) })
        delivery.start()
        defer { delivery.stop() }
        // A closed run has nothing left to watch once its outbox is settled.
        var closed = false
        var announced = -1
        func settled() -> Bool {
            guard closed else { return false }
            let open = (try? runtime.journal.outboxItems(statuses: [.pending, .sending, .failed], runID: record.id).count) ?? 0
            if open > 0, open != announced {
                announced = open
                IncidentCLI.out("run \(record.id) is closed; delivering its last \(open) notification\(open == 1 ? "" : "s") before stopping (Ctrl-C stops now)")
                fflush(nil)
            }
            return open == 0
        }
        do {
            try pump.run(
                shouldStop: { stop.isStopped || settled() },
                sleep: { stop.sleep($0) },
                onStep: { step in
                    if plain {
                        for event in step.appended { IncidentCLI.out(RunText.line(event)) }
                    } else {
                        for stored in step.appended { reach.record(stored.event) }
                        recent.append(contentsOf: step.appended.map(RunText.line))
                        if recent.count > events { recent.removeFirst(recent.count - events) }
                        var screen = "\u{1B}[H\u{1B}[2J"
                        screen += RunText.status(step.snapshot, now: step.now).joined(separator: "\n")
                        let heard = RunText.hearingBack(step.snapshot.run, now: step.now, reach: reach, maxNames: Self.hearingBackNames)
                        if !heard.isEmpty { screen += "\n" + heard.joined(separator: "\n") }
                        screen += "\nlast events\n" + recent.map { "  " + $0 }.joined(separator: "\n")
                        screen += "\n\nwatching \(record.id) at \(step.now.iso8601) (Ctrl-C to stop)\n"
                        print(screen, terminator: "")
                    }
                    if let rejection = step.timerRejection { IncidentCLI.printError("a due timer could not fire: \(rejection.reason)") }
                    if step.snapshot.run.status == .closed { closed = true }
                    fflush(nil)
                })
        } catch {
            throw IncidentCLI.fail(error)
        }
        if closed, !stop.isStopped {
            IncidentCLI.out("run \(record.id) is closed: stopped watching")
        } else if plain {
            IncidentCLI.out("stopped watching \(record.id)")
        }
        fflush(nil)
    }
}

/// Turns SIGINT and SIGTERM into a flag checked between pump steps, and cuts the pump's sleep short.
final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private let wake = DispatchSemaphore(value: 0)
    private let queue = DispatchQueue(label: "muster.watch.signals")

    var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
        wake.signal()
    }

    func sleep(_ span: TimeSpan) {
        guard span.milliseconds > 0, !isStopped else { return }
        _ = wake.wait(timeout: .now() + .milliseconds(Int(span.milliseconds)))
    }

    /// The default action of these signals would kill the process mid-append: ignore them and handle them
    /// on a dispatch queue instead.
    func install(signals: [Int32]) -> [any DispatchSourceSignal] {
        signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [weak self] in self?.stop() }
            source.resume()
            return source
        }
    }
}
