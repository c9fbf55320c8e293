import Foundation
import MusterCore
import MusterYAML
import Testing

@Suite("An exercise's playbook is an id inside the playbooks folder")
struct ExercisePlaybookIDTests {
    @Test("'playbook: ../X' is an error at the value, and no file outside the folder is read",
          arguments: ["../outside", "/etc/passwd", "sub/inside", "..", "Upper", ".hidden"])
    func pathsRefused(id: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try FileManager.default.createDirectory(atPath: folder.path + "/playbooks", withIntermediateDirectories: true)
        // A valid playbook outside the playbooks folder, declaring the same id, that must not be picked up.
        _ = try folder.write("outside.yaml", LoaderTests.tiny.replacingOccurrences(of: "id: tiny", with: "id: outside"))
        let text = """
            muster: 1
            exercise: drill
            title: Drill
            playbook: "\(id)"
            injects: []
            """
        let loaded = ExerciseLoader.load(text: text, file: folder.path + "/exercises/drill.yaml", playbookFolders: [folder.path + "/playbooks"])
        #expect(loaded.playbook == nil)
        let refusal = loaded.diagnostics.first { $0.code == "invalid-id" }
        #expect(refusal.map { "\($0.location.line):\($0.location.column)" } == "4:11")
        #expect(refusal?.message.hasPrefix("'\(id)' is not a playbook id") == true)
        #expect(!loaded.diagnostics.contains { $0.code == "unknown-playbook" })
        // The lower-level lookups refuse it too.
        #expect(ExerciseLoader.findPlaybook(Located(id, at: SourceLocation(file: "x", line: 1, column: 1)), in: [folder.path + "/playbooks"]).0 == nil)
        #expect(PlaybookLoader.locate(id: id, in: folder.path + "/playbooks") == .notFound(known: []))
    }
}
