import Foundation
import Logging
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import MusterRuntime
import MusterServer

#if canImport(Glibc)
import Glibc
#endif

/// A roll call of 10,000 people (issue 17), three measures, each against a baseline measured in the same run:
/// 1. Reach: from the declaration (the state's entry asks the roll call; the directory resolves its group and
///    queues 10,000 personal messages) to the last message accepted by the receivers: a third of the people have
///    only a phone (sms, a Twilio-compatible API on nginx), a third only an email address (email over SMTP to the
///    aiosmtpd sink of the tests), a third only a Slack member id (slack on nginx), so each goes out on their own
///    first reachable channel. Baseline: `muster-bench notify`'s outbox pass of 10,000 webhook posts to nginx.
/// 2. Answers through `muster serve` (`wrk -t2 -c50 -d10s --latency`, the incident commander answering for each
///    person through `POST /api/runs/ID/commands`) as a ratio to `GET /healthz` of the same server (target at least
///    0.3, p99 under 50 ms).
/// 3. The tally at 10,000 answers (everyone answered: the rest by the runtime), as the server reads it: the run's
///    copy brought up to date (one indexed read) and its tally (target under 10 ms), median of 200.
enum RollCallBench {
    static let people = 10_000
    static let duration = 10
    static let connections = 50

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func progress(_ line: String) { ServeBench.progress("rollcall: " + line) }

    static func playbook(sms: String, smtp: String, slack: String) -> String {
        """
        muster: 1
        id: rollcall-bench
        version: 1
        title: Roll call benchmark
        severity: P1
        roles:
          incident_commander: { title: Incident Commander }
        channels:
          text: { type: sms, url: "\(sms)", account: "ACbench", token: "bench-token-123456", from: "+4412345678", live_only: true }
          mail: { type: email, smtp: "\(smtp)", to: [crisis@example.org], from: "Muster <muster@example.org>", live_only: true }
          chat: { type: slack, url: "\(slack)", live_only: true }
        start: evacuate
        states:
          evacuate:
            phase: respond
            owner: incident_commander
            on_enter:
              - roll_call: { id: safety, who: [group: site-hq], ask: "Are you safe?", options: { safe: I am safe, help: I need help, away: Not on site }, via: [text, mail, chat], resend: { every: 15m, max: 3 }, within: 1h }
            transitions: [ { on: all-clear, to: closed } ]
          closed:
            phase: learn
            terminal: true
        """
    }

    /// Person `i` (1-based): a phone, an email address or a Slack member id, in turn.
    static func person(_ i: Int) -> Person {
        let name = String(format: "p%05d", i)
        switch i % 3 {
        case 0: return Person(name: name, phone: String(format: "+4470%08d", i), groups: ["site-hq"])
        case 1: return Person(name: name, email: "\(name)@example.org", groups: ["site-hq"])
        default: return Person(name: name, slackID: String(format: "U%08d", i), groups: ["site-hq"])
        }
    }

