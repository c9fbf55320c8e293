#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MusterCore
import MusterJournal
import MusterYAML

/// A mutation fuzzer for every parser that takes outside input, without libFuzzer: the campaign's inputs come from
/// the bundled playbooks and exercises, mutated with the bytes and words each language is made of.
///
///     muster-fuzz TARGET [--seconds N] [--seed S] [--out DIR]    run a campaign (a supervisor and a worker process)
///     muster-fuzz TARGET --replay FILE                            run one input in this process
///     muster-fuzz list                                            the targets
///
/// The supervisor starts a worker process that runs inputs in a loop; before each one the worker writes it to
/// `DIR/current.input`, so a crash (a signal, a Swift trap, a stack overflow) leaves its reproducer behind: the
/// supervisor copies it to `DIR/crash-N.input` and starts a fresh worker. A watchdog thread in the worker ends it
/// when one input has used more than 1 s of CPU (`hang-N.input`) or the process grows more than 256 MB past its
/// size when the input started (`memory-N.input`: `/proc/self/statm` every 20 ms, and the peak RSS after each
/// input when that input raised it). Exit status 0 when nothing was found, 1 otherwise.
@main
struct MusterFuzz {
    static func main() throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, name != "-h", name != "--help" else { usage(0) }
        arguments.removeFirst()
        if name == "list" {
            for target in Targets.all { print("\(target.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(target.summary)") }
            return
        }
        guard let target = (Targets.all + [Targets.selftest]).first(where: { $0.name == name }) else {
            FileHandle.standardError.write(Data("muster-fuzz: unknown target '\(name)' (muster-fuzz list)\n".utf8))
            exit(2)
        }
        var seconds = 60.0
        var seed: UInt64 = UInt64(Date().timeIntervalSince1970)
        var out = "/tmp/muster-fuzz/\(target.name)"
        var replay: String?
        var worker = false
        while !arguments.isEmpty {
            let option = arguments.removeFirst()
            func value() -> String {
                guard !arguments.isEmpty else { usage(2) }
                return arguments.removeFirst()
            }
            switch option {
            case "--seconds": seconds = Double(value()) ?? seconds
            case "--seed": seed = UInt64(value()) ?? seed
            case "--out": out = value()
            case "--replay": replay = value()
            case "--worker": worker = true
            default: usage(2)
            }
        }
        if let replay {
            guard let data = FileManager.default.contents(atPath: replay) else { fatalError("cannot read \(replay)") }
            let features = target.run(Array(data))
            print("\(target.name): \(replay) ran; \(features.count) findings: \(features.sorted().joined(separator: "; "))")
            return
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        if worker {
            Worker(target: target, folder: out, seed: seed, deadline: Date().addingTimeInterval(seconds)).run()
        } else {
            exit(Supervisor(target: target, folder: out, seed: seed, seconds: seconds).run())
        }
    }

    static func usage(_ status: Int32) -> Never {
        print("usage: muster-fuzz TARGET [--seconds N] [--seed S] [--out DIR] | muster-fuzz TARGET --replay FILE | muster-fuzz list")
        exit(status)
    }
}

// MARK: - Supervisor

/// Runs workers until the time is up, keeps what crashed them and counts what they tried.
struct Supervisor {
    var target: Target
    var folder: String
    var seed: UInt64
    var seconds: Double

