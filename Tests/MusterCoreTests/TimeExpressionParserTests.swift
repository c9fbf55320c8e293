import Testing
@testable import MusterCore

private let start = MusterCore.SourceLocation(file: "p.yaml", line: 12, column: 9)
private func col(_ offset: Int) -> MusterCore.SourceLocation { start.advanced(byColumns: offset) }

@Suite("Time expression parser")
struct TimeExpressionParserTests {
    static let valid: [(String, TimeExpression)] = [
        ("run.start", TimeExpression(base: .runStart)),
        ("run.start + 2h", TimeExpression(base: .runStart, offset: .hours(2))),
        ("run.start+1h30m", TimeExpression(base: .runStart, offset: .minutes(90))),
        ("services.file-shares.rto - 1h",
         TimeExpression(base: .objective(service: Located("file-shares", at: col(9)), .rto), offset: .hours(-1))),
        ("services.db.mtpd", TimeExpression(base: .objective(service: Located("db", at: col(9)), .mtpd))),
        ("services.db.rpo-30m", TimeExpression(base: .objective(service: Located("db", at: col(9)), .rpo), offset: .minutes(-30))),
    ]

    @Test("reads run.start and service objectives, plus or minus a duration", arguments: valid)
    func parses(text: String, expected: TimeExpression) throws {
        #expect(try TimeExpressionParser.parse(text, at: start) == expected)
    }

    static let invalid: [(String, String, Int)] = [
        ("", "the expression is empty (expected run.start or services.ID.rto, .rpo or .mtpd)", 0),
        ("run.stop", "'run.stop' is not a time (write run.start)", 4),
        ("services.db.rtoo - 1h", "'rtoo' is not an objective (did you mean 'rto'?)", 12),
        ("services.db.uptime", "'uptime' is not an objective (write rto, rpo or mtpd)", 12),
        ("service.db.rto", "expected run.start or services.ID.rto, .rpo or .mtpd, found 'service.db.rto' (did you mean 'services'?)", 0),
        ("services.db - 1h", "expected run.start or services.ID.rto, .rpo or .mtpd, found 'services.db'", 0),
        ("run.start + 2 hours", "'2 hours' is not a duration (write 30m, 4h, 1h30m, 2d)", 12),
        ("run.start +", "expected a duration after '+' (write 30m, 4h, 1h30m, 2d)", 11),
        ("run.start * 2", "expected '+' or '-' after 'run.start', found '* 2'", 10),
        ("2h", "expected run.start or services.ID.rto, .rpo or .mtpd, found '2h'", 0),
    ]

    @Test("an expression that does not parse gives one error at the exact column", arguments: invalid)
    func rejects(text: String, message: String, offset: Int) {
        #expect(throws: Diagnostic.error("invalid-time-expression", "invalid time expression: \(message)", at: col(offset))) {
            try TimeExpressionParser.parse(text, at: start)
        }
    }
}
