import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MusterCore
import MusterJournal
import MusterNotify
import MusterRuntime
import MusterServer
import MusterTestSupport
import NIOCore
import Testing

/// `POST /hooks/slack/commands` and `/hooks/mattermost/commands`: the `/muster` slash command as Slack and Mattermost
/// send it (form-encoded, Slack signed with the app's signing secret, Mattermost with the command's token), the
/// bundled ransomware playbook worked from declare to close through chat alone.
@Suite("Working the incident from Slack and Mattermost slash commands")
struct ChatCommandRouteTests {
    static let slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"
    static let mattermostToken = "mm-command-token-0123456789"

    let clock = ManualClock()
    let lines = LogLines()

    static let people = [
        Person(name: "Dana", slackID: "U0DANA0001", mattermostUser: "dana.w"),
        Person(name: "Lee", email: "lee.chen@example.org", slackID: "U0LEE00001", mattermostUser: "lee.c"),
        Person(name: "Priya", slackID: "U0PRIYA001", mattermostUser: "priya.s"),
        Person(name: "Sam", slackID: "U0SAM00001", mattermostUser: "sam.o"),
        Person(name: "Noor", mattermostUser: "noor.h"),
    ]

    /// `configure`: more server settings (the incident message's bot tokens).
    func fixture(_ configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> ServerFixture {
        let lines = self.lines
        let f = try ServerFixture(clock: clock, logger: Logger(label: "test") { _ in RecordingLogHandler(sink: lines) }) {
            $0.chatCallbacks = ChatCallbackSettings(slackSigningSecret: Self.slackSecret, mattermostCommandToken: Self.mattermostToken)
            configure(&$0)
        }
        _ = try f.state.journal.importPeople(Self.people, at: clock.now)
        // Roles go to people who are users (the runtime's rule, the same for chat and the API).
        for name in ["Priya", "Noor"] { try f.state.journal.addUser(name: name, tokenSHA256: Tokens.sha256(name), admin: false, at: clock.now) }
        return f
    }

    // MARK: The platforms, as they document their requests

    /// A fake Slack: slash command requests as Slack sends them, signed `v0` with the app's signing secret.
    struct FakeSlack {
        var secret = ChatCommandRouteTests.slackSecret
        var channel = "C0INCIDENT1"

        func body(user: String, text: String, trigger: String = UUID().uuidString) -> String {
            let fields: [(String, String)] = [
                ("token", "deprecated-verification-token"), ("team_id", "T0001"), ("team_domain", "example"),
                ("channel_id", channel), ("channel_name", "incident"), ("user_id", user), ("user_name", "someone"),
                ("command", "/muster"), ("text", text), ("api_app_id", "A0001"), ("is_enterprise_install", "false"),
                ("response_url", "https://hooks.slack.com/commands/T0001/1/abc"), ("trigger_id", trigger),
            ]
            return fields.map { "\($0.0)=\(ChatCallbackTests.formEncode($0.1))" }.joined(separator: "&")
        }

        func headers(body: String, timestamp: Int64) -> HTTPFields {
            ChatCallbackTests.slackHeaders(body: body, timestamp: timestamp, secret: secret)
        }
    }

    /// A fake Mattermost: slash command requests as Mattermost sends them, with the command's token.
    struct FakeMattermost {
        var token = ChatCommandRouteTests.mattermostToken
        var channel = "mmchannel0000000000000001"

        func body(user: String, text: String, trigger: String = UUID().uuidString) -> String {
            let fields: [(String, String)] = [
                ("channel_id", channel), ("channel_name", "incident"), ("command", "/muster"),
                ("response_url", "https://mattermost.example.org/hooks/commands/abc"), ("team_domain", "example"), ("team_id", "team0001"),
                ("text", text), ("token", token), ("trigger_id", trigger), ("user_id", "mmuser" + user), ("user_name", user),
            ]
            return fields.map { "\($0.0)=\(ChatCallbackTests.formEncode($0.1))" }.joined(separator: "&")
        }

        var headers: HTTPFields {
            var h = HTTPFields()
            h[.contentType] = "application/x-www-form-urlencoded"
            return h
        }
    }

    struct Reply {
        var status: Int
        var json: [String: Any]
        var text: String { json["text"] as? String ?? "" }
        var ephemeral: Bool { json["response_type"] as? String == "ephemeral" }
    }

    func slack(_ client: some TestClientProtocol, _ user: String, _ text: String, fake: FakeSlack = FakeSlack()) async throws -> Reply {
        let body = fake.body(user: user, text: text)
        let r = try await ChatCallbackTests.post(client, "/hooks/slack/commands", fake.headers(body: body, timestamp: clock.now.millisecondsSinceEpoch / 1000), body)
        return Reply(status: r.status, json: (try? JSONSerialization.jsonObject(with: Data(r.text.utf8))) as? [String: Any] ?? [:])
    }

    func mattermost(_ client: some TestClientProtocol, _ user: String, _ text: String, fake: FakeMattermost = FakeMattermost()) async throws -> Reply {
        let r = try await ChatCallbackTests.post(client, "/hooks/mattermost/commands", fake.headers, fake.body(user: user, text: text))
        return Reply(status: r.status, json: (try? JSONSerialization.jsonObject(with: Data(r.text.utf8))) as? [String: Any] ?? [:])
    }

    // MARK: The incident, step by step

    enum Via { case slack(String), mattermost(String) }

    /// The ransomware playbook from declaration to close: who does what, typed in chat and sent to the API.
    static let steps: [(who: String, via: Via, chat: String, api: [String: String])] = [
        ("Dana", .slack("U0DANA0001"), "assign it_ops <@U0LEE00001|lee>", ["type": "assign", "role": "it_ops", "person": "Lee"]),
        ("Dana", .slack("U0DANA0001"), "assign security_lead <@U0PRIYA001>", ["type": "assign", "role": "security_lead", "person": "Priya"]),
        ("Dana", .mattermost("dana.w"), "assign comms @sam.o", ["type": "assign", "role": "comms", "person": "Sam"]),
        ("Dana", .mattermost("dana.w"), "assign dpo @noor.h", ["type": "assign", "role": "dpo", "person": "Noor"]),
        ("Lee", .slack("U0LEE00001"), "done confirm EDR: 4,000 renames a minute on nas-cluster-1", ["type": "task-done", "task": "confirm", "note": "EDR: 4,000 renames a minute on nas-cluster-1"]),
        ("Priya", .slack("U0PRIYA001"), "done preserve-evidence Disk image of FS02, evidence locker EV-2026-031", ["type": "task-done", "task": "preserve-evidence", "note": "Disk image of FS02, evidence locker EV-2026-031"]),
        ("Lee", .slack("U0LEE00001"), "done scope FS02, FS03 and the finance and HR shares", ["type": "task-done", "task": "scope", "note": "FS02, FS03 and the finance and HR shares"]),
        ("Dana", .slack("U0DANA0001"), "event confirmed", ["type": "event", "name": "confirmed"]),
        ("Dana", .slack("U0DANA0001"), "decide declare-major declare because encryption confirmed on two servers", ["type": "decide", "decision": "declare-major", "option": "declare", "rationale": "encryption confirmed on two servers"]),
        ("Lee", .slack("U0LEE00001"), "done isolate NAS moved to the quarantine VLAN", ["type": "task-done", "task": "isolate", "note": "NAS moved to the quarantine VLAN"]),
        ("Priya", .mattermost("priya.s"), "done disable-accounts", ["type": "task-done", "task": "disable-accounts"]),
        ("Sam", .slack("U0SAM00001"), "note CFO asked for an ETA; next update at 19:00", ["type": "note", "text": "CFO asked for an ETA; next update at 19:00"]),
        ("Sam", .mattermost("sam.o"), "done notify-staff All-staff email sent", ["type": "task-done", "task": "notify-staff", "note": "All-staff email sent"]),
        ("Noor", .mattermost("noor.h"), "done assess-personal-data No exfiltration in proxy logs", ["type": "task-done", "task": "assess-personal-data", "note": "No exfiltration in proxy logs"]),
        ("Priya", .slack("U0PRIYA001"), "done identify-variant LockBit 3.0 through the VPN appliance", ["type": "task-done", "task": "identify-variant", "note": "LockBit 3.0 through the VPN appliance"]),
        ("Lee", .slack("U0LEE00001"), "done verify-backups Test restore of /finance/ap clean", ["type": "task-done", "task": "verify-backups", "note": "Test restore of /finance/ap clean"]),
        ("Priya", .slack("U0PRIYA001"), "done remove-persistence", ["type": "task-done", "task": "remove-persistence"]),
        ("Dana", .slack("U0DANA0001"), "decide recovery-source immutable-backup because 17:00 vault copy verified clean", ["type": "decide", "decision": "recovery-source", "option": "immutable-backup", "rationale": "17:00 vault copy verified clean"]),
        ("Lee", .slack("U0LEE00001"), "done restore-backup Restored from vault copy 17:00, restore log RS-5531", ["type": "task-done", "task": "restore-backup", "note": "Restored from vault copy 17:00, restore log RS-5531"]),
        ("Lee", .slack("U0LEE00001"), "done verify-integrity", ["type": "task-done", "task": "verify-integrity"]),
        ("Sam", .slack("U0SAM00001"), "skip tell-staff-restored the restore notice went with the all-staff update", ["type": "task-skip", "task": "tell-staff-restored", "reason": "the restore notice went with the all-staff update"]),
        ("Lee", .slack("U0LEE00001"), "event restored", ["type": "event", "name": "restored"]),
        ("Dana", .slack("U0DANA0001"), "relieve comms Sam hands over to the bridge", ["type": "relieve", "role": "comms", "handover": "Sam hands over to the bridge"]),
        ("Priya", .slack("U0PRIYA001"), "event all_clear", ["type": "event", "name": "all_clear"]),
        ("Dana", .slack("U0DANA0001"), "lesson The immutable backup was restored inside the RTO", ["type": "lesson", "text": "The immutable backup was restored inside the RTO"]),
        ("Dana", .slack("U0DANA0001"), "done post-incident-review Review held", ["type": "task-done", "task": "post-incident-review", "note": "Review held"]),
        ("Priya", .mattermost("priya.s"), "done update-playbook", ["type": "task-done", "task": "update-playbook"]),
        ("Dana", .slack("U0DANA0001"), "close Restored within RTO, review held", ["type": "close", "reason": "Restored within RTO, review held"]),
    ]

    /// The run's events in substance: type, actor, role and what they say, and when (from the first event),
    /// without the chat channels' bindings and with the run's id left out.
    static func substance(_ f: ServerFixture, _ runID: String) throws -> [String] { try substance(f.state.journal, runID) }

    static func substance(_ journal: Journal, _ runID: String) throws -> [String] {
        let events = try journal.events(runID: runID)
        let start = events.first?.at.millisecondsSinceEpoch ?? 0
        return events.compactMap { event in
            if case .chatChannelBound = event.body { return nil }
            let what = if case .runStarted(let started) = event.body { "\(started.playbookID) \(started.title)" } else { RunText.describe(event.body) }
            return "+\(event.at.millisecondsSinceEpoch - start)ms \(event.body.typeName) \(event.actor) \(event.role ?? "-") \(what)"
                .replacingOccurrences(of: runID, with: "RUN")
        }
    }

    /// The bundled ransomware playbook worked through chat alone (every step of `steps`, 30 s apart on the
    /// fixture's clock, the Mattermost channel bound before its first use): the fixture and the run.
    func workThroughChat(title: String) async throws -> (ServerFixture, String) {
        let chat = try fixture()
        let chatRun: String = try await chat.app.test(.router) { client async throws in
            let declared = try await slack(client, "U0DANA0001", "declare ransomware-file-servers \(title)")
            #expect(declared.status == 200 && declared.ephemeral, "\(declared.json)")
            let chatRun = try #require(declared.text.split(separator: " ").dropFirst(2).first.map(String.init), "\(declared.text)")
            #expect(declared.text.hasPrefix("Declared run \(chatRun) "), "\(declared.text)")
            // The Mattermost channel is not bound until Dana binds it (before her first command there).
            let early = try await mattermost(client, "dana.w", "status")
            #expect(early.text.contains("not bound"), "\(early.text)")
            for (index, step) in Self.steps.enumerated() {
                clock.advance(by: .seconds(30))
                if index == 2 {
                    let bound = try await mattermost(client, "dana.w", "bind \(chatRun)")
                    #expect(bound.text.contains("bound to run \(chatRun)"), "\(bound.text)")
                }
                let reply = switch step.via {
                case .slack(let id): try await slack(client, id, step.chat)
                case .mattermost(let name): try await mattermost(client, name, step.chat)
                }
                #expect(reply.status == 200 && reply.ephemeral, "\(step.chat): \(reply.json)")
                #expect(reply.text.hasPrefix("Done"), "\(step.chat): \(reply.text)")
            }
            return chatRun
        }
        return (chat, chatRun)
    }

    @Test("The bundled ransomware playbook worked from declare to close in Slack and Mattermost alone: the journal as the API's")
    func wholeIncident() async throws {
        let title = "Ransomware on the finance shares"
        // Through chat.
        let (chat, chatRun) = try await workThroughChat(title: title)
        #expect(try chat.state.journal.isClosed(runID: chatRun))

        // The same steps through the API.
        let apiClock = ManualClock()
        let api = try ServerFixture(clock: apiClock)
        _ = try api.state.journal.importPeople(Self.people, at: apiClock.now)
        for name in ["Priya", "Noor"] { try api.state.journal.addUser(name: name, tokenSHA256: Tokens.sha256(name), admin: false, at: apiClock.now) }
        let apiRun: String = try await api.app.test(.router) { client async throws in
            let declared = try await client.call(api, "Dana", .post, "/api/runs", ["playbook": "ransomware-file-servers", "title": title])
            let apiRun = try #require(declared.json["id"] as? String, "\(declared.text)")
            for step in Self.steps {
                apiClock.advance(by: .seconds(30))
                let r = try await client.call(api, step.who, .post, "/api/runs/\(apiRun)/commands", step.api)
                #expect(r.status == 200, "\(step.api): \(r.text)")
            }
            return apiRun
        }
        let throughChat = try Self.substance(chat, chatRun)
        let throughAPI = try Self.substance(api, apiRun)
        #expect(throughChat.count > 40)
        #expect(throughChat == throughAPI)
        // Both bindings are in the journal, with who bound them; nothing else differs.
        let bindings = try chat.state.journal.events(runID: chatRun).filter { if case .chatChannelBound = $0.body { true } else { false } }
        #expect(bindings.map(\.actor) == ["Dana", "Dana"])
        #expect(bindings.map { if case .chatChannelBound(let b) = $0.body { b.platform } else { "" } } == ["slack", "mattermost"])
        #expect(!lines.all.contains { $0.contains("U0LEE") || $0.contains("example.org") || $0.contains("renames") })
    }

    /// `muster` arguments doing what a step's API command does, as the step's person.
    static func cliArguments(_ step: (who: String, via: Via, chat: String, api: [String: String])) -> [String] {
        let a = step.api
        let command: [String] = switch a["type"] ?? "" {
        case "assign": ["assign", a["role"]!, a["person"]!]
        case "task-done": ["task", "done", a["task"]!] + (a["note"].map { ["--note", $0] } ?? [])
        case "task-skip": ["task", "skip", a["task"]!, "--note", a["reason"]!]
        case "event": ["event", a["name"]!]
        case "decide": ["decide", a["decision"]!, a["option"]!, "--why", a["rationale"]!]
        case "note": ["note", a["text"]!]
        case "relieve": ["relieve", a["role"]!, "--handover", a["handover"]!]
        case "lesson": ["lesson", a["text"]!]
        case "close": ["close", "--reason", a["reason"]!]
        default: ["unknown-step"]
        }
        return ["incident"] + command + ["--as", step.who]
    }

    @Test("The same incident worked through chat and through the CLI (the real binary, 30 s apart): the journals agree in substance",
          .ownThreads)
    func sameAsTheCLI() async throws {
        let title = "Ransomware on the finance shares"
        let (chat, chatRun) = try await workThroughChat(title: title)
        let binary = try MusterBinary.checked()
        let home = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-chat-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: home) }
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "MUSTER_DATABASE_URL")
        environment.removeValue(forKey: "MUSTER_USER")
        environment.merge(try TestDatabase.environment(home: home)) { $1 }
        let start = ManualClock().now
        func muster(_ arguments: [String], at instant: Instant) throws -> String {
            var env = environment
            env["MUSTER_NOW"] = instant.iso8601
            let output = try SpawnedProcess.run(binary, arguments, environment: env, directory: URL(fileURLWithPath: repositoryRoot), timeout: 60)
            #expect(output.status == 0, "muster \(arguments): \(output.stdout) \(output.stderr)")
            return output.stdout
        }
        let declared = try muster(["incident", "declare", "ransomware-file-servers", "--title", title, "--as", "Dana"], at: start)
        let cliRun = try #require(declared.split(separator: "\n").first.map(String.init), "\(declared)")
        for (index, step) in Self.steps.enumerated() {
            _ = try muster(Self.cliArguments(step), at: start + .seconds(30 * Int64(index + 1)))
        }
        let journal = try TestDatabase.open(home: home)
        defer { try? journal.close() }
        let throughCLI = try Self.substance(journal, cliRun)
        let throughChat = try Self.substance(chat, chatRun)
        #expect(throughChat.count > 40)
        #expect(throughChat == throughCLI)
    }

    @Test("A refusal's reason goes to the typist only; an unbound channel and a stranger are told what to do; nothing is recorded")
    func refusalsAndStrangers() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            let unbound = try await slack(client, "U0LEE00001", "done confirm")
            #expect(unbound.ephemeral && unbound.text.contains("/muster bind RUN"), "\(unbound.text)")
            let declared = try await slack(client, "U0DANA0001", "declare ransomware-file-servers Finance shares encrypted")
            let runID = try #require(try f.state.journal.openRuns().first?.id)
            #expect(declared.text.contains(runID))
            let status = try await slack(client, "U0SAM00001", "status")
            #expect(status.text.contains("Finance shares encrypted"), "\(status.text)")
            let before = try f.state.journal.head(runID: runID).sequence
            // Sam holds no role: completing it_ops's task is refused, with the API's reason, to Sam only.
            let refused = try await slack(client, "U0SAM00001", "done confirm Finance says files end in .lock")
            #expect(refused.status == 200 && refused.ephemeral)
            #expect(refused.text.contains("Refused: only the holder of it_ops"), "\(refused.text)")
            // The engine's own refusal (no such task) reaches the typist the same way.
            let unknown = try await slack(client, "U0DANA0001", "done no-such-task")
            #expect(unknown.text.hasPrefix("Refused:"), "\(unknown.text)")
            // A stranger: told how to be added; nothing recorded.
            let stranger = try await slack(client, "U0NOBODY01", "note hello")
            #expect(stranger.ephemeral && stranger.text.contains("muster people add YOUR-NAME --slack U0NOBODY01"), "\(stranger.text)")
            let mmStranger = try await mattermost(client, "nobody.x", "note hello")
            #expect(mmStranger.text.contains("--mattermost nobody.x"), "\(mmStranger.text)")
            // Bad grammar: the usage, nothing recorded.
            let usage = try await slack(client, "U0DANA0001", "decide declare-major declare")
            #expect(usage.text.contains("usage: /muster decide"), "\(usage.text)")
            #expect(try f.state.journal.head(runID: runID).sequence == before)
            let help = try await mattermost(client, "dana.w", "help")
            #expect(help.text.contains("`/muster declare PLAYBOOK TITLE`"))
        }
    }

    @Test("Forged, replayed (over 5 minutes), unsigned and wrongly tokened requests are 401, change nothing, and leave no body in the log")
    func forgedRequests() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            _ = try await slack(client, "U0DANA0001", "declare ransomware-file-servers Finance shares encrypted")
            let runID = try #require(try f.state.journal.openRuns().first?.id)
            let before = try f.state.journal.head(runID: runID).sequence
            let fake = FakeSlack()
            let body = fake.body(user: "U0DANA0001", text: "close secret-close-reason")
            let now = clock.now.millisecondsSinceEpoch / 1000
            var forged = fake.headers(body: body, timestamp: now)
            forged[HTTPField.Name("X-Slack-Signature")!] = "v0=" + String(repeating: "0", count: 64)
            var unsigned = HTTPFields()
            unsigned[.contentType] = "application/x-www-form-urlencoded"
            let signed = fake.headers(body: body, timestamp: now)
            for (what, headers) in [("forged", forged), ("wrong secret", FakeSlack(secret: "another").headers(body: body, timestamp: now)),
                                    ("unsigned", unsigned)] {
                let r = try await ChatCallbackTests.post(client, "/hooks/slack/commands", headers, body)
                #expect(r.status == 401, "\(what): \(r.text)")
            }
            // The same signed request replayed six minutes later.
            clock.advance(by: .minutes(6))
            let replay = try await ChatCallbackTests.post(client, "/hooks/slack/commands", signed, body)
            #expect(replay.status == 401, "\(replay.text)")
            for fakeMM in [FakeMattermost(token: "wrong-token"), FakeMattermost(token: "")] {
                let r = try await ChatCallbackTests.post(client, "/hooks/mattermost/commands", fakeMM.headers, fakeMM.body(user: "dana.w", text: "close secret-close-reason"))
                #expect(r.status == 401, "\(r.text)")
            }
            #expect(try f.state.journal.head(runID: runID).sequence == before)
            #expect(try f.state.journal.isClosed(runID: runID) == false)
        }
        let refusals = lines.all.filter { $0.contains("refused callback") }
        #expect(refusals.count == 6)
        for line in lines.all {
            for needle in ["secret-close-reason", "U0DANA", "v0=", Self.slackSecret, Self.mattermostToken, "wrong-token"] {
                #expect(!line.contains(needle), "log line holds '\(needle)': \(line)")
            }
        }
    }

    @Test("A retried Slack request (same signature) is done once; ack finds the typist's one open page")
    func retryAndAck() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            _ = try await slack(client, "U0DANA0001", "declare ransomware-file-servers Finance shares encrypted")
            let runID = try #require(try f.state.journal.openRuns().first?.id)
            let fake = FakeSlack()
            let body = fake.body(user: "U0DANA0001", text: "note the first update went out")
            let headers = fake.headers(body: body, timestamp: clock.now.millisecondsSinceEpoch / 1000)
            let first = try await ChatCallbackTests.post(client, "/hooks/slack/commands", headers, body)
            #expect(first.text.contains("Done"), "\(first.text)")
            let after = try f.state.journal.head(runID: runID).sequence
            let again = try await ChatCallbackTests.post(client, "/hooks/slack/commands", headers, body)
            #expect(again.text.contains("Already done"), "\(again.text)")
            #expect(try f.state.journal.head(runID: runID).sequence == after)
            #expect(try f.state.runtime.snapshot(runID: runID).run.notes.count == 1)
            let noPage = try await slack(client, "U0LEE00001", "ack")
            #expect(noPage.text.contains("No page sent to you"), "\(noPage.text)")
        }
    }

    @Test("In an exercise the same commands are the players' actions; a player without the role is refused")
    func exercise() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            let started = try await client.call(f, "Dana", .post, "/api/exercises", ["exercise": "ransomware-tabletop-2026q4", "speed": "manual"])
            let runID = try #require(started.json["id"] as? String, "\(started.text)")
            let bound = try await slack(client, "U0LEE00001", "bind \(runID)")
            #expect(bound.text.contains("bound to run \(runID)"), "\(bound.text)")
            let done = try await slack(client, "U0LEE00001", "done confirm EDR shows mass renames")
            #expect(done.text.hasPrefix("Done: task 'confirm' done"), "\(done.text)")
            #expect(try f.state.runtime.snapshot(runID: runID).run.taskStatus("confirm") == .done)
            let refused = try await slack(client, "U0SAM00001", "done scope")
            #expect(refused.ephemeral && refused.text.contains("Refused: only the holder of it_ops"), "\(refused.text)")
            #expect(try f.state.runtime.snapshot(runID: runID).run.taskStatus("scope") != .done)
            // Priya plays no part in this exercise: she may not bind it to a channel.
            let stranger = try await slack(client, "U0PRIYA001", "bind \(runID)", fake: FakeSlack(channel: "C0OTHER0001"))
            #expect(stranger.text.hasPrefix("Refused: Priya is not on this run"), "\(stranger.text)")
        }
    }

    // MARK: Restricted runs

    @Test("On a restricted run a directory person not on it is refused as the API refuses them, nothing recorded; one on it works")
    func restrictedRun() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            let declared = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "ransomware-file-servers", "title": "Payroll encrypted", "restricted": true])
            let runID = try #require(declared.json["id"] as? String, "\(declared.text)")
            let bound = try await slack(client, "U0DANA0001", "bind \(runID)")
            #expect(bound.text.contains("bound to run \(runID)"), "\(bound.text)")
            let before = try f.state.journal.head(runID: runID).sequence
            // Sam is in the directory and a user, but not on the run: the API hides it from him.
            let api = try await client.call(f, "Sam", .post, "/api/runs/\(runID)/commands", ["type": "note", "text": "from the API"])
            #expect(api.status == 404, "\(api.text)")
            let apiReason = try #require(api.json["error"] as? String, "\(api.text)")
            for text in ["note Payroll vendor called", "status", "event confirmed", "lesson none"] {
                let refused = try await slack(client, "U0SAM00001", text)
                #expect(refused.status == 200 && refused.ephemeral, "\(text): \(refused.json)")
                #expect(refused.text == "Refused: \(apiReason)", "\(text): \(refused.text)")
            }
            #expect(try f.state.journal.head(runID: runID).sequence == before)
            // Dana declared it (incident commander): she works it from the channel; Lee once she assigns him a role.
            let note = try await slack(client, "U0DANA0001", "note Payroll vendor called")
            #expect(note.ephemeral && note.text.hasPrefix("Done"), "\(note.text)")
            let assigned = try await slack(client, "U0DANA0001", "assign it_ops <@U0LEE00001|lee>")
            #expect(assigned.text.hasPrefix("Done"), "\(assigned.text)")
            let lee = try await slack(client, "U0LEE00001", "done confirm EDR alert on the payroll share")
            #expect(lee.text.hasPrefix("Done: task 'confirm' done"), "\(lee.text)")
            #expect(try f.state.runtime.snapshot(runID: runID).run.notes.count == 1)
        }
    }

    // MARK: What the server keeps in memory

    /// A second server on the fixture's journal and clock (a cluster's other member).
    func secondServer(_ f: ServerFixture) throws -> ServerState {
        ServerState(runtime: IncidentRuntime(journal: try TestDatabase.open(home: f.folder), clock: clock), configuration: f.state.configuration)
    }

    @Test("A person removed from the directory is refused once the cache's time to live has passed; one added is known at once")
    func directoryChanges() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            _ = try await slack(client, "U0DANA0001", "declare ransomware-file-servers Finance shares encrypted")
            let runID = try #require(try f.state.journal.openRuns().first?.id)
            #expect(try await slack(client, "U0SAM00001", "note first").text.hasPrefix("Done"))
            // `muster people remove Sam` (another process): this server still knows Sam for the time to live.
            try f.state.journal.removePerson(named: "Sam", at: clock.now)
            clock.advance(by: TimeSpan(milliseconds: ChatPeople.timeToLive.milliseconds - 1))
            #expect(try await slack(client, "U0SAM00001", "note second").text.hasPrefix("Done"))
            clock.advance(by: TimeSpan(milliseconds: 1))
            let removed = try await slack(client, "U0SAM00001", "note third")
            #expect(removed.text.contains("not in Muster's people directory"), "\(removed.text)")
            // A stranger is not kept: added, they are known at the next command.
            let stranger = try await mattermost(client, "olga.k", "note hello", fake: FakeMattermost())
            #expect(stranger.text.contains("--mattermost olga.k"), "\(stranger.text)")
            try f.state.journal.upsertPerson(Person(name: "Olga", mattermostUser: "Olga.K"), at: clock.now)
            let bound = try await mattermost(client, "dana.w", "bind \(runID)")
            #expect(bound.text.contains("bound to run \(runID)"), "\(bound.text)")
            let added = try await mattermost(client, "olga.k", "note hello")
            #expect(added.text.hasPrefix("Done"), "\(added.text)")
            #expect(try f.state.runtime.snapshot(runID: runID).run.notes.map(\.text) == ["first", "second", "hello"])
        }
    }

    @Test("A channel bound again on another server is followed after the refresh interval; this server's own binding at once")
    func bindingOnAnotherServer() async throws {
        let f = try fixture()
        let other = try secondServer(f)
        try await f.app.test(.router) { a async throws in
            try await buildApplication(state: other).test(.router) { b async throws in
                let first = try await slack(a, "U0DANA0001", "declare ransomware-file-servers Finance shares encrypted")
                let firstRun = try #require(first.text.split(separator: " ").dropFirst(2).first.map(String.init), "\(first.text)")
                #expect(try await slack(a, "U0DANA0001", "note on the first").text.hasPrefix("Done"))
                // Server B: a second run, and the same channel bound to it.
                clock.advance(by: .seconds(1))
                let second = try await slack(b, "U0DANA0001", "declare ransomware-file-servers HR shares encrypted", fake: FakeSlack(channel: "C0SECOND01"))
                let secondRun = try #require(second.text.split(separator: " ").dropFirst(2).first.map(String.init), "\(second.text)")
                // A reads the bindings now (its last read is a second old); then B binds the first channel again.
                #expect(try await slack(a, "U0DANA0001", "status").text.contains("Finance shares encrypted"))
                let rebound = try await slack(b, "U0DANA0001", "bind \(secondRun)")
                #expect(rebound.text.contains("bound to run \(secondRun)"), "\(rebound.text)")
                // B follows its own binding at once; A at most a refresh interval later (by design).
                #expect(try await slack(b, "U0DANA0001", "note from B").text.hasPrefix("Done"))
                #expect(try await slack(a, "U0DANA0001", "note from A, early").text.hasPrefix("Done"))
                clock.advance(by: ChatBindingIndex.refreshInterval)
                #expect(try await slack(a, "U0DANA0001", "note from A").text.hasPrefix("Done"))
                #expect(try f.state.runtime.snapshot(runID: firstRun).run.notes.map(\.text) == ["on the first", "from A, early"])
                #expect(try f.state.runtime.snapshot(runID: secondRun).run.notes.map(\.text) == ["from B", "from A"])
                #expect(try f.state.boundRuns() == [
                    secondRun: [ChatChannelBinding(platform: "slack", channel: "C0INCIDENT1", team: "T0001"),
                                ChatChannelBinding(platform: "slack", channel: "C0SECOND01", team: "T0001")],
                ])
            }
        }
    }

    @Test("A closed run's binding is not used, even before the refresh: the channel follows its earlier open run, then none")
    func closedRunBinding() async throws {
        let f = try fixture()
        let other = try secondServer(f)
        try await f.app.test(.router) { a async throws in
            try await buildApplication(state: other).test(.router) { b async throws in
                let first = try await slack(a, "U0DANA0001", "declare ransomware-file-servers Finance shares encrypted")
                let firstRun = try #require(first.text.split(separator: " ").dropFirst(2).first.map(String.init), "\(first.text)")
                clock.advance(by: TimeSpan(milliseconds: 10))
                let second = try await slack(a, "U0DANA0001", "declare ransomware-file-servers HR shares encrypted")
                let secondRun = try #require(second.text.split(separator: " ").dropFirst(2).first.map(String.init), "\(second.text)")
                #expect(try await slack(a, "U0DANA0001", "note to the second").text.hasPrefix("Done"))
                // Server B closes the second run; A has not read the journal since (no time passed).
                let closed = try await slack(b, "U0DANA0001", "close false alarm")
                #expect(closed.text.hasPrefix("Done"), "\(closed.text)")
                #expect(try f.state.journal.isClosed(runID: secondRun))
                let note = try await slack(a, "U0DANA0001", "note after the close")
                #expect(note.text.hasPrefix("Done"), "\(note.text)")
                #expect(try f.state.runtime.snapshot(runID: secondRun).run.notes.map(\.text) == ["to the second"])
                #expect(try f.state.runtime.snapshot(runID: firstRun).run.notes.map(\.text) == ["after the close"])
                // The first closed on A itself: the channel is bound to nothing.
                #expect(try await slack(a, "U0DANA0001", "close false alarm too").text.hasPrefix("Done"))
                let unbound = try await slack(a, "U0DANA0001", "status")
                #expect(unbound.text.contains("not bound"), "\(unbound.text)")
                #expect(try f.state.boundRuns().isEmpty)
            }
        }
    }
}
