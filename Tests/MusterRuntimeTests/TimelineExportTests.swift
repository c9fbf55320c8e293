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
