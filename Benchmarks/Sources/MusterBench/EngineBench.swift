#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MusterCore
import MusterYAML

/// Engine throughput on one core: a long, realistic mix of commands (tasks done by their role holders,
/// eventless transitions, raised events, role handovers, notes, and a share of refused commands), fed to
/// `Run.execute` in a loop. Baseline measured in the same run: replaying the very events the commands
/// produced through `Run.apply` alone, which is the floor of what a command can cost.
///
/// Times are the benchmark thread's CPU time, not wall time: on a machine shared with other work (two cores and
/// several builds) wall time mostly measures the others; `scripts/bench-engine-vs` compares two engines this way.
enum EngineBench {
    static let playbookText = """
        muster: 1
        id: engine-bench
        version: 1
        title: Engine benchmark loop
        severity: P2
        roles:
          incident_commander: { title: Incident Commander }
          ops: { title: Operations lead }
          comms: { title: Communications lead }
        channels:
          bridge: { type: slack, url: "${MUSTER_BENCH_SLACK_URL}" }
        start: work
        states:
          work:
            phase: respond
            owner: ops
            tasks:
              - { id: a1, title: First task, role: ops }
              - { id: a2, title: Second task, role: comms }
            transitions:
              - { when: all_tasks_done, to: check }
          check:
            phase: recover
            owner: ops
            on_enter:
              - notify: bridge
                message: "{{state.title}} reached in {{run.title}}; ops is {{roles.ops}}"
            tasks:
              - { id: b1, title: Check, role: ops }
            transitions:
              - { on: again, when: tasks.b1.done, to: work }
              - { on: finish, to: closed }
          closed:
            phase: learn
            owner: incident_commander
            terminal: true
        """

    struct Counts {
        var commands = 0
        var rejected = 0
        var events = 0
    }

    static func run(commands total: Int) -> (seconds: Double, replaySeconds: Double, counts: Counts) {
        let loaded = PlaybookLoader.load(text: playbookText, file: "engine-bench.yaml")
        guard let playbook = loaded.playbook, !loaded.hasErrors else {
            fatalError(loaded.diagnostics.map(\.description).joined(separator: "\n"))
        }
        // The cycle of commands: valid ones that drive the loop, plus refused ones (wrong person, wrong state).
        let cycle: [Command] = [
            Command(actor: "Dana", .assign(role: "ops", person: "Lee")),
            Command(actor: "Dana", .assign(role: "comms", person: "Sam")),
            Command(actor: "Lee", .completeTask("a1", note: nil)),
            Command(actor: "Lee", .completeTask("a2", note: nil)),  // refused: comms task
            Command(actor: "Sam", .completeTask("a2", note: "done")),  // eventless transition to check
            Command(actor: "Sam", .note("status update for the bridge")),
            Command(actor: "Lee", .completeTask("b1", note: nil)),
            Command(actor: "Lee", .raise("again")),  // back to work
            Command(actor: "Kim", .completeTask("a1", note: nil)),  // refused: holds no role
            Command(actor: "Dana", .assign(role: "ops", person: "Kim")),  // handover
        ]
        var counts = Counts()
        var run = Run(playbook: playbook)
        var time = Instant(iso8601: "2026-01-01T09:00:00Z")!
        run.execute(Command(actor: "Dana", .start(StartRun(runID: "r-bench", mode: .live, title: "Bench"))), at: time)
        var produced: [RunEvent] = []
        produced.reserveCapacity(total * 2)
        let start = cpuSeconds()
        var i = 0
        while counts.commands < total {
            time = time + TimeSpan(milliseconds: 250)
            switch run.execute(cycle[i], at: time) {
            case .accepted(let events, _):
                counts.events += events.count
                produced.append(contentsOf: events)
            case .rejected:
                counts.rejected += 1
            }
            counts.commands += 1
            i = i + 1 == cycle.count ? 0 : i + 1
        }
        let seconds = cpuSeconds() - start

        var replay = Run(playbook: playbook)
        replay.execute(Command(actor: "Dana", .start(StartRun(runID: "r-bench", mode: .live, title: "Bench"))), at: Instant(iso8601: "2026-01-01T09:00:00Z")!)
        let replayStart = cpuSeconds()
        for event in produced { replay.apply(event) }
        let replaySeconds = cpuSeconds() - replayStart
        precondition(replay == run, "replay must rebuild the live state")
        return (seconds, replaySeconds, counts)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// This thread's CPU time.
    static func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}
