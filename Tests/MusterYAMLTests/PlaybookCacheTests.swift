import Foundation
import MusterCore
import MusterYAML
import Testing

@Suite("PlaybookCache")
struct PlaybookCacheTests {
    @Test("a folder read twice is parsed once; a changed, added or removed file is noticed")
    func cache() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let tiny = try folder.write("tiny.yaml", LoaderTests.tiny)
        try folder.write("other.yaml", LoaderTests.tiny.replacingOccurrences(of: "id: tiny", with: "id: other"))
        let cache = PlaybookCache()
        let first = PlaybookLoader.loadAll(paths: [folder.path], cache: cache)
        #expect(first.compactMap { $0.playbook?.id.value } == ["other", "tiny"])
        #expect(cache.parses == 2)
        _ = PlaybookLoader.loadAll(paths: [folder.path], cache: cache)
        #expect(PlaybookLoader.locate(id: "other", in: folder.path, cache: cache) == .found(path: folder.path + "/other.yaml"))
        #expect(cache.parses == 2)
        // Same size, new content: the modification time tells.
        try LoaderTests.tiny.replacingOccurrences(of: "id: tiny", with: "id: tinx").write(toFile: tiny, atomically: false, encoding: .utf8)
        let changed = PlaybookLoader.loadAll(paths: [folder.path], cache: cache)
        #expect(changed.compactMap { $0.playbook?.id.value } == ["other", "tinx"])
        #expect(cache.parses == 3)
        try FileManager.default.removeItem(atPath: tiny)
        #expect(PlaybookLoader.loadAll(paths: [folder.path], cache: cache).count == 1)
        #expect(cache.load(file: tiny).diagnostics.map(\.code) == ["unreadable-file"])
    }
}
