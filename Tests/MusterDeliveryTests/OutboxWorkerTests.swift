import Crypto
import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import Testing

extension RealReceivers {
    @Suite("The outbox worker")
    struct WorkerTests {
        @Test("each channel receives exactly what the timeline says, with the same idempotency keys")
        func sixChannels() async throws {
            let http = try await HTTPReceiver()
            let sink = try await SMTPSink()
            let store = try TestJournal()
            let clock = TestClock()
            let env = sixChannelEnvironment(http, sink)
            var run = try store.start(sixChannelPlaybook, at: t0)
            let first = try await worker(store, environment: env, clock: clock).deliverDue()
            #expect(first.sent == 6, "\(first.outcomes)")
            clock.advance(.minutes(5))
            try store.command(&run, .raise("resolved"), at: clock.now)
            let second = try await worker(store, environment: env, clock: clock).deliverDue()
            #expect(second.sent == 1, "\(second.outcomes)")

            // The timeline: one sent event per notification, attempt 1, and the run's workflow untouched.
            let events = try store.events()
            var queued: [String: MusterCore.Notification] = [:]
            var sentTo: [String: String] = [:]
            for event in events {
                switch event.body {
                case .notificationQueued(let n): queued[n.id] = n
                case .notificationSent(let id, let channel, let status, _, let attempt):
                    #expect(attempt == 1)
                    #expect(status == (channel == "mail" ? 250 : 200))
                    sentTo[id] = channel
                default: break
                }
            }
            #expect(queued.count == 7)
            #expect(Set(sentTo.keys) == Set(queued.keys))
            #expect(try store.items().allSatisfy { $0.status == .sent && $0.attempts == 1 })
            var replayed = Run(playbook: run.run.playbook)
            for event in events { replayed.apply(event) }
            #expect(replayed.currentState == "closed")
            #expect(replayed.deliveries.sent == 7)

            // What each receiver got matches the timeline, one request per sent event.
            let hits = try http.hits()
            let byPath = Dictionary(grouping: hits, by: \.path)
            for (path, channel) in [("/hook", "hook"), ("/slack", "chat"), ("/teams", "teams"), ("/mm", "mm"), ("/pd", "pager")] {
                #expect(byPath[path]?.count == sentTo.values.filter { $0 == channel }.count, "\(path)")
            }
            #expect(byPath["/drill"] == nil)
            let hook = try #require(byPath["/hook"]?.first)
            let hookID = try #require(sentTo.first { $0.value == "hook" }?.key)
            #expect(hook.headers["idempotency-key"] == "r-test01.\(hookID)")
            let mac = HMAC<SHA256>.authenticationCode(for: Array(hook.body.utf8), using: SymmetricKey(data: Array("hook-signing-secret".utf8)))
            #expect(hook.headers["x-muster-signature"] == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
            let hookJSON = try hook.json()
            #expect(hookJSON["message"] as? String == queued[hookID]?.message)
            #expect(hookJSON["mode"] as? String == "live")
            #expect((hookJSON["state"] as? [String: Any])?["id"] as? String == "detect")
            #expect(try byPath["/slack"]?.first?.json()["text"] as? String == "Chat: Portal down in Detect the outage")
            #expect(try byPath["/mm"]?.first?.json()["text"] as? String == "Mattermost: Portal down")
            let teams = try #require(try byPath["/teams"]?.first?.json()["attachments"] as? [[String: Any]])
            #expect(teams.first?["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
            let pages = try #require(byPath["/pd"]).map { try $0.json() }
            #expect(pages.map { $0["event_action"] as? String } == ["trigger", "resolve"])
            #expect(pages.allSatisfy { $0["dedup_key"] as? String == "muster-r-test01" && $0["routing_key"] as? String == "R0UTINGKEY0123456789" })
            let mails = try sink.mails()
            let mailID = try #require(sentTo.first { $0.value == "mail" }?.key)
            #expect(mails.count == 1)
            #expect(mails.first?.headers["Message-ID"] == "<r-test01.\(mailID)@muster>")
            #expect(mails.first?.body.hasPrefix("Mail: Portal down") == true)
            #expect(mails.first?.rcpt_tos == ["ops@example.org"])
        }