    static func run() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("muster-rollcall-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let nginx = try Nginx(directory: scratch.appendingPathComponent("nginx"))
        defer { nginx.stop() }
        let smtp = try SMTPSink(directory: scratch.appendingPathComponent("smtp"))
        defer { smtp.stop() }

        progress("baseline: the notify benchmark's outbox pass (\(NotifyBench.messages) webhook posts to nginx)")
        let baseline = try NotifyBench.outboxRun(url: "http://127.0.0.1:\(nginx.port)/hook", scratch: scratch.appendingPathComponent("notify"), nginx: nginx)

        // 1. Reach.
        let journal = try Journal.open(home: scratch.appendingPathComponent("journal").path, durability: .full)
        let runtime = IncidentRuntime(journal: journal)
        progress("importing \(people) people")
        _ = try journal.importPeople((1...people).map(person), at: runtime.clock.now)
        let playbookPath = scratch.appendingPathComponent("rollcall.yaml").path
        try playbook(sms: "http://127.0.0.1:\(nginx.port)/", smtp: "smtp://127.0.0.1:\(smtp.port)", slack: "http://127.0.0.1:\(nginx.port)/slack")
            .write(toFile: playbookPath, atomically: true, encoding: .utf8)
        let token = Tokens.make()
        try journal.addUser(name: "Dana", tokenSHA256: Tokens.sha256(token), admin: true, at: runtime.clock.now)
        let transport = CurlTransport(configuration: CurlTransport.Configuration(maxConnectionsPerHost: 16))
        defer { transport.shutdown() }
        let wallClock = runtime.clock
        let worker = OutboxWorker(journal: journal, transport: transport, environment: [:], batchSize: 1000, clock: { wallClock.now })
        let nginxBefore = try nginx.requestCount()
        progress("declaring: the roll call asks \(people) people")
        let clock = ContinuousClock()
        let began = clock.now
        let declared = try runtime.declare(DeclareRequest(playbookPath: playbookPath, title: "Fire at HQ", actor: "Dana"))
        let queued = clock.now
        let runID = declared.runID
        var sent = 0, passes = 0
        while sent < people && passes < 50 {
            passes += 1
            let report = try worker.deliverDueBlocking()
            sent += report.sent
            if report.outcomes.isEmpty { break }
            if report.sent < report.outcomes.count, let failed = report.outcomes.first(where: { if case .sent = $0.result { false } else { true } }) {
                throw Failure("a personal message was not sent: \(failed.description)")
            }
        }
        let reached = clock.now
        let received = try nginx.requestCount() - nginxBefore - 1
        let mails = smtp.count()
        guard sent == people else { throw Failure("the outbox sent \(sent) of \(people) personal messages in \(passes) passes") }
        guard received + mails == people else { throw Failure("the receivers accepted \(received) HTTP requests and \(mails) emails, expected \(people) in all") }
        let reach = NotifyBench.seconds(reached - began)
        let queueing = NotifyBench.seconds(queued - began)

        // 2. Answers through the server.
        let port = try Nginx.freePort()
        var logger = Logger(label: "muster.bench")
        logger.logLevel = .warning
        let state = ServerState(runtime: runtime, configuration: ServerConfiguration(host: "127.0.0.1", port: port,
                                                                                       playbooksFolder: scratch.path, exercisesFolder: scratch.path),
                                logger: logger)
        let server = BenchServer(state: state, logger: logger)
        server.start()
        defer { _ = server.stop(seconds: 10) }
        try ServeBench.waitUntil(seconds: 15, "the server listens on 127.0.0.1:\(port)") { Nginx.accepts(port: port) }
        let base = "http://127.0.0.1:\(port)"
        progress("baseline: wrk -c\(connections) -d\(duration)s GET /healthz")
        let trivial = try ServeBench.wrk(url: base + "/healthz", script: ServeBench.summaryOnly, scratch: scratch,
                                         connections: connections, seconds: duration)
        progress("answers: wrk -c\(connections) -d\(duration)s POST /api/runs/\(runID)/commands (answer)")
        let answers = try ServeBench.wrk(url: base + "/api/runs/\(runID)/commands", script: answerScript(token: token), scratch: scratch,
                                         connections: connections, seconds: duration)
        guard answers.other == 0 else { throw Failure("\(answers.other) answers were refused") }

        // 3. The tally at 10,000 answers: the rest answered through the runtime, in batches.
        var run = try runtime.snapshot(runID: runID).run
        let unanswered = run.rollCalls["safety"]?.unaccounted ?? []
        progress("answering the \(unanswered.count) people wrk did not reach")
        for chunk in stride(from: 0, to: unanswered.count, by: 500).map({ Array(unanswered[$0..<min($0 + 500, unanswered.count)]) }) {
            let commands = chunk.enumerated().map { index, name in
                Command(actor: "Dana", .answer(rollCall: "safety", person: name, option: ["safe", "help", "away"][index % 3], channel: "web"))
            }
            _ = try runtime.executeBatch(commands, on: runID, admit: { _, _ in true })
        }
        run = try runtime.snapshot(runID: runID).run
        guard let record = run.rollCalls["safety"], record.accounted == people else {
            throw Failure("the roll call has \(run.rollCalls["safety"]?.accounted ?? 0) of \(people) accounted for")
        }
        let options = ["safe", "help", "away"]
        var samples: [Double] = []
        for _ in 0..<200 {
            let start = clock.now
            let tally = try runtime.snapshot(runID: runID).run.rollCalls["safety"]!.tally(options: options)
            samples.append(NotifyBench.seconds(clock.now - start) * 1000)
            guard tally.accounted == people else { throw Failure("the tally counts \(tally.accounted)") }
        }
        samples.sort()
        let events = try journal.head(runID: runID).sequence

        // What the board asks for the run (its status with hearing_back) at 10,000 answers, as curl times it.
        var statusTimes: [Double] = []
        for _ in 0..<10 {
            let curl = Process()
            curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            curl.arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-H", "Authorization: Bearer \(token)",
                              "\(base)/api/runs/\(runID)"]
            let pipe = Pipe()
            curl.standardOutput = pipe
            try curl.run()
            let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            curl.waitUntilExit()
            let parts = out.split(separator: " ")
            guard parts.first == "200", parts.count == 2, let seconds = Double(parts[1]) else { throw Failure("GET /api/runs/\(runID): \(out)") }
            statusTimes.append(seconds * 1000)
        }
        statusTimes.sort()

