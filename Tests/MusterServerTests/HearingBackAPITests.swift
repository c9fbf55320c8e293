import Foundation
import Hummingbird
import HummingbirdTesting
import MusterCore
import MusterJournal
import MusterServer
import Testing

/// `POST /api/runs/{id}/commands` for acknowledgements, roll call answers and people marked accounted for.
@Suite("Hearing back through the API")
struct HearingBackAPITests {
    /// A server whose playbooks folder holds the hearing-back fixture, and whose directory has Lee (deputy Sam)
    /// and a site of two: Sam and Olga.
    func fixture() throws -> ServerFixture {
        let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-hb-playbooks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: repositoryRoot + "/Tests/MusterCLITests/Fixtures/hearing-back/office-loss-hearing-back.yaml",
                                         toPath: folder + "/office-loss-hearing-back.yaml")
        let f = try ServerFixture(playbooks: folder)
        _ = try f.state.journal.importPeople([
            Person(name: "Lee", email: "lee@example.com", groups: ["crisis-team"], deputy: "Sam"),
            Person(name: "Sam", phone: "+4915100000002", groups: ["site-hq"]),
            Person(name: "Olga", phone: "+4915100000003", groups: ["site-hq"]),
        ], at: f.state.runtime.clock.now)
        return f
    }

    @Test("acknowledge, answer (for oneself; for another only with a role) and mark-accounted, each checked")
    func commands() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            let declared = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "office-loss-hearing-back", "title": "Fire at HQ"])
            #expect(declared.status == 201, "\(declared.text)")
            let id = try #require(declared.json["id"] as? String)
            let commands = "/api/runs/\(id)/commands"
            #expect(try await client.call(f, "Dana", .post, commands, ["type": "assign", "role": "it_ops", "person": "Lee"]).status == 200)
            #expect(try f.state.runtime.snapshot(runID: id).run.deputies == ["Lee": "Sam"])
            #expect(try await client.call(f, "Dana", .post, commands, ["type": "event", "name": "evacuate"]).status == 200)
            let rollCall = try #require(try f.state.runtime.snapshot(runID: id).run.rollCalls["staff-safety"])
            #expect(rollCall.people == ["Olga", "Sam"])

            // Olga holds no role: she answers for herself, not for Sam.
            let forOther = try await client.call(f, "Olga", .post, commands, ["type": "answer", "roll_call": "staff-safety", "person": "Sam", "option": "safe"])
            #expect(forOther.status == 403, "\(forOther.text)")
            let own = try await client.call(f, "Olga", .post, commands, ["type": "answer", "roll_call": "staff-safety", "person": "Olga", "option": "away"])
            #expect(own.status == 200, "\(own.text)")
            let produced = own.json["events"] as? [[String: Any]] ?? []
            #expect(produced.contains { $0["type"] as? String == "answer-received" }, "\(own.text)")
            let badOption = try await client.call(f, "Olga", .post, commands, ["type": "answer", "roll_call": "staff-safety", "person": "Olga", "option": "maybe"])
            #expect(badOption.status == 409 || badOption.status == 422, "\(badOption.text)")
            // Lee holds a role: he may mark Sam accounted for; Olga may not.
            let olgaMarks = try await client.call(f, "Olga", .post, commands, ["type": "mark-accounted", "roll_call": "staff-safety", "person": "Sam", "why": "seen"])
            #expect(olgaMarks.status == 403, "\(olgaMarks.text)")
            let missingWhy = try await client.call(f, "Lee", .post, commands, ["type": "mark-accounted", "roll_call": "staff-safety", "person": "Sam"])
            #expect(missingWhy.status == 400, "\(missingWhy.text)")
            let marked = try await client.call(f, "Lee", .post, commands, ["type": "mark-accounted", "roll_call": "staff-safety", "person": "Sam", "why": "seen at the assembly point"])
            #expect(marked.status == 200, "\(marked.text)")

            // Only someone paged (or the commander) acknowledges.
            let notPaged = try await client.call(f, "Olga", .post, commands, ["type": "acknowledge", "ack": "page-it"])
            #expect(notPaged.status == 409 || notPaged.status == 403, "\(notPaged.text)")
            let acked = try await client.call(f, "Lee", .post, commands, ["type": "acknowledge", "ack": "page-it"])
            #expect(acked.status == 200, "\(acked.text)")
            let run = try f.state.runtime.snapshot(runID: id).run
            #expect(run.acks["page-it"]?.acknowledgedBy == "Lee")
            #expect(run.rollCalls["staff-safety"]?.answers["Olga"]?.channel == "web")
            #expect(run.rollCalls["staff-safety"]?.marked["Sam"]?.by == "Lee")
            // No contact details in the stored events.
            let events = try await client.call(f, "Dana", .get, "/api/runs/\(id)/events")
            #expect(!events.text.contains("+49") && !events.text.contains("@example.com"))
        }
    }

    @Test("unknown fields of the new commands are refused with 400")
    func strictBodies() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            let declared = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "office-loss-hearing-back", "title": "Fire at HQ"])
            let id = try #require(declared.json["id"] as? String)
            let extra = try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "acknowledge", "ack": "page-it", "channel": "sms"])
            #expect(extra.status == 400, "\(extra.text)")
        }
    }
}
