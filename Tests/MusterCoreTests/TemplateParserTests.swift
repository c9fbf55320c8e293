import Testing
@testable import MusterCore

private let start = MusterCore.SourceLocation(file: "p.yaml", line: 7, column: 10)
private func col(_ offset: Int) -> MusterCore.SourceLocation { start.advanced(byColumns: offset) }

@Suite("Template parser")
struct TemplateParserTests {
    static let valid: [(String, [Template.Part])] = [
        ("Hello {{run.title}}!", [.text("Hello "), .variable(Located("run.title", at: col(8))), .text("!")]),
        ("{{ roles.incident_commander }}", [.variable(Located("roles.incident_commander", at: col(3)))]),
        ("{{a}}{{b}}", [.variable(Located("a", at: col(2))), .variable(Located("b", at: col(7)))]),
        ("{{\tservices.file-shares.rto\t}} left", [.variable(Located("services.file-shares.rto", at: col(3))), .text(" left")]),
        ("no placeholders", [.text("no placeholders")]),
        ("a } b }} c { d", [.text("a } b }} c { d")]),
        ("", []),
    ]

    @Test("splits text and placeholders, each variable located at its first character", arguments: valid)
    func parses(text: String, parts: [Template.Part]) throws {
        #expect(try TemplateParser.parse(text, at: start) == Template(source: text, parts: parts))
    }

    static let invalid: [(String, String, Int)] = [
        ("Started {{run.title", "'{{' is not closed (add '}}')", 8),
        ("Started {{run.title}", "'{{' is not closed (add '}}')", 8),
        ("x {{ }} y", "empty placeholder (write a variable such as {{run.title}})", 2),
        ("{{run title}}", "unexpected ' ' in variable 'run title' (a variable is a dotted name such as run.title)", 5),
        ("{{ run..title }}", "'run..title' is not a variable name (a variable is a dotted name such as run.title)", 3),
        ("{{ .run }}", "'.run' is not a variable name (a variable is a dotted name such as run.title)", 3),
        ("{{ a {{ b }}", "unexpected '{{' inside a placeholder (a variable is a dotted name such as run.title)", 5),
    ]

    @Test("a template that does not parse gives one error at the exact column", arguments: invalid)
    func rejects(text: String, message: String, offset: Int) {
        #expect(throws: Diagnostic.error("invalid-template", "invalid template: \(message)", at: col(offset))) {
            try TemplateParser.parse(text, at: start)
        }
    }
}