    func run() -> Int32 {
        let start = Date()
        let deadline = start.addingTimeInterval(seconds)
        var inputs = 0
        var findings: [String] = []
        var seed = self.seed
        var lastReport = start
        print("muster-fuzz \(target.name): \(seconds) s, seed \(seed), findings in \(folder)")
        while Date() < deadline {
            let remaining = deadline.timeIntervalSinceNow
            for file in ["current.input", "count", "kind"] { try? FileManager.default.removeItem(atPath: "\(folder)/\(file)") }
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
            child.arguments = [target.name, "--worker", "--seconds", String(remaining), "--seed", String(seed), "--out", folder]
            // The trap's message is enough; a backtrace per crash would slow the restarts down.
            child.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { _, new in new }
            do { try child.run() } catch { fatalError("cannot start a worker: \(error)") }
            while child.isRunning {
                Thread.sleep(forTimeInterval: 0.2)
                if Date().timeIntervalSince(lastReport) >= 60 {
                    lastReport = Date()
                    let now = inputs + Worker.readCount(folder)
                    print("  \(Int(Date().timeIntervalSince(start))) s: \(now) inputs, \(findings.count) findings")
                }
            }
            let tried = Worker.readCount(folder)
            inputs += tried
            if child.terminationReason == .exit, child.terminationStatus == 0 { break }
            // The worker died on an input, or its watchdog ended it: keep the input that did it.
            let kind = (try? String(contentsOfFile: "\(folder)/kind", encoding: .utf8)) ?? "crash"
            let how = child.terminationReason == .uncaughtSignal ? "signal \(child.terminationStatus)" : "exit \(child.terminationStatus)"
            let kept = "\(folder)/\(kind)-\(findings.count + 1).input"
            try? FileManager.default.removeItem(atPath: kept)
            try? FileManager.default.copyItem(atPath: "\(folder)/current.input", toPath: kept)
            inputs += 1
            findings.append(kept)
            print("  FOUND \(kind) (\(how)) after \(inputs) inputs: \(kept)")
            seed &+= 1
        }
        let elapsed = Date().timeIntervalSince(start)
        print(String(format: "%@: %d inputs in %.0f s (%.0f/s), %d findings", target.name, inputs, elapsed, Double(inputs) / elapsed, findings.count))
        for finding in findings { print("  \(finding)") }
        return findings.isEmpty ? 0 : 1
    }
}

// MARK: - Worker

/// What the main thread and the watchdog thread share, under a lock (plain globals let the optimiser drop the
/// stores that mark the end of an input, and the watchdog could then see an input that had long finished).
/// NSLock rather than `Atomic`, which needs macOS 15; uncontended, it costs tens of nanoseconds per input.
final class Progress: @unchecked Sendable {
    private let lock = NSLock()
    /// The main thread's CPU time when the current input started; 0 between inputs.
    private var startedAt: Int64 = 0
    /// The resident set when the current input started (0 between inputs): memory is measured from it.
    private var startRSS = 0
    private var done = 0

    func start(cpu: Int64, rss: Int) { lock.withLock { startedAt = cpu; startRSS = rss } }
    func finish() { lock.withLock { startedAt = 0; startRSS = 0; done += 1 } }
    var current: (startedAt: Int64, startRSS: Int, done: Int) { lock.withLock { (startedAt, startRSS, done) } }
}
private let progress = Progress()
nonisolated(unsafe) private var mainCPUClock = clockid_t()
/// The self-test's endless loop (a global, so that the optimiser keeps it).
nonisolated(unsafe) var spins = 0

private func cpuNanoseconds(_ clock: clockid_t) -> Int64 {
    var time = timespec()
    clock_gettime(clock, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}

private let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

/// The resident set now (`/proc/self/statm`, second field), read with plain system calls: once per input.
private func residentBytes() -> Int {
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count > 0 else { return 0 }
    var pages = 0
    var field = 0
    for byte in buffer[0..<count] {
        if byte == 0x20 { field += 1; if field > 1 { break }; continue }
        if field == 1, byte >= 0x30, byte <= 0x39 { pages = pages * 10 + Int(byte - 0x30) }
    }
    return pages * pageSize
}

private func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024
}

struct Worker {
    static let hangCPUNanoseconds: Int64 = 1_000_000_000
    static let memoryBytes = 256 * 1024 * 1024
    static let maxInputBytes = 64 * 1024
    static let maxCorpusBytes = 16 * 1024 * 1024

    var target: Target
    var folder: String
    var seed: UInt64
    var deadline: Date

    static func readCount(_ folder: String) -> Int {
        (try? String(contentsOfFile: "\(folder)/count", encoding: .utf8)).flatMap { Int($0) } ?? 0
    }

