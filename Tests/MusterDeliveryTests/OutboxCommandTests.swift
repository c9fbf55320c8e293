import Foundation
import MusterCore
import MusterJournal
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension RealReceivers {
    @Suite("muster outbox and muster notify (the real binary)")
    struct CommandTests {
        @Test("killed between send and commit: the next pass redelivers with the same idempotency key")
        func crashBetweenSendAndCommit() async throws {
            let http = try await HTTPReceiver(routes: ["/hook": ["delays": [30, 0]]])
            let store = try TestJournal()
            _ = try store.start(webhookPlaybook(), at: t0)
            let env = ["MUSTER_HOME": store.home.path, "MUSTER_HOOK_URL": http.url("/hook"), "MUSTER_NOW": "2026-03-06T17:40:00Z"]

            // The first pass sends; the receiver holds its answer; the process dies before it can record anything.
            let (process, _, _) = try MusterBinary.start(["outbox", "deliver"], environment: env, scratch: store.home)
            let first = try await http.waitForHits(1)
            #expect(first.count == 1)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            let claimed = try #require(try store.items().first)
            #expect(claimed.status == .sending && claimed.attempts == 1)
            #expect(try store.deliveryEvents().isEmpty)

            // Within the claim's lease nothing is due; after it, the item is sent again.
            var again = env
            again["MUSTER_NOW"] = "2026-03-06T17:42:00Z"
            let early = try MusterBinary.run(["outbox", "deliver"], environment: again, scratch: store.home)
            #expect(early.status == 0 && early.stdout == "nothing due\n", "\(early)")
            again["MUSTER_NOW"] = "2026-03-06T17:46:00Z"
            let second = try MusterBinary.run(["outbox", "deliver"], environment: again, scratch: store.home)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stdout.contains("n1 via hook (attempt 2): sent, 200"), "\(second.stdout)")
            let hits = try http.hits()
            #expect(hits.count == 2)
            #expect(hits.map { $0.headers["idempotency-key"] } == ["r-test01.n1", "r-test01.n1"])
            #expect(hits[0].body == hits[1].body)
            #expect(try store.items().first?.status == .sent)
            #expect(try store.deliveryEvents() == [
                .notificationSent(id: "n1", channel: "hook", status: 200, latencyMs: latency(in: try store.deliveryEvents()), attempt: 2),
            ])
        }

        @Test("list, list --dead, retry and deliver print what happened, with secrets redacted")
        func listRetryDeliver() async throws {
            let token = "T0KEN9s3cr3t1234567"
            let http = try await HTTPReceiver(routes: ["/hooks/\(token)": ["status": 404, "body": "unknown hook \(token)"]])
            let store = try TestJournal()
            _ = try store.start(webhookPlaybook(), at: t0)
            let env = ["MUSTER_HOME": store.home.path, "MUSTER_HOOK_URL": http.url("/hooks/\(token)"), "MUSTER_NOW": "2026-03-06T17:40:00Z"]
            var outputs: [String] = []

            let deliver = try MusterBinary.run(["outbox", "deliver"], environment: env, scratch: store.home)
            outputs += [deliver.stdout, deliver.stderr]
            #expect(deliver.status == 0)
            #expect(deliver.stdout.contains("#1 r-test01 n1 via hook (attempt 1): dead-lettered: permanent failure: HTTP 404"), "\(deliver.stdout)")
            #expect(deliver.stdout.hasSuffix("0 sent, 0 to retry, 1 dead-lettered, 0 skipped\n"))

            let dead = try MusterBinary.run(["outbox", "list", "--dead"], environment: env, scratch: store.home)
            outputs += [dead.stdout, dead.stderr]
            #expect(dead.stdout.hasPrefix("#1 dead r-test01 n1 hook attempts 1: permanent failure: HTTP 404"), "\(dead.stdout)")
            let byRun = try MusterBinary.run(["outbox", "list", "--run", "test01"], environment: env, scratch: store.home)
            #expect(byRun.stdout == dead.stdout)

            let retry = try MusterBinary.run(["outbox", "retry", "1", "--as", "Dana"], environment: env, scratch: store.home)
            outputs += [retry.stdout, retry.stderr]
            #expect(retry.status == 0, "\(retry.stderr)")
            #expect(retry.stdout == "#1 r-test01 n1 hook: back to pending, due now (requeued by Dana)\n")
            #expect(try store.items().first?.status == .pending)
            #expect(try store.events().last?.body == .notificationRequeued(id: "n1", channel: "hook", previousStatus: "dead", attempts: 1))

            let twice = try MusterBinary.run(["outbox", "retry", "1"], environment: env, scratch: store.home)
            #expect(twice.status != 0)
            #expect(twice.stderr == "error: outbox item 1 is already pending; the next delivery pass sends it\n")
            let unknown = try MusterBinary.run(["outbox", "retry", "99"], environment: env, scratch: store.home)
            #expect(unknown.stderr == "error: no outbox item 99\n")

            let list = try MusterBinary.run(["outbox", "list"], environment: env, scratch: store.home)
            outputs += [list.stdout, list.stderr]
            #expect(list.stdout.hasPrefix("#1 pending r-test01 n1 hook attempts 1 next 2026-03-06T17:40:00.000Z"), "\(list.stdout)")
            for output in outputs {
                #expect(!output.contains(token), "\(output)")
            }
        }

        @Test("notify test reports unset variables and sends nothing, then sends a marked test message")
        func notifyTest() async throws {
            let http = try await HTTPReceiver()
            let store = try TestJournal()
            let playbook = store.home.appendingPathComponent("hook.yaml")
            try webhookPlaybook(extra: ", secret: \"${MUSTER_HOOK_SECRET}\"").write(to: playbook, atomically: true, encoding: .utf8)

            let unset = try MusterBinary.run(["notify", "test", "hook", "--playbook", playbook.path], environment: [:], scratch: store.home)
            #expect(unset.status == 1)
            #expect(unset.stderr.contains("url refers to ${MUSTER_HOOK_URL}, which is not set in the environment"), "\(unset.stderr)")
            #expect(unset.stderr.contains("secret refers to ${MUSTER_HOOK_SECRET}, which is not set in the environment"))
            #expect(unset.stderr.hasSuffix("error: no test message sent: channel 'hook' cannot be used in this environment (2 problems)\n"))
            #expect(try http.hits().isEmpty)

            let unknown = try MusterBinary.run(["notify", "test", "hoook", "--playbook", playbook.path], environment: [:], scratch: store.home)
            #expect(unknown.stderr == "error: playbook 'hook-test' has no channel 'hoook' (did you mean 'hook'?)\n")

            let env = ["MUSTER_HOOK_URL": http.url("/hook/s3cr3tT0ken99"), "MUSTER_HOOK_SECRET": "sign-me"]
            let sent = try MusterBinary.run(["notify", "test", "hook", "--playbook", playbook.path], environment: env, scratch: store.home)
            #expect(sent.status == 0, "\(sent.stderr)")
            #expect(sent.stdout.hasPrefix("sent a test message to 'hook' (webhook), answer 200 in "), "\(sent.stdout)")
            let hit = try #require(try http.hits().first)
            #expect((try hit.json()["message"] as? String)?.hasPrefix("[TEST] Muster test message for channel 'hook'") == true)
            #expect(hit.headers["x-muster-signature"]?.hasPrefix("sha256=") == true)
            #expect(!sent.stdout.contains("s3cr3tT0ken99"))
        }
    }
}

private func latency(in bodies: [RunEvent.Body]) -> Int64 {
    for body in bodies { if case .notificationSent(_, _, _, let ms, _) = body { return ms } }
    return -1
}
