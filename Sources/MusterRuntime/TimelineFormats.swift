import Foundation
import MusterCore
import MusterJournal
import MusterReports

/// `muster incident timeline --format text|json|csv` and `GET /api/runs/{id}/timeline?format=`: one function,
/// so the CLI and the server give the same bytes for the same journal.
public enum TimelineFormat: String, Sendable, CaseIterable {
    case text, json, csv
}

/// The timeline's printable and machine-readable forms.
public enum TimelineFormats {
    /// Exactly what the CLI prints: text one line per event, JSON an array ending in a newline, CSV with CRLF rows.
    public static func render(_ events: [StoredEvent], as format: TimelineFormat) -> String {
        switch format {
        case .text: events.map { RunText.line($0) + "\n" }.joined()
        case .json: json(events) + "\n"
        case .csv: csv(events)
        }
    }

    /// A JSON array, one object per event: seq, at (ISO-8601), at_ms, scenario_at, actor, role, type,
    /// description, payload (the stored canonical payload, as an object), prev_hash, hash.
    public static func json(_ events: [StoredEvent]) -> String {
        var out = "["
        for (i, e) in events.enumerated() {
            out += i == 0 ? "\n" : ",\n"
            var fields: [(String, String)] = [
                ("seq", "\(e.seq)"),
                ("at", quote(e.event.at.iso8601)),
                ("at_ms", "\(e.event.at.millisecondsSinceEpoch)"),
                ("scenario_at", e.scenarioTime.map { quote($0.iso8601) } ?? "null"),
                ("actor", quote(e.event.actor)),
                ("role", e.event.role.map(quote) ?? "null"),
                ("type", quote(e.type)),
                ("description", quote(RunText.describe(e.event.body))),
                ("payload", e.payload),
                ("prev_hash", quote(e.prevHash)),
                ("hash", quote(e.hash)),
            ]
            fields.sort { $0.0 < $1.0 }
            out += "  {" + fields.map { "\(quote($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
        }
        out += events.isEmpty ? "]" : "\n]"
        return out
    }

    /// RFC 4180 CSV with a header row: seq, at, actor, role, type, description, payload, hash. Written by the
    /// exports' one `CSVWriter`: every field quoted, formulas guarded (an actor named `=cmd|...` comes out as text).
    /// The payload is the readable form (`readablePayload`); the JSON export keeps the canonical one, which the
    /// hash covers.
    public static func csv(_ events: [StoredEvent]) -> String {
        var out = CSVWriter()
        out.row(["seq", "at", "actor", "role", "type", "description", "payload", "hash"])
        for e in events {
            out.row(["\(e.seq)", e.event.at.iso8601, e.event.actor, e.event.role ?? "", e.type,
                     RunText.describe(e.event.body), readablePayload(e.payload), e.hash])
        }
        return out.text
    }

    /// The stored payload as a person reads it in a spreadsheet: without the wrapper named for the event type (the
    /// type column says it) and Swift's encoding artefacts (`_0`), instants as RFC 3339 and spans as `1h30m`
    /// instead of `millisecondsSinceEpoch` and `milliseconds` objects, payload-less cases as their names.
    public static func readablePayload(_ payload: String) -> String {
        guard var value = try? CanonicalJSON.parse(Array(payload.utf8)) else { return payload }
        if case .object(let members) = value, members.count == 1 { value = members[0].1 }
        return readable(value).text
    }

    private static func readable(_ value: CanonicalJSON.Value) -> CanonicalJSON.Value {
        switch value {
        case .array(let items):
            return .array(items.map(readable))
        case .object(let members):
            if members.count == 1 {
                let (key, inner) = members[0]
                let name = String(decoding: key, as: UTF8.self)
                if name == "_0" { return readable(inner) }
                if case .number(let digits) = inner, let number = Int64(String(decoding: digits, as: UTF8.self)) {
                    if name == "millisecondsSinceEpoch" { return .string(Array(Instant(millisecondsSinceEpoch: number).iso8601.utf8)) }
                    if name == "milliseconds" { return .string(Array(TimeSpan(milliseconds: number).description.utf8)) }
                }
                if case .object(let empty) = inner, empty.isEmpty { return .string(key) }
            }
            return .object(members.map { ($0.0, readable($0.1)) })
        default:
            return value
        }
    }

    /// A JSON string literal (control characters escaped, non-ASCII kept as is): the journal's canonical one.
    public static func quote(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        CanonicalJSON.writeString(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