    func run() {
        var random = SplitMix64(seed: seed)
        var corpus = target.seeds(Seeds.shared)
        precondition(!corpus.isEmpty, "no seeds for \(target.name)")
        let tokens = target.tokens.map { Array($0.utf8) }
        var seen = Set<String>()
        var corpusBytes = corpus.reduce(0) { $0 + $1.count }
        // The seeds themselves run first: what they find is the baseline of "new".
        for input in corpus { seen.formUnion(target.run(input)) }
        let current = open("\(folder)/current.input", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(current >= 0, "cannot write \(folder)/current.input")
        pthread_getcpuclockid(pthread_self(), &mainCPUClock)
        let folder = self.folder
        let watchdog = Thread {
            var lastCount = -1
            while true {
                Thread.sleep(forTimeInterval: 0.02)
                let (started, base, done) = progress.current
                if started != 0, cpuNanoseconds(mainCPUClock) - started > Worker.hangCPUNanoseconds { Worker.die("hang", folder) }
                if base != 0, residentBytes() > base + Worker.memoryBytes { Worker.die("memory", folder) }
                if done != lastCount {
                    lastCount = done
                    try? String(lastCount).write(toFile: "\(folder)/count", atomically: true, encoding: .utf8)
                }
            }
        }
        watchdog.stackSize = 1 << 20
        watchdog.start()

        while Date() < deadline {
            for _ in 0..<64 {
                var input = corpus[random.below(corpus.count)]
                let rounds = 1 + random.below(4)
                for _ in 0..<rounds { Mutator.mutate(&input, tokens: tokens, corpus: corpus, random: &random) }
                if input.count > Self.maxInputBytes { input.removeLast(input.count - Self.maxInputBytes) }
                input.withUnsafeBytes { bytes in
                    _ = ftruncate(current, 0)
                    _ = pwrite(current, bytes.baseAddress, bytes.count, 0)
                }
                // Memory is measured per input, from where this one started: what the fuzzer itself keeps
                // (its corpus, malloc's free lists) does not count against the input.
                let before = residentBytes()
                let peakBefore = peakResidentBytes()
                progress.start(cpu: cpuNanoseconds(mainCPUClock), rss: before)
                let features = target.run(input)
                progress.finish()
                let peakAfter = peakResidentBytes()
                if peakAfter > peakBefore, peakAfter > before + Self.memoryBytes { Worker.die("memory", folder) }
                var novel = false
                for feature in features where seen.insert(feature).inserted { novel = true }
                if novel, corpus.count < 4096, corpusBytes + input.count <= Self.maxCorpusBytes {
                    corpus.append(input)
                    corpusBytes += input.count
                }
            }
        }
        try? String(progress.current.done).write(toFile: "\(folder)/count", atomically: true, encoding: .utf8)
        exit(0)
    }

    static func die(_ kind: String, _ folder: String) -> Never {
        try? String(progress.current.done).write(toFile: "\(folder)/count", atomically: true, encoding: .utf8)
        try? kind.write(toFile: "\(folder)/kind", atomically: true, encoding: .utf8)
        _exit(3)
    }
}

// MARK: - Mutations

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
}

enum Mutator {
    static let interesting: [UInt8] = Array(" \n\t:-#\"'[]{}(),&*!|>?%@`\\.0123456789".utf8) + [0, 0x7F, 0xC3, 0xFF]

    static func mutate(_ data: inout [UInt8], tokens: [[UInt8]], corpus: [[UInt8]], random: inout SplitMix64) {
        func position() -> Int { random.below(data.count + 1) }
        func range() -> Range<Int> {
            let start = random.below(data.count + 1)
            let length = random.below(min(64, data.count - start) + 1)
            return start..<(start + length)
        }
        switch random.below(11) {
        case 0 where !data.isEmpty:  // flip a bit
            let i = random.below(data.count)
            data[i] ^= 1 << UInt8(random.below(8))
        case 1 where !data.isEmpty:  // an interesting byte
            data[random.below(data.count)] = interesting[random.below(interesting.count)]
        case 2, 3:  // a word of the language
            data.insert(contentsOf: tokens[random.below(tokens.count)], at: position())
        case 4:  // delete
            data.removeSubrange(range())
        case 5:  // copy a piece elsewhere
            let piece = Array(data[range()])
            data.insert(contentsOf: piece, at: position())
        case 6:  // a word many times over: nesting, long lists, long lines
            let token = tokens[random.below(tokens.count)]
            let times = [2, 10, 100, 1000, 5000][random.below(5)]
            var run: [UInt8] = []
            run.reserveCapacity(token.count * times)
            for _ in 0..<times { run += token }
            data.insert(contentsOf: run, at: position())
        case 7:  // splice another input
            let other = corpus[random.below(corpus.count)]
            guard !other.isEmpty else { return }
            let start = random.below(other.count)
            let piece = other[start..<min(other.count, start + 1 + random.below(256))]
            let at = range()
            data.replaceSubrange(at, with: piece)
        case 8:  // repeat a line
            let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
            guard !lines.isEmpty else { return }
            let line = Array(lines[random.below(lines.count)]) + [0x0A]
            let times = 1 + random.below(20)
            var out: [UInt8] = []
            for _ in 0..<times { out += line }
            data.insert(contentsOf: out, at: lineStart(data, position()))
        case 9:  // indent or dedent a line
            let at = lineStart(data, position())
            if random.below(2) == 0 { data.insert(contentsOf: [0x20, 0x20], at: at) } else if at < data.count, data[at] == 0x20 { data.remove(at: at) }
        default:  // replace a number
            let digits = Array(["0", "-1", "1000000", "99999999999999999999", "1.5", "1e9", "007"][random.below(7)].utf8)
            data.replaceSubrange(range(), with: digits)
        }
    }

