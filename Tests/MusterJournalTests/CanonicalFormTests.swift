import Foundation
import MusterCore
import Testing
@testable import MusterJournal

@Suite("Journal canonical form: the bytes that are hashed")
struct CanonicalFormTests {
    @Test("canonical JSON sorts keys by bytes, drops whitespace and escapes only quotes, backslashes and controls", arguments: [
        (#"{ "b": 1, "a": [true, false, null], "B": "x" }"#, #"{"B":"x","a":[true,false,null],"b":1}"#),
        (#""a\/b""#, #""a/b""#),
        (#""\u00e9\ud83d\udea8 \u0001\n\t\"\\""#, "\"é🚨 \\u0001\\n\\t\\\"\\\\\""),
        (#"[-0, 12, 1.5e3]"#, #"[-0,12,1.5e3]"#),
        (#"{"é":1,"z":2,"a":{"d":[],"c":{}}}"#, #"{"a":{"c":{},"d":[]},"z":2,"é":1}"#),
    ])
    func canonicalJSON(input: String, expected: String) throws {
        #expect(try CanonicalJSON.canonicalize(Array(input.utf8)) == expected)
    }

    @Test("malformed JSON is refused", arguments: [#"{"a":1"#, #"{"a":1,"a":2}"#, "01", #""\ud800""#, "[1,]", "{} x"])
    func malformed(input: String) {
        #expect(throws: CanonicalJSON.Malformed.self) { try CanonicalJSON.canonicalize(Array(input.utf8)) }
    }

    @Test("a duplicate key is refused in a large object too (past the members scanned one by one)")
    func duplicateKeyInLargeObject() throws {
        let keys = (0..<40).map { "\"k\($0)\":\($0)" }
        #expect(try CanonicalJSON.canonicalize(Array("{\(keys.joined(separator: ","))}".utf8)).hasPrefix(#"{"k0":0,"k1":1,"k10":10"#))
        for position in [3, 20, 39] {
            var duplicated = keys
            duplicated.insert("\"k\(position)\":0", at: 39)
            #expect(throws: CanonicalJSON.Malformed.self) { try CanonicalJSON.canonicalize(Array("{\(duplicated.joined(separator: ","))}".utf8)) }
        }
    }

    @Test("payloads encoded together (one encoder call) are the bytes of payloads encoded one by one")
    func encodeEach() throws {
        let bodies: [RunEvent.Body] = [
            .stateEntered(state: "contain", from: "detect", cause: .event("confirmed")),
            .noteAdded(text: "a/b \"c\" é🚨 \u{1}\n"),
            .notificationSent(id: "n1", channel: "ops", status: 200, latencyMs: 12, attempt: 1),
            .notificationFailed(id: "n2", channel: "ops", reason: "HTTP 503", attempt: 2, nextAttempt: Instant(millisecondsSinceEpoch: 1_772_818_800_000)),
            .notificationFailed(id: "n3", channel: "ops", reason: "gave up", attempt: 3, nextAttempt: nil),
        ]
        #expect(try CanonicalJSON.encodeEach(bodies) == bodies.map { try CanonicalJSON.encode($0) })
        #expect(try CanonicalJSON.encodeEach([RunEvent.Body]()) == [])
    }

    @Test("events written directly are the encoder's canonical bytes, byte for byte", arguments: [
        RunEvent.Body.taskCompleted(task: "isolate", note: "EDR: \"mass renames\" \\ a/b é🚨\n\t\u{1}\u{7f}\u{2028}"),
        .taskCompleted(task: "t-\u{1f}", note: nil),
        .taskCompleted(task: "", note: ""),
        .taskSkipped(task: "scope", reason: "covered by EDR report"),
        .taskSkipped(task: "scope", reason: nil),
        .noteAdded(text: "Staff told by email \r\u{8}\u{c}"),
        .noteAdded(text: ""),
        .eventRaised(name: "confirmed"),
        .eventRaised(name: "a\"b"),
        .notificationSent(id: "n1", channel: "ops", status: 200, latencyMs: 12, attempt: 1),
        .notificationSent(id: "n-\u{1}é", channel: "a/b", status: nil, latencyMs: -3, attempt: Int.max),
        .notificationSent(id: "", channel: "", status: Int.min, latencyMs: Int64.max, attempt: 0),
        .notificationFailed(id: "n2", channel: "ops", reason: "HTTP 503: \"busy\" \\ 🚨\n\t\u{8}\u{c}\r\u{1f}\u{7f}\u{2028}", attempt: 2,
                            nextAttempt: Instant(millisecondsSinceEpoch: 1_772_818_800_000)),
        .notificationFailed(id: "n3", channel: "ops", reason: "timeout", attempt: 3, nextAttempt: nil),
        .notificationFailed(id: "n3", channel: "ops", reason: "", attempt: 3, nextAttempt: Instant(millisecondsSinceEpoch: -1)),
        .notificationDeadLettered(id: "n4", channel: "pager", reason: "gave up after 5 attempts (max_attempts 5); last error: HTTP 500", attempts: 5),
        .notificationSkipped(id: "n5", channel: "sms", reason: "live_only channel in an exercise"),
    ])
    func directPayloads(body: RunEvent.Body) throws {
        let direct = try #require(CanonicalJSON.directPayload(body))
        #expect(Array(direct.utf8) == Array(try CanonicalJSON.encode(body).utf8))
    }

    @Test("other events are not written directly")
    func notDelivery() {
        #expect(CanonicalJSON.directPayload(.stateEntered(state: "contain", from: nil, cause: .start)) == nil)
        #expect(CanonicalJSON.directPayload(.notificationQueued(MusterCore.Notification(id: "n1", channel: "ops", message: "m", trigger: "t"))) == nil)
    }

    @Test("the payload of an event is the canonical JSON of its synthesized Codable body")
    func payload() throws {
        let body = RunEvent.Body.stateEntered(state: "contain", from: "detect", cause: .event("confirmed"))
        #expect(try CanonicalJSON.encode(body) == #"{"stateEntered":{"cause":{"event":{"_0":"confirmed"}},"from":"detect","state":"contain"}}"#)
        #expect(try CanonicalJSON.encode(RunEvent.Body.noteAdded(text: "a/b \"c\"")) == #"{"noteAdded":{"text":"a/b \"c\""}}"#)
    }

    /// Frozen vectors: if one of these changes, every existing journal stops verifying. They are also in
    /// docs/journal.md, where they were checked with Python's hashlib and json.dumps.
    @Test("header and event hashes match the documented test vectors")
    func vectors() throws {
        let playbookSHA = Digest256.hex(of: Array("muster: 1\n".utf8))
        let headerBytes = Chain.headerBytes(runID: "r-7f3a2c", playbookID: "demo", playbookVersion: 1, playbookSHA256: playbookSHA)
        #expect(String(decoding: headerBytes, as: UTF8.self) == #"["muster-run/1","r-7f3a2c","demo",1,"\#(playbookSHA)"]"#)
        let header = Chain.headerHash(runID: "r-7f3a2c", playbookID: "demo", playbookVersion: 1, playbookSHA256: playbookSHA)
        let payload = try CanonicalJSON.encode(RunEvent.Body.noteAdded(text: "Staff told by email"))
        let eventBytes = Chain.eventBytes(
            runID: "r-7f3a2c", seq: 1, atMS: 1_772_818_800_000, scenarioMS: nil, actor: "Sam", role: nil,
            type: "note-added", payload: payload, prevHash: header)
        #expect(String(decoding: eventBytes, as: UTF8.self) == #"["muster-event/1","r-7f3a2c",1,1772818800000,null,"Sam",null,"note-added",{"noteAdded":{"text":"Staff told by email"}},"\#(header)"]"#)
        let event = Digest256.hex(of: eventBytes)
        print("vectors: playbook \(playbookSHA) header \(header) event \(event)")
        #expect(playbookSHA == Vectors.playbookSHA)
        #expect(header == Vectors.header)
        #expect(event == Vectors.event)
    }

    enum Vectors {
        static let playbookSHA = "7831f451ae8f6031f937d2120a05e3a14f4c0cc63a7ecee40b239d269dde6e01"
        static let header = "2649a3497ca7966195ece79de2e13eb05aea5703765ad587abaaca292e79984a"
        static let event = "bbe263dc23aa1777dde457646d1c9a9e36105c2d947a3b5416b9b25dfa664f84"
    }

    @Test("a string is escaped the same whether written from its text or from its bytes", arguments: [
        "", "plain", "\"", "\\", "a\"b\\c", "\u{0}\u{1}\u{8}\u{9}\u{a}\u{c}\u{d}\u{1f}\u{20}\u{7f}", "é🚨/\u{2028}", "end\n",
    ])
    func stringFastPath(text: String) {
        var fromText: [UInt8] = []
        CanonicalJSON.writeString(text, to: &fromText)
        var fromBytes: [UInt8] = []
        CanonicalJSON.writeString(bytes: Array(text.utf8), to: &fromBytes)
        #expect(fromText == fromBytes)
    }
}
