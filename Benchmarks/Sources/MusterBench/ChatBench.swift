import Foundation
import Glibc
import Logging
import MusterCore
import MusterJournal
import MusterNotify
import MusterRuntime
import MusterServer

/// Slash commands through `muster serve` (issue 18): `/muster note ...` typed in a Mattermost channel bound to a
/// run (`POST /hooks/mattermost/commands`: token check, identity from the directory, the bound run, decide, append,
/// ephemeral reply), as a ratio to the same note through the API's command route (`POST /api/runs/ID/commands`,
/// Bearer) on the same server and journal in the same run (`wrk -t2 -c50 -d10s`; target at least 0.8, p99 under
/// 50 ms). Mattermost's form rather than Slack's: wrk's Lua cannot compute Slack's HMAC per request, and the Slack
/// route differs only by the signature check (one HMAC-SHA256 of the body, microseconds).
enum ChatBench {
    static let duration = 10
    static let connections = 50

    static func progress(_ line: String) { ServeBench.progress("chat: " + line) }

    static let playbook = """
        muster: 1
        id: chat-bench
        version: 1
        title: Chat bench
        roles:
          incident_commander: { title: Incident commander }
          scribe: { title: Scribe }
        start: work
        states:
          work:
            phase: respond
            owner: incident_commander
            tasks:
              - { id: check, title: Check, role: incident_commander }
            transitions:
              - { on: resolved, to: closed }
          closed:
            phase: learn
            owner: incident_commander
            terminal: true
        """

