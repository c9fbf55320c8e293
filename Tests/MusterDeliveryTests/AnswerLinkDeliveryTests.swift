import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import Testing

/// The page of `pagingPlaybook`, asking for an acknowledgement, through email, Teams and Slack.
func ackPagingPlaybook() -> String {
    """
    muster: 1
    id: ack-link-test
    version: 1
    title: Ack link test
    severity: P1
    roles:
      incident_commander: { title: Incident commander }
    channels:
      mail: { type: email, smtp: "${MUSTER_SMTP_URL}", to: [ops@example.org], from: "Muster <muster@example.org>" }
      team: { type: teams, url: "${MUSTER_TEAMS_URL}" }
      chat: { type: slack, url: "${MUSTER_SLACK_URL}" }
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
          - { notify: mail, message: "Page by mail", to: incident_commander, id: by-mail, ack_within: 10m }
          - { notify: team, message: "Page by Teams", to: incident_commander, id: by-teams, ack_within: 10m }
          - { notify: chat, message: "Page by Slack", to: incident_commander, id: by-slack, ack_within: 10m }
          - { notify: mail, message: "Heads-up, no answer wanted", to: incident_commander }
        transitions:
          - { on: resolved, to: closed }
      closed:
        phase: learn
        owner: incident_commander
        terminal: true
    """
}

extension RealReceivers {
    @Suite("Personal answer links minted on delivery")
    struct AnswerLinkDeliveryTests {
        func deliver(base: String?) async throws -> (store: TestJournal, sink: SMTPSink, http: HTTPReceiver, report: PassReport) {
            let sink = try await SMTPSink()
            let http = try await HTTPReceiver()
            let store = try TestJournal()
            try store.journal.upsertPerson(Person(name: "Dana", email: "dana@example.org", slackID: "U024BE7LH"), at: t0)
            var run = try store.start(ackPagingPlaybook(), at: t0)
            try store.command(&run, .raise("page"), at: t0)
            let clock = TestClock()
            clock.set(t0)
            let worker = OutboxWorker(journal: store.journal, transport: CurlTransport(),
                                      environment: ["MUSTER_SMTP_URL": sink.url, "MUSTER_TEAMS_URL": http.url("/teams"), "MUSTER_SLACK_URL": http.url("/slack")],
                                      answerLinkBase: base, clock: clock.function)
            let report = try await worker.deliverDue()
            return (store, sink, http, report)
        }

        @Test("a page asking for an acknowledgement by email and Teams carries BASE/a/TOKEN; Slack and a page asking nothing do not; the journal keeps the hash only")
        func linksMinted() async throws {
            let (store, sink, http, report) = try await deliver(base: "https://muster.example.org/")
            #expect(report.sent == 4, "\(report.outcomes)")
            let mails = try sink.mails()
            let paged = try #require(mails.first { $0.body.contains("Page by mail") })
            let pattern = #"https://muster\.example\.org/a/[A-Za-z0-9_-]{43}"#
            let mailLink = try #require(paged.body.range(of: pattern, options: .regularExpression).map { String(paged.body[$0]) }, "\(paged.body)")
            let headsUp = try #require(mails.first { $0.body.contains("Heads-up") })
            #expect(!headsUp.body.contains("/a/"))
            let teams = try #require(try http.hits("/teams").first?.body)
            let teamsLink = try #require(teams.range(of: pattern, options: .regularExpression).map { String(teams[$0]) }, "\(teams)")
            #expect(try http.hits("/slack").first.map { !$0.body.contains("/a/") } == true)

            let links = try store.journal.answerLinks(runID: "r-test01")
            #expect(links.count == 2)
            let tokens = [mailLink, teamsLink].map { String($0.split(separator: "/").last!) }
            #expect(Set(links.map(\.tokenSHA256)) == Set(tokens.map(AnswerToken.sha256)))
            #expect(Set(links.map(\.question)) == [.ack("by-mail"), .ack("by-teams")])
            #expect(links.allSatisfy { $0.person == "Dana" && $0.expiresAt == t0 + AnswerLinks.margin && $0.createdAt == t0 })
            #expect(links.first { $0.question == .ack("by-mail") }?.message == "Page by mail")
            for text in try journalTexts(store) {
                for token in tokens { #expect(!text.contains(token)) }
            }
        }

        @Test("without a base URL the messages carry no link and nothing is recorded")
        func noBaseNoLink() async throws {
            let (store, sink, http, report) = try await deliver(base: nil)
            #expect(report.sent == 4, "\(report.outcomes)")
            #expect(try sink.mails().allSatisfy { !$0.body.contains("/a/") })
            #expect(try http.hits().allSatisfy { !$0.body.contains("/a/") })
            #expect(try store.journal.answerLinks(runID: "r-test01").isEmpty)
        }

        @Test("tokens are 43 URL-safe characters, 256 random bits, and differ every time", arguments: [0])
        func tokenShape(_: Int) {
            let tokens = (0..<1000).map { _ in AnswerToken.make() }
            #expect(Set(tokens).count == 1000)
            #expect(tokens.allSatisfy(AnswerToken.isWellFormed))
            #expect(!AnswerToken.isWellFormed("abc") && !AnswerToken.isWellFormed(String(repeating: "+", count: 43)))
            #expect(AnswerLinks.base("https://x.example/") == "https://x.example" && AnswerLinks.base("ftp://x") == nil && AnswerLinks.base("https://") == nil)
        }
    }
}
