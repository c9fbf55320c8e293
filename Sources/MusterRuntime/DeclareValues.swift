import MusterCore

// The values a run is declared with, read from text the same way by `muster incident declare` and
// `POST /api/runs`; each shell words its own error when these give nil.

extension DeclareRequest.Disruption {
    /// `20m` (the disruption began that long before the run starts) or a UTC instant like `2026-03-06T17:20:00Z`.
    public init?(parsing text: String) {
        if let span = TimeSpan(parsing: text) { self = .before(span) }
        else if let instant = Instant(iso8601: text) { self = .at(instant) }
        else { return nil }
    }
}

extension Severity {
    /// `P1`…`P4`, in either case.
    public init?(parsing text: String) {
        self.init(rawValue: text.uppercased())
    }
}