    static func lineStart(_ data: [UInt8], _ i: Int) -> Int {
        var i = min(i, data.count)
        while i > 0, data[i - 1] != 0x0A { i -= 1 }
        return i
    }
}

// MARK: - Targets

/// One parser under test: `run` takes one input and returns what it found (the codes and shapes of its
/// diagnostics): an input that finds something new joins the corpus.
struct Target: Sendable {
    var name: String
    var summary: String
    var seeds: @Sendable (Seeds) -> [[UInt8]]
    var tokens: [String]
    var run: @Sendable ([UInt8]) -> Set<String>
}

/// The bundled files the seeds come from, found from this source file (`Benchmarks/Sources/MusterFuzz/`).
final class Seeds: Sendable {
    static let shared = Seeds()
    let root: String
    let playbooks: [String: String]
    let exercises: [String: String]
    let players: [String: String]
    let scripts: [String: String]

    init() {
        let here = URL(fileURLWithPath: #filePath)
        let top = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        root = top
        func files(_ folder: String, _ keep: (String) -> Bool = { _ in true }) -> [String: String] {
            let path = "\(top)/\(folder)"
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            var out: [String: String] = [:]
            for name in names where name.hasSuffix(".yaml") && keep(name) {
                out["\(folder)/\(name)"] = try? String(contentsOfFile: "\(path)/\(name)", encoding: .utf8)
            }
            return out
        }
        playbooks = files("playbooks")
        exercises = files("exercises") { !$0.hasSuffix(".players.yaml") }
        players = files("exercises") { $0.hasSuffix(".players.yaml") }
        scripts = files("Tests/Simulations")
    }

    /// Values of `key:` lines in the bundled playbooks (quotes removed): guards, templates, time anchors.
    func values(of keys: [String]) -> [String] {
        var out: [String] = []
        for text in playbooks.values.sorted() + exercises.values.sorted() {
            for line in text.split(separator: "\n") {
                let trimmed = line.drop { $0 == " " || $0 == "-" }
                for key in keys where trimmed.hasPrefix(key + ":") {
                    var value = trimmed.dropFirst(key.count + 1).drop { $0 == " " }
                    if let q = value.first, q == "\"" || q == "'", value.count >= 2, value.last == q { value = value.dropFirst().dropLast() }
                    if !value.isEmpty { out.append(String(value)) }
                }
            }
        }
        return out
    }

    func bytes(_ texts: some Sequence<String>) -> [[UInt8]] { texts.map { Array($0.utf8) } }
}

/// A diagnostic as a feature: its code and its message with the quoted and numeric parts blanked.
func feature(_ d: Diagnostic) -> String {
    var out = d.code + ":"
    var quoted = false
    for c in d.message.unicodeScalars {
        if c == "'" { quoted.toggle(); out.unicodeScalars.append(c); continue }
        if quoted || ("0"..."9").contains(c) { continue }
        out.unicodeScalars.append(c)
    }
    return out
}

func features(_ diagnostics: [Diagnostic]) -> Set<String> { Set(diagnostics.map(feature)) }

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

enum Targets {
    static let yamlTokens = [
        "&a ", "*a", "&b [*a, *a, *a, *a]", "[", "]", "{", "}", ": ", "- ", "\n", "\n  ", "\n    - ", "\"", "'", "|\n  ", ">\n  ",
        "# ", "!!str ", "!!map ", "? ", "<<: *a", "---\n", "...\n", "%YAML 1.1\n", ", ", "~", "null", "yes", "no", "1e999",
        "when: ", "at: ", "after: ", "\\u0000", "tasks.a.done", "{{run.title}}", "{{", "}}", "(", ")", "not ", " and ", " or ",
        "states:\n", "transitions:\n", "to: ", "id: ", "roles:\n", "tasks:\n", "notify:\n", "timers:\n", "services:\n",
        "injects:\n", "playbook: ", "../../etc/passwd", "- at: 10m\n", "decisions:\n", "options: [a, b]\n",
    ]
    static let guardTokens = [
        "(", ")", "not ", " and ", " or ", "==", "!=", "\"", "'", "tasks.", ".done", ".skipped", "roles.", ".assigned",
        "decisions.", ".made", "severity", "mode", "\"P1\"", "\"exercise\"", "all_tasks_done", "true", "false", "&&", "||", "!", "=",
        ".", " ", "é", "\u{0}",
    ]
    static let templateTokens = ["{{", "}}", "{", "}", ".", " ", "run.title", "roles.", "services.", ".rto", "timer.elapsed", "-", "_", "\n", "é", "{{{{"]
    static let timeTokens = [
        "run.start", "services.", ".rto", ".rpo", ".mtpd", " + ", " - ", "+", "-", "1h", "30m", "2d", "10s", "1h30m", "0m",
        "999999", "1000000d", "99999999999999999999", ".", " ", "h", "m", "d", "s",
    ]
    static let jsonTokens = [
        "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "\\udc00", "null", "true", "false", "0", "-", "1e999", "1.5",
        "\"type\"", "\"note\"", "\"text\"", " ", "\u{0}", "\u{7F}", "\\n", "é",
    ]

