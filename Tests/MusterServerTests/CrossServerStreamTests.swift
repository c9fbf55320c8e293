import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MusterJournal
import MusterRuntime
import MusterServer
import MusterTestSupport
import Testing

@Suite("Live streams across servers on one PostgreSQL")
struct CrossServerStreamTests {
    @Test("a command through server A reaches a subscriber of server B at once, though B polls only every 30 s (LISTEN/NOTIFY)")
    func notifyAcrossServers() async throws {
        let a = try ServerFixture(backend: .postgresql)
        let url = try TestPostgres.url(forHome: a.folder)
        let journalB = try Journal.open(.postgres(url: url), durability: .normal)
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0, playbooksFolder: repositoryRoot + "/playbooks",
                                                exercisesFolder: repositoryRoot + "/exercises", streamPollInterval: .seconds(30))
        configuration.heartbeatInterval = .seconds(30)
        let b = ServerState(runtime: IncidentRuntime(journal: journalB), configuration: configuration)
        let scratch = URL(fileURLWithPath: a.folder)
        try await a.app.test(.router) { clientA async throws in
            let id = try await clientA.declareRun(a)
            try await buildApplication(state: b).test(.live) { clientB async throws in
                let port = try #require(clientB.port)
                let stream = try SpawnedProcess.start(URL(fileURLWithPath: "/usr/bin/curl"),
                                                      ["-s", "-N", "--max-time", "20", "-H", "Authorization: Bearer \(a.tokens["Lee"]!)",
                                                       "http://127.0.0.1:\(port)/api/runs/\(id)/stream"], directory: scratch, outputIn: scratch)
                defer { stream.kill(SIGTERM) }
                let head = try journalB.head(runID: id).sequence
                // The stream has caught up with what the run held when it opened.
                #expect(try await offThePool { stream.waitForOutput(timeout: 10) { $0.contains("id: \(head)\n") } }, "\(stream.stdout)")
                try await Task.sleep(for: .milliseconds(300))  // B's first poll is done; the next is 30 s away
                let note = try await clientA.call(a, "Lee", .post, "/api/runs/\(id)/commands", ["type": "note", "text": "through A"])
                #expect(note.status == 200, "\(note.text)")
                // Within 5 s of A's answer (alone on this machine, a few hundred milliseconds): far below B's poll
                // (30 s); without the listener nothing arrives in that time.
                let arrived = try await offThePool { stream.waitForOutput(timeout: 5) { $0.contains("id: \(head + 1)\n") && $0.contains("through A") } }
                #expect(arrived, "\(stream.stdout)")
            }
        }
    }
}
