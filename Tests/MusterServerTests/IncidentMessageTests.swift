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

/// The incident message of a bound chat channel (docs/chat.md): posted once through a fake Slack Web API and a fake
/// Mattermost REST API on 127.0.0.1, edited in place as the incident is worked, its task buttons pressed as the
/// platforms send presses, the edits of a burst coalesced, EXERCISE at the top of an exercise's.
@Suite("The incident message in bound Slack and Mattermost channels")
struct IncidentMessageTests {
    static let actionSecret = "mm-action-secret-0123456789"

    let chat = ChatCommandRouteTests()
    var clock: ManualClock { chat.clock }

    func fixture(_ platform: FakeChatPlatform, interval: Duration = .milliseconds(300), slackAPI: String? = nil) throws -> ServerFixture {
        try chat.fixture {
            $0.chatPosting = ChatPostingSettings(slackToken: platform.slackToken, slackAPI: slackAPI ?? platform.slackAPI,
                                                 mattermostToken: platform.mattermostToken, mattermostURL: platform.baseURL)
            $0.chatCallbacks.mattermostActionSecret = Self.actionSecret
            $0.chatCallbacks.publicURL = "https://muster.example.org"
            $0.incidentMessageInterval = interval
            $0.incidentMessageTick = .milliseconds(50)
            $0.pumpInterval = .milliseconds(100)
        }
    }

    /// Presses a Slack button with `value` as `user`, signed as Slack signs it: the reply, and the command key the
    /// press is recorded under (`slack:SIGNATURE`).
    func pressSlack(_ client: some TestClientProtocol, user: String, value: String) async throws -> (text: String, key: String) {
        let body = ChatCallbackTests.slackBody(user: user, value: value)
        let headers = ChatCallbackTests.slackHeaders(body: body, timestamp: clock.now.millisecondsSinceEpoch / 1000, secret: ChatCommandRouteTests.slackSecret)
        let r = try await ChatCallbackTests.post(client, "/hooks/slack/interactive", headers, body)
        let json = (try? JSONSerialization.jsonObject(with: Data(r.text.utf8))) as? [String: Any]
        return ("\(r.status) " + (json?["text"] as? String ?? r.text), "slack:" + (headers[HTTPField.Name("X-Slack-Signature")!] ?? ""))
    }

    /// Presses a Mattermost button as `user`, with the context the post carried (as Mattermost posts it back).
    func pressMattermost(_ client: some TestClientProtocol, user: String, context: [String: Any], trigger: String = UUID().uuidString) async throws -> (status: Int, text: String) {
        let body: [String: Any] = ["user_id": "mm" + user, "user_name": user, "channel_id": "mmchannel0000000000000001", "team_id": "team0001",
                                   "post_id": "p1", "trigger_id": trigger, "type": "button", "context": context]
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let r = try await ChatCallbackTests.post(client, "/hooks/mattermost/actions", headers,
                                                 String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
        let json = (try? JSONSerialization.jsonObject(with: Data(r.text.utf8))) as? [String: Any]
        return (r.status, json?["ephemeral_text"] as? String ?? r.text)
    }

    static func slackButtons(_ call: FakeChatPlatform.Call?) -> [String: String] {
        var out: [String: String] = [:]
        for block in call?.body["blocks"] as? [[String: Any]] ?? [] where block["type"] as? String == "actions" {
            for element in block["elements"] as? [[String: Any]] ?? [] {
                if let value = element["value"] as? String { out[value.split(separator: " ")[3].description] = value }
            }
        }
        return out
    }

    static func mattermostButtons(_ call: FakeChatPlatform.Call?) -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        let attachments = (call?.body["props"] as? [String: Any])?["attachments"] as? [[String: Any]] ?? []
        for action in attachments.flatMap({ $0["actions"] as? [[String: Any]] ?? [] }) {
            if let context = (action["integration"] as? [String: Any])?["context"] as? [String: Any], let task = context["task"] as? String { out[task] = context }
        }
        return out
    }

