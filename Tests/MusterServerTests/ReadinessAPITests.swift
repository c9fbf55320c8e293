import Foundation
import HummingbirdTesting
import MusterCore
import MusterRuntime
import MusterServer
import MusterTestSupport
import Testing

/// Issue 19: `GET /api/readiness` answers what `muster readiness` prints, for runs the caller may read.
@Suite("API: the readiness scorecard", .serialized)
struct ReadinessAPITests {
    @Test("GET /api/readiness answers what muster readiness prints (json, md, html); restricted runs are left out; 400 for a bad format")
    func parity() async throws {
        let now = "2026-11-29T10:00:00Z"
        let f = try ServerFixture(clock: ManualClock(Instant(iso8601: now)!))
        try await f.app.test(.router) { client async throws in
            _ = try await client.declareRun(f)
            let hidden = try await client.declareRun(f, restricted: true)
            let folder = f.state.configuration.playbooksFolder
            for format in ["json", "md", "html"] {
                let (status, type, body) = try await client.document(f, "Dana", "/api/readiness?format=\(format)")
                #expect(status == 200, "\(body)")
                #expect(type.hasPrefix(format == "json" ? "application/json" : format == "md" ? "text/markdown" : "text/html"))
                let cli = try muster(["readiness", "--format", format, "--playbooks", folder], home: f.folder, now: now)
                #expect(cli.status == 0, "\(cli.stderr)")
                #expect(Data(body.utf8) == cli.stdoutData, "format \(format) differs from the CLI's")
            }
            let (_, _, dana) = try await client.document(f, "Dana", "/api/readiness")
            #expect(dana.contains(hidden))
            let (_, _, olga) = try await client.document(f, "Olga", "/api/readiness")
            #expect(!olga.contains(hidden))
            let card = try #require(try JSONSerialization.jsonObject(with: Data(olga.utf8)) as? [String: Any])
            #expect((card["services"] as? [[String: Any]])?.count == 14)
            #expect(try await client.call(f, "Olga", .get, "/api/readiness?format=csv").json["field"] as? String == "format")
            #expect(try await client.call(f, nil, .get, "/api/readiness").status == 401)
        }
    }

    @Test("the board links the scorecard from the run list and opens it through the API with the caller's token")
    func boardLink() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let page = try await client.call(f, nil, .get, "/").text
            #expect(page.contains(##"<button type="button" id="readiness">ICT readiness scorecard</button>"##))
            let script = try await client.call(f, nil, .get, "/app.js").text
            #expect(script.contains(#"fetch("/api/readiness?format=html", { headers: { Authorization: "Bearer " + token } })"#))
        }
    }

    @Test("without a service catalogue the server answers 409 conflict, naming where it looked")
    func noCatalogue() async throws {
        let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-nocat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: folder + "/playbooks", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let f = try ServerFixture(playbooks: folder + "/playbooks")
        try await f.app.test(.router) { client async throws in
            let r = try await client.call(f, "Olga", .get, "/api/readiness")
            #expect(r.status == 409)
            #expect(r.json["code"] as? String == "conflict")
            #expect((r.json["error"] as? String)?.contains(folder + "/services.yaml") == true, "\(r.text)")
        }
    }
}