    static let playbooksFolder = Seeds.shared.root + "/playbooks"
    static let cache = PlaybookCache()
    static let ransomware: Exercise? = {
        let path = Seeds.shared.root + "/exercises/ransomware-tabletop.yaml"
        return ExerciseLoader.load(file: path, playbookFolders: [playbooksFolder], cache: cache).exercise
    }()
    static let ransomwarePlaybook: Playbook? = {
        PlaybookLoader.load(file: playbooksFolder + "/ransomware-file-servers.yaml").playbook
    }()
    static let here = SourceLocation(file: "fuzz", line: 1, column: 1)
    static let bundledPlaybooks: [Playbook] = PlaybookLoader.loadAll(paths: [playbooksFolder]).compactMap(\.playbook)

    /// Checks the harness itself (not listed): `--seconds 5` must find a crash, a hang and a memory blow-up.
    static let selftest = Target(
        name: "selftest", summary: "the harness: traps on 'X!', spins on 'X~', allocates on 'X@'",
        seeds: { _ in [Array("abc".utf8)] }, tokens: ["X!", "X~", "X@", "a"],
        run: { input in
            let s = text(input)
            if s.contains("X!") { fatalError("selftest trap") }
            if s.contains("X~") { while spins >= 0 { spins = (spins &+ 1) % 1_000_000 } }
            if s.contains("X@") {
                let big = [UInt8](repeating: 1, count: 400 << 20)
                _ = big.withUnsafeBufferPointer { $0.reduce(0) { $0 &+ $1 } }
            }
            return [s.count < 10 ? "short" : "long"]
        })

