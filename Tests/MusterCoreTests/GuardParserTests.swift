import Testing
@testable import MusterCore

/// The guard starts at 5:20 in these tests; `col(n)` is the column of the n-th character (0-based).
private let start = MusterCore.SourceLocation(file: "p.yaml", line: 5, column: 20)
private func col(_ offset: Int) -> MusterCore.SourceLocation { start.advanced(byColumns: offset) }
private func name(_ text: String, _ offset: Int) -> Located<String> { Located(text, at: col(offset)) }

@Suite("Guard parser")
struct GuardParserTests {
    static let valid: [(String, GuardExpression)] = [
        ("tasks.confirm.done", .taskDone(name("confirm", 6))),
        ("tasks.restore-backup.skipped", .taskSkipped(name("restore-backup", 6))),
        ("all_tasks_done", .allTasksDone),
        ("true", .literal(true)),
        ("roles.it_ops.assigned", .roleAssigned(name("it_ops", 6))),
        ("decisions.declare-major.made", .decisionMade(name("declare-major", 10))),
        ("decisions.declare-major == \"declare\"",
         .comparison(.decision(name("declare-major", 10)), .equal, name("declare", 28))),
        ("severity != 'P1'", .comparison(.severity, .notEqual, name("P1", 13))),
        ("mode == \"exercise\"", .comparison(.mode, .equal, name("exercise", 9))),
        ("tasks.a.done or tasks.b.done and not tasks.c.skipped",
         .or(.taskDone(name("a", 6)), .and(.taskDone(name("b", 22)), .not(.taskSkipped(name("c", 43)))))),
        ("(true or false) and decisions.d.made", .and(.or(.literal(true), .literal(false)), .decisionMade(name("d", 30)))),
        ("not not all_tasks_done", .not(.not(.allTasksDone))),
        ("  tasks.x.done  ", .taskDone(name("x", 8))),
        ("rollcall.staff-safety.accounted >= 95%",
         .rollCallMeasure(name("staff-safety", 9), .accounted, .atLeast, Located(.percent(95), at: col(35)))),
        ("rollcall.staff-safety.accounted < 280",
         .rollCallMeasure(name("staff-safety", 9), .accounted, .less, Located(.people(280), at: col(34)))),
        ("rollcall.s.count(help) > 0",
         .rollCallMeasure(name("s", 9), .count(option: name("help", 17)), .greater, Located(.people(0), at: col(25)))),
        ("rollcall.s.count( help )<=10 %",
         .rollCallMeasure(name("s", 9), .count(option: name("help", 18)), .atMost, Located(.percent(10), at: col(26)))),
        ("rollcall.s.count(safe) == 3 or rollcall.s.accounted != 0",
         .or(.rollCallMeasure(name("s", 9), .count(option: name("safe", 17)), .equal, Located(.people(3), at: col(26))),
             .rollCallMeasure(name("s", 40), .accounted, .notEqual, Located(.people(0), at: col(55))))),
        ("rollcall.s.overdue", .rollCallOverdue(name("s", 9))),
        ("acks.page-it.acknowledged and not acks.page-it.exhausted",
         .and(.ack(name("page-it", 5), .acknowledged), .not(.ack(name("page-it", 39), .exhausted)))),
    ]

    @Test("roll call and acknowledgement guards are written back as they parse")
    func hearingBackText() throws {
        for text in ["rollcall.s.accounted >= 95%", "rollcall.s.count(help) > 0", "rollcall.s.overdue", "acks.p.acknowledged",
                     "not acks.p.exhausted and rollcall.s.count(away) <= 10%"] {
            #expect(try GuardParser.parse(text, at: start).text == text)
        }
    }

    @Test("parses every form of the guard language with the position of each name", arguments: valid)
    func parses(text: String, expected: GuardExpression) throws {
        #expect(try GuardParser.parse(text, at: start) == expected)
    }

    @Test("'and' binds tighter than 'or', and both group to the left")
    func precedence() throws {
        let parsed = try GuardParser.parse("true or false and false or true", at: start)
        #expect(parsed == .or(.or(.literal(true), .and(.literal(false), .literal(false))), .literal(true)))
    }

