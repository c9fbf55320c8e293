import MusterCore
import Testing

@Suite("Durations for people")
struct TimeSpanTextTests {
    static let cases: [(Int64, TimeSpan, String)] = [
        // (milliseconds, unit, text)
        (20_862_084, .seconds(1), "5h47m42s"),         // "5h47m42s84ms" before
        (17_254_448, .seconds(1), "4h47m34s"),
        (17_254_448, .minutes(1), "4h48m"),            // messages: minutes, rounded half up
        (17_229_999, .minutes(1), "4h47m"),
        (1_500, .seconds(1), "2s"),
        (499, .seconds(1), "<1s"),
        (29_999, .minutes(1), "<1m"),
        (0, .seconds(1), "0m"),
        (-90_400, .seconds(1), "-1m30s"),
        (3_600_000, .minutes(1), "1h"),
    ]

    @Test("human-facing durations round to the unit and never show milliseconds", arguments: cases)
    func rounded(_ milliseconds: Int64, _ unit: TimeSpan, _ text: String) {
        #expect(TimeSpan(milliseconds: milliseconds).forPeople(unit: unit) == text)
    }

    @Test("the machine form keeps the milliseconds")
    func machineFormKeepsMilliseconds() {
        #expect(TimeSpan(milliseconds: 20_862_084).description == "5h47m42s84ms")
    }
}
