import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MusterServer
import Testing

/// The API answers what openapi.json says (issue 14): one error shape with a machine-readable code for every
/// refusal, 405 with `Allow` for a documented path's other methods, a JSON 404 for unknown /api paths, each
/// exercise control and action move with its own fields. scripts/api-contract checks the whole document with
/// schemathesis against the real server.
@Suite("API contract")
struct APIContractTests {
    /// openapi.json, parsed.
    static func document() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/Sources/MusterServer/openapi.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The keys the documented `Error` allows, and those it requires.
    static func errorSchema() throws -> (allowed: Set<String>, required: Set<String>, codes: Set<String>) {
        let schemas = try #require((try document()["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let error = try #require(schemas["Error"] as? [String: Any])
        let codes = try #require((schemas["ErrorCode"] as? [String: Any])?["enum"] as? [String])
        return (Set((error["properties"] as? [String: Any] ?? [:]).keys), Set(error["required"] as? [String] ?? []), Set(codes))
    }

    /// `answer` is the documented error with `status` and `code`.
    static func expectError(_ answer: (status: Int, json: [String: Any], text: String), _ status: Int, _ code: String,
                            field: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let schema = try errorSchema()
        #expect(answer.status == status, "\(answer.text)", sourceLocation: sourceLocation)
        #expect(answer.json["code"] as? String == code, "\(answer.text)", sourceLocation: sourceLocation)
        #expect(answer.json["status"] as? Int == status, sourceLocation: sourceLocation)
        #expect(schema.codes.contains(code), sourceLocation: sourceLocation)
        #expect(Set(answer.json.keys).isSubset(of: schema.allowed), "\(answer.text)", sourceLocation: sourceLocation)
        #expect(schema.required.isSubset(of: Set(answer.json.keys)), "\(answer.text)", sourceLocation: sourceLocation)
        if let field { #expect(answer.json["field"] as? String == field, "\(answer.text)", sourceLocation: sourceLocation) }
    }

    @Test("every refusal is the documented error with a machine-readable code; an engine refusal adds the timers caught up before it")
    func errorCodes() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            try Self.expectError(try await client.call(f, nil, .get, "/api/me"), 401, "unauthorized")
            try Self.expectError(try await client.call(f, "Lee", .get, "/api/runs/r-000000"), 404, "not-found")
            try Self.expectError(try await client.call(f, "Lee", .post, "/api/runs", ["title": "x"]), 400, "invalid-field", field: "playbook")
            try Self.expectError(try await client.call(f, "Lee", .post, "/api/runs", raw: "[1]"), 400, "bad-request")
            try Self.expectError(try await client.call(f, "Olga", .post, "/api/runs/\(id)/commands", ["type": "assign", "role": "comms", "person": "Olga"]),
                                 403, "forbidden")
            try Self.expectError(try await client.call(f, "Lee", .get, "/api/users"), 403, "forbidden")
            // Blank is Unicode's White_Space only, as the document's `Text` pattern says.
            try Self.expectError(try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", ["type": "note", "text": " \u{3000}\t\u{85}"]),
                                 400, "invalid-field", field: "text")
            let big = "{\"type\": \"note\", \"text\": \"" + String(repeating: "x", count: 70 * 1024) + "\"}"
            try Self.expectError(try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", raw: big), 413, "payload-too-large")
            // The engine's refusal: code rejected, accepted false, and the events written before it (a list).
            let refused = try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", ["type": "task-done", "task": "no-such-task"])
            try Self.expectError(refused, 409, "rejected")
            #expect(refused.json["accepted"] as? Bool == false && refused.json["events"] is [Any])
            let closed = try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "close", "reason": "drill over"])
            if closed.status == 200 {
                try Self.expectError(try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", ["type": "event", "name": "confirmed"]), 409, "conflict")
            }
        }
    }

    @Test("an engine refusal carries the rule's code as rejection, the same code the CLI prints and maps to its exit status")
    func rejectionCodes() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let unknownRole = try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "assign", "role": "it_opps", "person": "Lee"])
            try Self.expectError(unknownRole, 409, "rejected")
            #expect(unknownRole.json["rejection"] as? String == "unknown-role", "\(unknownRole.text)")
            let unknownTask = try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", ["type": "task-done", "task": "no-such-task"])
            #expect(unknownTask.json["rejection"] as? String == "unknown-task", "\(unknownTask.text)")
            // An improvement action that does not exist is the log's `unknown-action`: a 404, with the code beside it.
            let noAction = try await client.call(f, "Dana", .post, "/api/actions/A-99/transitions", ["to": "start"])
            #expect(noAction.status == 404, "\(noAction.text)")
        }
    }

    @Test("a documented path with another method is 405 with Allow and the JSON error; an unknown /api path is a JSON 404")
    func methodsAndUnknownPaths() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            for (method, uri, allow) in [(HTTPRequest.Method.delete, "/api/runs", "GET, POST"), (.get, "/api/runs/r-1/commands", "POST"),
                                         (.put, "/api/me", "GET"), (.post, "/api/users/Lee", "DELETE"), (.head, "/api/runs/r-1", "GET")] {
                for who in ["Lee", nil] {
                    try await client.execute(uri: uri, method: method, headers: f.headers(who)) { response in
                        #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                        #expect(response.headers[HTTPField.Name("Allow")!] == allow, "\(method) \(uri)")
                        #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                        if method != .head {
                            let json = try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any])
                            #expect(json["code"] as? String == "method-not-allowed" && json["status"] as? Int == 405)
                        }
                    }
                }
            }
            for uri in ["/api/nothing", "/api/runs/r-1/nothing", "/api", "/api/runs/r-1/events/7"] {
                try Self.expectError(try await client.call(f, "Lee", .get, uri), 404, "not-found")
                try Self.expectError(try await client.call(f, nil, .post, uri, raw: "{}"), 404, "not-found")
            }
            // A route's own 404 keeps its message.
            let unknownRun = try await client.call(f, "Lee", .get, "/api/runs/r-000000/events")
            #expect(unknownRun.status == 404 && (unknownRun.json["error"] as? String)?.contains("r-000000") == true)
            // Outside /api nothing changes: the board's files are not the API.
            #expect(try await client.call(f, nil, .get, "/nothing").status == 404)
        }
    }

    @Test("each exercise control and each move of an action takes its own fields; scenario time of a live run is 409")
    func fieldsPerVariant() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let started = try await client.call(f, "Dana", .post, "/api/exercises", ["exercise": "ransomware-tabletop-2026q4", "speed": "manual"])
            let exercise = try #require(started.json["id"] as? String, "\(started.text)")
            let control = "/api/runs/\(exercise)/exercise"
            try Self.expectError(try await client.call(f, "Dana", .post, control, ["control": "pause", "by": "5m"]), 400, "invalid-field", field: "by")
            try Self.expectError(try await client.call(f, "Dana", .post, control, ["control": "skip"]), 400, "invalid-field", field: "by")
            try Self.expectError(try await client.call(f, "Dana", .post, control, ["control": "end", "message": "x"]), 400, "invalid-field", field: "message")
            try Self.expectError(try await client.call(f, "Dana", .post, control, ["control": "stop"]), 400, "invalid-field", field: "control")
            #expect(try await client.call(f, "Dana", .post, control, ["control": "skip", "by": "5m"]).status == 200)

            let lesson = try await client.recordLesson(f)
            let added = try await client.call(f, "Dana", .post, "/api/actions", ["lesson": lesson, "title": "Name a deputy", "owner": "Dana",
                                                                                 "organization": "IT Operations", "due": "2027-01-31"])
            let action = try #require(added.json["id"] as? String, "\(added.text)")
            let move = "/api/actions/\(action)/transitions"
            try Self.expectError(try await client.call(f, "Dana", .post, move, ["to": "start", "method": "audit"]), 400, "invalid-field", field: "method")
            try Self.expectError(try await client.call(f, "Dana", .post, move, ["to": "close", "result": "effective"]), 400, "invalid-field", field: "result")
            #expect(try await client.call(f, "Dana", .post, move, ["to": "start"]).status == 200)

            let live = try await client.declareRun(f)
            try Self.expectError(try await client.call(f, "Lee", .get, "/api/runs/\(live)/timeline?format=scenario"), 409, "conflict")
            #expect(try await client.call(f, "Lee", .get, "/api/runs/\(exercise)/timeline?format=scenario").status == 200)
            // format=json is a JSON array of events, as documented.
            try await client.execute(uri: "/api/runs/\(live)/timeline?format=json", method: .get, headers: f.headers("Lee")) { response in
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                let events = try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [[String: Any]]
                #expect(events?.first?["seq"] as? Int == 1)
            }
        }
    }

    @Test("openapi.json: every operation has an operationId, every success a schema, every 4xx the one Error; the JSON report is docs/report-schema.json")
    func documentShape() throws {
        let doc = try Self.document()
        var operationIDs: [String] = []
        for (path, item) in try #require(doc["paths"] as? [String: [String: Any]]) {
            for (method, value) in item {
                let operation = try #require(value as? [String: Any])
                let name = "\(method) \(path)"
                operationIDs.append(try #require(operation["operationId"] as? String, "\(name) has no operationId"))
                for (status, response) in try #require(operation["responses"] as? [String: [String: Any]]) {
                    if status.hasPrefix("4") {
                        #expect(response["$ref"] as? String == "#/components/responses/Error", "\(name) \(status)")
                    } else if status.hasPrefix("2") {
                        let content = try #require(response["content"] as? [String: [String: Any]], "\(name) \(status)")
                        for (type, media) in content where type == "application/json" {
                            let schema = try #require(media["schema"] as? [String: Any], "\(name) \(status) \(type)")
                            // A bare "an object" is no contract: a reference, or properties with required ones, or an array.
                            let described = schema["$ref"] != nil || schema["type"] as? String == "array"
                                || (schema["properties"] != nil && schema["required"] != nil)
                            #expect(described, "\(name) \(status) \(type): \(schema)")
                        }
                    }
                }
            }
        }
        #expect(Set(operationIDs).count == operationIDs.count, "operationIds are unique")
        // The report's JSON schema is docs/report-schema.json, its $defs beside it as Report_NAME.
        let schemas = try #require((doc["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let data = try Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/docs/report-schema.json"))
        var report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let defs = report.removeValue(forKey: "$defs") as? [String: Any] ?? [:]
        report["$schema"] = nil
        report["$id"] = nil
        func rewrite(_ value: Any) -> Any {
            if let object = value as? [String: Any] {
                var out: [String: Any] = [:]
                for (key, member) in object {
                    if key == "$ref", let target = member as? String, target.hasPrefix("#/$defs/") {
                        out[key] = "#/components/schemas/Report_" + target.dropFirst("#/$defs/".count)
                    } else {
                        out[key] = rewrite(member)
                    }
                }
                return out
            }
            if let array = value as? [Any] { return array.map(rewrite) }
            return value
        }
        func canonical(_ value: Any?) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: value ?? [:], options: [.sortedKeys]), as: UTF8.self)
        }
        #expect(try canonical(rewrite(report)) == canonical(schemas["Report"]), "components.schemas.Report differs from docs/report-schema.json")
        for (name, def) in defs {
            #expect(try canonical(rewrite(def)) == canonical(schemas["Report_" + name]), "Report_\(name)")
        }
    }
}