    static let invalid: [(String, String, Int)] = [
        ("tasks.confirm.done and", "expected an operand after 'and'", 22),
        ("tasks.confirm.done and or all_tasks_done", "expected an operand after 'and', found 'or'", 23),
        ("all_tasks_done or", "expected an operand after 'or'", 17),
        ("not", "expected an operand after 'not'", 3),
        ("tasks.a.done and (", "expected an operand after '('", 18),
        ("", "the guard is empty", 0),
        ("(tasks.a.done or all_tasks_done", "expected ')' to close the '(' at 5:20", 31),
        ("tasks.a.done)", "unexpected ')' without a matching '('", 12),
        ("tasks.a.done tasks.b.done",
         "unexpected 'tasks.b.done' after a complete condition (join conditions with 'and' or 'or')", 13),
        ("tasks.a.done && all_tasks_done", "unexpected '&&' (write 'and')", 13),
        ("tasks.a.done || all_tasks_done", "unexpected '||' (write 'or')", 13),
        ("!tasks.a.done", "unexpected '!' (write 'not')", 0),
        ("severity = \"P1\"", "unexpected '=' (write '==' to compare)", 9),
        ("tasks.a.done @ x", "unexpected character '@'", 13),
        ("severity == \"P1", "unterminated string (missing closing '\"')", 12),
        ("severity == P1", "expected a quoted value after '==', found 'P1'", 12),
        ("severity ==", "expected a quoted value after '=='", 11),
        ("severity == \"P5\"", "'P5' is not a severity (write P1, P2, P3 or P4)", 13),
        ("severity == \"p1\"", "'p1' is not a severity (did you mean 'P1'?)", 13),
        ("mode == \"drill\"", "'drill' is not a run mode (write live or exercise)", 9),
        ("severity", "'severity' must be compared with '==' or '!=' (write severity == \"P1\")", 8),
        ("decisions.declare-major",
         "'decisions.declare-major' must be compared with '==' or '!=' (write decisions.declare-major == \"option\" or decisions.declare-major.made)", 23),
        ("tasks.confirm.done == \"x\"",
         "'tasks.confirm.done' is true or false and cannot be compared (only decisions.ID, severity, mode and roll call counts can)", 19),
        ("tasks.confirm.dne", "'tasks.confirm.dne' is not a condition (did you mean 'tasks.confirm.done'?)", 14),
        ("tasks.confirm", "'tasks.confirm' is not a condition (write tasks.ID.done or tasks.ID.skipped)", 0),
        ("roles.it_ops", "'roles.it_ops' is not a condition (write roles.ID.assigned)", 0),
        ("task.confirm.done", "unknown name 'task.confirm.done' (did you mean 'tasks'?)", 0),
        ("xyzzy", "unknown name 'xyzzy' (a guard uses tasks, roles, decisions, rollcall, acks, severity, mode, all_tasks_done, true or false)", 0),
        ("rollcall.s.accounted", "'rollcall.s.accounted' must be compared with a number of people or a percentage (write >= 95% or > 0)", 20),
        ("rollcall.s.accounted >= lots", "expected a number or a percentage after '>=' (such as 95% or 0), found 'lots'", 24),
        ("rollcall.s.count > 0", "'rollcall.s.count' needs an option in parentheses (write rollcall.s.count(OPTION) > 0)", 17),
        ("rollcall.s.count(help > 0", "expected ')' after the option 'help', found '>'", 22),
        ("rollcall.s.count() > 0", "expected an option of roll call 's' inside '(...)', found ')'", 17),
        ("rollcall.s.acounted >= 1", "'rollcall.s.acounted' is not a condition (did you mean 'rollcall.s.accounted'?)", 11),
        ("rollcall.s.overdue == \"x\"", "'rollcall.s.overdue' is true or false and cannot be compared (only decisions.ID, severity, mode and roll call counts can)", 19),
        ("acks.page-it.acknowleged", "'acks.page-it.acknowleged' is not a condition (did you mean 'acks.page-it.acknowledged'?)", 13),
        ("acks.page-it", "'acks.page-it' is not a condition (write acks.ID.acknowledged or acks.ID.exhausted)", 0),
    ]

    @Test("a guard that does not parse gives one error at the exact column", arguments: invalid)
    func rejects(text: String, message: String, offset: Int) {
        #expect(throws: Diagnostic.error("invalid-guard", "invalid guard: \(message)", at: col(offset))) {
            try GuardParser.parse(text, at: start)
        }
    }

    @Test("columns count characters, not bytes")
    func unicodeColumns() {
        #expect(throws: Diagnostic.error("invalid-guard", "invalid guard: unexpected character 'é'", at: col(0))) {
            try GuardParser.parse("é", at: start)
        }
        #expect(throws: Diagnostic.error("invalid-guard", "invalid guard: expected an operand after 'and'", at: col(22))) {
            try GuardParser.parse("decisions.d == \"é\" and", at: start)
        }
    }
}
