// The engine benchmark's driver for `scripts/bench-engine-vs`: the same `EngineBench` (copied beside this file
// from ../Sources/MusterBench) built against two revisions of MusterCore. It prints raw figures for the script
// to compare: best decide+apply commands/s, best apply-only events/s, and the workload's counters (which must
// be the same on both sides, or the two engines did not do the same work).
@main
struct EngineVersus {
    static func main() {
        let rounds = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 3 : 3
        // A smaller count for profiling under valgrind.
        let total = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 1_000_000 : 1_000_000
        var bestCommands = 0.0, bestEvents = 0.0
        var counts = EngineBench.Counts()
        for _ in 0..<rounds {
            let r = EngineBench.run(commands: total)
            bestCommands = max(bestCommands, Double(r.counts.commands) / r.seconds)
            bestEvents = max(bestEvents, Double(r.counts.events) / r.replaySeconds)
            counts = r.counts
        }
        print("commands/s \(bestCommands) events/s \(bestEvents) commands \(counts.commands) refused \(counts.rejected) events \(counts.events)")
    }
}
