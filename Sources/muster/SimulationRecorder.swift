import Foundation
import MusterCore
import MusterJournal

/// `muster simulate --record`: journals a simulated exercise run, so that `muster report` and the improvement
/// log can use it. Events keep their virtual-clock times; the run row's creation time is the virtual start.
enum SimulationRecorder {
    static func record(_ result: SimulationResult, playbookText: String, playbook: Playbook) throws {
        var events = result.events
        guard let first = events.first, case .runStarted(var started) = first.body else {
            throw Console.fail("the simulation did not start a run; nothing recorded")
        }
        guard started.mode == .exercise else {
            throw Console.fail("--record keeps only exercise runs: a simulation is not a live incident (set start.mode: exercise in the script)")
        }
        do {
            let journal = try Journal.open(JournalChoice.location)
            defer { try? journal.close() }
            let id = try journal.makeRunID()
            started.runID = id
            events[0].body = .runStarted(started)
            let header = RunHeader(id: id, playbookID: playbook.id.value, playbookVersion: playbook.version, playbookText: playbookText,
                                   mode: .exercise, title: started.title, createdAt: first.at)
            try journal.createRun(header, events: events)
            Console.err("recorded run \(id) (\(events.count) events) in \(journal.path)\n")
        } catch {
            throw Console.fail(error.description)
        }
    }
}
