import Testing
import MusterCore
import MusterYAML

private let start = MusterCore.SourceLocation(file: "p.yaml", line: 5, column: 20)
private func col(_ offset: Int) -> MusterCore.SourceLocation { start.advanced(byColumns: offset) }

/// 10,000 nested parentheses in a `when:` overflowed the stack of `muster validate` and of the server.
@Suite("Guard parser limits")
struct GuardLimitTests {
    static func nested(_ levels: Int, _ open: String = "(", _ close: String = ")") -> String {
        String(repeating: open, count: levels) + "true" + String(repeating: close, count: levels)
    }

    @Test("64 nested parentheses parse; the 65th is an error at its own column", arguments: [10_000, 65])
    func parentheses(levels: Int) throws {
        #expect(try GuardParser.parse(Self.nested(64), at: start) == .literal(true))
        #expect(throws: Diagnostic.error("invalid-guard", "invalid guard: '(' nested more than 64 levels deep (simplify the guard)", at: col(64))) {
            try GuardParser.parse(Self.nested(levels), at: start)
        }
    }

    @Test("'not' counts as a level too, mixed with parentheses")
    func nots() {
        #expect(throws: Diagnostic.error("invalid-guard", "invalid guard: 'not' nested more than 64 levels deep (simplify the guard)", at: col(64 * 4))) {
            try GuardParser.parse(String(repeating: "not ", count: 10_000) + "true", at: start)
        }
        #expect(throws: Diagnostic.error("invalid-guard", "invalid guard: 'not' nested more than 64 levels deep (simplify the guard)", at: col(32 * 5))) {
            try GuardParser.parse(String(repeating: "not (", count: 5_000) + "true", at: start)
        }
    }

    @Test("a guard joins at most 256 conditions: the walkers recurse once per 'and' and 'or'")
    func conditions() throws {
        let within = Array(repeating: "true", count: 256).joined(separator: " and ")
        _ = try GuardParser.parse(within, at: start)
        let over = Array(repeating: "true", count: 100_000).joined(separator: " or ")
        #expect(throws: Diagnostic.error("invalid-guard", "invalid guard: more than 256 conditions in one guard (split the transition)", at: col(256 * 8))) {
            try GuardParser.parse(over, at: start)
        }
    }

    @Test("through the loader: a positioned error for the playbook, no crash")
    func loader() {
        let text = """
            muster: 1
            id: deep
            version: 1
            title: Deep
            roles:
              incident_commander: Incident Commander
            start: open
            states:
              open: { phase: respond, transitions: [ { when: \(Self.nested(10_000)), to: closed } ] }
              closed: { phase: learn, terminal: true }
            """
        let loaded = PlaybookLoader.load(text: text, file: "deep.yaml")
        #expect(loaded.diagnostics.map(\.description) == [
            "deep.yaml:9:114: error: invalid guard: '(' nested more than 64 levels deep (simplify the guard)",
        ])
    }
}
