import Foundation
import MusterCore
import MusterJournal
import MusterRuntime
import MusterServer
import MusterTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 16's fault tests 2 and 3: real `muster serve` processes on a libpq multi-host URL in front of a
/// PostgreSQL primary and a standby of the test's own (`scripts/postgres-cluster start|standby|crash|promote`), a
/// burst of clients, the primary killed with SIGKILL mid-burst, the standby promoted. Everything on 127.0.0.1,
/// every wait bounded, the clusters and servers stopped in `defer`.
@Suite("Failover to a promoted standby (real muster serve processes)", .serialized)
struct FailoverTests {
    @Test("synchronous standby: the primary is killed mid-burst and the standby promoted; the servers reconnect without a restart, every acknowledged note is on the promoted standby exactly once, the chains verify, and the outage answered 503, never 500")
    func synchronousStandbyLosesNothing() async throws {
        let outcome = try await offThePool { try FailoverScenario.run(mode: "sync") }
        let report = outcome.report
        print(report.summary("synchronous standby"))

        // The burst ran across the failover: commands were acknowledged before the crash and after the promotion.
        #expect(report.acknowledgedBeforeCrash > 0)
        #expect(report.acknowledgedAfterCrash > 0)
        // With clients retrying (bounded), every logical command was acknowledged in the end.
        #expect(report.acknowledged.count == report.commands, "\(report.acknowledged.count) of \(report.commands); \(report.gaveUp)")
        // During the outage the servers said 503 (with Retry-After), never 500 nor anything else.
        #expect(report.statuses[503, default: 0] > 0, "\(report.statuses)")
        #expect(report.statuses[500, default: 0] == 0, "\(report.statuses) \(report.unexpected)")
        #expect(report.unexpected.isEmpty, "\(report.unexpected); attempts: \(report.unexpectedAttempts); servers: \(outcome.serverLogs)")
        #expect(report.missingRetryAfter == 0)
        // Every acknowledged note is on the promoted standby.
        #expect(report.lost.isEmpty, "acknowledged but not on the promoted standby: \(report.lost)")
        // Exactly once: a client whose command failed ambiguously (the commit may have happened before the crash)
        // retried it with the same Idempotency-Key; with the key honoured, nothing is recorded twice.
        #expect(report.duplicated.isEmpty, """
            recorded more than once: \(report.duplicated) (ambiguous retries: \(report.ambiguousRetries)); their attempts: \(
                report.duplicated.keys.map { "\($0): \(report.attempts[$0] ?? [])" })
            """)
        #expect(report.chainsIntact, "\(report.chainProblems)")
        // Reconnected by themselves: the same processes (never restarted) answer /healthz 200 on the new primary.
        #expect(outcome.serversSurvived)
        #expect(outcome.healthAfter.allSatisfy { $0 == 200 }, "\(outcome.healthAfter)")
        #expect(outcome.healthDuring.contains(503), "\(outcome.healthDuring)")
    }

    @Test("negative control, asynchronous standby: the same failover may lose acknowledged notes; the test counts them, and what is there still verifies")
    func asynchronousStandbyMayLose() async throws {
        let outcome = try await offThePool { try FailoverScenario.run(mode: "async") }
        let report = outcome.report
        print(report.summary("asynchronous standby"))
        print("async standby lost \(report.lost.count) of \(report.acknowledgedBeforeCrash) commands acknowledged before the crash (\(report.acknowledged.count) acknowledged in all)")

        // What must hold even without synchronous replication: the burst ran and was measured, the servers carried
        // on, nothing answered 500, and the chains of what the standby has verify.
        #expect(report.acknowledgedBeforeCrash > 0)
        #expect(report.acknowledgedAfterCrash > 0)
        #expect(report.statuses[500, default: 0] == 0, "\(report.statuses) \(report.unexpected)")
        #expect(report.unexpected.isEmpty, "\(report.unexpected)")
        #expect(report.chainsIntact, "\(report.chainProblems)")
        #expect(outcome.serversSurvived)
        // Lost notes can only be ones acknowledged before the crash (by the old primary).
        #expect(report.lost.count <= report.acknowledgedBeforeCrash)
    }
}

/// What one failover run measured.
struct FailoverReport: Sendable {
    var commands = 0
    /// Note texts whose command was answered 2xx.
    var acknowledged: [String] = []
    var acknowledgedBeforeCrash = 0
    var acknowledgedAfterCrash = 0
    /// HTTP status (0: no answer: the connection failed) to how many times.
    var statuses: [Int: Int] = [:]
    var unexpected: [String] = []
    var missingRetryAfter = 0
    /// Retries after an answer that did not say whether the command was recorded (a 503 or no answer to a
    /// request sent before the primary's processes were gone).
    var ambiguousRetries = 0
    var gaveUp: [String] = []
    /// Each command's attempts: when it was sent (from the SIGKILL), to which server, the answer.
    var attempts: [String: [String]] = [:]
    /// Commands answered neither 2xx nor 503, and their attempts.
    var unexpectedTexts: [String] = []
    var unexpectedAttempts: [String] { unexpectedTexts.map { "\($0): \(attempts[$0] ?? [])" } }
    /// Seconds from the SIGKILL to the promotion, and to the first acknowledgement of a command sent after the
    /// primary's processes were gone.
    var promotedAfter = 0.0
    /// Seconds `scripts/postgres-cluster crash` took (the SIGKILL comes first; then it waits for the processes' end).
    var crashTook = 0.0
    var outage = 0.0
    var burstSeconds = 0.0
    /// Acknowledged but absent from the promoted standby.
    var lost: [String] = []
    /// On the promoted standby more than once.
    var duplicated: [String: Int] = [:]
    var chainsIntact = false
    var chainProblems: [String] = []

    func summary(_ name: String) -> String {
        func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }
        let codes = statuses.sorted { $0.key < $1.key }.map { "\($0.key == 0 ? "no answer" : String($0.key)): \($0.value)" }.joined(separator: ", ")
        return "\(name): \(acknowledged.count) of \(commands) commands acknowledged (\(acknowledgedBeforeCrash) sent before the "
            + "primary's processes were gone, \(acknowledgedAfterCrash) after) in \(seconds(burstSeconds)); the crash took \(seconds(crashTook)); "
            + "promoted \(seconds(promotedAfter)) after the SIGKILL; outage (SIGKILL to the first acknowledgement of a command sent "
            + "after the crash) \(seconds(outage)); answers: \(codes); ambiguous retries: \(ambiguousRetries); lost: \(lost.count); "
            + "duplicated: \(duplicated.count)"
    }
}

/// A primary and a standby of the test's own, two `muster serve` processes on the multi-host URL, clients.
enum FailoverScenario {
    struct Outcome: Sendable {
        var report: FailoverReport
        var serversSurvived: Bool
        var healthDuring: [Int]
        var healthAfter: [Int]
        /// The servers' warnings and errors (their stderr), for the messages of failed expectations.
        var serverLogs: [String]
    }

    static let clients = 8
    /// Each client posts notes until told to stop (`afterPromotion` acknowledged after the crash), at most this many.
    static let maximumPerClient = 250
    /// The primary is killed once this many commands were acknowledged.
    static let crashAfter = 40
    /// The burst goes on until this many commands sent after the crash were acknowledged.
    static let afterPromotion = 40
    /// Between the SIGKILL and the promotion: what failure detection takes (Patroni's loop is ~10 s; kept short).
    static let detection = 2.0

    static func run(mode: String) throws -> Outcome {
        let clusters = try ReplicatedClusters(mode: mode)
        defer { clusters.remove() }
        let scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("muster-repl-serve-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let playbooks = scratch.appendingPathComponent("playbooks")
        try FileManager.default.createDirectory(at: playbooks, withIntermediateDirectories: true)
        try TestPlaybooks.quiet.write(to: playbooks.appendingPathComponent("quiet.yaml"), atomically: true, encoding: .utf8)

        // The journal and its admin, on the primary.
        let token = Tokens.make()
        do {
            let journal = try Journal.open(.postgres(url: clusters.primaryURL))
            try journal.addUser(name: "Dana", tokenSHA256: Tokens.sha256(token), admin: true, at: SystemClock().now)
            try journal.close()
        }

        let servers = try (0..<2).map { try ServeInstance.start(url: clusters.multiHostURL, playbooks: playbooks.path, scratch: scratch, name: "serve\($0)") }
        defer { servers.forEach { $0.stop() } }

        // Two runs, declared before the burst; each client writes to one of them through both servers.
        var runs: [String] = []
        for (index, server) in servers.enumerated() {
            let declared = HTTPCall.send(port: server.port, "POST", "/api/runs", token: token,
                                         body: #"{"playbook":"quiet","title":"Failover \#(index)"}"#)
            guard declared.status == 201, let id = declared.json["id"] as? String else {
                throw TestSupportError("declare answered \(declared.status.map(String.init) ?? "nothing"): \(declared.body) \(declared.error ?? "")")
            }
            runs.append(id)
        }
        // The runs are on the standby before the burst (asynchronous replication: wait for it, bounded).
        try waitUntilOnStandby(clusters.standbyURL, runs: runs)

        let log = BurstLog()
        // A test that fails half way stops its clients at once (before the servers and clusters are stopped).
        defer { log.abort() }
        let burstDeadline = Date().addingTimeInterval(120)
        let started = Date()
        let group = DispatchGroup()
        let declaredRuns = runs
        let ports = servers.map(\.port)
        for client in 0..<clients {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                runClient(client, runID: declaredRuns[client % declaredRuns.count], ports: ports, token: token, log: log, deadline: burstDeadline)
            }
        }

        // Mid-burst: SIGKILL the primary, promote the standby after the detection time. /healthz meanwhile.
        let reached = poll(within: 60) { log.acknowledgedCount >= crashAfter }
        guard reached else { throw TestSupportError("the burst did not reach \(crashAfter) acknowledged commands within 60 s") }
        log.markCrashOrdered()
        try clusters.crashPrimary()
        // Marked once every process of the primary is gone: a request sent earlier counts as sent before the crash
        // (and, failing, as ambiguous), so the split errs on the safe side.
        log.markCrash()
        var healthDuring: [Int] = []
        let detectionEnd = Date().addingTimeInterval(detection)
        while Date() < detectionEnd {
            usleep(1_100_000)  // past the health answer's one-second life
            healthDuring += servers.map { HTTPCall.send(port: $0.port, "GET", "/healthz", token: nil).status ?? 0 }
        }
        try clusters.promoteStandby()
        log.markPromotion()
        // The burst carries on past the promotion, then the clients finish the command in hand and stop.
        _ = poll(within: 60) { log.acknowledgedAfterCrashCount >= afterPromotion }
        log.stop()
        guard group.wait(timeout: .now() + 150) == .success else { throw TestSupportError("the clients did not finish within 150 s") }
        let burstSeconds = Date().timeIntervalSince(started)

        // Reconnected by themselves: /healthz 200 from the same processes within 10 s.
        var healthAfter: [Int] = servers.map { _ in 0 }
        _ = poll(within: 10) {
            healthAfter = servers.map { HTTPCall.send(port: $0.port, "GET", "/healthz", token: nil).status ?? 0 }
            return healthAfter.allSatisfy { $0 == 200 }
        }
        let survived = servers.allSatisfy { $0.spawned.process.isRunning }

        var report = log.report()
        report.burstSeconds = burstSeconds
        // What the promoted standby holds, through a fresh journal on its own URL.
        let standby = try Journal.open(.postgres(url: clusters.standbyURL), create: false)
        defer { try? standby.close() }
        var found: [String: Int] = [:]
        report.chainsIntact = true
        for runID in runs {
            for event in try standby.events(runID: runID) {
                if case .noteAdded(let text) = event.body, text.hasPrefix("burst ") { found[text, default: 0] += 1 }
            }
            let verification = try standby.verify(runID: runID)
            if !verification.isIntact {
                report.chainsIntact = false
                report.chainProblems.append("\(runID): \(verification)")
            }
        }
        report.lost = report.acknowledged.filter { found[$0] == nil }
        report.duplicated = found.filter { $0.value > 1 }
        let serverLogs = servers.map { server in
            server.spawned.stderr.split(separator: "\n").filter { !$0.contains("database unavailable") }.suffix(20).joined(separator: "\n")
        }
        return Outcome(report: report, serversSurvived: survived, healthDuring: healthDuring, healthAfter: healthAfter, serverLogs: serverLogs)
    }

    /// One client: notes one after another until the log says stop, each a logical command with an Idempotency-Key of its
    /// own that every retry reuses. Retries (200 ms apart, not the 5 s of Retry-After, to keep the test short) on
    /// 503 or no answer, alternating between the servers, until `deadline`.
    static func runClient(_ client: Int, runID: String, ports: [Int], token: String, log: BurstLog, deadline: Date) {
        for number in 0..<maximumPerClient {
            guard !log.stopped else { return }
            log.started()
            let key = UUID().uuidString
            let text = "burst c\(client) n\(number) \(key.prefix(8))"
            let body = #"{"type":"note","text":"\#(text)"}"#
            var attempt = 0
            var ambiguous = false
            while true {
                let port = ports[(client + attempt) % ports.count]
                attempt += 1
                if ambiguous {
                    log.ambiguousRetry()
                    ambiguous = false
                }
                let sentAt = Date()
                let answer = HTTPCall.send(port: port, "POST", "/api/runs/\(runID)/commands", token: token, body: body,
                                           headers: ["Idempotency-Key": key])
                let status = answer.status ?? 0
                log.record(text: text, port: port, status: status, retryAfter: answer.headers["retry-after"], sentAt: sentAt,
                           detail: answer.error ?? answer.body)
                if (200..<300).contains(status) {
                    log.acknowledge(text, sentAt: sentAt)
                    break
                }
                guard status == 503 || status == 0 else { break }  // recorded as unexpected by `record`
                // A 503 or no answer to a request sent before the primary died: it may have been committed.
                if log.wasAmbiguous(sentAt: sentAt) { ambiguous = true }
                guard Date() < deadline, !log.aborted else {
                    log.giveUp(text)
                    break
                }
                usleep(200_000)
            }
        }
    }

    static func waitUntilOnStandby(_ url: String, runs: [String]) throws {
        let there = poll(within: 30) {
            guard let journal = try? Journal.open(.postgres(url: url), create: false) else { return false }
            defer { try? journal.close() }
            return runs.allSatisfy { (try? journal.head(runID: $0)) != nil }
        }
        guard there else { throw TestSupportError("the declared runs did not reach the standby within 30 s") }
    }

    /// Polls `condition` every 50 ms until it holds or `seconds` pass.
    static func poll(within seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

}

/// What the clients saw, from their threads.
final class BurstLog: @unchecked Sendable {
    private let lock = NSLock()
    private var data = FailoverReport()
    /// When the SIGKILL was ordered, and when every process of the primary was gone.
    private var crashOrderedAt: Date?
    private var crashAt: Date?
    private var promotedAt: Date?
    private var firstAfterCrash: Date?

    private var stopping = false
    private var aborting = false

    var acknowledgedCount: Int { lock.withLock { data.acknowledged.count } }
    var acknowledgedAfterCrashCount: Int { lock.withLock { data.acknowledgedAfterCrash } }
    var stopped: Bool { lock.withLock { stopping } }

    func stop() { lock.withLock { stopping = true } }
    var aborted: Bool { lock.withLock { aborting } }
    func abort() { lock.withLock { stopping = true; aborting = true } }
    /// A client began a logical command.
    func started() { lock.withLock { data.commands += 1 } }

    func markCrashOrdered() { lock.withLock { crashOrderedAt = Date() } }
    func markCrash() { lock.withLock { crashAt = Date() } }
    func markPromotion() { lock.withLock { promotedAt = Date() } }

    /// A 2xx for `text`; counted after the crash when its request was sent after the SIGKILL.
    func acknowledge(_ text: String, sentAt: Date) {
        lock.withLock {
            data.acknowledged.append(text)
            if let crashAt, sentAt >= crashAt {
                data.acknowledgedAfterCrash += 1
                if firstAfterCrash == nil { firstAfterCrash = Date() }
            } else {
                data.acknowledgedBeforeCrash += 1
            }
        }
    }

    /// A request sent before the SIGKILL that got a 503 or no answer: its commit may have happened.
    func wasAmbiguous(sentAt: Date) -> Bool { lock.withLock { crashAt.map { sentAt < $0 } ?? true } }

    func record(text: String, port: Int, status: Int, retryAfter: String?, sentAt: Date, detail: String) {
        lock.withLock {
            let since = crashAt.map { String(format: "%+.3f s", sentAt.timeIntervalSince($0)) } ?? "before"
            data.attempts[text, default: []].append("\(since) :\(port) \(status) \(status == 200 ? "" : detail.prefix(160))")
            data.statuses[status, default: 0] += 1
            if status == 503, retryAfter == nil { data.missingRetryAfter += 1 }
            if !(200..<300).contains(status), status != 503, status != 0 {
                data.unexpected.append("\(status): \(detail.prefix(300))")
                data.unexpectedTexts.append(text)
            }
        }
    }

    func ambiguousRetry() { lock.withLock { data.ambiguousRetries += 1 } }
    func giveUp(_ text: String) { lock.withLock { data.gaveUp.append(text) } }

    func report() -> FailoverReport {
        lock.withLock {
            var report = data
            if let crashOrderedAt {
                if let promotedAt { report.promotedAfter = promotedAt.timeIntervalSince(crashOrderedAt) }
                if let firstAfterCrash { report.outage = firstAfterCrash.timeIntervalSince(crashOrderedAt) }
                if let crashAt { report.crashTook = crashAt.timeIntervalSince(crashOrderedAt) }
            }
            return report
        }
    }
}

/// A primary and a streaming standby (`sync` or `async`) started by `scripts/postgres-cluster`, in folders named
/// `muster-repl-…` (the test removes them; a leftover is recognisable).
struct ReplicatedClusters: Sendable {
    let primaryFolder: String
    let standbyFolder: String
    let primaryURL: String
    let standbyURL: String

    init(mode: String) throws {
        let base = NSTemporaryDirectory() + "muster-repl-\(UUID().uuidString.prefix(8).lowercased())"
        primaryFolder = base + "-primary"
        standbyFolder = base + "-standby"
        let primary = try Self.script(["start", primaryFolder])
        guard primary.status == 0 else {
            _ = try? Self.script(["stop", primaryFolder])
            throw TestSupportError("postgres-cluster start: \(primary.stderr)")
        }
        primaryURL = primary.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let standby = try Self.script(["standby", primaryFolder, standbyFolder, mode])
        guard standby.status == 0 else {
            _ = try? Self.script(["stop", standbyFolder])
            _ = try? Self.script(["stop", primaryFolder])
            throw TestSupportError("postgres-cluster standby: \(standby.stderr)")
        }
        standbyURL = standby.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `postgres://USER:PW@127.0.0.1:P1,127.0.0.1:P2/postgres?target_session_attrs=read-write`: libpq tries the
    /// hosts in turn and keeps the first that accepts writes, so the servers find the promoted standby themselves.
    var multiHostURL: String {
        let standbyHost = standbyURL.split(separator: "@").last!.split(separator: "/").first!
        var url = primaryURL
        let database = url.range(of: "/postgres", options: .backwards)!
        url.replaceSubrange(database, with: ",\(standbyHost)/postgres")
        return url + "?target_session_attrs=read-write&connect_timeout=5"
    }

    static func script(_ arguments: [String]) throws -> ProgramOutput {
        try SpawnedProcess.run(URL(fileURLWithPath: "/usr/bin/python3"),
                               ["-c", TestPostgres.defaultSignals, repositoryRoot + "/scripts/postgres-cluster"] + arguments, timeout: 180)
    }

    /// kill -9 of the primary's postmaster and every process of it.
    func crashPrimary() throws {
        let done = try Self.script(["crash", primaryFolder])
        guard done.status == 0 else { throw TestSupportError("postgres-cluster crash: \(done.stderr)") }
    }

    func promoteStandby() throws {
        let done = try Self.script(["promote", standbyFolder])
        guard done.status == 0 else { throw TestSupportError("postgres-cluster promote: \(done.stderr)") }
    }

    func remove() {
        _ = try? Self.script(["stop", standbyFolder])
        _ = try? Self.script(["stop", primaryFolder])
    }
}

/// `muster serve --port 0` as a real process on `url`, once it printed its address (30 s at most).
struct ServeInstance: Sendable {
    let spawned: SpawnedProcess
    let port: Int

    static func start(url: String, playbooks: String, scratch: URL, name: String) throws -> ServeInstance {
        var environment = ProcessInfo.processInfo.environment
        environment[JournalLocation.environmentVariable] = url
        environment["MUSTER_HOME"] = scratch.appendingPathComponent(name).path
        environment.removeValue(forKey: "MUSTER_USER")
        environment.removeValue(forKey: "MUSTER_NOW")
        let spawned = try SpawnedProcess.start(try MusterBinary.checked(),
                                               ["serve", "--port", "0", "--playbooks", playbooks, "--exercises", repositoryRoot + "/exercises"],
                                               environment: environment, directory: URL(fileURLWithPath: repositoryRoot), outputIn: scratch, name: name)
        let listening = spawned.waitForOutput(timeout: 30) { $0.contains("muster: serving") }
        // "muster: serving PATH on http://127.0.0.1:PORT/"
        let port = spawned.stdout.split(separator: "\n").first { $0.contains("muster: serving") }
            .flatMap { $0.split(separator: ":").last }.flatMap { Int($0.filter(\.isNumber)) }
        guard listening, let port else {
            spawned.kill(SIGKILL)
            _ = spawned.wait(timeout: 10)
            throw TestSupportError("muster serve did not print its address within 30 s: \(spawned.stdout) \(spawned.stderr)")
        }
        return ServeInstance(spawned: spawned, port: port)
    }

    /// SIGTERM, then SIGKILL if it has not ended within 15 s.
    func stop() {
        guard spawned.process.isRunning else { return }
        spawned.kill(SIGTERM)
        if !spawned.wait(timeout: 15) {
            spawned.kill(SIGKILL)
            _ = spawned.wait(timeout: 10)
        }
    }
}

/// One HTTP/1.1 request on a connection of its own to 127.0.0.1 (`Connection: close`), blocking, every read and
/// write bounded by a 15 s socket timeout. No answer (refused, reset, timed out) is a nil status with the reason.
enum HTTPCall {
    struct Answer {
        var status: Int?
        var headers: [String: String] = [:]
        var body = ""
        var error: String?
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    }

    static func send(port: Int, _ method: String, _ path: String, token: String?, body: String = "", headers: [String: String] = [:]) -> Answer {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return Answer(error: "socket() failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return Answer(error: "cannot connect to 127.0.0.1:\(port) (errno \(errno))") }
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        if !body.isEmpty { request += "Content-Type: application/json\r\n" }
        request += "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return Answer(error: "send failed (errno \(errno))") }
            sent += n
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            guard n > 0 else { return Answer(error: "read failed (errno \(errno)) after \(received.count) bytes") }
            received += chunk[0..<n]
        }
        let text = String(decoding: received, as: UTF8.self)
        guard let headEnd = text.range(of: "\r\n\r\n") else { return Answer(error: "no complete answer: \(text.prefix(200))") }
        let lines = text[..<headEnd.lowerBound].components(separatedBy: "\r\n")
        guard let status = lines.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            return Answer(error: "no status line: \(lines.first ?? "")")
        }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Answer(status: status, headers: fields, body: String(text[headEnd.upperBound...]))
    }
}
