import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import Testing

/// A playbook whose `page` event pages the incident commander (Dana, who starts the run) through `channel`.
func pagingPlaybook(channels: String, channel: String, alsoThrough other: String? = nil) -> String {
    let also = other.map { "\n      - { notify: \($0), message: \"Page: {{run.title}}\", to: incident_commander }" } ?? ""
    return """
    muster: 1
    id: page-test
    version: 1
    title: Page test
    severity: P1
    roles:
      incident_commander: { title: Incident commander }
    channels:
    \(channels)
    start: detect
    states:
      detect:
        phase: detect
        owner: incident_commander
        transitions:
          - { on: page, to: paging }
      paging:
        phase: respond
        owner: incident_commander
        on_enter:
          - { notify: \(channel), message: "Page: {{run.title}}", to: incident_commander }\(also)
        transitions:
          - { on: resolved, to: closed }
      closed:
        phase: learn
        owner: incident_commander
        terminal: true
    """
}

let smsChannels = """
      text: { type: sms, url: "${MUSTER_SMS_URL}", account: "${MUSTER_SMS_ACCOUNT}", token: "${MUSTER_SMS_TOKEN}", from: "+4412345" }
    """

let smsAccount = "AC0123456789abcdef"
let smsToken = "sms-token-0123456789"
let smsPath = "/2010-04-01/Accounts/\(smsAccount)/Messages.json"
let danaPhone = "+447700900123"

func smsEnvironment(_ http: HTTPReceiver) -> [String: String] {
    ["MUSTER_SMS_URL": http.url("/"), "MUSTER_SMS_ACCOUNT": smsAccount, "MUSTER_SMS_TOKEN": smsToken]
}

/// `application/x-www-form-urlencoded` fields, decoded.
func formFields(_ body: String) -> [String: String] {
    var fields: [String: String] = [:]
    for pair in body.split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
        fields[parts[0]] = parts.count > 1 ? parts[1] : ""
    }
    return fields
}

/// Every text the journal holds about the run besides the people directory: its events (as the API gives them),
/// its outbox rows, and (on SQLite) every row of every table but `people`, read with SQL.
func journalTexts(_ store: TestJournal) throws -> [String] {
    var texts = try store.events().map { String(reflecting: $0) }
    texts += try store.items().flatMap { [$0.payload, $0.lastError ?? ""] }
    let database = store.home.appendingPathComponent("muster.db").path
    if FileManager.default.fileExists(atPath: database) {
        let tables = try SQLite3.run(database, "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'people'").stdout
        for table in tables.split(separator: "\n") {
            texts.append(try SQLite3.run(database, "SELECT * FROM \"\(table)\"").stdout)
        }
    }
    return texts
}

