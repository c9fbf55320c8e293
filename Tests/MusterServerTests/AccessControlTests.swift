import MusterTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MusterCore
import MusterJournal
import MusterServer
import Testing

/// Issue 12, "Access control": restricted runs, the report's evaluation, improvement-action transitions, user names.
@Suite("Access control")
struct AccessControlTests {
    static func ids(_ r: (status: Int, json: [String: Any], text: String)) -> Set<String> {
        Set((r.json["runs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
    }

    @Test("a restricted run is never listed to someone not on it, not even while it is being declared")
    func restrictedFromTheStart() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let declared = try await withThrowingTaskGroup(of: [String].self) { group in
                group.addTask {
                    var ids: [String] = []
                    for i in 0..<15 {
                        let r = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "ransomware-file-servers", "title": "Breach \(i)", "restricted": true])
                        guard r.status == 201, let id = r.json["id"] as? String else { throw Failure("declare answered \(r.status): \(r.text)") }
                        ids.append(id)
                    }
                    return ids
                }
                group.addTask {
                    var seen: [String] = []
                    for _ in 0..<60 {
                        seen += Self.ids(try await client.call(f, "Olga", .get, "/api/runs"))
                        await _Concurrency.Task.yield()
                    }
                    return seen.map { "seen:" + $0 }
                }
                var all: [String] = []
                for try await part in group { all += part }
                return all
            }
            #expect(declared.filter { $0.hasPrefix("seen:") }.isEmpty, "Olga saw restricted runs: \(declared.filter { $0.hasPrefix("seen:") })")
            #expect(Self.ids(try await client.call(f, "Olga", .get, "/api/runs")).isEmpty)
            #expect(Self.ids(try await client.call(f, "Dana", .get, "/api/runs")).count == 15)
        }
    }

    @Test("a run whose access row is missing is hidden from people not on it (fail closed), still shown to its commander")
    func failClosed() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            #expect(Self.ids(try await client.call(f, "Olga", .get, "/api/runs")) == [id])
            let deleted = try TestDatabase.behindMustersBack(home: f.folder, "DELETE FROM run_access WHERE run_id = '\(id)'")
            #expect(deleted.status == 0, "\(deleted.stderr)")
            #expect(Self.ids(try await client.call(f, "Olga", .get, "/api/runs")).isEmpty)
            #expect(try await client.call(f, "Olga", .get, "/api/runs/\(id)").status == 404)
            #expect(try await client.call(f, "Olga", .post, "/api/runs/\(id)/commands", ["type": "note", "text": "probe"]).status == 404)
            #expect(Self.ids(try await client.call(f, "Dana", .get, "/api/runs")) == [id])
            #expect(try await client.call(f, "Lee", .get, "/api/runs/\(id)").status == 200)
        }
    }

    @Test("an exercise report leaves the evaluation out for a player until the end, in every format, as /evaluation does")
    func reportEvaluation() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let started = try await client.call(f, "Olga", .post, "/api/exercises", ["exercise": "ransomware-tabletop-2026q4", "speed": "manual"])
            #expect(started.status == 201, "\(started.text)")
            let run = try #require(started.json["id"] as? String)
            let objective = "Restore file shares within the RTO"
            #expect(try await client.call(f, "Lee", .get, "/api/runs/\(run)/evaluation").status == 403)
            for format in ["html", "md", "json"] {
                let player = try await client.call(f, "Lee", .get, "/api/runs/\(run)/report?format=\(format)")
                #expect(player.status == 200, "\(format): \(player.text)")
                #expect(!player.text.contains(objective), "\(format): a player read the evaluation before the end")
                for who in ["Olga", "Dana"] {  // the facilitator and the incident commander
                    let allowed = try await client.call(f, who, .get, "/api/runs/\(run)/report?format=\(format)")
                    #expect(allowed.text.contains(objective), "\(format), \(who)")
                }
            }
            #expect(try await client.call(f, "Olga", .post, "/api/runs/\(run)/exercise", ["control": "end"]).status == 200)
            for format in ["html", "md", "json"] {
                #expect(try await client.call(f, "Lee", .get, "/api/runs/\(run)/report?format=\(format)").text.contains(objective), "\(format) after the end")
            }
        }
    }

    @Test("improvement actions: the owner, an admin or a cited run's commander move them; the reviewer is the caller and not who marked it done")
    func actionTransitions() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            // Dana declares (incident commander) and is the only admin; Lee holds it_ops; Sam owns the action.
            let lesson = try await client.recordLesson(f)
            let add = try await client.call(f, "Lee", .post, "/api/actions", ["lesson": lesson, "title": "Print the contact list", "owner": "Sam", "organization": "IT", "due": "2027-01-31"])
            #expect(add.status == 201, "\(add.text)")
            let path = "/api/actions/A-1/transitions"
            let lee = try await client.call(f, "Lee", .post, path, ["to": "start"])
            #expect(lee.status == 403 && (lee.json["error"] as? String)?.contains("only the owner of A-1 (Sam)") == true, "\(lee.text)")
            #expect(try await client.call(f, "Olga", .post, path, ["to": "start"]).status == 403)
            #expect(try await client.call(f, "Sam", .post, path, ["to": "start"]).status == 200)
            #expect(try await client.call(f, "Sam", .post, path, ["to": "done"]).status == 200)
            // The reviewer is not a free field.
            let named = try await client.call(f, "Dana", .post, path, ["to": "review", "method": "drill", "result": "effective", "reviewer": "Olga"])
            #expect(named.status == 400 && named.json["field"] as? String == "reviewer", "\(named.text)")
            let own = try await client.call(f, "Sam", .post, path, ["to": "review", "method": "drill", "result": "effective"])
            #expect(own.status == 409 && (own.json["error"] as? String)?.contains("Sam marked A-1 done") == true, "\(own.text)")
            #expect(try await client.call(f, "Lee", .post, path, ["to": "review", "method": "drill", "result": "effective"]).status == 403)
            let review = try await client.call(f, "Dana", .post, path, ["to": "review", "method": "drill", "result": "effective"])
            #expect(review.status == 200 && review.json["status"] as? String == "verified", "\(review.text)")
            let log = try f.state.journal.improvementEvents()
            #expect(log.last?.actor == "Dana")
            #expect(log.last?.payload.contains(#""reviewer":"Dana""#) == true, "\(log.last?.payload ?? "")")
            // The incident commander of a cited run may move it without being its owner or an admin.
            let relieve = try await client.call(f, "Dana", .post, "/api/runs/\(lesson.prefix { $0 != "/" })/commands", ["type": "assign", "role": "incident_commander", "person": "Lee"])
            #expect(relieve.status == 200, "\(relieve.text)")
            #expect(try await client.call(f, "Lee", .post, path, ["to": "close"]).status == 200)
        }
    }

    @Test("user names: validated when added, percent-decoded when revoked; muster is reserved")
    func userNames() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let name = "Zoë O'Brien-Smith, Jr."
            let added = try await client.call(f, "Dana", .post, "/api/users", ["name": name])
            #expect(added.status == 201, "\(added.text)")
            let encoded = try #require(name.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
            let revoked = try await client.call(f, "Dana", .delete, "/api/users/\(encoded)")
            #expect(revoked.status == 200, "\(revoked.text)")
            #expect(revoked.json["name"] as? String == name)
            #expect(try f.state.journal.users().first { $0.name == name }?.revokedAt != nil)

            for bad in ["muster", "MUSTER", "a/b", "line\nbreak", "tab\there", " Lee", "Lee ", "", String(repeating: "x", count: 65), "<script>", "x@y"] {
                let r = try await client.call(f, "Dana", .post, "/api/users", ["name": bad])
                #expect(r.status == 400 && r.json["field"] as? String == "name", "\(bad.debugDescription): \(r.status) \(r.text)")
            }
            #expect(try await client.call(f, "Dana", .post, "/api/users", ["name": String(repeating: "é", count: 64)]).status == 201)
        }
    }
}
