@testable import MusterCore
import Testing

@Suite("Simulation timeline text")
struct TimelineTextTests {
    static let origin = Instant(iso8601: "2026-03-06T17:40:00Z")!

    static func at(_ span: TimeSpan) -> Instant { origin + span }

    @Test("one aligned line per event, rejections as REJECTED lines, then the summary")
    func rendersTimelineAndSummary() {
        let started = RunStarted(
            runID: "sim-portal-outage", playbookID: "portal-outage", playbookVersion: 2, mode: .live,
            title: "Portal down", severity: .p2, disruptionStart: Self.at(.minutes(-20)))
        let result = SimulationResult(
            playbookID: "portal-outage", playbookVersion: 2, origin: Self.origin, end: Self.at(.hours(2)),
            entries: [
                .event(RunEvent(at: Self.origin, actor: "Dana", role: "incident_commander", .runStarted(started))),
                .event(RunEvent(at: Self.origin, actor: "Dana", role: "incident_commander", .stateEntered(state: "triage", from: nil, cause: .start))),
                .event(RunEvent(at: Self.origin, actor: "muster", role: nil, .timerArmed(key: TimerKey(id: "escalate", instance: 1), due: Self.at(.minutes(20)), repeatEvery: nil))),
                .event(RunEvent(at: Self.at(.minutes(2)), actor: "Dana", role: "incident_commander", .roleAssigned(role: "ops", person: "Lee"))),
                .rejection(.init(at: Self.at(.minutes(3)), actor: "Sam", step: "done check", reason: "Sam does not hold the role 'ops'", expected: false, location: SourceLocation(file: "s.yaml", line: 9, column: 5))),
                .event(RunEvent(at: Self.at(.minutes(5)), actor: "Lee", role: "ops", .taskCompleted(task: "check", note: "Down \"everywhere\"\nsince 17:20"))),
                .event(RunEvent(at: Self.at(.minutes(20)), actor: "muster", role: nil, .timerFired(key: TimerKey(id: "escalate", instance: 1), due: Self.at(.minutes(20)), lateBy: .zero))),
                .event(RunEvent(at: Self.at(.minutes(30)), actor: "muster", role: nil, .decisionMade(decision: "failover", option: "fail-over", rationale: "", byDefault: true))),
                .event(RunEvent(at: Self.at(.minutes(30)), actor: "muster", role: nil, .stateEntered(state: "recover", from: "decide", cause: .decision(id: "failover", option: "fail-over")))),
                .event(RunEvent(at: Self.at(.minutes(30)), actor: "muster", role: nil, .markSet(.recovered))),
                .event(RunEvent(at: Self.at(.minutes(31)), actor: "muster", role: nil, .notificationQueued(Notification(id: "n1", channel: "bridge", message: "Recovered", trigger: "enter:recover")))),
                .event(RunEvent(at: Self.at(.minutes(40)), actor: "Dana", role: "incident_commander", .lessonRecorded(Lesson(text: "DNS TTL too long", kind: .improvement, rootCause: "configuration")))),
            ],
            finalState: "recover", finalStateIsTerminal: false, closed: false,
            marks: [.init(mark: .recovered, at: Self.at(.minutes(30)))],
            decisions: [.init(decision: "failover", option: "fail-over", rationale: "", byDefault: true, actor: "muster", at: Self.at(.minutes(30)))],
            lessons: [.init(lesson: Lesson(text: "DNS TTL too long", kind: .improvement, rootCause: "configuration"), actor: "Dana", at: Self.at(.minutes(40)))],
            failures: ["step at line 9 (+00:03:00 Sam: done check) was rejected: Sam does not hold the role 'ops'"])
        let expected = #"""
            +00:00:00  2026-03-06 17:40:00Z  Dana (incident_commander)  run-started          "Portal down" live P2, playbook portal-outage v2, run sim-portal-outage, disruption since 2026-03-06 17:20:00Z
            +00:00:00  2026-03-06 17:40:00Z  Dana (incident_commander)  state-entered        triage (start)
            +00:00:00  2026-03-06 17:40:00Z  muster                     timer-armed          escalate#1 due +00:20:00
            +00:02:00  2026-03-06 17:42:00Z  Dana (incident_commander)  role-assigned        ops: Lee
            +00:03:00  2026-03-06 17:43:00Z  Sam                        REJECTED             done check: Sam does not hold the role 'ops'
            +00:05:00  2026-03-06 17:45:00Z  Lee (ops)                  task-completed       check "Down \"everywhere\"\nsince 17:20"
            +00:20:00  2026-03-06 18:00:00Z  muster                     timer-fired          escalate#1
            +00:30:00  2026-03-06 18:10:00Z  muster                     decision-made        failover: fail-over (default)
            +00:30:00  2026-03-06 18:10:00Z  muster                     state-entered        recover from decide (decision failover: fail-over)
            +00:30:00  2026-03-06 18:10:00Z  muster                     mark-set             recovered
            +00:31:00  2026-03-06 18:11:00Z  muster                     notification-queued  n1 to bridge: "Recovered"
            +00:40:00  2026-03-06 18:20:00Z  Dana (incident_commander)  lesson-recorded      improvement: "DNS TTL too long" (root cause: configuration)

            final state: recover
            clock stopped at: +02:00:00  2026-03-06 19:40:00Z
            marks:
              recovered  +00:30:00  2026-03-06 18:10:00Z
            decisions:
              failover: fail-over (by default) at +00:30:00
            lessons:
              improvement: "DNS TTL too long" (root cause: configuration) by Dana at +00:40:00
            result: FAILED
              - step at line 9 (+00:03:00 Sam: done check) was rejected: Sam does not hold the role 'ops'

            """#
        #expect(TimelineText.render(result) == expected)
    }

    @Test("UTC times drop zero milliseconds and keep others")
    func utc() {
        #expect(TimelineText.utc(Self.origin) == "2026-03-06 17:40:00Z")
        #expect(TimelineText.utc(Self.origin + TimeSpan(milliseconds: 250)) == "2026-03-06 17:40:00.250Z")
        #expect(TimelineText.offsetText(.hours(37)) == "+37:00:00")
    }
}