    @Test("Posted once per bound channel, edited in place as the incident is worked; task buttons complete tasks as whoever presses them")
    func postedOnceEditedInPlace() async throws {
        let platform = try await FakeChatPlatform()
        let f = try fixture(platform)
        try await f.app.test(.router) { client async throws in
            let declared = try await chat.slack(client, "U0DANA0001", "declare ransomware-file-servers Finance shares <!channel> encrypted")
            let runID = try #require(try f.state.journal.openRuns().first?.id, "\(declared.text)")
            #expect(await waitUntil(within: 20) { platform.accepted("slack").count >= 1 }, "\(platform.calls())")
            let first = try #require(platform.latest("slack"))
            #expect(first.op == "post" && first.channel == "C0INCIDENT1")
            #expect(first.authorization == "Bearer \(platform.slackToken)")
            let text = first.text
            for expected in ["Finance shares", "State", "incident_commander", "Dana", "Open tasks: it_ops", "Done: confirm", runID] {
                #expect(text.contains(expected), "'\(expected)' missing from: \(text)")
            }
            // The title's broadcast is shown as typed: escaped wherever Slack reads markup (sections, the
            // notification text), plain text in the header, which Slack never parses.
            let blocks = first.body["blocks"] as? [[String: Any]] ?? []
            for block in blocks where block["type"] as? String == "section" {
                #expect(!"\(block)".contains("<!channel>"), "\(block)")
            }
            #expect((first.body["text"] as? String)?.contains("&lt;!channel&gt;") == true)
            #expect(blocks.contains { ($0["text"] as? [String: Any])?["type"] as? String == "plain_text" && "\($0)".contains("<!channel>") })
            // A task that needs evidence has no button (a press carries no note), and says how to complete it.
            #expect(Self.slackButtons(first)["preserve-evidence"] == nil && text.contains("/muster done preserve-evidence"), "\(text)")
            #expect(!text.contains("EXERCISE"))

            _ = try await chat.mattermost(client, "dana.w", "bind \(runID)")
            #expect(await waitUntil(within: 20) { platform.accepted("mattermost").count >= 1 }, "\(platform.calls())")
            #expect(platform.latest("mattermost")?.op == "post")

            _ = try await chat.slack(client, "U0DANA0001", "assign it_ops <@U0LEE00001>")
            // Sam holds no role: the button is refused with the API's reason, to Sam only; nothing recorded.
            let buttons = Self.slackButtons(platform.latest("slack"))
            let confirm = try #require(buttons["confirm"], "\(buttons)")
            let before = try f.state.journal.head(runID: runID).sequence
            let refused = try await pressSlack(client, user: "U0SAM00001", value: confirm).text
            #expect(refused.hasPrefix("200 Refused: only the holder of it_ops"), "\(refused)")
            #expect(try f.state.journal.head(runID: runID).sequence == before)
            // Lee holds it_ops: his press completes it.
            let done = try await pressSlack(client, user: "U0LEE00001", value: confirm)
            #expect(done.text.hasPrefix("200 Done: task 'confirm' done"), "\(done.text)")
            #expect(try f.state.runtime.snapshot(runID: runID).run.taskStatus("confirm") == .done)
            // The press went through Slack: the command's key, stored with its events, says so.
            #expect(try f.state.journal.commandKeys(user: "Lee", [done.key])[done.key] != nil)

            // Both messages are edited (not posted again) until the task's button is gone.
            #expect(await waitUntil(within: 20) { Self.slackButtons(platform.latest("slack"))["confirm"] == nil && Self.slackButtons(platform.latest("slack"))["scope"] != nil })
            #expect(await waitUntil(within: 20) { Self.mattermostButtons(platform.latest("mattermost"))["confirm"] == nil })
            #expect(platform.accepted("slack").filter { $0.op == "post" }.count == 1)
            #expect(Set(platform.accepted("slack").compactMap(\.message)) == [first.message!])
            #expect(platform.accepted("mattermost").filter { $0.op == "post" }.count == 1)

            // A Mattermost task button: its context is Muster's, signed; Lee (it_ops) presses `scope`.
            let context = try #require(Self.mattermostButtons(platform.latest("mattermost"))["scope"])
            var forged = context
            forged["task"] = "preserve-evidence"
            let forgedPress = try await pressMattermost(client, user: "lee.c", context: forged)
            #expect(forgedPress.status == 401, "\(forgedPress)")
            let refusedPress = try await pressMattermost(client, user: "sam.o", context: context)
            #expect(refusedPress.status == 200 && refusedPress.text.hasPrefix("Refused: only the holder of it_ops"), "\(refusedPress)")
            let trigger = UUID().uuidString
            let pressed = try await pressMattermost(client, user: "lee.c", context: context, trigger: trigger)
            #expect(pressed.status == 200 && pressed.text.hasPrefix("Done: task 'scope' done"), "\(pressed)")
            #expect(try f.state.journal.commandKeys(user: "Lee", ["mattermost:" + trigger])["mattermost:" + trigger] != nil)
            #expect(await waitUntil(within: 20) { Self.slackButtons(platform.latest("slack"))["scope"] == nil })

            // Closing: a last edit says so.
            _ = try await chat.slack(client, "U0DANA0001", "close contained before encryption spread")
            #expect(await waitUntil(within: 20) { platform.latest("slack")?.text.contains("(closed)") == true }, "\(platform.latest("slack")?.text ?? "")")
            #expect(await waitUntil(within: 20) { platform.latest("mattermost")?.text.contains("(closed)") == true })
            // Each message's id is in the journal, once per channel.
            let posted = try f.state.journal.events(runID: runID).compactMap { if case .chatMessagePosted(let p) = $0.body { p } else { nil } }
            #expect(posted.map(\.binding.platform).sorted() == ["mattermost", "slack"])
            #expect(posted.first { $0.binding.platform == "slack" }?.message == first.message)
        }
        // The bot tokens are never in the server's log.
        for line in chat.lines.all {
            #expect(!line.contains(platform.slackToken) && !line.contains(platform.mattermostToken), "\(line)")
        }
    }