extension RealReceivers {
    @Suite("Personal messages: sms and email")
    struct PersonalDeliveryTests {
        @Test("a page to a person goes to the SMS API with their phone in To, basic auth and form fields; the journal never holds the number")
        func smsPage() async throws {
            let http = try await HTTPReceiver(routes: [smsPath: ["status": 201, "body": #"{"sid":"SM1","to":"\#(danaPhone)"}"#]])
            let store = try TestJournal()
            let clock = TestClock()
            try store.journal.upsertPerson(Person(name: "Dana", email: "dana@example.org", phone: danaPhone), at: t0)
            var run = try store.start(pagingPlaybook(channels: smsChannels, channel: "text"), at: t0)
            try store.command(&run, .raise("page"), at: t0)
            let report = try await worker(store, environment: smsEnvironment(http), clock: clock).deliverDue()
            #expect(report.sent == 1, "\(report.outcomes)")

            let hit = try #require(try http.hits().first)
            #expect(hit.method == "POST")
            #expect(hit.path == smsPath)
            #expect(hit.headers["authorization"] == "Basic " + Data("\(smsAccount):\(smsToken)".utf8).base64EncodedString())
            #expect(hit.headers["content-type"] == "application/x-www-form-urlencoded")
            let fields = formFields(hit.body)
            #expect(fields["To"] == danaPhone)
            #expect(fields["From"] == "+4412345")
            #expect(fields["Body"] == "Page: Portal down")
            #expect(Set(fields.keys) == ["To", "From", "Body"])

            // The queued notification names Dana; nothing the journal holds has her number (nor its digits alone).
            #expect(try store.events().contains { if case .notificationQueued(let n) = $0.body { n.person == "Dana" } else { false } })
            for text in try journalTexts(store) {
                #expect(!text.contains("7700900123"), "\(text)")
                #expect(!text.contains(smsToken))
            }
        }

        @Test("an SMS API refusal that quotes the number: dead-lettered, and the reason and outbox row leave it out")
        func refusalQuotingTheNumber() async throws {
            let http = try await HTTPReceiver(routes: [smsPath: ["status": 400, "body": #"{"code":21211,"message":"The 'To' number \#(danaPhone) is not a valid phone number."}"#]])
            let store = try TestJournal()
            let clock = TestClock()
            try store.journal.upsertPerson(Person(name: "Dana", phone: danaPhone), at: t0)
            var run = try store.start(pagingPlaybook(channels: smsChannels, channel: "text"), at: t0)
            try store.command(&run, .raise("page"), at: t0)
            let report = try await worker(store, environment: smsEnvironment(http), clock: clock).deliverDue()
            #expect(report.deadLettered == 1, "\(report.outcomes)")
            let item = try #require(try store.items().first { $0.notificationID == "n1" || $0.status == .dead })
            #expect(item.status == .dead)
            #expect(item.lastError?.contains("400") == true)
            #expect(!"\(report.outcomes)".contains("7700900123"))
            for text in try journalTexts(store) { #expect(!text.contains("7700900123"), "\(text)") }
        }

        @Test("a person with no phone: skipped, with a reason that names the person and the missing field, nothing sent")
        func noPhone() async throws {
            let http = try await HTTPReceiver()
            let store = try TestJournal()
            let clock = TestClock()
            try store.journal.upsertPerson(Person(name: "Dana", email: "dana@example.org"), at: t0)
            var run = try store.start(pagingPlaybook(channels: smsChannels, channel: "text"), at: t0)
            try store.command(&run, .raise("page"), at: t0)
            let report = try await worker(store, environment: smsEnvironment(http), clock: clock).deliverDue()
            #expect(report.skipped == 1, "\(report.outcomes)")
            let reason = "not sent: Dana has no phone number in the people directory, needed for sms channel 'text'"
            #expect(try store.deliveryEvents().contains(.notificationSkipped(id: "n1", channel: "text", reason: reason)))
            #expect(try store.items().first?.lastError == reason)
            #expect(try http.hits().isEmpty)
            for text in try journalTexts(store) { #expect(!text.contains("dana@example.org")) }
        }

        @Test("a page to someone not in the directory: skipped, naming them")
        func notInDirectory() async throws {
            let http = try await HTTPReceiver()
            let store = try TestJournal()
            var run = try store.start(pagingPlaybook(channels: smsChannels, channel: "text"), at: t0)
            try store.command(&run, .raise("page"), at: t0)
            let report = try await worker(store, environment: smsEnvironment(http), clock: TestClock()).deliverDue()
            #expect(report.skipped == 1, "\(report.outcomes)")
            #expect(try store.items().first?.lastError == "not sent: no one named Dana in the people directory, so no contact point for sms channel 'text'")
            #expect(try http.hits().isEmpty)
        }

        @Test("a 503 from the SMS API is retried by the usual policy, to the same number; the failure's reason has no number")
        func transientRetry() async throws {
            let http = try await HTTPReceiver(routes: [smsPath: ["statuses": [503, 201], "body": "busy: \(danaPhone)"]])
            let store = try TestJournal()
            let clock = TestClock()
            try store.journal.upsertPerson(Person(name: "Dana", phone: danaPhone), at: t0)
            var run = try store.start(pagingPlaybook(channels: smsChannels, channel: "text"), at: t0)
            try store.command(&run, .raise("page"), at: t0)
            let worker = worker(store, environment: smsEnvironment(http), clock: clock)
            let first = try await worker.deliverDue()
            #expect(first.retrying == 1, "\(first.outcomes)")
            let item = try #require(try store.items().first)
            #expect(item.status == .failed && item.lastError?.contains("503") == true)
            clock.set(try #require(item.nextAttempt))
            #expect(try await worker.deliverDue().sent == 1)
            let hits = try http.hits()
            #expect(hits.count == 2 && hits.allSatisfy { formFields($0.body)["To"] == danaPhone })
            for text in try journalTexts(store) { #expect(!text.contains("7700900123"), "\(text)") }
        }

        @Test("Slack and Mattermost: a page is a direct message, to the Slack member id and to @username")
        func chatPages() async throws {
            let http = try await HTTPReceiver()
            let store = try TestJournal()
            try store.journal.upsertPerson(Person(name: "Dana", slackID: "U024BE7LH", mattermostUser: "dana.k"), at: t0)
            let channels = """
                  chat: { type: slack, url: "${MUSTER_SLACK_URL}" }
                  mm: { type: mattermost, url: "${MUSTER_MM_URL}" }
                """
            let playbook = pagingPlaybook(channels: channels, channel: "chat", alsoThrough: "mm")
            var run = try store.start(playbook, at: t0)
            try store.command(&run, .raise("page"), at: t0)
            let env = ["MUSTER_SLACK_URL": http.url("/slack"), "MUSTER_MM_URL": http.url("/mm")]
            let report = try await worker(store, environment: env, clock: TestClock()).deliverDue()
            #expect(report.sent == 2, "\(report.outcomes)")
            #expect(try http.hits("/slack").first?.json()["channel"] as? String == "U024BE7LH")
            #expect(try http.hits("/mm").first?.json()["channel"] as? String == "@dana.k")
            for text in try journalTexts(store) { #expect(!text.contains("U024BE7LH") && !text.contains("dana.k")) }
        }

        @Test("a page through an email channel goes to the person's address only, not the channel's list")
        func emailPage() async throws {
            let sink = try await SMTPSink()
            let store = try TestJournal()
            try store.journal.upsertPerson(Person(name: "Dana", email: "dana@example.org", phone: danaPhone), at: t0)
            let channels = """
                  mail: { type: email, smtp: "${MUSTER_SMTP_URL}", to: [ops@example.org], from: "Muster <muster@example.org>" }
                """
            var run = try store.start(pagingPlaybook(channels: channels, channel: "mail"), at: t0)
            try store.command(&run, .raise("page"), at: t0)
            let report = try await worker(store, environment: ["MUSTER_SMTP_URL": sink.url], clock: TestClock()).deliverDue()
            #expect(report.sent == 1, "\(report.outcomes)")
            let mail = try #require(try sink.mails().first)
            #expect(mail.rcpt_tos == ["dana@example.org"])
            #expect(mail.headers["To"] == "dana@example.org")
            #expect(mail.body.hasPrefix("Page: Portal down"))
            for text in try journalTexts(store) { #expect(!text.contains("dana@example.org")) }
        }
    }
}
