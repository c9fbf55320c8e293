import MusterCore
import MusterRuntime
import Testing

@Suite("Declare values read from text")
struct DeclareValuesTests {
    @Test("a disruption start is a duration before the run or a UTC instant; severity is P1-P4 in either case")
    func parsing() {
        #expect(DeclareRequest.Disruption(parsing: "20m") == .before(.minutes(20)))
        #expect(DeclareRequest.Disruption(parsing: "2026-03-06T17:20:00Z") == .at(Instant(iso8601: "2026-03-06T17:20:00Z")!))
        #expect(DeclareRequest.Disruption(parsing: "yesterday") == nil)
        #expect(Severity(parsing: "p2") == .p2)
        #expect(Severity(parsing: "P5") == nil)
    }
}
