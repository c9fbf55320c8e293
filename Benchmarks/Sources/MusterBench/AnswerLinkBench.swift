import Foundation
import Logging
import MusterCore
import MusterJournal
import MusterRuntime
import MusterServer

/// Answers through personal answer links (issue 17): the real server in this process on 127.0.0.1 with a fresh
/// journal (synchronous = FULL), one live run whose roll call asks 10,000 people, a link (its hashed token in
/// `answer_links`, as the delivery worker records it) for each, then `wrk -t2 -c50 -d10s --latency` (MUSTER_BENCH_CONNECTIONS) POSTing
/// `option=...` to `/a/TOKEN`, going through the tokens in turn. Baseline: the same wrk against `GET /healthz` of
/// the same server, in the same run. Targets (the issue's): answers at least 30% of the baseline's rate, p99 under
/// 50 ms. Then everyone not yet answered answers (through the runtime), and the tally of 10,000 answers is read
/// from the runtime's copy of the run 200 times (what `GET /api/runs/{id}` and the board read): target under 10 ms.
/// Checks: no non-2xx answer, the journal holds an `answer-received` with channel `link` for every 2xx (those still
/// in flight when wrk stopped reading may add at most one per connection), and the chain verifies.
enum AnswerLinkBench {
    static let people = 10_000
    static let options = ["safe", "help", "away"]
    /// As many connections as `muster-bench rollcall` answers with: 50 people's phones at once is already a burst.
    static let connections = Int(ProcessInfo.processInfo.environment["MUSTER_BENCH_CONNECTIONS"] ?? "") ?? 50

    static func playbook() -> String {
        """
        muster: 1
        id: link-bench
        version: 1
        title: Answer link bench
        severity: P1
        roles:
          incident_commander: { title: Incident Commander }
        channels:
          text: { type: sms, url: "http://127.0.0.1:9/", account: "AC1", token: "t", from: "+4412345" }
        start: standby
        states:
          standby:
            phase: detect
            owner: incident_commander
            transitions: [ { on: evacuate, to: evacuate } ]
          evacuate:
            phase: respond
            owner: incident_commander
            on_enter:
              - roll_call: { id: staff-safety, who: [group: site-hq], ask: "Are you safe?", options: { safe: I am safe, help: I need help, away: Not on site }, via: [text], within: 1h }
            transitions:
              - { on: done, to: closed }
          closed:
            phase: learn
            terminal: true
        """
    }

    static func run() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") else { throw ServeBench.Failure("wrk is not installed (apt-get install -y wrk)") }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("muster-link-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let playbookPath = scratch.appendingPathComponent("link-bench.yaml").path
        try playbook().write(toFile: playbookPath, atomically: true, encoding: .utf8)
        let journal = try Journal.open(.sqlite(path: scratch.appendingPathComponent("muster.db").path))
        let runtime = IncidentRuntime(journal: journal)
        let now = runtime.clock.now
        try journal.addUser(name: "Dana", tokenSHA256: Tokens.sha256(Tokens.make()), admin: true, at: now)
        let directory = (0..<people).map { Person(name: String(format: "Person %05d", $0), phone: String(format: "+4477009%05d", $0), groups: ["site-hq"]) }
        try journal.importPeople(directory, at: now)
        ServeBench.progress("declaring a run whose roll call asks \(people) people")
        let runID = try runtime.declare(DeclareRequest(playbookPath: playbookPath, title: "Link bench", actor: "Dana")).runID
        _ = try runtime.execute(Command(actor: "Dana", .raise("evacuate")), on: runID)
        guard try runtime.snapshot(runID: runID).run.rollCalls["staff-safety"]?.people.count == people else {
            throw ServeBench.Failure("the roll call did not start with \(people) people")
        }
        // The links the delivery worker would record (this bench measures answering, not sending).
        var tokens: [String] = []
        var links: [AnswerLink] = []
        for (index, person) in directory.enumerated() {
            let token = AnswerToken.make()
            tokens.append(token)
            links.append(AnswerLink(tokenSHA256: AnswerToken.sha256(token), runID: runID, person: person.name, question: .rollCall("staff-safety"),
                                    notificationID: "n\(index + 1)", message: "Are you safe?", createdAt: now, expiresAt: now + .hours(25)))
        }
        try journal.addAnswerLinks(links)
        let tokensFile = scratch.appendingPathComponent("tokens.txt").path
        try (tokens.joined(separator: "\n") + "\n").write(toFile: tokensFile, atomically: true, encoding: .utf8)

