import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import MusterYAML
import Testing

extension RealReceivers {
    @Suite("The bundled playbooks, pointed at local receivers")
    struct BundledPlaybookTests {
        static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

        /// A live run needs every channel it routes to on a local receiver: PagerDuty without `url:` goes to
        /// PagerDuty itself, so such a playbook is delivered in its exercise run only (where those are live_only).
        static func routedChannels(_ playbook: Playbook, mode: RunMode) -> [Channel] {
            playbook.channels.compactMap {
                if case .send(let target) = ChannelRouting.route(channel: $0.id.value, in: playbook, mode: mode) { target } else { nil }
            }
        }

        @Test("every notification of each simulated incident reaches its receiver, exactly as the timeline says")
        func bundled() async throws {
            let certDir = FileManager.default.temporaryDirectory.appendingPathComponent("muster-delivery-tls-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: certDir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: certDir) }
            let tls = try selfSignedCertificate(in: certDir)
            let users = ["muster": "the-smtp-password"]
            let starttls = try await SMTPSink(config: ["tls": ["cert": tls.cert, "key": tls.key], "require_starttls": false, "users": users])
            let smtps = try await SMTPSink(config: ["tls": ["cert": tls.cert, "key": tls.key], "implicit_tls": true, "users": users])
            let transport = CurlTransport(configuration: .init(caBundlePath: tls.cert))
            var delivered = 0
            var combinations: [String] = []
            let files = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("playbooks").path).filter { $0.hasSuffix(".yaml") }.sorted()
            #expect(files.count >= 7)
            for file in files {
                let text = try String(contentsOf: Self.root.appendingPathComponent("playbooks/\(file)"), encoding: .utf8)
                let loaded = PlaybookLoader.load(text: text, file: "playbooks/\(file)")
                let playbook = try #require(loaded.playbook)
                let scriptText = try String(contentsOf: Self.root.appendingPathComponent("Tests/Simulations/\(playbook.id.value).yaml"), encoding: .utf8)
                let (node, _) = YAMLSource.parse(scriptText, file: "\(playbook.id.value).yaml")
                let scriptNode = try #require(node)
                var script = try #require(SimulationScript.decode(scriptNode).script)
                for mode in RunMode.allCases {
                    let routed = Self.routedChannels(playbook, mode: mode)
                    if routed.contains(where: { $0.type.value == .pagerduty && $0.settings["url"] == nil }) { continue }
                    combinations.append("\(playbook.id.value)/\(mode.rawValue)")
                    script.mode = mode
                    let simulation = Simulator.run(playbook: playbook, script: script)
                    let events = simulation.events
                    guard case .runStarted(let started)? = events.first?.body else {
                        Issue.record("\(file): the simulation did not start")
                        continue
                    }
                    let http = try await HTTPReceiver()
                    var env: [String: String] = [:]
                    for name in Set(EnvironmentResolver.references(in: text)) {
                        if name.contains("SMTPS") { env[name] = "smtps://127.0.0.1:\(smtps.receiver.port)" }
                        else if name.hasSuffix("SMTP_URL") { env[name] = "smtp://127.0.0.1:\(starttls.receiver.port)" }
                        else if name.hasSuffix("SMTP_USER") { env[name] = "muster" }
                        else if name.hasSuffix("SMTP_PASSWORD") { env[name] = "the-smtp-password" }
                        else if name.hasSuffix("_URL") { env[name] = http.url("/\(name)") }
                        else { env[name] = "value-of-\(name)-0123456789" }
                    }
                    let store = try TestJournal()
                    let outbox = try events.compactMap { event -> OutboxRequest? in
                        if case .notificationQueued(let n) = event.body { try OutboxRequest(n) } else { nil }
                    }
                    let header = RunHeader(id: started.runID, playbookID: playbook.id.value, playbookVersion: playbook.version,
                                           playbookText: text, mode: mode, title: started.title, createdAt: events[0].at)
                    try store.journal.createRun(header, events: events, outbox: outbox)
                    let clock = TestClock(simulation.end)
                    let mailsBefore = try starttls.mails().count + smtps.mails().count
                    let worker = OutboxWorker(journal: store.journal, transport: transport, environment: env, clock: clock.function)
                    let report = try await worker.deliverDue()
                    let where_ = "\(playbook.id.value) (\(mode.rawValue))"

                    // Every item is sent, or skipped on purpose in an exercise, or is a personal page to someone this
                    // test's empty people directory does not know (skipped, naming them).
                    let items = try store.items(started.runID)
                    #expect(items.count == outbox.count, "\(where_)")
                    for item in items {
                        let unknownPerson = item.status == .skipped && item.lastError?.hasPrefix("not sent: no one named ") == true
                        #expect(item.status == .sent || (mode == .exercise && item.status == .skipped) || unknownPerson,
                                "\(where_): \(item.notificationID) \(item.channel) \(item.status) \(item.lastError ?? "")")
                    }
                    #expect(report.retrying == 0 && report.deadLettered == 0, "\(where_): \(report.outcomes.filter { if case .sent = $0.result { false } else { true } })")

                    // The timeline says where each went (and, for a run closed before delivery, the outbox rows do:
                    // a closed run's chain ends with its close); the receivers got exactly that.
                    var queued: [String: MusterCore.Notification] = [:]
                    var expectedHits: [String: [String]] = [:]  // path -> messages
                    var expectedMails: [String] = []            // Message-IDs
                    var sent: [(id: String, channel: String)] = []
                    for event in try store.events(started.runID) {
                        switch event.body {
                        case .notificationQueued(let n): queued[n.id] = n
                        case .notificationSent(let id, let channelID, _, _, let attempt):
                            #expect(attempt == 1)
                            sent.append((id, channelID))
                        default: break
                        }
                    }
                    for item in items where item.status == .sent && !sent.contains(where: { $0.id == item.notificationID }) {
                        guard case .send(let routed) = ChannelRouting.route(channel: item.channel, in: playbook, mode: mode) else { continue }
                        #expect(item.attempts == 1)
                        sent.append((item.notificationID, routed.id.value))
                    }
                    for (id, channelID) in sent {
                        do {
                            let channel = try #require(playbook.channel(channelID))
                            let notification = try #require(queued[id])
                            let message = ChannelPayloads.text(of: notification, mode: mode)
                            if channel.type.value == .email {
                                expectedMails.append("<\(started.runID).\(id)@muster>")
                            } else {
                                let reference = try #require(channel.settings["url"]?.value.text)
                                let name = try #require(EnvironmentResolver.references(in: reference).first)
                                expectedHits["/\(name)", default: []].append(channel.type.value.rawValue + ":" + message)
                            }
                            delivered += 1
                        }
                    }
                    var gotHits: [String: [String]] = [:]
                    for hit in try http.hits() {
                        let json = try hit.json()
                        let message: String
                        if let text = json["message"] as? String { message = "webhook:" + text }
                        else if let event = json["event_action"] as? String {
                            message = "pagerduty:" + (((json["payload"] as? [String: Any])?["summary"] as? String) ?? event)
                        } else if let attachments = json["attachments"] as? [[String: Any]], let card = attachments.first?["content"] as? [String: Any],
                                  let body = card["body"] as? [[String: Any]], body.count > 1 {
                            message = "teams:" + ((body[1]["text"] as? String) ?? "")
                        } else if json["username"] as? String == "Muster" {
                            message = "mattermost:" + ((json["text"] as? String) ?? "")
                        } else {
                            let text = (json["text"] as? String) ?? ""
                            message = "slack:" + text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
                        }
                        gotHits[hit.path, default: []].append(message)
                    }
                    #expect(gotHits.mapValues { $0.sorted() } == expectedHits.mapValues { $0.sorted() }, "\(where_)")
                    let mails = Array((try starttls.mails() + smtps.mails()).dropFirst(0))
                    #expect(mails.count - mailsBefore == expectedMails.count, "\(where_)")
                    let ids = Set(mails.compactMap { $0.headers["Message-ID"] })
                    for id in expectedMails { #expect(ids.contains(id), "\(where_): \(id)") }
                    http.stop()
                }
            }
            transport.shutdown()
            // Each playbook was delivered in at least its exercise run, and something was delivered.
            #expect(Set(combinations.map { $0.split(separator: "/")[0] }).count == files.count, "\(combinations)")
            #expect(delivered > 20)
        }
    }
}