        // Where an answer's time goes, in memory: deciding on a run whose tables are shared (as a cached run is)
        // copies them first; on a run this code alone holds, the engine decides in place.
        let answerAt = wallClock.now
        func answer(_ i: Int) -> Command {
            Command(actor: "Dana", .answer(rollCall: "safety", person: String(format: "p%05d", i % people + 1), option: "safe", channel: "web"))
        }
        let shared = run
        var decided = 0
        let sharedStart = clock.now
        for i in 0..<500 { if case .accepted = shared.decide(answer(i), at: answerAt) { decided += 1 } }
        let sharedMicros = NotifyBench.seconds(clock.now - sharedStart) / 500 * 1e6
        var own = run
        _ = own.execute(answer(0), at: answerAt)  // the first change copies; the rest change what it owns
        let ownStart = clock.now
        for i in 1...5_000 { if case .accepted = own.execute(answer(i), at: answerAt) { decided += 1 } }
        let ownMicros = NotifyBench.seconds(clock.now - ownStart) / 5_000 * 1e6
        guard decided == 5_500 else { throw Failure("\(5_500 - decided) answers were refused in memory") }

        print("rollcall: \(people) people (a third each reachable only by sms, email or slack), local receivers (nginx, aiosmtpd)")
        print("  reach: declaration to the last personal message accepted: \(MusterBench.format(reach, 2)) s (queueing \(MusterBench.format(queueing, 2)) s, \(passes) outbox passes); sms+slack \(received), email \(mails)")
        print("  baseline, muster-bench notify's outbox pass of \(NotifyBench.messages) webhooks: \(MusterBench.format(baseline.seconds, 2)) s")
        print("  reach / notify: \(MusterBench.format(reach / baseline.seconds, 2))x")
        print("  answers through muster serve: \(Int(answers.rate))/s, p50 \(ServeBench.ms(answers.p50)) ms, p99 \(ServeBench.ms(answers.p99)) ms (\(answers.ok) answered)")
        print("  trivial route GET /healthz: \(Int(trivial.rate))/s, p99 \(ServeBench.ms(trivial.p99)) ms")
        print("  answers / trivial: \(MusterBench.format(answers.rate / trivial.rate, 2)) (target at least 0.3); p99 target under 50 ms")
        print("  one answer decided in memory: \(MusterBench.format(sharedMicros, 1)) µs on a shared run (as the runtime's cached copy), \(MusterBench.format(ownMicros, 1)) µs on a run held alone")
        print("  the board's status of the run (GET /api/runs/ID with hearing_back) at \(people) answers: median \(MusterBench.format(statusTimes[5], 1)) ms, slowest of 10 \(MusterBench.format(statusTimes[9], 1)) ms")
        print("  tally at \(people) answers (\(events) events on the run): median \(MusterBench.format(samples[samples.count / 2], 3)) ms, p99 \(MusterBench.format(samples[samples.count * 99 / 100], 3)) ms (target under 10 ms)")
    }

    /// The incident commander answers for person `p<n>`, each wrk thread on its own half of the people, options in
    /// turn; past its half a thread starts again (answering again records both; the last counts).
    static func answerScript(token: String) -> String {
        ServeBench.summary + """

            ok, other, n = 0, 0, 0
            local options = {"safe", "help", "away"}
            function request()
              n = n + 1
              local half = \(people / 2)
              local i = (id - 1) * half + ((n - 1) % half) + 1
              local body = string.format('{"type":"answer","roll_call":"safety","person":"p%05d","option":"%s"}', i, options[(n % 3) + 1])
              return wrk.format("POST", nil, {["Authorization"] = "Bearer \(token)", ["Content-Type"] = "application/json"}, body)
            end
            function response(status, headers, body)
              if status >= 200 and status < 300 then ok = ok + 1 else other = other + 1 end
            end
            """
    }
}

/// The tests' SMTP sink (`Sources/MusterTestSupport/Receivers/smtp_sink.py`, aiosmtpd) on 127.0.0.1: it records
/// each accepted message as a line.
final class SMTPSink {
    let process = Process()
    let port: Int
    let records: URL

    init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/MusterTestSupport/Receivers/smtp_sink.py")
        let portFile = directory.appendingPathComponent("port")
        records = directory.appendingPathComponent("records")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, #"{"lifetime": 900}"#, portFile.path, records.path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var found: Int?
        let deadline = Date().addingTimeInterval(30)
        while found == nil && Date() < deadline && process.isRunning {
            found = (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if found == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        guard let found else {
            process.terminate()
            throw RollCallBench.Failure("the SMTP sink did not start (python3 with aiosmtpd: scripts/setup installs it)")
        }
        port = found
    }

    /// Messages accepted so far.
    func count() -> Int {
        ((try? String(contentsOf: records, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
