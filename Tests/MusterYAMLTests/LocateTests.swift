import Testing
import MusterCore
import MusterYAML

@Suite("Finding a playbook by id in a folder")
struct LocateTests {
    @Test("ID.yaml first, else the file declaring the id; otherwise the ids the folder declares")
    func locate() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let named = try folder.write("tiny.yml", LoaderTests.tiny)
        let other = try folder.write("b-other.yaml", LoaderTests.tiny.replacingOccurrences(of: "id: tiny", with: "id: renamed"))
        _ = try folder.write("a-broken.yaml", "muster: [")
        #expect(PlaybookLoader.locate(id: "tiny", in: folder.path) == .found(path: named))
        #expect(PlaybookLoader.locate(id: "renamed", in: folder.path) == .found(path: other))
        #expect(PlaybookLoader.locate(id: "tinny", in: folder.path) == .notFound(known: ["renamed", "tiny"]))
        #expect(PlaybookLoader.locate(id: "tiny", in: folder.path + "/missing") == .notFound(known: []))
    }
}
