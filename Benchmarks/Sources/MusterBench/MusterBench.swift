import Foundation
import MusterCore
import MusterYAML
import Yams

/// Benchmarks report ratios against a baseline measured in the same run, on the same machine,
/// so that the figures mean something on another machine too.
@main
struct MusterBench {
    static func main() throws {
        let which = CommandLine.arguments.dropFirst().first ?? "all"
        switch which {
        case "playbooks": try playbooks()
        case "engine": engine()
        case "journal": try journal()
        case "exercise": try exercise()
        case "report": try ReportBench.run()
        case "notify": try NotifyBench.run()
        case "notify-outbox": try NotifyBench.runOutboxOnly()
        case "serve": try ServeBench.runBackends()  // SQLite and PostgreSQL
        case "serve-sqlite": try ServeBench.run()
        case "serve-cluster": try ServeClusterBench.run(Array(CommandLine.arguments.dropFirst(2)))  // SQLite, PostgreSQL, 2 servers on PostgreSQL
        case "readiness": try ReadinessBench.run()
        case "rollcall": try RollCallBench.run()
        case "links": try AnswerLinkBench.run()  // answers through /a/TOKEN vs /healthz, tally at 10,000 answers
        case "chat": try ChatBench.run()
        case "all":
            // Each in a fresh process of its own: memory one benchmark keeps (malloc does not give it all back)
            // would count in the next one's peak RSS, and its threads would compete with the next one's work.
            var failed: [String] = []
            for name in ["playbooks", "engine", "journal", "exercise", "report", "readiness", "notify", "rollcall", "chat", "serve", "serve-cluster", "links"] {
                if try runFresh(name) != 0 { failed.append(name) }
            }
            if !failed.isEmpty {
                print("failed: \(failed.joined(separator: ", "))")
                exit(1)
            }
        default:
            print("usage: muster-bench [playbooks|engine|journal|exercise|report|readiness|notify|rollcall|chat|notify-outbox [ROUNDS]|serve|serve-sqlite|serve-cluster [SECONDS] [CONNECTIONS]|links|all]")
        }
    }

    /// Runs `muster-bench NAME` (this executable) and waits for it; its output goes straight to ours.
    static func runFresh(_ name: String) throws -> Int32 {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = [name]
        try child.run()
        child.waitUntilExit()
        return child.terminationStatus
    }

    /// Best of `rounds` timings, in seconds: the minimum is the least disturbed by the other core's work.
    static func best(rounds: Int = 3, _ body: () throws -> Void) rethrows -> Double {
        var best = Double.infinity
        for _ in 0..<rounds {
            let clock = ContinuousClock()
            let start = clock.now
            try body()
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            best = min(best, seconds)
        }
        return best
    }

    static func format(_ value: Double, _ digits: Int = 2) -> String {
        var factor = 1.0
        for _ in 0..<digits { factor *= 10 }
        let rounded = (value * factor).rounded() / factor
        return String(rounded)
    }

    static func playbooks() throws {
        let count = 1000, states = 50
        let texts = (0..<count).map { PlaybookGenerator.playbook(index: $0, states: states) }
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        // Sanity: every generated playbook must be clean, or we would be timing error paths.
        for (i, text) in texts.prefix(5).enumerated() {
            let (node, syntax) = YAMLSource.parse(text, file: "generated-\(i).yaml")
            let (playbook, decoded) = PlaybookDecoder.decode(node!)
            let findings = syntax + decoded + (playbook.map(PlaybookValidator.validate) ?? [])
            if findings.hasErrors || playbook == nil {
                print(findings.map(\.description).joined(separator: "\n"))
                fatalError("generated playbook \(i) does not validate")
            }
        }

        let parseOnly = try best {
            for text in texts { _ = try Yams.compose(yaml: text) }
        }
        let full = best {
            for (i, text) in texts.enumerated() {
                let (node, _) = YAMLSource.parse(text, file: "generated-\(i).yaml")
                let (playbook, _) = PlaybookDecoder.decode(node!)
                if let playbook { _ = PlaybookValidator.validate(playbook) }
            }
        }
        let overhead = full / parseOnly - 1
        print("playbooks: \(count) playbooks x \(states) states, \(bytes / 1024) KiB of YAML")
        print("  Yams parse only (baseline):        \(format(parseOnly * 1000 / Double(count), 3)) ms per playbook")
        print("  load + decode + validate (Muster): \(format(full * 1000 / Double(count), 3)) ms per playbook")
        print("  validation adds \(format(overhead * 100, 1))% on top of parsing (target: at most 50%)")
    }

    static func engine() {
        let total = 1_000_000
        var best: (seconds: Double, replaySeconds: Double, counts: EngineBench.Counts)?
        for _ in 0..<3 {
            let r = EngineBench.run(commands: total)
            if best == nil || r.seconds < best!.seconds { best = r }
        }
        let r = best!
        let perSecond = Double(r.counts.commands) / r.seconds
        print("engine: \(r.counts.commands) commands (\(r.counts.rejected) refused), \(r.counts.events) events, one core")
        print("  decide + apply:          \(format(perSecond / 1_000_000, 2)) million commands per second (target: at least 1)")
        print("  apply only (baseline):   \(format(Double(r.counts.events) / r.replaySeconds / 1_000_000, 2)) million events per second")
        print("  a command costs \(format(r.seconds / r.replaySeconds, 2))x replaying the events it produced")
        print("  (CPU time of the benchmark thread; against the first version of this benchmark, target 1.4x: scripts/bench-engine-vs b9bd783)")
    }

    static func exercise() throws {
        var best: ExerciseBench.Result?
        for _ in 0..<3 {
            let r = try ExerciseBench.run()
            if best == nil || r.exerciseSeconds < best!.exerciseSeconds { best = r }
        }
        let r = best!
        print("exercise: 8h scenario, \(ExerciseBench.injects) injects, \(ExerciseBench.actions) scripted player actions at speed max (ratings \(r.ratings))")
        print("  exercise run, journal included:      \(format(r.exerciseSeconds * 1000, 1)) ms wall, \(r.exerciseEvents) events journaled")
        print("  bare engine + journal (baseline):    \(format(r.bareSeconds * 1000, 1)) ms wall, \(r.bareEvents) events journaled")
        print("  ratio: \(format(r.exerciseSeconds / r.bareSeconds, 2))x the bare engine with its journal writes (target: within 3x)")
        print("  in memory, no journal: exercise \(format(r.exerciseMemorySeconds * 1000, 1)) ms, bare engine \(format(r.bareMemorySeconds * 1000, 1)) ms (\(format(r.exerciseMemorySeconds / r.bareMemorySeconds, 1))x)")
        print("  journal share of the exercise run: \(format((1 - r.exerciseMemorySeconds / r.exerciseSeconds) * 100, 1))%")
    }
}
