import Testing
@testable import MusterCore

/// What the incident message of a bound chat channel says, built from the run alone (docs/chat.md).
@Suite("The incident message's content")
struct IncidentMessageModelTests {
    @Test("open tasks by role with their holders, the pending decision with its deadline, timers and RTO/MTPD countdowns in whole minutes")
    func content() {
        var h = Harness(PB.ransomware)
        h.accept("Dana", startCommand(), at: t0)
        h.accept("Dana", .assign(role: "it_ops", person: "Lee"), at: at(1))
        var m = IncidentMessage(runID: "R1", run: h.run, now: at(2))
        #expect(m.title == "Finance shares encrypted" && !m.exercise && !m.closed)
        #expect(m.state == "triage: Triage" && m.phases == ["detect", "assess"])
        #expect(m.roles.map { "\($0.role)=\($0.holder ?? "-")" } == ["incident_commander=Dana", "it_ops=Lee", "comms=-"])
        #expect(m.openTasks.map(\.role) == ["it_ops"] && m.openTasks[0].holder == "Lee" && m.openTasks[0].tasks.map(\.id) == ["confirm", "scope"])
        #expect(m.decision == nil)
        // triage-overdue is due at +30 min: 28 minutes left at +2 min.
        #expect(m.timers.first { $0.name == "triage-overdue" }?.text == "in 28m")
        #expect(m.objectives.map(\.name) == ["RTO file-shares (4h)", "MTPD file-shares (1d)"])
        #expect(m.objectives.map(\.text) == ["in 3h58m", "in 23h58m"])

        h.accept("Lee", .completeTask("confirm", note: nil), at: at(3))
        h.accept("Dana", .raise("confirmed"), at: at(4))
        m = IncidentMessage(runID: "R1", run: h.run, now: at(5))
        #expect(m.openTasks.isEmpty)
        let decision = m.decision
        #expect(decision?.id == "declare-major" && decision?.options == ["declare", "keep-watching"] && decision?.defaultOption == "declare")
        #expect(decision?.deadline == at(19))
        #expect(IncidentMessage.countdown(to: at(19), now: at(5)) == "in 14m")
        // Past the RTO: overdue, then met or exceeded once recovered.
        m = IncidentMessage(runID: "R1", run: h.run, now: at(4 * 60 + 5))
        #expect(m.objectives.first?.text == "OVERDUE by 5m")

        h.accept("Dana", .close(reason: "false alarm after all"), at: at(6))
        m = IncidentMessage(runID: "R1", run: h.run, now: at(7))
        #expect(m.closed && m.closeReason == "false alarm after all" && m.openTasks.isEmpty && m.decision == nil && m.timers.isEmpty)
    }

    @Test("an exercise says so; roll calls show their tally")
    func exerciseAndRollCall() {
        var h = Harness(HB.evacuation)
        h.accept("Dana", startCommand(mode: .exercise), at: t0)
        h.accept(system, .startRollCall("staff-safety", people: HB.five), at: at(1))
        h.accept("Ana", .answer(rollCall: "staff-safety", person: "Ana", option: "safe", channel: "sms"), at: at(2))
        h.accept("Ben", .answer(rollCall: "staff-safety", person: "Ben", option: "help", channel: "slack"), at: at(3))
        let m = IncidentMessage(runID: "R1", run: h.run, now: at(4))
        #expect(m.exercise)
        #expect(m.rollCalls.count == 1 && m.rollCalls[0].hasPrefix("staff-safety: 2/5 accounted (40%); answered safe 1, help 1, away 0"), "\(m.rollCalls)")
    }

    @Test("countdowns in whole minutes, worded as messages word spans")
    func wording() {
        #expect(IncidentMessage.countdown(to: at(10), now: at(10)) == "due now")
        #expect(IncidentMessage.countdown(to: at(10), now: at(10) - .seconds(1)) == "in 1m")
        #expect(IncidentMessage.countdown(to: at(10), now: at(12)) == "OVERDUE by 2m")
        #expect(IncidentMessage.countdown(to: at(65), now: at(0)) == "in 1h5m")
        #expect(IncidentMessage.countdown(to: at(50 * 60), now: at(0)) == "in 2d2h")
    }
}
