import Foundation
import MusterCore
import MusterJournal
import MusterReports
import MusterRuntime
import MusterTestSupport
import Testing

@Suite("Timeline exports")
struct TimelineExportTests {
    @Test("a CSV timeline cannot run as a spreadsheet formula: a field starting with = + - @ gets an apostrophe, every field is quoted")
    func csvFormulaGuard() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let runtime = try makeRuntime(folder, clock: ManualClock(start))
        let person = "=cmd|' /C calc'!A0"
        let declared = try runtime.declare(DeclareRequest(playbookPath: ransomwarePlaybook, title: "@SUM(1+1)", actor: person))
        #expect(declared.rejection == nil)
        try runtime.must(person, .note("+41 22 555 01 01, then -1"), on: declared.runID)
        let csv = TimelineFormats.render(try runtime.journal.storedEvents(runID: declared.runID), as: .csv)
        let rows = csv.split(separator: "\r\n").dropFirst()
        #expect(rows.count >= 2)
        for row in rows {
            // The actor is the third field; every field is quoted, so a row starts with `"` and has no bare `,=`.
            #expect(row.hasPrefix("\""), "\(row)")
            #expect(row.contains(",\"'=cmd|' /C calc'!A0\","), "\(row)")
            for danger in [",=", ",+", ",-", ",@", ",\"=", ",\"+", ",\"-", ",\"@"] {
                #expect(!row.contains(danger), "\(danger) in \(row)")
            }
        }
        #expect(csv.hasPrefix("\"seq\",\"at\",\"actor\",\"role\",\"type\",\"description\",\"payload\",\"hash\"\r\n"))
    }

    @Test("the CSV payload column is readable: no event-type wrapper, no _0, instants in RFC 3339, spans as 1h30m")
    func readablePayload() throws {
        #expect(TimelineFormats.readablePayload(#"{"runStarted":{"_0":{"disruptionStart":{"millisecondsSinceEpoch":1795800000000},"mode":"exercise","title":"t"}}}"#)
            == #"{"disruptionStart":"2026-11-27T17:20:00.000Z","mode":"exercise","title":"t"}"#)
        #expect(TimelineFormats.readablePayload(#"{"markSet":{"_0":"detected"}}"#) == #""detected""#)
        #expect(TimelineFormats.readablePayload(#"{"stateEntered":{"cause":{"start":{}},"state":"triage"}}"#) == #"{"cause":"start","state":"triage"}"#)
        #expect(TimelineFormats.readablePayload(#"{"timerFired":{"due":{"millisecondsSinceEpoch":0},"key":{"id":"x","instance":1},"lateBy":{"milliseconds":5400000}}}"#)
            == #"{"due":"1970-01-01T00:00:00.000Z","key":{"id":"x","instance":1},"lateBy":"1h30m"}"#)

        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let runtime = try makeRuntime(folder, clock: ManualClock(start))
        let declared = try runtime.declare(DeclareRequest(playbookPath: ransomwarePlaybook, title: "Finance shares", actor: "Dana"))
        let csv = TimelineFormats.render(try runtime.journal.storedEvents(runID: declared.runID), as: .csv)
        #expect(!csv.contains("_0"))
        #expect(!csv.contains("millisecondsSinceEpoch"))
        // The JSON export keeps the canonical payload, which the hash covers.
        let json = TimelineFormats.render(try runtime.journal.storedEvents(runID: declared.runID), as: .json)
        #expect(json.contains("millisecondsSinceEpoch"))
    }

    @Test("the improvement plan and the timeline share one writer: the same field comes out the same")
    func oneWriter() {
        var writer = CSVWriter()
        writer.row(["=1+2", "-3", "plain", "say \"hi\"", "a,b\nc", ""])
        #expect(writer.text == "\"'=1+2\",\"'-3\",\"plain\",\"say \"\"hi\"\"\",\"a,b\nc\",\"\"\r\n")
        var plan = CSVWriter(byteOrderMark: true)
        plan.row(["x"])
        #expect(plan.text == "\u{FEFF}\"x\"\r\n")
    }
}
