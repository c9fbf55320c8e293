import MusterTestSupport
import Foundation
import MusterCore
import MusterJournal
import MusterReports
import MusterRuntime
import Testing

@Suite("Improvement log changes through ImprovementRecords.apply")
struct ImprovementApplyTests {
    let draft = ActionDraft(lessons: ["run/1"], title: "Document the backup restore", capability: "", issue: "", owner: "Lee",
                            organization: "IT", element: .planning, due: Day("2027-01-31")!)

    @Test("a change decided on a stale log is decided again on the fresh one after a sequence conflict")
    func retriesAfterConflict() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let journal = try TestDatabase.open(home: folder.path)
        let stale = try ImprovementRecords.actionLog(journal)
        _ = try ImprovementRecords.apply(.add(draft), actor: "Dana", at: start, in: journal, log: stale.0, head: stale.1)
        let second = try ImprovementRecords.apply(.add(draft), actor: "Sam", at: start, in: journal, log: stale.0, head: stale.1)
        #expect(second.action.id == "A-2")
        #expect(second.head == 2)
        #expect(try ImprovementRecords.actionLog(journal).0.actions.map(\.id) == ["A-1", "A-2"])
    }

    @Test("a rejected command says whether it named an action the log does not have")
    func rejections() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let journal = try TestDatabase.open(home: folder.path)
        let added = try ImprovementRecords.apply(.add(draft), actor: "Dana", at: start, in: journal, log: ImprovementLog(), head: 0)
        #expect(throws: ImprovementApplyError.self) {
            try ImprovementRecords.apply(.start("a-9"), actor: "Dana", at: start, in: journal, log: added.log, head: added.head)
        }
        do {
            _ = try ImprovementRecords.apply(.start("a-9"), actor: "Dana", at: start, in: journal, log: added.log, head: added.head)
        } catch {
            guard case .rejected(_, let unknown) = error else { throw error }
            #expect(unknown)
        }
        do {
            _ = try ImprovementRecords.apply(.close("1", note: nil), actor: "Dana", at: start, in: journal, log: added.log, head: added.head)
        } catch {
            guard case .rejected(_, let unknown) = error else { throw error }
            #expect(!unknown)
        }
        #expect(ImprovementLog.normalizedActionID("a-3") == "A-3" && ImprovementLog.normalizedActionID("3") == "A-3")
    }
}
