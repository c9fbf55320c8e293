import Foundation
import MusterCore
import MusterJournal
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension RealReceivers {
    @Suite("muster incident declare and muster watch deliver (the real binary)")
    struct WatchTests {
        @Test("declare warns about each unset ${VAR} of the run's channels and still starts the run")
        func declareWarns() throws {
            let store = try TestJournal()
            let playbook = store.home.appendingPathComponent("hook.yaml")
            try webhookPlaybook(extra: ", secret: \"${MUSTER_HOOK_SECRET}\"").write(to: playbook, atomically: true, encoding: .utf8)
            let env = ["MUSTER_HOME": store.home.appendingPathComponent("cli").path, "MUSTER_NOW": "2026-03-06T17:40:00Z"]
            let declared = try MusterBinary.run(["incident", "declare", playbook.path, "--title", "Portal down", "--as", "Dana"],
                                                environment: env, scratch: store.home)
            #expect(declared.status == 0, "\(declared.stderr)")
            #expect(declared.stdout.hasPrefix("r-"))
            #expect(declared.stderr == """
                muster: warning: channel 'hook': secret refers to ${MUSTER_HOOK_SECRET}, which is not set in the environment: its notifications cannot be sent until this is fixed (then `muster outbox retry`)
                muster: warning: channel 'hook': url refers to ${MUSTER_HOOK_URL}, which is not set in the environment: its notifications cannot be sent until this is fixed (then `muster outbox retry`)

                """)
            var withVars = env
            withVars["MUSTER_HOOK_URL"] = "http://127.0.0.1:9/hook"
            withVars["MUSTER_HOOK_SECRET"] = "a-signing-secret"
            let quiet = try MusterBinary.run(["incident", "declare", playbook.path, "--title", "Second", "--as", "Dana"],
                                             environment: withVars, scratch: store.home)
            #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
        }

        @Test("watch delivers the run's notifications as they come due and shows the attempts on the timeline")
        func watchDelivers() async throws {
            let http = try await HTTPReceiver()
            let store = try TestJournal()
            _ = try store.start(webhookPlaybook(), at: t0)
            let env = ["MUSTER_HOME": store.home.path, "MUSTER_HOOK_URL": http.url("/hook")]
            let (process, outURL, _) = try MusterBinary.start(["watch", "r-test01", "--plain"], environment: env, scratch: store.home)
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
            let hits = try await http.waitForHits(1)
            #expect(hits.first?.headers["idempotency-key"] == "r-test01.n1")
            // The attempt is recorded and the watcher shows it.
            let deadline = Date().addingTimeInterval(15)
            var output = ""
            while Date() < deadline {
                output = String(decoding: try Data(contentsOf: outURL), as: UTF8.self)
                if output.contains("notification-sent") { break }
                try await _Concurrency.Task.sleep(for: .milliseconds(50))
            }
            #expect(output.contains("notification-sent  notification n1 sent to hook (200)"), "\(output)")
            kill(process.processIdentifier, SIGTERM)
            let stopBy = Date().addingTimeInterval(15)
            while process.isRunning, Date() < stopBy { try await _Concurrency.Task.sleep(for: .milliseconds(20)) }
            #expect(!process.isRunning)
            #expect(process.terminationStatus == 0)
            #expect(try store.items().first?.status == .sent)
        }
    }
}