    static func run() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("muster-chat-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let journal = try Journal.open(home: scratch.appendingPathComponent("journal").path, durability: .full)
        let runtime = IncidentRuntime(journal: journal)
        let playbookPath = scratch.appendingPathComponent("chat-bench.yaml").path
        try playbook.write(toFile: playbookPath, atomically: true, encoding: .utf8)
        let token = Tokens.make()
        let commandToken = Tokens.make()
        try journal.addUser(name: "Dana", tokenSHA256: Tokens.sha256(token), admin: true, at: runtime.clock.now)
        for name in ["Lee", "Sam"] { try journal.addUser(name: name, tokenSHA256: Tokens.sha256(Tokens.make()), admin: false, at: runtime.clock.now) }
        _ = try journal.importPeople([Person(name: "Dana", mattermostUser: "dana"), Person(name: "Lee", mattermostUser: "lee"),
                                      Person(name: "Sam", mattermostUser: "sam")], at: runtime.clock.now)
        let runID = try runtime.declare(DeclareRequest(playbookPath: playbookPath, title: "Chat bench", actor: "Dana")).runID
        let binding = RunEvent(at: runtime.clock.now, actor: "Dana", role: nil, .chatChannelBound(ChatChannelBinding(platform: "mattermost", channel: "benchchannel")))
        // A Slack channel bound too: its incident message is kept current (to nginx standing in for Slack's API)
        // while the commands run, as a real server does.
        let slack = RunEvent(at: runtime.clock.now, actor: "Dana", role: nil, .chatChannelBound(ChatChannelBinding(platform: "slack", channel: "C0BENCH")))
        try journal.append(runID: runID, expectedSequence: try runtime.snapshot(runID: runID).sequence, events: [binding, slack])
        let nginx = try Nginx(directory: scratch.appendingPathComponent("nginx"))
        defer { nginx.stop() }

        let port = try Nginx.freePort()
        var logger = Logger(label: "muster.bench")
        logger.logLevel = .warning
        var configuration = ServerConfiguration(host: "127.0.0.1", port: port, playbooksFolder: scratch.path, exercisesFolder: scratch.path)
        configuration.chatCallbacks = ChatCallbackSettings(mattermostCommandToken: commandToken)
        configuration.chatPosting = ChatPostingSettings(slackToken: "xoxb-bench-token", slackAPI: "http://127.0.0.1:\(nginx.port)/slack-api")
        let state = ServerState(runtime: runtime, configuration: configuration, logger: logger)
        let server = BenchServer(state: state, logger: logger)
        server.start()
        defer { _ = server.stop(seconds: 10) }
        try ServeBench.waitUntil(seconds: 15, "the server listens on 127.0.0.1:\(port)") { Nginx.accepts(port: port) }
        let base = "http://127.0.0.1:\(port)"

        progress("baseline: wrk -c\(connections) -d\(duration)s POST /api/runs/\(runID)/commands (note)")
        let api = try ServeBench.wrk(url: base + "/api/runs/\(runID)/commands", script: apiScript(token: token), scratch: scratch,
                                     connections: connections, seconds: duration)
        progress("slash commands: wrk -c\(connections) -d\(duration)s POST /hooks/mattermost/commands (/muster note)")
        let chat = try ServeBench.wrk(url: base + "/hooks/mattermost/commands", script: chatScript(token: commandToken), scratch: scratch,
                                      connections: connections, seconds: duration)
        let notes = try runtime.snapshot(runID: runID).run.noteCount
        guard api.other == 0, chat.other == 0 else { throw ServeBench.Failure("refused: \(api.other) API notes, \(chat.other) slash commands") }
        // wrk stops counting at the end of its time; requests still in flight then are recorded but not counted.
        guard notes >= api.ok + chat.ok, notes <= api.ok + chat.ok + 4 * connections else {
            throw ServeBench.Failure("the run has \(notes) notes, expected \(api.ok + chat.ok) and those in flight at the end")
        }
        let duringWrk = IncidentMessageControl.counts(state)

        // A burst of 100 commands that each change what the message shows (who is scribe), one after another
        // as fast as the server answers; then the message's edits until it is quiet (bounded).
        progress("burst: 100 /muster assign scribe through /hooks/mattermost/commands, then the incident message's edits")
        let before = IncidentMessageControl.counts(state)
        let burstStart = ContinuousClock.now
        for index in 0..<100 {
            let who = index % 2 == 0 ? "lee" : "sam"
            let body = "channel_id=benchchannel&command=%2Fmuster&team_id=team1&text=assign+scribe+%40\(who)&token=\(commandToken)"
                + "&trigger_id=burst-\(index)&user_id=u1&user_name=dana"
            let reply = try rawPost(port: port, path: "/hooks/mattermost/commands", body: body)
            guard reply.contains("Done") else { throw ServeBench.Failure("burst command \(index) refused: \(reply)") }
        }
        let burst = ContinuousClock.now - burstStart
        var last = IncidentMessageControl.counts(state)
        var quietSince = ContinuousClock.now
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline, ContinuousClock.now - quietSince < .seconds(3) {
            Thread.sleep(forTimeInterval: 0.1)
            let now = IncidentMessageControl.counts(state)
            if now != last { last = now; quietSince = ContinuousClock.now }
        }
        let burstEdits = last.edits - before.edits
        guard try runtime.snapshot(runID: runID).run.holder(of: "scribe") == "Sam" else { throw ServeBench.Failure("the burst did not end with Sam as scribe") }

        let ratio = chat.rate / api.rate
        print("chat: /muster note through muster serve (SQLite, durability full), \(connections) connections, \(duration) s each")
        print("  POST /hooks/mattermost/commands (token, directory, bound run, decide, append, ephemeral reply): \(Int(chat.rate))/s, p50 \(ServeBench.ms(chat.p50)) ms, p99 \(ServeBench.ms(chat.p99)) ms (\(chat.ok) done)")
        print("  POST /api/runs/{id}/commands (note, Bearer), baseline:                                      \(Int(api.rate))/s, p50 \(ServeBench.ms(api.p50)) ms, p99 \(ServeBench.ms(api.p99)) ms (\(api.ok) done)")
        print("  slash commands / API: \(MusterBench.format(ratio, 2)) (target at least 0.8); p99 \(ServeBench.ms(chat.p99)) ms (target under 50 ms)")
        print("  incident message (Slack, to nginx): \(duringWrk.posts) post and \(duringWrk.edits) edits during the \(2 * duration) s of notes (notes do not change it)")
        print("  burst of 100 commands that each change it, in \(NotifyBench.ms(burst)) ms: \(burstEdits) edits (target: a handful; one per \(state.configuration.incidentMessageInterval) at most), \(last.failures) failures")
    }

    /// One POST on a fresh connection to 127.0.0.1 (`Connection: close`); the response as text.
    static func rawPost(port: Int, path: String, body: String) throws -> String {
        try Nginx.exchange(port: port, "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
    }

    static func apiScript(token: String) -> String {
        ServeBench.summary + """

            ok, other, n = 0, 0, 0
            function request()
              n = n + 1
              local body = string.format('{"type":"note","text":"bench note %d-%d"}', id, n)
              return wrk.format("POST", nil, {["Authorization"] = "Bearer \(token)", ["Content-Type"] = "application/json"}, body)
            end
            function response(status, headers, body)
              if status >= 200 and status < 300 then ok = ok + 1 else other = other + 1 end
            end
            """
    }

    /// Mattermost's slash command form; each request its own trigger id (as Mattermost gives), so none is a replay.
    static func chatScript(token: String) -> String {
        ServeBench.summary + """

            ok, other, n = 0, 0, 0
            function request()
              n = n + 1
              local body = string.format("channel_id=benchchannel&channel_name=incident&command=%%2Fmuster&team_id=team1&text=note+bench+note+%d-%d&token=\(token)&trigger_id=t-%d-%d&user_id=u1&user_name=dana", id, n, id, n)
              return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
            end
            function response(status, headers, body)
              if status == 200 and string.find(body, "Done", 1, true) then ok = ok + 1 else other = other + 1 end
            end
            """
    }
}
