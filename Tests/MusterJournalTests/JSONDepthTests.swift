import Foundation
import MusterCore
import Testing
@testable import MusterJournal

/// Request bodies and journal payloads are read by one recursive parser: its nesting is bounded.
@Suite("CanonicalJSON nesting")
struct JSONDepthTests {
    @Test("100 levels parse; deeper is malformed at the byte of the level past the bound", arguments: [101, 10_000, 1_000_000])
    func depth(levels: Int) throws {
        let ok = Array((String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).utf8)
        _ = try CanonicalJSON.parse(ok)
        let deep = Array((String(repeating: "{\"a\":", count: levels) + "1" + String(repeating: "}", count: levels)).utf8)
        #expect(throws: CanonicalJSON.Malformed.self) { try CanonicalJSON.parse(deep) }
        do {
            _ = try CanonicalJSON.parse(deep)
        } catch {
            #expect(error.offset == 100 * 5)
            #expect(error.description == "malformed JSON at byte 500: nesting deeper than 100 levels")
        }
    }
}