        @Test("500 then 200: a failed attempt, retried at the predicted backoff instant with the same key")
        func retryThenSuccess() async throws {
            let http = try await HTTPReceiver(routes: ["/hook": ["statuses": [500, 200], "body": "try later"]])
            let store = try TestJournal()
            let clock = TestClock()
            let env = ["MUSTER_HOOK_URL": http.url("/hook")]
            _ = try store.start(webhookPlaybook(), at: t0)
            let policy = RetryPolicy.standard
            let worker = worker(store, environment: env, clock: clock, policy: policy)

            let first = try await worker.deliverDue()
            let item = try #require(try store.items().first)
            let expectedNext = t0 + policy.backoff(afterAttempt: 1, key: item.idempotencyKey)
            #expect(first.retrying == 1)
            #expect(item.status == .failed)
            #expect(item.nextAttempt == expectedNext)
            #expect(item.lastError?.contains("HTTP 500") == true)
            #expect(try store.deliveryEvents() == [
                .notificationFailed(id: "n1", channel: "hook", reason: item.lastError!, attempt: 1, nextAttempt: expectedNext),
            ])
            // Not due before its instant.
            clock.set(expectedNext - TimeSpan(milliseconds: 1))
            #expect(try await worker.deliverDue().outcomes.isEmpty)
            clock.set(expectedNext)
            let second = try await worker.deliverDue()
            #expect(second.sent == 1)
            #expect(try store.items().first?.status == .sent)
            let sent = try store.deliveryEvents().last
            guard case .notificationSent(let id, _, let status, _, let attempt)? = sent else {
                Issue.record("expected a sent event, got \(String(describing: sent))")
                return
            }
            #expect(id == "n1" && status == 200 && attempt == 2)
            let hits = try http.hits()
            #expect(hits.count == 2)
            #expect(Set(hits.map { $0.headers["idempotency-key"] ?? "" }) == ["r-test01.n1"])
            #expect(hits[0].body == hits[1].body)
        }

        @Test("429 and 503 with Retry-After wait exactly that long", arguments: [429, 503])
        func retryAfter(status: Int) async throws {
            let http = try await HTTPReceiver(routes: ["/hook": ["status": status, "headers": ["Retry-After": "120"]]])
            let store = try TestJournal()
            let clock = TestClock()
            _ = try store.start(webhookPlaybook(), at: t0)
            _ = try await worker(store, environment: ["MUSTER_HOOK_URL": http.url("/hook")], clock: clock).deliverDue()
            let item = try #require(try store.items().first)
            #expect(item.status == .failed)
            #expect(item.nextAttempt == t0 + .seconds(120))
            #expect(item.lastError?.contains("HTTP \(status)") == true)
        }

        @Test("a receiver that always fails is dead-lettered after max_attempts; a retry by hand gives fresh attempts")
        func deadLetter() async throws {
            let http = try await HTTPReceiver(routes: ["/hook": ["status": 502]])
            let store = try TestJournal()
            let clock = TestClock()
            _ = try store.start(webhookPlaybook(extra: ", max_attempts: 3"), at: t0)
            let worker = worker(store, environment: ["MUSTER_HOOK_URL": http.url("/hook")], clock: clock)
            for attempt in 1...3 {
                let report = try await worker.deliverDue()
                #expect(report.outcomes.count == 1, "attempt \(attempt)")
                let item = try #require(try store.items().first)
                if attempt < 3 {
                    #expect(item.status == .failed)
                    clock.set(item.nextAttempt)
                } else {
                    #expect(item.status == .dead)
                    #expect(item.lastError?.hasPrefix("gave up after 3 attempts (max_attempts 3); last error: HTTP 502") == true)
                }
            }
            #expect(try http.hits().count == 3)
            #expect(try store.journal.deadLetters().map(\.notificationID) == ["n1"])
            let bodies = try store.deliveryEvents()
            #expect(bodies.count == 4)
            guard case .notificationDeadLettered(_, _, let reason, let attempts)? = bodies.last else {
                Issue.record("no dead-letter event: \(bodies)")
                return
            }
            #expect(attempts == 3 && reason.contains("HTTP 502"))
            // Nothing more happens by itself.
            clock.advance(.hours(5))
            #expect(try await worker.deliverDue().outcomes.isEmpty)

            // A person requeues it: recorded, and it gets three attempts again.
            try OutboxAdmin.requeue(store.journal, id: try #require(try store.items().first).id, actor: "Dana", at: clock.now)
            #expect(try store.events().last?.actor == "Dana")
            #expect(try store.deliveryEvents().last == .notificationRequeued(id: "n1", channel: "hook", previousStatus: "dead", attempts: 3))
            let again = try await worker.deliverDue()
            guard case .retrying? = again.outcomes.first?.result else {
                Issue.record("expected a retry after the requeue, got \(again.outcomes)")
                return
            }
            #expect(try store.items().first?.attempts == 4)
        }

        @Test("400 is permanent: dead after one attempt, never sent again")
        func permanent() async throws {
            let http = try await HTTPReceiver(routes: ["/hook": ["status": 400, "body": "bad payload"]])
            let store = try TestJournal()
            let clock = TestClock()
            _ = try store.start(webhookPlaybook(), at: t0)
            let worker = worker(store, environment: ["MUSTER_HOOK_URL": http.url("/hook")], clock: clock)
            let report = try await worker.deliverDue()
            #expect(report.deadLettered == 1)
            let item = try #require(try store.items().first)
            #expect(item.status == .dead && item.attempts == 1)
            #expect(item.lastError == "permanent failure: HTTP 400 Bad Request: bad payload")
            #expect(try store.deliveryEvents() == [
                .notificationFailed(id: "n1", channel: "hook", reason: item.lastError!, attempt: 1, nextAttempt: nil),
                .notificationDeadLettered(id: "n1", channel: "hook", reason: item.lastError!, attempts: 1),
            ])
            clock.advance(.hours(1))
            #expect(try await worker.deliverDue().outcomes.isEmpty)
            #expect(try http.hits().count == 1)
        }

        @Test("receiver down, then up on the same port: the notification arrives once, nothing lost")
        func downThenUp() async throws {
            let port = try closedPort()
            let store = try TestJournal()
            let clock = TestClock()
            _ = try store.start(webhookPlaybook(), at: t0)
            let env = ["MUSTER_HOOK_URL": "http://127.0.0.1:\(port)/hook"]
            let worker = worker(store, environment: env, clock: clock)
            let down = try await worker.deliverDue()
            #expect(down.retrying == 1)
            let failed = try #require(try store.items().first)
            #expect(failed.lastError?.contains("onnect") == true, "\(failed.lastError ?? "")")

            let http = try await HTTPReceiver(port: port)
            clock.set(failed.nextAttempt)
            let up = try await worker.deliverDue()
            #expect(up.sent == 1)
            #expect(try http.hits().map(\.path) == ["/hook"])
            #expect(try store.items().first?.status == .sent)
        }

        @Test("exercise runs use the exercise override, prefix [EXERCISE], and skip live_only channels on the record")
        func exerciseRouting() async throws {
            let http = try await HTTPReceiver()
            let sink = try await SMTPSink()
            let store = try TestJournal()
            let clock = TestClock()
            let env = [
                "MUSTER_HOOK_URL": http.url("/hook"), "MUSTER_HOOK_SECRET": "hook-signing-secret", "MUSTER_DRILL_URL": http.url("/drill"),
                "MUSTER_SLACK_URL": http.url("/slack"), "MUSTER_TEAMS_URL": http.url("/teams"), "MUSTER_MM_URL": http.url("/mm"),
                "MUSTER_PD_URL": http.url("/pd"), "MUSTER_PD_KEY": "R0UTINGKEY0123456789", "MUSTER_SMTP_URL": sink.url,
            ]
            _ = try store.start(sixChannelPlaybook, mode: .exercise, at: t0)
            let report = try await worker(store, environment: env, clock: clock).deliverDue()
            #expect(report.sent == 5 && report.skipped == 1, "\(report.outcomes)")
            let paths = Set(try http.hits().map(\.path))
            #expect(paths == ["/drill", "/slack", "/teams", "/mm"])
            let drill = try #require(try http.hits("/drill").first)
            #expect(try drill.json()["message"] as? String == "[EXERCISE] Detected: Portal down")
            #expect(try drill.json()["mode"] as? String == "exercise")
            #expect(try sink.mails().first?.headers["Subject"]?.hasPrefix("[EXERCISE] ") == true)
            let bodies = try store.deliveryEvents()
            #expect(bodies.contains(.notificationSkipped(id: "n5", channel: "pager", reason: "channel 'pager' is live_only: not sent in an exercise run")))
            #expect(bodies.contains { if case .notificationSent(_, "drill", _, _, _) = $0 { true } else { false } })
            #expect(try store.items().first { $0.channel == "pager" }?.status == .skipped)
        }

        @Test("an unset ${VAR} fails the item with a reason naming the variable; nothing is sent")
        func unsetVariable() async throws {
            let http = try await HTTPReceiver()
            let store = try TestJournal()
            let clock = TestClock()
            _ = try store.start(webhookPlaybook(), at: t0)
            let report = try await worker(store, environment: [:], clock: clock).deliverDue()
            #expect(report.deadLettered == 1)
            let item = try #require(try store.items().first)
            #expect(item.status == .dead)
            #expect(item.lastError == "not sent: channel 'hook': url refers to ${MUSTER_HOOK_URL}, which is not set in the environment")
            #expect(try http.hits().isEmpty)
        }

        @Test("secrets never reach the timeline, the outbox or the worker's report")
        func redaction() async throws {
            let token = "T0KEN9s3cr3t1234567"
            let signing = "signing-secret-9876"
            let http = try await HTTPReceiver(routes: ["/services/\(token)": ["status": 500, "body": "no such hook /services/\(token) (secret \(signing))"]])
            let store = try TestJournal()
            let clock = TestClock()
            _ = try store.start(webhookPlaybook(extra: ", secret: \"${MUSTER_HOOK_SECRET}\""), at: t0)
            let env = ["MUSTER_HOOK_URL": http.url("/services/\(token)"), "MUSTER_HOOK_SECRET": signing]
            let report = try await worker(store, environment: env, clock: clock).deliverDue()
            #expect(try http.hits().count == 1)
            let texts = try store.journal.storedEvents(runID: "r-test01").map(\.payload)
                + store.items().compactMap(\.lastError) + report.outcomes.map(\.description)
            for text in texts {
                #expect(!text.contains(token) && !text.contains(signing), "\(text)")
            }
            #expect(try store.items().first?.lastError?.contains(Redactor.placeholder) == true)
        }

        @Test("delivery events replay without changing the run's workflow, and print on the timeline")
        func replay() throws {
            let store = try TestJournal()
            let run = try store.start(webhookPlaybook(), at: t0)
            var replayed = run.run
            let before = replayed
            for body: RunEvent.Body in [
                .notificationFailed(id: "n1", channel: "hook", reason: "HTTP 500", attempt: 1, nextAttempt: t0 + .seconds(3)),
                .notificationSent(id: "n1", channel: "hook", status: 200, latencyMs: 12, attempt: 2),
                .notificationSkipped(id: "n2", channel: "pager", reason: "live_only"),
                .notificationDeadLettered(id: "n3", channel: "hook", reason: "HTTP 400", attempts: 1),
                .notificationRequeued(id: "n3", channel: "hook", previousStatus: "dead", attempts: 1),
            ] {
                replayed.apply(RunEvent(at: t0, actor: Command.system, role: nil, body))
            }
            #expect(replayed.currentState == before.currentState)
            #expect(replayed.armedTimers == before.armedTimers)
            #expect(replayed.status == before.status)
            #expect(replayed.deliveries.sent == 1 && replayed.deliveries.failedAttempts == 1 && replayed.deliveries.deadLettered == 1)
            #expect(replayed.deliveries.skipped == 1 && replayed.deliveries.requeued == 1)
        }
    }
}

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test("backoff is full jitter under an exponential ceiling, at least the floor, and the same for the same key")
    func backoff() {
        let policy = RetryPolicy.standard
        for attempt in 1...10 {
            let ceiling = policy.ceiling(afterAttempt: attempt)
            #expect(ceiling == min(.minutes(15), .seconds(10) * Int64(1 << (attempt - 1))))
            for key in ["r-1/n1", "r-1/n2", "r-2/n1"] {
                let wait = policy.backoff(afterAttempt: attempt, key: key)
                #expect(wait >= .seconds(1) && wait <= max(.seconds(1), ceiling))
                #expect(wait == policy.backoff(afterAttempt: attempt, key: key))
            }
        }
        // Different keys spread out.
        let waits = Set((1...50).map { policy.backoff(afterAttempt: 5, key: "r-1/n\($0)") })
        #expect(waits.count > 40)
    }

    @Test("Retry-After counts on 429 and 503 only, bounded by the floor and an hour")
    func retryAfter() {
        let policy = RetryPolicy.standard
        let now = t0
        #expect(policy.delay(afterAttempt: 1, key: "k", status: 429, retryAfter: .seconds(7), now: now) == .seconds(7))
        #expect(policy.delay(afterAttempt: 1, key: "k", status: 503, retryAfter: .date(now + .minutes(2)), now: now) == .minutes(2))
        #expect(policy.delay(afterAttempt: 1, key: "k", status: 429, retryAfter: .seconds(0), now: now) == .seconds(1))
        #expect(policy.delay(afterAttempt: 1, key: "k", status: 429, retryAfter: .seconds(86_400), now: now) == .hours(1))
        #expect(policy.delay(afterAttempt: 1, key: "k", status: 500, retryAfter: .seconds(7), now: now) == policy.backoff(afterAttempt: 1, key: "k"))
    }
}
