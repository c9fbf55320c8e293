import Foundation
import MusterCore
import MusterDelivery
import MusterExercise
import MusterJournal
import MusterYAML
import Testing

/// An exercise's personal messages (pages, roll-call questions) go through the exercise routing like every other
/// notification, end to end: the exercise session queues them, the real outbox worker sends them to real
/// receivers on 127.0.0.1.
extension RealReceivers {
    @Suite("Exercises: personal messages through the exercise routing")
    struct ExerciseRoutingTests {
        static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        static let leePhone = "+447700900555"

        /// Runs an exercise with its player script at max speed to its end, then delivers everything due.
        static func runAndDeliver(_ loaded: LoadedExercise, players: PlayerScript?, store: TestJournal,
                                  environment: [String: String]) async throws -> (runID: String, report: [PassReport]) {
            let clock = TestClock(Instant(iso8601: "2026-12-01T10:00:00Z")!)
            let (session, _) = try ExerciseSession.start(journal: store.journal, loaded: loaded, playersFile: nil, pace: .max, clock: clock)
            for step in players?.steps ?? [] { try session.handle(step.input(origin: session.exercise.origin), by: step.actor) }
            if !session.exercise.hasEnded { try session.handle(.moveTo(session.exercise.end), by: Command.system) }
            let worker = worker(store, environment: environment, clock: clock)
            var reports: [PassReport] = []
            for _ in 0..<20 {
                let report = try await worker.deliverDue()
                reports.append(report)
                if report.sent + report.retrying + report.deadLettered + report.skipped == 0 { break }
            }
            return (session.runID, reports)
        }

