import Testing
import Foundation
import MusterCore
import MusterYAML

@Suite("Loader: damaged playbooks")
struct MutationTests {
    /// SplitMix64, so that every run damages the fixture the same way.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("a damaged playbook never crashes the loader, and a missing playbook always comes with an error")
    func damagedFixtures() throws {
        let original = try String(contentsOfFile: fixturePath("ransomware.yaml"), encoding: .utf8)
        let lines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let junk = ["", "x", ":", "[", "{{", "and", "- ", "~", "yes", "1h", "'", "\"", "tasks.", "  ", "#"]
        var rng = Generator(state: 27031)
        for round in 0..<300 {
            var damaged = lines
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0..<damaged.count, using: &rng)
                var line = Array(damaged[i])
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: damaged.remove(at: i)
                case 1:
                    let at = line.isEmpty ? 0 : Int.random(in: 0...line.count, using: &rng)
                    line.insert(contentsOf: junk.randomElement(using: &rng)!, at: at)
                    damaged[i] = String(line)
                default:
                    if !line.isEmpty { line.remove(at: Int.random(in: 0..<line.count, using: &rng)) }
                    damaged[i] = String(line)
                }
            }
            let text = damaged.joined(separator: "\n")
            let loaded = PlaybookLoader.load(text: text, file: "damaged-\(round).yaml")
            if loaded.playbook == nil {
                #expect(loaded.diagnostics.hasErrors, "round \(round) lost the playbook without saying why:\n\(text)")
            }
            for diagnostic in loaded.diagnostics {
                #expect(diagnostic.location.line >= 1 && diagnostic.location.column >= 1)
                #expect(diagnostic.location.file == "damaged-\(round).yaml")
            }
        }
    }
}
