import Foundation
import Hummingbird
import HummingbirdTesting
import MusterServer
import Testing

/// A hostile file in the server's playbooks folder: one `GET /api/playbooks` used to take 1.15 GB (an alias bomb)
/// or kill the server (a guard of 10,000 parentheses). Parsed playbooks are kept while their files do not change.
@Suite("Hostile playbooks in the server's folder", .serialized)
struct HostilePlaybookAPITests {
    static let hostile = URL(fileURLWithPath: repositoryRoot + "/Tests/MusterCLITests/Fixtures/hostile").path

    @Test("GET /api/playbooks leaves them out; a second request parses nothing again; a changed file is read again")
    func playbooks() async throws {
        let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for name in ["alias-bomb.yaml", "alias-keys.yaml", "deep-yaml.yaml", "deep-guard.yaml"] {
            try FileManager.default.copyItem(atPath: "\(Self.hostile)/\(name)", toPath: "\(folder)/\(name)")
        }
        try FileManager.default.copyItem(atPath: repositoryRoot + "/playbooks/ransomware-file-servers.yaml", toPath: folder + "/ransomware-file-servers.yaml")
        let f = try ServerFixture(playbooks: folder)
        try await f.app.test(.router) { client async throws in
            for _ in 0..<2 {
                let r = try await client.call(f, "Olga", .get, "/api/playbooks")
                #expect(r.status == 200)
                #expect((r.json["playbooks"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String } == ["ransomware-file-servers"])
            }
            #expect(f.state.playbookCache.parses == 5)
            let declare = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "deep-guard", "title": "x"])
            #expect(declare.status >= 400 && declare.status < 500, "\(declare.text)")
            let escape = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "../playbooks/ransomware-file-servers", "title": "x"])
            #expect(escape.status == 400 && escape.json["field"] as? String == "playbook")
            try "muster: [".write(toFile: folder + "/deep-guard.yaml", atomically: true, encoding: .utf8)
            _ = try await client.call(f, "Olga", .get, "/api/playbooks")
            #expect(f.state.playbookCache.parses == 6)
        }
    }

    @Test("a request body nested past 100 levels is a 400 naming the byte, not a crash")
    func deepBody() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let body = String(repeating: "{\"a\":", count: 2_000) + "1" + String(repeating: "}", count: 2_000)
            let r = try await client.call(f, "Dana", .post, "/api/runs", raw: body)
            #expect(r.status == 400)
            #expect((r.json["error"] as? String)?.contains("malformed JSON at byte 500: nesting deeper than 100 levels") == true, "\(r.text)")
        }
    }
}