    static let all: [Target] = [
        Target(name: "playbook", summary: "a playbook file: YAML, decoder, validator (muster validate, GET /api/playbooks)",
               seeds: { $0.bytes($0.playbooks.sorted { $0.key < $1.key }.map(\.value)) }, tokens: yamlTokens,
               run: { input in features(PlaybookLoader.load(text: text(input), file: "fuzz.yaml").diagnostics) }),
        Target(name: "exercise", summary: "an exercise file with its playbook from playbooks/ (muster validate, muster exercise run)",
               seeds: { $0.bytes($0.exercises.sorted { $0.key < $1.key }.map(\.value)) }, tokens: yamlTokens,
               run: { input in
                   features(ExerciseLoader.load(text: text(input), file: "fuzz.yaml", playbookFolders: [playbooksFolder], cache: cache).diagnostics)
               }),
        Target(name: "players", summary: "a player script checked against the ransomware tabletop",
               seeds: { $0.bytes($0.players.sorted { $0.key < $1.key }.map(\.value)) }, tokens: yamlTokens,
               run: { input in features(ExerciseLoader.loadPlayers(text: text(input), file: "fuzz.players.yaml", for: ransomware).diagnostics) }),
        Target(name: "script", summary: "a simulation script checked against the ransomware playbook (muster simulate)",
               seeds: { $0.bytes($0.scripts.sorted { $0.key < $1.key }.map(\.value)) }, tokens: yamlTokens,
               run: { input in
                   let parsed = YAMLSource.parse(text(input), file: "fuzz.yaml")
                   var diagnostics = parsed.diagnostics
                   if let node = parsed.node, !diagnostics.hasErrors {
                       let (script, found) = SimulationScript.decode(node)
                       diagnostics += found
                       if let script, let playbook = ransomwarePlaybook { diagnostics += script.check(against: playbook) }
                   }
                   return features(diagnostics)
               }),
        Target(name: "catalogue", summary: "a service catalogue: YAML, decoder, rules, the playbooks against it, impact (muster validate, impact, readiness)",
               seeds: { s in s.bytes([s.root + "/services.yaml"].compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }) },
               tokens: yamlTokens + ["muster_services:", "depends_on:", "services:", "sites:", "suppliers:", "technology:", "impact:",
                                     "intolerable:", "severe", "mtpd:", "rto:", "{ 1h: minor, 4h: severe }"],
               run: { input in
                   let loaded = CatalogueLoader.load(text: text(input), file: "fuzz.yaml")
                   var diagnostics = loaded.diagnostics
                   if let catalogue = loaded.catalogue {
                       diagnostics += CatalogueValidator.check(bundledPlaybooks, against: catalogue)
                       if !loaded.hasErrors, let first = catalogue.nodes.last?.ref {
                           _ = ImpactAnalysis.compute(catalogue, lost: [first], coverage: ImpactAnalysis.coverage(bundledPlaybooks))
                       }
                   }
                   return features(diagnostics)
               }),
        Target(name: "evidence-map", summary: "an evidence map (muster evidence, muster validate)",
               seeds: { s in s.bytes([s.root + "/evidence-map.yaml"].compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }) },
               tokens: yamlTokens + ["muster_evidence_map:", "controls:", "evidence:", "catalogue", "exercise-reports"],
               run: { input in features(EvidenceMapLoader.load(text: text(input), file: "fuzz.yaml").diagnostics) }),
        Target(name: "guard", summary: "a transition guard (when:)",
               seeds: { $0.bytes($0.values(of: ["when"]) + ["not (tasks.a.done or roles.b.assigned) and severity == \"P1\"", "decisions.x == 'y'"]) },
               tokens: guardTokens,
               run: { input in
                   do throws(Diagnostic) {
                       let expression = try GuardParser.parse(text(input), at: here)
                       _ = expression.text
                       return ["ok"]
                   } catch { return [feature(error)] }
               }),
        Target(name: "template", summary: "a message template with {{placeholders}}, parsed and rendered",
               seeds: { $0.bytes($0.values(of: ["message", "text", "subject", "title"]).filter { $0.contains("{{") } + ["Triage open after {{ timer.elapsed }}"]) },
               tokens: templateTokens,
               run: { input in
                   do throws(Diagnostic) {
                       let template = try TemplateParser.parse(text(input), at: here)
                       _ = template.render(["run.title": "Outage", "timer.elapsed": "10m"])
                       return ["ok"]
                   } catch { return [feature(error)] }
               }),
        Target(name: "time", summary: "a duration (30m, 1h30m) and a timer anchor (services.ID.rto - 1h)",
               seeds: { $0.bytes($0.values(of: ["at", "after", "rto", "rpo", "mtpd", "duration", "every"]) + ["run.start + 2h", "services.files.rto - 1h30m"]) },
               tokens: timeTokens,
               run: { input in
                   let source = text(input)
                   var out: Set<String> = []
                   if let span = TimeSpan(parsing: source) { _ = span.description; _ = span.clock; out.insert("span") }
                   do throws(Diagnostic) { _ = try TimeExpressionParser.parse(source, at: here); out.insert("ok") } catch { out.insert(feature(error)) }
                   return out
               }),
        Target(name: "json", summary: "an API request body or a journal payload (CanonicalJSON.parse)",
               seeds: { _ in
                   [
                       #"{"type":"note","text":"Bridge open"}"#, #"{"type":"decide","decision":"pay","option":"no","rationale":"policy"}"#,
                       #"{"exercise":"ransomware-tabletop","speed":"30","restricted":true}"#, #"[1,-2.5e3,"\u00e9\ud83d\ude00",null,{"a":[{}]}]"#,
                       #"{"playbook":"ransomware-file-servers","title":"Files encrypted","severity":"P1"}"#,
                   ].map { Array($0.utf8) }
               },
               tokens: jsonTokens,
               run: { input in
                   do throws(CanonicalJSON.Malformed) {
                       _ = try CanonicalJSON.parse(input)
                       return ["ok"]
                   } catch { return ["json:" + error.reason] }
               }),
    ]
}
