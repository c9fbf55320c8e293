import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MusterCore
import MusterServer
import Testing

/// Command answers and stream frames are written as JSON directly (the hot path); they must say exactly what
/// `GET /api/runs/{id}/events` (dictionary + JSONSerialization) says about the same events.
@Suite("Event JSON written directly")
struct EventJSONTests {
    @Test("command answers and SSE frames equal the events route's JSON, including escaped and non-ASCII text")
    func sameJSON() async throws {
        let f = try ServerFixture(poll: .milliseconds(50))
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let tricky = "quote \" backslash \\ slash / newline \n tab \t bell \u{07} é ✓ 🚒"
            var produced: [[String: Any]] = []
            for body: [String: Any] in [["type": "note", "text": tricky], ["type": "task-done", "task": "confirm", "note": tricky]] {
                let r = try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", body)
                #expect(r.status == 200, "\(r.text)")
                #expect(r.json["accepted"] as? Bool == true)
                produced += try #require(r.json["events"] as? [[String: Any]])
            }
            let listed = try #require(try await client.call(f, "Lee", .get, "/api/runs/\(id)/events").json["events"] as? [[String: Any]])
            let bySeq = Dictionary(uniqueKeysWithValues: listed.map { ($0["seq"] as! Int, $0) })
            #expect(produced.count >= 2)
            for event in produced {
                var expected = try #require(bySeq[event["seq"] as! Int])
                expected["hash"] = nil  // answers carry no hash, as before
                #expect(NSDictionary(dictionary: event).isEqual(to: expected), "\(event) != \(expected)")
            }

            let hub = f.state
            let lastSeq = listed.compactMap { $0["seq"] as? Int }.max() ?? 0
            let stopper = _Concurrency.Task {
                try await StreamControl.waitForStream(hub, runID: id, through: lastSeq)
                StreamControl.stop(hub)
            }
            let text = try await client.execute(uri: "/api/runs/\(id)/stream", method: .get, headers: f.headers("Lee")) { String(buffer: $0.body) }
            try await stopper.value
            let frames = text.split(separator: "\n").filter { $0.hasPrefix("data: ") }
                .map { try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any] }
            #expect(frames.count == listed.count)
            for (frame, expected) in zip(frames, listed) {
                #expect(frame.map { NSDictionary(dictionary: $0).isEqual(to: expected) } == true, "\(String(describing: frame)) != \(expected)")
            }
        }
    }
}

/// Request bodies are read by the journal's strict JSON reader (`CanonicalJSON.parse`): what it accepts and refuses.
@Suite("Request body JSON")
struct RequestBodyJSONTests {
    static let refused = [
        #"{"type":"note","text":"a""#, #"{"type":"note","text":"a"} x"#, #"{'type':'note'}"#, "{\"type\":\"note\",\"text\":\"a\u{01}\"}",
        #"{"type":"note","text":"\q"}"#, #"{"type":"note","text":"a",}"#, #"{"type":01}"#, #"NaN"#, #"{"type":"note","text":"\ud83d"}"#, "",
        #"{"type":"note","text":"a","text":"b"}"#,
    ]

    @Test("malformed bodies are 400 'not JSON'", arguments: refused)
    func refusedBodies(_ body: String) async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let r = try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", raw: body)
            #expect(r.status == 400, "\(body): \(r.text)")
            #expect(r.text.contains("not JSON") || r.text.contains("must be a JSON object"), "\(body): \(r.text)")
        }
    }

    @Test("escapes, surrogate pairs and whitespace decode to the text sent")
    func escapes() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let raw = " \n{ \"type\" : \"note\" ,\t\"text\":\"caf\\u00e9 \\ud83d\\ude92 \\\"q\\\" \\\\ \\/ \\n end\" } \r\n"
            let r = try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", raw: raw)
            #expect(r.status == 200, "\(r.text)")
            let notes = try f.state.journal.events(runID: id).compactMap { e -> String? in
                if case .noteAdded(let text) = e.body { text } else { nil }
            }
            #expect(notes == ["café 🚒 \"q\" \\ / \n end"])
        }
    }
}
