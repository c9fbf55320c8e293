import Foundation
import MusterCore
import MusterJournal
import MusterReports
import MusterYAML

/// `muster-bench report`: the after-action report of a run of 100,000 events, in HTML and JSON.
/// Times the render alone (events in memory) and the whole `muster report` path (read the journal, verify the
/// chain, render); peak memory is VmHWM from /proc/self/status, reset before each phase through
/// /proc/self/clear_refs. Targets: under 2 s and under 200 MB.
enum ReportBench {
    static let playbookText = """
        muster: 1
        id: bench-report
        version: 1
        title: Benchmark playbook
        services:
          shares: { title: File shares, rto: 4h, rpo: 1h, mtpd: 24h }
          identity: { title: Sign-in, rto: 2h, mtpd: 8h }
        roles:
          incident_commander: Incident commander
          ops: Operations lead
        channels:
          bridge: { type: webhook, url: "https://example.com/hook" }
        start: triage
        states:
          triage: { phase: [detect, assess], marks: [detected], transitions: [{ on: confirmed, to: contain }] }
          contain: { phase: respond, marks: [declared, contained], transitions: [{ on: lost, to: triage }, { on: fixed, to: recover }] }
          recover: { phase: recover, marks: [recovered], transitions: [{ on: done, to: closed }] }
          closed: { phase: learn, marks: [closed], terminal: true }

        """

    /// A long, busy run: loops between triage and contain, tasks, notes, timers, notifications, decisions.
    static func events(count: Int, start: Instant) -> [RunEvent] {
        var out: [RunEvent] = []
        out.reserveCapacity(count)
        out.append(RunEvent(at: start, actor: "Dana", role: nil, .runStarted(RunStarted(
            runID: "r-bench1", playbookID: "bench-report", playbookVersion: 1, mode: .exercise,
            title: "A very long exercise", severity: .p1, disruptionStart: start - .minutes(20)))))
        out.append(RunEvent(at: start, actor: "Dana", role: nil, .roleAssigned(role: "incident_commander", person: "Dana")))
        out.append(RunEvent(at: start, actor: "Dana", role: "incident_commander", .stateEntered(state: "triage", from: nil, cause: .start)))
        out.append(RunEvent(at: start, actor: "Dana", role: "incident_commander", .markSet(.detected)))
        var t = start
        var i = 0
        while out.count < count - 3 {
            t = t + .seconds(3)
            i += 1
            let body: RunEvent.Body
            switch i % 10 {
            case 0: body = .stateEntered(state: i % 20 == 0 ? "contain" : "triage", from: nil, cause: .event("confirmed"))
            case 1: body = .noteAdded(text: "Status update \(i): still working on <the NAS> & \"shares\"")
            case 2: body = .taskCompleted(task: "task-\(i % 7)", note: "evidence \(i)")
            case 3: body = .timerFired(key: TimerKey(id: "reminder", instance: i), due: t, lateBy: .zero)
            case 4: body = .notificationQueued(Notification(id: "n\(i)", channel: "bridge", message: "Reminder \(i)", trigger: "timer:reminder"))
            case 5: body = .eventRaised(name: "confirmed")
            case 6: body = .decisionMade(decision: "go", option: "yes", rationale: "because \(i)", byDefault: i % 3 == 0)
            case 7: body = .roleAssigned(role: "ops", person: "Lee \(i % 5)")
            case 8: body = .lessonRecorded(Lesson(text: "Lesson \(i)", kind: .improvement, rootCause: "cause-\(i % 4)"))
            default: body = .timerArmed(key: TimerKey(id: "reminder", instance: i + 1), due: t + .minutes(5), repeatEvery: nil)
            }
            out.append(RunEvent(at: t, actor: i % 3 == 0 ? "muster" : "Dana", role: i % 3 == 0 ? nil : "incident_commander", body))
        }
        out.append(RunEvent(at: t + .minutes(1), actor: "Dana", role: "incident_commander", .stateEntered(state: "recover", from: "contain", cause: .event("fixed"))))
        out.append(RunEvent(at: t + .minutes(1), actor: "Dana", role: "incident_commander", .markSet(.recovered)))
        out.append(RunEvent(at: t + .minutes(2), actor: "Dana", role: "incident_commander", .runClosed(reason: "done")))
        return out
    }

