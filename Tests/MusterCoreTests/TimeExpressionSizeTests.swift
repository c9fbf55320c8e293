import Testing
import MusterCore

/// Found by `muster-fuzz time`: a 64 KB anchor with runs of spaces took 4 s of CPU (release) to refuse, because
/// trailing spaces were dropped one character at a time from a substring (each drop walked from the start).
@Suite("Time expression parser on long input")
struct TimeExpressionSizeTests {
    static let start = SourceLocation(file: "p.yaml", line: 3, column: 7)

    @Test("trailing spaces are trimmed in one pass, in every message that quotes the rest of the text", arguments: [
        ("9", "expected run.start or services.ID.rto, .rpo or .mtpd, found '9", 0),
        ("run.start ?", "expected '+' or '-' after 'run.start', found '?", 10),
        ("run.start + 1x", "'1x", 12),
    ])
    func longSpaces(head: String, messageStart: String, offset: Int) {
        let spaces = String(repeating: " ", count: 30_000)
        let text = head + spaces + "x" + spaces
        let clock = ContinuousClock()
        let began = clock.now
        do {
            _ = try TimeExpressionParser.parse(text, at: Self.start)
            Issue.record("expected an error")
        } catch {
            #expect(error.location == Self.start.advanced(byColumns: offset))
            #expect(error.message.contains(messageStart))
            #expect(error.message.contains(spaces + "x'"))
        }
        #expect(clock.now - began < .seconds(1))
    }
}
