import MusterCore

extension CanonicalJSON {
    /// The canonical payload of a delivery attempt event (`notificationSent`, `notificationFailed`,
    /// `notificationDeadLettered`, `notificationSkipped`), written directly: the delivery worker records one
    /// or two of these per message, and going through `JSONEncoder` and back cost more than the rest of
    /// recording. The bytes are exactly what `encode` gives for the same body (the synthesized `Codable`
    /// form: the case name as outer key, the labels as keys sorted by their bytes, a nil optional left out,
    /// an `Instant` as `{"millisecondsSinceEpoch":N}`); `CanonicalFormTests` checks it byte for byte.
    /// Task completions and skips, notes and raised events are written the same way: they are most of what
    /// people record (one per command under load, where the encoder and the canonical rewrite were a fifth of
    /// the writer's time).
    /// Nil for every other kind of event (those go through `encode`).
    static func directPayload(_ body: RunEvent.Body) -> String? {
        var out = DirectWriter()
        switch body {
        case .taskCompleted(let task, let note):
            out.open("taskCompleted")
            if let note { out.member("note", note) }
            out.member("task", task)
        case .taskSkipped(let task, let reason):
            out.open("taskSkipped")
            if let reason { out.member("reason", reason) }
            out.member("task", task)
        case .noteAdded(let text):
            out.open("noteAdded")
            out.member("text", text)
        case .eventRaised(let name):
            out.open("eventRaised")
            out.member("name", name)
        case .notificationSent(let id, let channel, let status, let latencyMs, let attempt):
            out.open("notificationSent")
            out.member("attempt", Int64(attempt))
            out.member("channel", channel)
            out.member("id", id)
            out.member("latencyMs", latencyMs)
            if let status { out.member("status", Int64(status)) }
        case .notificationFailed(let id, let channel, let reason, let attempt, let nextAttempt):
            out.open("notificationFailed")
            out.member("attempt", Int64(attempt))
            out.member("channel", channel)
            out.member("id", id)
            if let nextAttempt { out.member("nextAttempt", instant: nextAttempt) }
            out.member("reason", reason)
        case .notificationDeadLettered(let id, let channel, let reason, let attempts):
            out.open("notificationDeadLettered")
            out.member("attempts", Int64(attempts))
            out.member("channel", channel)
            out.member("id", id)
            out.member("reason", reason)
        case .notificationSkipped(let id, let channel, let reason):
            out.open("notificationSkipped")
            out.member("channel", channel)
            out.member("id", id)
            out.member("reason", reason)
        default:
            return nil
        }
        return out.close()
    }

    /// `{"CASE":{` members in the order given (the caller gives them sorted) `}}`.
    private struct DirectWriter {
        var bytes: [UInt8] = []
        var first = true

        init() { bytes.reserveCapacity(192) }

        mutating func open(_ caseName: String) {
            bytes.append(UInt8(ascii: "{"))
            CanonicalJSON.writeString(bytes: caseName.utf8, to: &bytes)
            bytes.append(contentsOf: ":{".utf8)
        }

        private mutating func key(_ name: String) {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            CanonicalJSON.writeString(bytes: name.utf8, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
        }

        mutating func member(_ name: String, _ value: String) {
            key(name)
            CanonicalJSON.writeString(bytes: value.utf8, to: &bytes)
        }

        mutating func member(_ name: String, _ value: Int64) {
            key(name)
            bytes.append(contentsOf: String(value).utf8)
        }

        mutating func member(_ name: String, instant: Instant) {
            key(name)
            bytes.append(contentsOf: "{\"millisecondsSinceEpoch\":".utf8)
            bytes.append(contentsOf: String(instant.millisecondsSinceEpoch).utf8)
            bytes.append(UInt8(ascii: "}"))
        }

        func close() -> String {
            String(decoding: bytes + "}}".utf8, as: UTF8.self)
        }
    }
}
