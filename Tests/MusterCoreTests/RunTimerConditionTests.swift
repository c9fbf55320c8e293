import MusterYAML
import Testing
@testable import MusterCore

/// Timers that stop meaning anything: a `when:` that no longer holds, an RTO warning after recovery.
@Suite("Run engine: timer conditions and recovery")
struct RunTimerConditionTests {
    static let text = #"""
    muster: 1
    id: office-loss
    version: 1
    title: Loss of the main office
    severity: P2
    services:
      payroll: { title: Payroll, rto: 4h, mtpd: 1d }
    roles:
      incident_commander: { title: Incident commander, required: true }
    channels:
      bridge: { type: webhook, url: "http://127.0.0.1/", live_only: true }
    start: respond
    timers:
      - id: rto-warning
        at: services.payroll.rto - 1h
        notify: bridge
        message: "1h left before the RTO of payroll"
      - id: roll-call
        after: 15m
        repeat: 15m
        when: not tasks.count-staff.done
        notify: bridge
        message: "Roll call still open after {{timer.elapsed}}"
    states:
      respond:
        phase: respond
        owner: incident_commander
        tasks:
          - { id: count-staff, title: Count staff at the assembly point, role: incident_commander }
        transitions:
          - { on: restored, to: recovered }
      recovered:
        phase: recover
        owner: incident_commander
        marks: [recovered]
        transitions:
          - { on: done, to: closed }
      closed:
        phase: learn
        owner: incident_commander
        terminal: true
    """#

    static func playbook() throws -> Playbook {
        let loaded = PlaybookLoader.load(text: text, file: "office-loss.yaml")
        #expect(loaded.diagnostics == [], "fixture must be clean: \(loaded.diagnostics)")
        return try #require(loaded.playbook)
    }

    static func notifications(_ events: [RunEvent]) -> [String] {
        events.compactMap { if case .notificationQueued(let n) = $0.body { n.message } else { nil } }
    }

    @Test("a timer whose when: no longer holds fires on the record but neither notifies nor raises; its repeat comes back")
    func conditionAtFiring() throws {
        var h = Harness(try Self.playbook())
        h.accept("Dana", startCommand(), at: t0)
        #expect(Self.notifications(h.advance(to: at(15))) == ["Roll call still open after 15m"])
        h.accept("Dana", .completeTask("count-staff", note: "all 42 accounted for"), at: at(20))
        let later = h.advance(to: at(30))
        #expect(later.contains(ev(at(30), system, nil, .timerFired(key: key("roll-call"), due: at(30), lateBy: .zero))))
        #expect(Self.notifications(later) == [])
        #expect(later.contains(ev(at(30), system, nil, .timerArmed(key: key("roll-call"), due: at(45), repeatEvery: .minutes(15)))))
    }

    @Test("marking the run recovered cancels its services' RTO and MTPD timers, and nothing else")
    func recoveryEndsObjectiveTimers() throws {
        var h = Harness(try Self.playbook())
        h.accept("Dana", startCommand(), at: t0)
        let (events, _) = h.accept("Dana", .raise("restored"), at: at(60))
        #expect(events.contains(ev(at(60), "Dana", "incident_commander", .timerCancelled(key: key("rto-warning")))))
        #expect(!events.contains { if case .timerCancelled(let k) = $0.body { k.id == "roll-call" } else { false } })
        // Three hours on: no RTO warning goes out for a service that is back.
        #expect(!Self.notifications(h.advance(to: at(240))).contains("1h left before the RTO of payroll"))
    }
}
