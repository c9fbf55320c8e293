@testable import MusterCore
import MusterYAML
import Testing

@Suite("Simulator")
struct SimulatorTests {
    static func script(_ text: String) throws -> SimulationScript {
        let (node, _) = YAMLSource.parse(text, file: "s.yaml")
        let (script, diagnostics) = SimulationScript.decode(try #require(node))
        #expect(diagnostics == [])
        return try #require(script)
    }

    static let walk = """
        muster: 1
        playbook: portal-outage
        start: { at: 2026-03-06T17:40:00Z, as: Dana, title: Portal down, disruption_started: 10m }
        steps:
          - { at: 2m, as: Dana, assign: ops, to: Lee }
          - { at: 3m, as: Sam, done: check, expect: rejected }
          - { at: 5m, as: Lee, done: check }
          - { at: 6m, as: Lee, raise: confirmed }
          - { at: 25m, as: Lee, done: switch }
        until: 1h
        expect: { state: closed }
        """

    @Test("a script drives the run to its terminal state; deadlines fire at their due time on the virtual clock")
    func walksToTerminal() throws {
        let playbook = try Fixture.playbook()
        let result = Simulator.run(playbook: playbook, script: try Self.script(Self.walk))
        let origin = Instant(iso8601: "2026-03-06T17:40:00Z")!
        #expect(result.failures == [])
        #expect(result.succeeded)
        #expect(result.finalState == "closed")
        #expect(result.finalStateIsTerminal)
        #expect(result.end == origin + .hours(1))
        #expect(result.marks.map(\.mark) == [.detected, .declared, .contained, .recovered, .closed])
        #expect(result.decisions.map { [$0.decision, $0.option] } == [["failover", "fail-over"]])
        #expect(result.decisions.first?.byDefault == true)
        // The decision's 10-minute deadline, armed on entering `decide` at +6m, fires at exactly +16m.
        let fired = result.events.first { if case .timerFired = $0.body { true } else { false } }
        #expect(fired?.at == origin + .minutes(16))
        let rejections = result.entries.compactMap { if case .rejection(let r) = $0 { r } else { nil } }
        #expect(rejections.map(\.step) == ["done check"])
        #expect(rejections.map(\.expected) == [true])
    }

    @Test("the same script gives the same result, event for event")
    func deterministic() throws {
        let playbook = try Fixture.playbook()
        let script = try Self.script(Self.walk)
        let first = Simulator.run(playbook: playbook, script: script)
        let second = Simulator.run(playbook: playbook, script: script)
        #expect(first == second)
        #expect(TimelineText.render(first) == TimelineText.render(second))
    }

    @Test("unexpected rejections, unexpected acceptances and an unmet expect are failures")
    func failures() throws {
        let result = Simulator.run(playbook: try Fixture.playbook(), script: try Self.script("""
            muster: 1
            playbook: portal-outage
            start: { at: 2026-03-06T17:40:00Z, as: Dana, title: Portal down }
            steps:
              - { at: 1m, as: Dana, done: nothing-like-this }
              - { at: 2m, as: Dana, note: "fine", expect: rejected }
            expect: { state: closed }
            """))
        #expect(!result.succeeded)
        #expect(result.failures.count == 3)
        #expect(result.failures[0].hasPrefix("step at line 5 (+00:01:00 Dana: done nothing-like-this) was rejected: "))
        #expect(result.failures[1] == "step at line 6 (+00:02:00 Dana: note) was expected to be rejected, but was accepted")
        #expect(result.failures[2] == "expected final state 'closed', but the run ended in 'triage'")
        #expect(result.end == Instant(iso8601: "2026-03-06T17:42:00Z")!)
    }

    @Test("timers keep firing until `until`, after the last step")
    func untilRunsTheClock() throws {
        let result = Simulator.run(playbook: try Fixture.playbook(), script: try Self.script("""
            muster: 1
            playbook: portal-outage
            start: { at: 2026-03-06T17:40:00Z, as: Dana, title: Portal down }
            until: 40m
            expect: { state: recover }
            """))
        // escalate (20m) raises `escalated` -> decide; the decision deadline (10m) takes the default -> recover.
        #expect(result.failures == [])
        #expect(result.finalState == "recover")
        #expect(result.decisions.map(\.byDefault) == [true])
    }
}

@Suite("Simulator: playbooks that cannot settle")
struct SimulatorLoopTests {
    @Test("a due timer the engine refuses to fire is shown once and fails the simulation")
    func timerRejection() throws {
        let loaded = PlaybookLoader.load(text: """
            muster: 1
            id: loops
            version: 1
            title: Loops
            roles:
              incident_commander: { title: Incident Commander }
            start: a
            states:
              a:
                phase: detect
                owner: incident_commander
                timers: [ { id: go, after: 1m, raise: go } ]
                transitions: [ { on: go, to: b } ]
              b:
                phase: respond
                owner: incident_commander
                transitions: [ { when: true, to: c } ]
              c:
                phase: respond
                owner: incident_commander
                transitions: [ { when: true, to: b } ]
            """, file: "loops.yaml")
        let playbook = try #require(loaded.playbook)
        let script = try SimulatorTests.script("""
            muster: 1
            playbook: loops
            start: { at: 2026-03-06T17:40:00Z, as: Dana, title: Loop }
            steps:
              - { at: 2m, as: Dana, note: "one" }
              - { at: 3m, as: Dana, note: "two" }
            until: 5m
            """)
        let result = Simulator.run(playbook: playbook, script: script)
        let rejections = result.entries.compactMap { if case .rejection(let r) = $0 { r } else { nil } }
        #expect(rejections.count == 1)
        #expect(rejections.first?.actor == Command.system)
        #expect(rejections.first?.step == "fire due timers")
        #expect(result.failures.count == 1)
        #expect(result.failures.first?.hasPrefix("a due timer could not fire at +00:02:00: ") == true)
        #expect(result.finalState == "a")
    }
}
