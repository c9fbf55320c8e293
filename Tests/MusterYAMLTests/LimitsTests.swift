import Foundation
import MusterCore
import MusterYAML
import Testing

/// Hostile YAML: alias bombs and deep nesting are refused, with a position, before anything is built from them.
@Suite("YAML limits: aliases and nesting")
struct LimitsTests {
    static let hostile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MusterCLITests/Fixtures/hostile").path

    static func fixture(_ name: String) throws -> String {
        try String(contentsOfFile: "\(hostile)/\(name)", encoding: .utf8)
    }

    static func located(_ loaded: [Diagnostic]) -> [String] {
        loaded.map { "\($0.location.line):\($0.location.column): \($0.code): \($0.message)" }
    }

    @Test("a billion-laughs playbook (413 bytes, 10^9 nodes expanded) is refused at the alias that crosses the bound")
    func aliasBomb() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let loaded = PlaybookLoader.load(text: try Self.fixture("alias-bomb.yaml"), file: "bomb.yaml")
        #expect(clock.now - start < .seconds(1))
        #expect(Self.located(loaded.diagnostics) == [
            "10:8: yaml-alias-limit: alias '*d' takes the nodes copied from aliases past 10000 (an alias bomb?): write the repeated parts out",
        ])
        #expect(loaded.playbook == nil)
    }

    @Test("aliases used as mapping keys are counted before Yams hashes them")
    func aliasKeys() throws {
        let loaded = PlaybookLoader.load(text: try Self.fixture("alias-keys.yaml"), file: "keys.yaml")
        #expect(Self.located(loaded.diagnostics).map { String($0.prefix(22)) } == ["6:29: yaml-alias-limit"])
    }

    @Test("900 nested flow sequences (libyaml itself stops at 1,000) are refused at the 65th level, without recursing into them")
    func deepYAML() throws {
        let loaded = PlaybookLoader.load(text: try Self.fixture("deep-yaml.yaml"), file: "deep.yaml")
        #expect(Self.located(loaded.diagnostics) == ["6:72: yaml-too-deep: YAML nested more than 64 levels deep: flatten the structure"])
    }

    @Test("nesting counts what an alias brings in", arguments: [(62, true), (63, false)])
    func depthThroughAlias(levels: Int, accepted: Bool) {
        // The root mapping is level 1, `deep:` holds `levels` sequences, `use:` adds one more around the alias.
        let text = "deep: &d " + String(repeating: "[", count: levels) + String(repeating: "]", count: levels) + "\nuse: [*d]\n"
        let diagnostics = YAMLLimits.check(text, file: "x.yaml")
        #expect((diagnostics == nil) == accepted)
        if !accepted { #expect(diagnostics.map { "\($0.location.line):\($0.location.column) \($0.message)" } == "2:7 YAML nested more than 64 levels deep (through alias '*d'): flatten the structure") }
    }

    @Test("64 levels are fine, and modest alias use still loads")
    func withinBounds() {
        let deep = String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
        #expect(YAMLLimits.check("a: " + deep, file: "x") == nil)
        let (node, diagnostics) = YAMLSource.parse("people: &p [Dana, Lee]\nagain: *p\nthird: *p\n", file: "x")
        #expect(diagnostics.isEmpty)
        guard case .mapping(let m)? = node, case .sequence(let items, _)? = m["third"] else {
            Issue.record("expected the alias expanded")
            return
        }
        #expect(items.count == 2)
    }

    @Test("'*' and '&' in quoted, plain, multi-line and block text are text, not aliases")
    func starsAndAmpersands() throws {
        let loaded = PlaybookLoader.load(text: try Self.fixture("stars-and-ampersands.yaml"), file: "stars.yaml")
        #expect(loaded.diagnostics == [])
        let playbook = try #require(loaded.playbook)
        #expect(playbook.summary == "*Portal* down & out: fail over to site B (R&D *not* involved)")
        let text = "a: \"*x &y\"\nb: '*x'\nc: R&D *team*\nd: |\n  *x\n  &y\ne: >\n  *x\n"
        let (node, diagnostics) = YAMLSource.parse(text, file: "x")
        #expect(diagnostics.isEmpty)
        guard case .mapping(let m)? = node else { Issue.record("no mapping"); return }
        #expect(m["a"]?.scalarText == "*x &y")
        #expect(m["c"]?.scalarText == "R&D *team*")
        #expect(m["d"]?.scalarText == "*x\n&y\n")
    }

    @Test("exercises and player scripts go through the same limits")
    func exercisesAndPlayers() throws {
        let bomb = try Self.fixture("alias-bomb.yaml")
        let exercise = ExerciseLoader.load(text: bomb, file: "x.yaml", playbookFolders: [])
        #expect(exercise.diagnostics.map(\.code) == ["yaml-alias-limit"])
        let players = ExerciseLoader.loadPlayers(text: try Self.fixture("deep-yaml.yaml"), file: "x.players.yaml", for: nil)
        #expect(players.diagnostics.map(\.code) == ["yaml-too-deep"])
    }
}

private extension SourceNode {
    var scalarText: String? { if case .scalar(let s) = self { s.text } else { nil } }
}