        @Test("the bundled drill: no page or roll-call question reaches a live receiver, the drill feed gets each one marked [EXERCISE]")
        func bundledDrill() async throws {
            let http = try await HTTPReceiver()
            let store = try TestJournal()
            // A directory entry with the name of a roster person: the roster's people are simulated, so nobody
            // may look this one up.
            try store.journal.upsertPerson(Person(name: "Lee Chen", email: "lee.chen@example.org", phone: Self.leePhone, slackID: "U0LEECHEN"), at: t0)
            let loaded = ExerciseLoader.load(file: Self.root.appendingPathComponent("exercises/office-evacuation-drill.yaml").path)
            #expect(!loaded.hasErrors, "\(loaded.diagnostics)")
            let players = ExerciseLoader.loadPlayers(file: Self.root.appendingPathComponent("exercises/office-evacuation-drill.players.yaml").path,
                                                     for: loaded.exercise).script
            let environment = [
                "MUSTER_SMS_API_URL": http.url("/live-sms"), "MUSTER_SMS_ACCOUNT": "AC1", "MUSTER_SMS_TOKEN": "sms-token-1",
                "MUSTER_SMTP_URL": "smtp://127.0.0.1:\(try closedPort())", "MUSTER_SLACK_URL": http.url("/live-slack"),
                "MUSTER_LANDLORD_WEBHOOK_URL": http.url("/live-landlord"), "MUSTER_DRILL_WEBHOOK_URL": http.url("/drill"),
            ]
            let (runID, _) = try await Self.runAndDeliver(loaded, players: players, store: store, environment: environment)

            let hits = try http.hits()
            #expect(!hits.contains { $0.path.hasPrefix("/live") }, "\(hits.map(\.path))")
            let queued = try store.events(runID).compactMap { if case .notificationQueued(let n) = $0.body { n } else { nil } }
            let personal = queued.filter { $0.person != nil }
            // 32 people asked, three pages, an escalation, and reminders: all personal, all to the drill feed.
            #expect(personal.count > 40, "\(personal.count)")
            let feed = try http.hits("/drill")
            let bodies = feed.map(\.body)
            #expect(feed.count == queued.count - queued.filter { $0.channel == "landlord" }.count, "\(feed.count) of \(queued.count)")
            #expect(bodies.filter { $0.contains("[EXERCISE] Head office has been evacuated. Are you safe?") }.count == 32)
            #expect(bodies.contains { $0.contains("[EXERCISE] Escalated (step 1 of 2): Lee Chen did not acknowledge within 10m") })
            #expect(bodies.allSatisfy { $0.contains("[EXERCISE]") })
            for body in bodies { #expect(!body.contains("7700900555") && !body.contains("U0LEECHEN") && !body.contains("lee.chen@")) }
            // The live-only landlord channel is recorded as skipped, not sent.
            let items = try store.items(runID)
            #expect(items.contains { $0.channel == "landlord" && $0.status == .skipped })
            #expect(items.filter { $0.channel != "landlord" }.allSatisfy { $0.status == .sent }, "\(items.map { "\($0.channel) \($0.status)" })")
        }

        static let playbook = """
            muster: 1
            id: evac
            version: 1
            title: Evacuation
            roles:
              incident_commander: Incident commander
              it_ops: IT lead
            channels:
              pager: { type: sms, url: "${MUSTER_SMS_URL}", account: "${MUSTER_SMS_ACCOUNT}", token: "${MUSTER_SMS_TOKEN}", from: "+4412345", exercise: drill-sms }
              drill-sms: { type: sms, url: "${MUSTER_DRILL_SMS_URL}", account: "${MUSTER_SMS_ACCOUNT}", token: "${MUSTER_SMS_TOKEN}", from: "+4412345" }
              email: { type: email, to: [all@example.org], smtp: "${MUSTER_SMTP_URL}", live_only: true }
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
                  - { notify: pager, to: it_ops, id: page-it, message: "Office lost", ack_within: 10m }
                  - roll_call: { id: staff-safety, who: [group: site-hq], ask: "Are you safe?", options: { safe: Safe }, via: [email], within: 1h }
                transitions:
                  - { on: done, to: closed }
              closed:
                phase: learn
                terminal: true

            """

        static func exercise(roster: Bool) -> String {
            """
            muster: 1
            exercise: evac-drill
            title: Evacuation drill
            playbook: evac
            participants: { incident_commander: Dana, it_ops: Lee }
            clock: { speed: max }
            duration: 30m
            \(roster ? "roster: [ { name: Dana, groups: [site-hq] }, { name: Lee, groups: [site-hq] } ]" : "")
            injects:
              - { id: I1, at: 0m, message: Fire alarm }

            """
        }

        static func load(roster: Bool) throws -> (LoadedExercise, PlayerScript) {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("muster-evac-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try playbook.write(to: folder.appendingPathComponent("evac.yaml"), atomically: true, encoding: .utf8)
            let loaded = ExerciseLoader.load(text: exercise(roster: roster), file: "evac-drill.yaml", playbookFolders: [folder.path])
            let players = ExerciseLoader.loadPlayers(text: "muster: 1\nexercise: evac-drill\nsteps:\n  - { at: 1m, as: Dana, raise: evacuate }\n",
                                                     file: "p.yaml", for: loaded.exercise)
            return (loaded, try #require(players.script, "\(players.diagnostics)"))
        }

        @Test("a page through a channel routed to another sms channel in exercises: sent to the directory's phone without a roster, skipped for a roster's simulated person; live_only roll-call messages never leave")
        func explicitExerciseChannel() async throws {
            let http = try await HTTPReceiver(routes: ["/drill-sms/2010-04-01/Accounts/AC1/Messages.json": ["status": 201, "body": "{}"]])
            let environment = [
                "MUSTER_SMS_URL": http.url("/live-sms"), "MUSTER_DRILL_SMS_URL": http.url("/drill-sms"), "MUSTER_SMS_ACCOUNT": "AC1",
                "MUSTER_SMS_TOKEN": "sms-token-1", "MUSTER_SMTP_URL": "smtp://127.0.0.1:\(try closedPort())",
            ]
            for roster in [false, true] {
                let store = try TestJournal()
                try store.journal.upsertPerson(Person(name: "Lee", phone: Self.leePhone, groups: ["site-hq"]), at: t0)
                try store.journal.upsertPerson(Person(name: "Dana", groups: ["site-hq"]), at: t0)
                let (loaded, players) = try Self.load(roster: roster)
                #expect(!loaded.hasErrors, "\(loaded.diagnostics)")
                let before = try http.hits().count
                let (runID, _) = try await Self.runAndDeliver(loaded, players: players, store: store, environment: environment)
                let hits = Array(try http.hits().dropFirst(before))
                #expect(!hits.contains { $0.path.hasPrefix("/live") })
                let events = try store.events(runID)
                // The roll call started with the group (from the directory, or the roster) and its questions, through
                // a live_only channel, were skipped.
                #expect(events.contains { $0.body == .rollCallStarted(rollCall: "staff-safety", people: ["Dana", "Lee"]) || $0.body == .rollCallStarted(rollCall: "staff-safety", people: ["Lee", "Dana"]) })
                let items = try store.items(runID)
                #expect(items.filter { $0.channel == "email" }.count == 2 && items.filter { $0.channel == "email" }.allSatisfy { $0.status == .skipped })
                let page = try #require(items.first { $0.channel == "pager" })
                if roster {
                    #expect(hits.isEmpty, "\(hits.map(\.path))")
                    #expect(page.status == .skipped)
                    #expect(page.lastError == "not sent: Lee is a simulated participant of the exercise's roster, with no contact point for sms channel 'drill-sms'")
                } else {
                    #expect(hits.count == 1)
                    #expect(formFields(try #require(hits.first).body)["To"] == Self.leePhone)
                    #expect(page.status == .sent)
                }
            }
        }
    }
}