    @Test("A burst of 100 commands gives a handful of edits; the last shows where the burst ended")
    func burstIsCoalesced() async throws {
        let platform = try await FakeChatPlatform()
        let interval = Duration.seconds(2)
        let f = try fixture(platform, interval: interval)
        try await f.app.test(.router) { client async throws in
            _ = try await chat.slack(client, "U0DANA0001", "declare ransomware-file-servers Burst")
            #expect(await waitUntil(within: 20) { platform.accepted("slack").count == 1 })
            let start = Date()
            // Each command changes what the message shows (who holds it_ops).
            for index in 0..<100 {
                let who = index % 2 == 0 ? "<@U0LEE00001>" : "<@U0PRIYA001>"
                let reply = try await chat.slack(client, "U0DANA0001", "assign it_ops \(who)")
                #expect(reply.text.hasPrefix("Done"), "\(reply.text)")
            }
            let seconds = Date().timeIntervalSince(start)
            // The last assignment (Priya) reaches the message.
            #expect(await waitUntil(within: 20) { platform.latest("slack")?.text.contains("it_ops (IT Operations lead): Priya") == true },
                    "\(platform.latest("slack")?.text ?? "")")
            let edits = platform.accepted("slack").filter { $0.op == "update" }.count
            // One edit per interval at most while the burst lasted, and one after it.
            let allowed = Int(seconds / 2) + 2
            #expect(edits >= 1 && edits <= allowed, "\(edits) edits for a burst of \(seconds) s (at most \(allowed))")
            #expect(edits < 25, "\(edits) edits for 100 commands")
        }
    }

    @Test("An exercise's message says EXERCISE first; a deleted message is posted again; a refused token changes nothing recorded")
    func exerciseDeletedAndRefused() async throws {
        let platform = try await FakeChatPlatform()
        let f = try fixture(platform)
        try await f.app.test(.router) { client async throws in
            let started = try await client.call(f, "Dana", .post, "/api/exercises", ["exercise": "ransomware-tabletop-2026q4", "speed": "manual"])
            let runID = try #require(started.json["id"] as? String, "\(started.text)")
            _ = try await chat.slack(client, "U0LEE00001", "bind \(runID)")
            #expect(await waitUntil(within: 20) { platform.accepted("slack").count >= 1 })
            let first = try #require(platform.latest("slack"))
            let blocks = first.body["blocks"] as? [[String: Any]] ?? []
            let top = ((blocks.first?["text"] as? [String: Any])?["text"] as? String) ?? ""
            #expect(top.contains("*EXERCISE*"), "\(top)")
            #expect(first.text.contains("EXERCISE: "), "\(first.text)")

            // Someone deletes the message: the next change posts a new one, and its id is journaled.
            try platform.delete("slack", message: first.message!)
            _ = try await chat.slack(client, "U0LEE00001", "done confirm EDR shows mass renames")
            #expect(await waitUntil(within: 20) { platform.accepted("slack").filter { $0.op == "post" }.count == 2 }, "\(platform.calls("slack").map { "\($0.op) \($0.error ?? "")" })")
            let reposted = try #require(platform.accepted("slack").last?.message)
            #expect(await waitUntil(within: 10) {
                (try? f.state.runtime.currentRun(runID: runID).chatMessages[ChatChannelBinding(platform: "slack", channel: "C0INCIDENT1", team: "T0001")]) == reposted
            })
        }

        // A server whose Slack token is refused: the failure is logged (without the token), the slash command
        // still works and the run is whole.
        let refusing = try await FakeChatPlatform(slackToken: "xoxb-the-right-token-000000")
        let g = try chat.fixture {
            $0.chatPosting = ChatPostingSettings(slackToken: "xoxb-a-wrong-token-999999", slackAPI: refusing.slackAPI)
            $0.incidentMessageTick = .milliseconds(50)
            $0.pumpInterval = .milliseconds(100)
        }
        try await g.app.test(.router) { client async throws in
            let declared = try await chat.slack(client, "U0DANA0001", "declare ransomware-file-servers Refused token")
            #expect(declared.text.hasPrefix("Declared run"), "\(declared.text)")
            #expect(await waitUntil(within: 20) { refusing.calls("slack").contains { $0.error == "invalid_auth" } })
            #expect(await waitUntil(within: 10) { IncidentMessageControl.counts(g.state).failures >= 1 })
            let runID = try #require(try g.state.journal.openRuns().first?.id)
            #expect(try g.state.runtime.currentRun(runID: runID).chatMessages.isEmpty)
        }
        #expect(chat.lines.all.contains { $0.contains("incident message not sent") && $0.contains("invalid_auth") })
        #expect(!chat.lines.all.contains { $0.contains("xoxb-a-wrong-token-999999") })
    }

    @Test("Another server on the same journal edits the message the first one posted, rather than posting another")
    func anotherServerEditsTheSameMessage() async throws {
        let platform = try await FakeChatPlatform()
        let f = try fixture(platform)
        try await f.app.test(.router) { client async throws in
            _ = try await chat.slack(client, "U0DANA0001", "declare ransomware-file-servers Takeover")
            let runID = try #require(try f.state.journal.openRuns().first?.id)
            #expect(await waitUntil(within: 20) { (try? f.state.runtime.currentRun(runID: runID).chatMessages.count) == 1 })
        }
        ClusterControl.release(f.state)
        let posted = try #require(platform.accepted("slack").first?.message)
        // A second server on the same journal (another process, or the one that takes the pump's lease over).
        var configuration = f.state.configuration
        configuration.instanceID = "second-server"
        let second = ServerState(runtime: IncidentRuntime(journal: f.state.journal, clock: clock), configuration: configuration)
        try await buildApplication(state: second).test(.router) { client async throws in
            _ = try await chat.slack(client, "U0DANA0001", "note handed over to the second server")
            _ = try await chat.slack(client, "U0DANA0001", "assign it_ops <@U0LEE00001>")
            #expect(await waitUntil(within: 20) { platform.latest("slack")?.text.contains("it_ops (IT Operations lead): Lee") == true })
        }
        #expect(platform.accepted("slack").filter { $0.op == "post" }.count == 1)
        #expect(Set(platform.accepted("slack").compactMap(\.message)) == [posted])
    }
}
