@testable import MusterCore
import MusterYAML
import Testing

@Suite("Simulation scripts")
struct SimulationScriptTests {
    static func decode(_ text: String) -> (script: SimulationScript?, diagnostics: [String]) {
        let (node, yamlDiagnostics) = YAMLSource.parse(text, file: "s.yaml")
        guard let node else { return (nil, yamlDiagnostics.map(\.description)) }
        let (script, diagnostics) = SimulationScript.decode(node)
        return (script, (yamlDiagnostics + diagnostics).map(\.description))
    }

    static let origin = Instant(iso8601: "2026-03-06T17:40:00Z")!

    @Test("a complete script decodes every kind of step")
    func decodesEverything() throws {
        let (script, diagnostics) = Self.decode("""
            muster: 1
            playbook: portal-outage
            start:
              at: 2026-03-06T17:40:00Z
              as: Dana
              title: Portal down
              mode: exercise
              severity: P1
              disruption_started: 20m
            steps:
              - { at: 2m, as: Dana, assign: ops, to: Lee }
              - { at: 3m, as: Dana, relieve: ops, handover: "Kim takes over" }
              - { at: 5m, as: Lee, done: check, note: "Down from three regions" }
              - { at: 6m, as: Lee, skip: logs, reason: "no access" }
              - { at: 7m, as: Lee, raise: confirmed }
              - { at: 8m, as: Dana, decide: failover, option: fail-over, why: "site A is dark" }
              - { at: 9m, as: Sam, note: "Customers told" }
              - { at: 10m, as: Dana, lesson: "DNS TTL too long", kind: improvement, root_cause: configuration }
              - { at: 10m, as: Lee, done: switch, expect: rejected }
              - { at: 1h, as: Dana, close: "Back on site B" }
            until: 2h
            expect: { state: closed }
            """)
        #expect(diagnostics == [])
        let s = try #require(script)
        #expect(s.playbookID.value == "portal-outage")
        #expect(s.startAt == Self.origin)
        #expect(s.startedBy == "Dana")
        #expect(s.title == "Portal down")
        #expect(s.mode == .exercise)
        #expect(s.severity == .p1)
        #expect(s.disruptionStarted == .minutes(20))
        #expect(s.until?.value == .hours(2))
        #expect(s.expect.state?.value == "closed")
        #expect(s.steps.map(\.action) == [
            .assign(role: "ops", person: "Lee"),
            .relieve(role: "ops", handover: "Kim takes over"),
            .completeTask("check", note: "Down from three regions"),
            .skipTask("logs", reason: "no access"),
            .raise("confirmed"),
            .decide(decision: "failover", option: "fail-over", rationale: "site A is dark"),
            .note("Customers told"),
            .lesson(Lesson(text: "DNS TTL too long", kind: .improvement, rootCause: "configuration")),
            .completeTask("switch", note: nil),
            .close(reason: "Back on site B"),
        ])
        #expect(s.steps.map(\.at) == [.minutes(2), .minutes(3), .minutes(5), .minutes(6), .minutes(7), .minutes(8), .minutes(9), .minutes(10), .minutes(10), .hours(1)])
        #expect(s.steps.map(\.expectRejected) == [false, false, false, false, false, false, false, false, true, false])
        #expect(s.steps.map(\.actor) == ["Dana", "Dana", "Lee", "Lee", "Lee", "Dana", "Sam", "Dana", "Lee", "Dana"])
        #expect(s.steps[2].location == SourceLocation(file: "s.yaml", line: 13, column: 5))
    }

    @Test("defaults: start at 2026-01-01T09:00:00Z, live mode, the playbook's severity, no until")
    func defaults() throws {
        let (script, diagnostics) = Self.decode("""
            muster: 1
            playbook: p
            start: { as: Dana, title: Portal down }
            """)
        #expect(diagnostics == [])
        let s = try #require(script)
        #expect(s.startAt == Instant(iso8601: "2026-01-01T09:00:00Z")!)
        #expect(s.mode == .live)
        #expect(s.severity == nil)
        #expect(s.title == "Portal down")
        #expect(s.until == nil)
        #expect(s.steps == [])
    }

    @Test("unknown keys are errors with a suggestion, at the key")
    func unknownKeys() {
        let (script, diagnostics) = Self.decode("""
            muster: 1
            playbook: p
            start: { as: Dana, mdoe: live, title: T }
            steps:
              - { at: 1m, as: Dana, asign: ops, to: Lee }
            untill: 2h
            """)
        #expect(script == nil)
        #expect(diagnostics == [
            "s.yaml:3:20: error: unknown key 'mdoe' in 'start' (did you mean 'mode'?)",
            "s.yaml:5:25: error: unknown key 'asign' in step (did you mean 'assign'?)",
            "s.yaml:6:1: error: unknown key 'untill' in the script (did you mean 'until'?)",
        ])
    }

    @Test("a step does exactly one thing")
    func oneActionPerStep() {
        let (_, diagnostics) = Self.decode("""
            muster: 1
            playbook: p
            start: { as: Dana, title: Portal down }
            steps:
              - { at: 1m, as: Dana, done: check, raise: confirmed }
              - { at: 2m, as: Dana }
              - { at: 3m, as: Dana, raise: confirmed, option: yes-please }
            """)
        #expect(diagnostics == [
            "s.yaml:5:38: error: a step does exactly one thing, found 'done' and 'raise'",
            "s.yaml:6:5: error: step does nothing: add one of 'assign', 'relieve', 'done', 'skip', 'raise', 'decide', 'lesson', 'close', 'ack', 'note'",
            "s.yaml:7:43: error: 'option' does not apply to a 'raise' step",
        ])
    }

    @Test("steps must be in time order")
    func timeOrder() {
        let (_, diagnostics) = Self.decode("""
            muster: 1
            playbook: p
            start: { as: Dana, title: Portal down }
            steps:
              - { at: 9h, as: Dana, raise: a }
              - { at: 10m, as: Dana, raise: b }
            """)
        #expect(diagnostics == [
            "s.yaml:6:5: error: steps must be in time order: this step at 10m comes after a step at 9h (line 5)",
        ])
    }

    @Test("missing keys, bad durations, times and values point at what is wrong")
    func badValues() {
        let (_, diagnostics) = Self.decode("""
            muster: 2
            start: { at: yesterday, as: Dana, mode: drill }
            steps:
              - { at: 5 minutes, as: Dana, raise: a }
              - { at: 6m, assign: ops }
              - { at: 7m, as: Dana, decide: failover, expect: refused }
              - { at: 8m, as: Dana, decide: failover, option: fail-over }
            """)
        #expect(diagnostics == [
            "s.yaml:1:1: error: the script is missing required key 'playbook'",
            "s.yaml:1:9: error: unsupported script format 'muster: 2' (this muster reads format 1)",
            "s.yaml:2:8: error: 'start' is missing required key 'title'",
            "s.yaml:2:14: error: 'at' must be a UTC time such as 2026-03-06T17:40:00Z, found 'yesterday'",
            "s.yaml:2:41: error: 'mode' must be one of live, exercise, found 'drill'",
            "s.yaml:4:11: error: 'at' must be a duration such as 30s, 15m, 4h, 2d or 1h30m, found '5 minutes'",
            "s.yaml:5:5: error: step is missing required key 'as'",
            "s.yaml:5:5: error: an 'assign' step is missing required key 'to'",
            "s.yaml:6:5: error: a 'decide' step is missing required key 'option'",
            "s.yaml:6:51: error: 'expect' in a step must be 'rejected' or 'accepted', found 'refused'",
            "s.yaml:7:5: error: a 'decide' step is missing required key 'why'",
        ])
    }

    @Test("the script must name the playbook it runs, and expect one of its states")
    func checkAgainstPlaybook() throws {
        let (script, _) = Self.decode("""
            muster: 1
            playbook: portal-outtage
            start: { as: Dana, title: Portal down }
            expect: { state: closd }
            """)
        let s = try #require(script)
        #expect(s.check(against: try Fixture.playbook()).map(\.description) == [
            "s.yaml:2:11: error: script is for playbook 'portal-outtage', not 'portal-outage'",
            "s.yaml:4:18: error: expected state 'closd' is not a state of 'portal-outage' (did you mean 'closed'?)",
        ])
    }
}
