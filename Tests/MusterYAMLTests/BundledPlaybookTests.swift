import Foundation
import MusterCore
import MusterYAML
import Testing

/// The playbooks shipped in `playbooks/` are what newcomers copy: they must be clean, warnings included.
@Suite("Bundled playbooks")
struct BundledPlaybookTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("playbooks").path

    @Test("every bundled playbook loads with no error and no warning, and their ids are distinct")
    func bundledPlaybooksAreClean() {
        let loaded = PlaybookLoader.loadAll(paths: [Self.folder])
        #expect(loaded.count >= 7)
        let findings = loaded.flatMap(\.diagnostics) + PlaybookLoader.crossFileDiagnostics(loaded)
        #expect(findings.map(\.description) == [])
        #expect(loaded.allSatisfy { $0.playbook != nil })
    }
}