        let port = try Nginx.freePort()
        var logger = Logger(label: "muster.bench")
        logger.logLevel = .warning
        let state = ServerState(runtime: runtime, configuration: ServerConfiguration(host: "127.0.0.1", port: port, playbooksFolder: scratch.path,
                                                                                       exercisesFolder: scratch.path), logger: logger)
        let server = BenchServer(state: state, logger: logger)
        ServeBench.progress("starting the server on 127.0.0.1:\(port)")
        server.start()
        do {
            try ServeBench.waitUntil(seconds: 15, "the server listens on 127.0.0.1:\(port)") { Nginx.accepts(port: port) }
            let base = "http://127.0.0.1:\(port)"
            ServeBench.progress("baseline: wrk GET /healthz")
            let baseline = try ServeBench.wrk(url: base + "/healthz", script: ServeBench.summaryOnly, scratch: scratch, connections: connections)
            ServeBench.progress("load: wrk POST /a/TOKEN")
            let load = try ServeBench.wrk(url: base + "/a/", script: answerScript(tokens: tokensFile), scratch: scratch, connections: connections)
            // Let the answers in flight at wrk's stop finish: the head stable for 3 reads.
            var head = -1, settled = 0
            let deadline = Date().addingTimeInterval(20)
            while settled < 3 && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.2)
                let now = try journal.head(runID: runID).sequence
                settled = now == head ? settled + 1 : 0
                head = now
            }
            let stoppedCleanly = server.stop(seconds: 15)

            var journaled = 0, otherChannel = 0
            for event in try journal.events(runID: runID) {
                if case .answerReceived(_, _, _, let channel, _) = event.body {
                    journaled += 1
                    if channel != "link" { otherChannel += 1 }
                }
            }
            // Everyone not answered yet answers, so the tally counts 10,000.
            let record = try runtime.snapshot(runID: runID).run.rollCalls["staff-safety"]
            let answered = Set(record.map { record in record.people.filter { record.answers[$0] != nil } } ?? [])
            let rest = directory.enumerated().filter { !answered.contains($0.element.name) }
            for chunk in stride(from: 0, to: rest.count, by: 500) {
                let commands = rest[chunk..<min(rest.count, chunk + 500)].map { index, person in
                    Command(actor: person.name, .answer(rollCall: "staff-safety", person: person.name, option: options[index % options.count], channel: "link"))
                }
                _ = try runtime.executeBatch(commands, on: runID) { _, _ in true }
            }
            let optionIDs = options
            var samples: [Double] = []
            var tally = try runtime.snapshot(runID: runID).run.rollCalls["staff-safety"]!.tally(options: optionIDs)
            for _ in 0..<200 {
                let start = ContinuousClock.now
                tally = try runtime.snapshot(runID: runID).run.rollCalls["staff-safety"]!.tally(options: optionIDs)
                samples.append(NotifyBench.seconds(ContinuousClock.now - start) * 1000)
            }
            samples.sort()
            let intact = try journal.verify(runID: runID).isIntact
            try? journal.close()

            let ratio = load.rate / baseline.rate
            print("answer links: 1 live run, a roll call of \(people) people, wrk -t\(ServeBench.wrkThreads) -c\(connections) -d\(ServeBench.duration)s --latency on 127.0.0.1 (journal synchronous = FULL)")
            print("  POST /a/TOKEN (option=..., no sign-in): \(Int(load.rate)) answers/s, p50 \(ServeBench.ms(load.p50)) ms, p99 \(ServeBench.ms(load.p99)) ms, \(load.ok) 2xx, \(load.other) other, socket errors: \(load.socketErrors)")
            print("  GET /healthz (baseline, same server):   \(Int(baseline.rate)) requests/s, p50 \(ServeBench.ms(baseline.p50)) ms, p99 \(ServeBench.ms(baseline.p99)) ms")
            print("  answers vs baseline: \(MusterBench.format(ratio * 100, 1))% (target: at least 30%); p99 \(ServeBench.ms(load.p99)) ms (target: under 50 ms)")
            print("  tally at \(tally.accounted) answers (runtime's copy of the run): median \(MusterBench.format(samples[samples.count / 2], 3)) ms, p99 \(MusterBench.format(samples[samples.count * 99 / 100], 3)) ms (target: under 10 ms)")
            print("  journal: \(journaled) answers through links for \(load.ok) 2xx (in flight at wrk's end: at most \(ServeBench.connections) more); other channels: \(otherChannel); chain verifies: \(intact)")
            let met = ratio >= 0.3 && load.p99 < 50_000 && samples[samples.count / 2] < 10
            let clean = load.other == 0 && journaled >= load.ok && journaled <= load.ok + ServeBench.connections && otherChannel == 0 && intact
                && stoppedCleanly && tally.accounted == people
            print("  targets \(met ? "met" : "NOT met"); answers \(clean ? "all journaled" : "CHECK FAILED")")
            fflush(nil)
            if !clean { throw ServeBench.Failure("non-2xx answers, answers not journaled, or an unclean stop (see above)") }
        } catch {
            _ = server.stop(seconds: 15)
            throw error
        }
    }

    /// Each wrk thread goes through the tokens in turn (thread `id` takes every `threads`-th), answering options in
    /// rotation; 2xx and other answers counted.
    static func answerScript(tokens: String) -> String {
        ServeBench.summary + """

            ok, other, n = 0, 0, 0
            local tokens = {}
            local options = {"safe", "help", "away"}
            function init(args)
              for line in io.lines("\(tokens)") do table.insert(tokens, line) end
            end
            function request()
              n = n + 1
              local i = ((n - 1) * \(ServeBench.wrkThreads) + id - 1) % #tokens + 1
              return wrk.format("POST", "/a/" .. tokens[i], {["Content-Type"] = "application/x-www-form-urlencoded"}, "option=" .. options[(n % 3) + 1])
            end
            function response(status, headers, body)
              if status >= 200 and status < 300 then ok = ok + 1 else other = other + 1 end
            end
            """
    }
}