    static func peakMB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return -1 }
        return kb / 1024
    }

    static func resetPeak() {
        // Writing 5 resets the peak resident set size (Linux 4.0+).
        if let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            handle.write(Data("5".utf8))
            try? handle.close()
        }
    }

    static func measure(_ name: String, _ body: () throws -> Int) rethrows {
        resetPeak()
        let clock = ContinuousClock()
        let started = clock.now
        let bytes = try body()
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let peak = peakMB()
        let verdict = seconds < 2 && peak < 200 ? "ok" : "OVER TARGET"
        print("  \(name.padding(toLength: 44, withPad: " ", startingAt: 0)) \(MusterBench.format(seconds, 3)) s  peak \(MusterBench.format(peak, 1)) MB  output \(MusterBench.format(Double(bytes) / 1_048_576, 1)) MB  [\(verdict)]")
    }

    static func run() throws {
        let count = 100_000
        let start = Instant(iso8601: "2026-03-06T17:40:00Z")!
        let loaded = PlaybookLoader.load(text: playbookText, file: "bench.yaml")
        guard let playbook = loaded.playbook, !loaded.hasErrors else { fatalError("\(loaded.diagnostics)") }
        let events = events(count: count, start: start)
        print("report: a run of \(events.count) events (targets: < 2 s, < 200 MB peak RSS per phase)")
        let reportRun = ReportRun(id: "r-bench1", title: "A very long exercise", playbookID: "bench-report", playbookVersion: 1,
                                  playbookSHA256: String(repeating: "0", count: 64), mode: .exercise, createdAt: start)
        let integrity = ReportIntegrity(headHash: String(repeating: "0", count: 64), eventCount: events.count, intact: true, checkedAt: start)
        let numbered = events.enumerated().map { ReportEvent(seq: $0.offset + 1, event: $0.element) }
        measure("render HTML (events in memory)") {
            ReportHTML.bytes(RunReport(run: reportRun, playbook: playbook, events: numbered, integrity: integrity, generatedAt: start)).count
        }
        measure("render JSON (events in memory)") {
            ReportJSON.bytes(RunReport(run: reportRun, playbook: playbook, events: numbered, integrity: integrity, generatedAt: start)).count
        }

        // The whole path of `muster report`: a real journal file.
        let folder = NSTemporaryDirectory() + "muster-bench-report-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        do {
            let journal = try Journal.open(home: folder, durability: .normal)
            try journal.createRun(RunHeader(id: "r-bench1", playbookID: "bench-report", playbookVersion: 1, playbookText: playbookText,
                                            mode: .exercise, title: "A very long exercise", createdAt: start), events: events)
            try journal.close()
        }
        for format in ["HTML", "JSON"] {
            try measure("journal → verify → \(format) (muster report path)") {
                let journal = try Journal.open(home: folder, durability: .normal, create: false)
                defer { try? journal.close() }
                let record = try journal.run("r-bench1")
                let verification = try journal.verify(runID: record.id)
                let bodies = try journal.events(runID: record.id)
                let scenario = try journal.scenarioTimes(runID: record.id)
                let pinned = PlaybookLoader.load(text: record.playbookText, file: "pinned.yaml", semanticChecks: false).playbook!
                let report = RunReport(
                    run: ReportRun(id: record.id, title: record.title, playbookID: record.playbookID, playbookVersion: record.playbookVersion,
                                   playbookSHA256: record.playbookSHA256, mode: record.mode, createdAt: record.createdAt),
                    playbook: pinned, events: bodies.indices.map { ReportEvent(seq: $0 + 1, event: bodies[$0], scenarioTime: scenario[$0]) },
                    integrity: ReportIntegrity(headHash: verification.headHash, eventCount: verification.eventCount,
                                               intact: verification.isIntact, checkedAt: start),
                    generatedAt: start)
                return format == "HTML" ? ReportHTML.bytes(report).count : ReportJSON.bytes(report).count
            }
        }
    }
}
