import Testing
@testable import MusterCore

// Pages that must be acknowledged, escalations, and roll calls, driven on a manual clock.
// Every step of the harness also checks that replaying the journal rebuilds the same run.

enum HB {
    static func page(id: String = "page-it", to role: String = "it_ops", within: TimeSpan = .minutes(10),
                     escalate: [String] = ["deputy", Playbook.incidentCommander]) -> EntryAction {
        .notify(NotifyAction(channel: l("pager"), message: l(template("Ransomware on file servers: join the bridge")), to: l(role),
                             ack: AckSpec(id: l(id), within: l(within), escalate: escalate.map { l($0) }), location: here))
    }

    /// Standby until `page` is raised; triage pages IT and moves on once the page is acknowledged.
    static func paging(escalate: [String] = ["deputy", Playbook.incidentCommander]) -> Playbook {
        PB.playbook("paging", start: "standby", channels: ["pager", "bridge"], states: [
            PB.state("standby", owner: ic, transitions: [PB.on("page", to: "triage")]),
            PB.state("triage", owner: ic, onEnter: [page(escalate: escalate)],
                     transitions: [PB.when(.ack(l("page-it"), .acknowledged), to: "respond"), PB.on("hand-over", to: "respond"),
                                   PB.on("stand-down", to: "done")]),
            PB.state("respond", owner: ic, transitions: [PB.on("stand-down", to: "done")]),
            PB.state("done", [.learn], terminal: true),
        ])
    }

    static let safety = RollCallSpec(
        id: l("staff-safety"), who: [.group(l("site-hq")), .role(l("comms"))], ask: l(template("Are you safe?")),
        options: [.init(id: l("safe"), label: "I am safe"), .init(id: l("help"), label: "I need help"), .init(id: l("away"), label: "Not on site")],
        via: [l("sms"), l("email"), l("slack")], resendEvery: l(.minutes(15)), resendMax: l(3), within: l(.hours(1)), location: here)

    static func quantity(_ q: GuardExpression.Quantity) -> Located<GuardExpression.Quantity> { l(q) }

    /// Evacuate asks the roll call; someone needing help moves the run to rescue, 80% accounted for to recover.
    static let evacuation: Playbook = PB.playbook("evacuation", start: "evacuate", channels: ["sms", "email", "slack", "bridge"], states: [
        PB.state("evacuate", owner: ic, onEnter: [.rollCall(safety)], transitions: [
            PB.when(.rollCallMeasure(l("staff-safety"), .count(option: l("help")), .greater, quantity(.people(0))), to: "rescue"),
            PB.when(.rollCallMeasure(l("staff-safety"), .accounted, .atLeast, quantity(.percent(80))), to: "recover"),
        ]),
        PB.state("rescue", owner: ic, transitions: [PB.on("stand-down", to: "done")]),
        PB.state("recover", owner: ic, transitions: [PB.on("stand-down", to: "done")]),
        PB.state("done", [.learn], terminal: true),
    ])

    static let ask = "Are you safe? (safe: I am safe | help: I need help | away: Not on site)"
    static let five = ["Ana", "Ben", "Cleo", "Dev", "Eli"]

    static func tally(_ accounted: Int, of people: Int = 5, safe: Int = 0, help: Int = 0, away: Int = 0, marked: Int = 0) -> RollCallTally {
        RollCallTally(rollCall: "staff-safety", people: people, accounted: accounted, marked: marked,
                      answers: [.init(option: "safe", people: safe), .init(option: "help", people: help), .init(option: "away", people: away)])
    }

    static func rollNote(_ id: String, _ channel: String, _ person: String, _ message: String = ask) -> Notification {
        Notification(id: id, channel: channel, message: message, trigger: "rollcall:staff-safety", person: person, rollCall: "staff-safety")
    }
}

@Suite("Run engine: acknowledged pages and escalation")
struct RunAcknowledgementTests {
    static let pageText = "Ransomware on file servers: join the bridge"

    func paged(_ playbook: Playbook = HB.paging(), deputy: String? = "Kim") -> Harness {
        var h = Harness(playbook)
        h.accept("Dana", startCommand(), at: t0)
        h.accept("Dana", .assign(role: "it_ops", person: "Lee"), at: t0)
        if let deputy { h.accept(system, .nameDeputy(person: "Lee", deputy: deputy), at: t0) }
        return h
    }

    @Test("a page acknowledged in time records who and how long it took, stops its escalation, and its guard moves the run")
    func acknowledgedInTime() {
        var h = paged()
        let (events, effects) = h.accept("Dana", .raise("page"), at: at(1))
        let page = Notification(id: "n1", channel: "pager", message: Self.pageText, trigger: "enter:triage", person: "Lee", role: "it_ops", ack: "page-it")
        #expect(events == [
            ev(at(1), "Dana", ic, .eventRaised(name: "page")),
            ev(at(1), "Dana", ic, .stateEntered(state: "triage", from: "standby", cause: .event("page"))),
            ev(at(1), "Dana", ic, .notificationQueued(page)),
            ev(at(1), "Dana", ic, .acknowledgementRequested(AckRequested(
                ack: "page-it", notification: "n1", channel: "pager", role: "it_ops", person: "Lee", within: .minutes(10),
                escalate: ["deputy", ic], message: Self.pageText))),
            ev(at(1), "Dana", ic, .timerArmed(key: key("ack:page-it"), due: at(11), repeatEvery: nil)),
        ])
        #expect(effects == [.sendNotification(page), .startTimer(key: key("ack:page-it"), due: at(11), repeatEvery: nil)])
        #expect(!h.run.evaluate(.ack(l("page-it"), .acknowledged)))

        #expect(h.reject("Sam", .acknowledge("page-it"), at: at(2)).contains("only someone paged for 'page-it'"))
        #expect(h.reject("Lee", .acknowledge("page-ti"), at: at(2)).contains("did you mean 'page-it'?"))

        let acked = h.accept("Lee", .acknowledge("page-it"), at: at(4))
        #expect(acked.events == [
            ev(at(4), "Lee", "it_ops", .acknowledged(ack: "page-it", person: "Lee", latency: .minutes(3))),
            ev(at(4), "Lee", "it_ops", .timerCancelled(key: key("ack:page-it"))),
            ev(at(4), "Lee", "it_ops", .stateEntered(state: "respond", from: "triage", cause: .guardHeld)),
        ])
        #expect(h.run.acks["page-it"]?.acknowledgedBy == "Lee")
        #expect(h.reject("Dana", .acknowledge("page-it"), at: at(5)) == "'page-it' was already acknowledged by Lee")
        #expect(h.advance(to: at(60)) == [])
    }

    @Test("an unacknowledged page escalates to the deputy, then the incident commander, each journaled, then is exhausted")
    func escalatesThenExhausted() {
        var h = paged()
        h.accept("Dana", .raise("page"), at: at(1))

        #expect(h.advance(to: at(11)) == [
            ev(at(11), system, nil, .timerFired(key: key("ack:page-it"), due: at(11), lateBy: .zero)),
            ev(at(11), system, nil, .escalated(ack: "page-it", step: 1, to: "deputy", person: "Kim", notification: "n2")),
            ev(at(11), system, nil, .notificationQueued(Notification(
                id: "n2", channel: "pager",
                message: "Escalated (step 1 of 2): Lee did not acknowledge within 10m. \(Self.pageText)",
                trigger: "ack:page-it", person: "Kim", ack: "page-it"))),
            ev(at(11), system, nil, .timerArmed(key: key("ack:page-it", 2), due: at(21), repeatEvery: nil)),
        ])
        #expect(h.advance(to: at(21)) == [
            ev(at(21), system, nil, .timerFired(key: key("ack:page-it", 2), due: at(21), lateBy: .zero)),
            ev(at(21), system, nil, .escalated(ack: "page-it", step: 2, to: ic, person: "Dana", notification: "n3")),
            ev(at(21), system, nil, .notificationQueued(Notification(
                id: "n3", channel: "pager",
                message: "Escalated (step 2 of 2): Lee did not acknowledge within 10m. \(Self.pageText)",
                trigger: "ack:page-it", person: "Dana", role: ic, ack: "page-it"))),
            ev(at(21), system, nil, .timerArmed(key: key("ack:page-it", 3), due: at(31), repeatEvery: nil)),
        ])
        #expect(h.advance(to: at(31)) == [
            ev(at(31), system, nil, .timerFired(key: key("ack:page-it", 3), due: at(31), lateBy: .zero)),
            ev(at(31), system, nil, .escalationExhausted(ack: "page-it", steps: 2)),
        ])
        #expect(h.run.evaluate(.ack(l("page-it"), .exhausted)))
        #expect(!h.run.evaluate(.ack(l("page-it"), .acknowledged)))
        #expect(h.run.armedTimers.isEmpty)

        // The deputy, paged at step 1, may still answer late: latency counts from the first page.
        let late = h.accept("Kim", .acknowledge("page-it"), at: at(40))
        #expect(late.events.first == ev(at(40), "Kim", nil, .acknowledged(ack: "page-it", person: "Kim", latency: .minutes(39))))
        #expect(h.run.currentState == "respond")
    }

    @Test("a deputy step with no deputy known is recorded and passed over at once")
    func unknownDeputyPassedOver() {
        var h = paged(deputy: nil)
        h.accept("Dana", .raise("page"), at: at(1))
        let events = h.advance(to: at(11))
        #expect(events.map(\.body) == [
            .timerFired(key: key("ack:page-it"), due: at(11), lateBy: .zero),
            .escalated(ack: "page-it", step: 1, to: "deputy", person: nil, notification: nil),
            .escalated(ack: "page-it", step: 2, to: ic, person: "Dana", notification: "n2"),
            .notificationQueued(Notification(
                id: "n2", channel: "pager", message: "Escalated (step 2 of 2): Lee did not acknowledge within 10m. \(Self.pageText)",
                trigger: "ack:page-it", person: "Dana", role: ic, ack: "page-it")),
            .timerArmed(key: key("ack:page-it", 2), due: at(21), repeatEvery: nil),
        ])
    }

    @Test("an escalation outlives the state that paged; a terminal state stops it")
    func escalationBelongsToTheRun() {
        var h = paged()
        h.accept("Dana", .raise("page"), at: at(1))
        // Leaving triage for a state that is not terminal keeps the escalation armed.
        let left = h.accept("Dana", .raise("hand-over"), at: at(2))
        #expect(!left.events.contains { if case .timerCancelled = $0.body { true } else { false } })
        #expect(h.run.armedTimer(key("ack:page-it")) != nil)
        let closing = h.accept("Dana", .raise("stand-down"), at: at(2))
        #expect(closing.events.contains(ev(at(2), "Dana", ic, .timerCancelled(key: key("ack:page-it")))))
        #expect(h.run.armedTimers.isEmpty)
    }

    @Test("a timer that pages with ack_within asks for an acknowledgement named after the timer, and may start a roll call")
    func timerPagesAndRollCall() {
        let timer = TimerSpec(id: l("page-facilities"), anchor: .after(l(.minutes(5))), notify: l("pager"),
                              message: l(template("Confirm the building is empty")), to: l("comms"),
                              ack: AckSpec(within: l(.minutes(5))), rollCall: HB.safety, location: here)
        let playbook = PB.playbook("timed", start: "a", channels: ["pager", "sms", "email", "slack"], states: [
            PB.state("a", owner: ic, timers: [timer], transitions: [PB.when(.ack(l("page-facilities"), .acknowledged), to: "b")]),
            PB.state("b", [.learn], terminal: true),
        ])
        var h = Harness(playbook)
        h.accept("Dana", startCommand(), at: t0)
        h.accept("Dana", .assign(role: "comms", person: "Mo"), at: t0)
        let page = Notification(id: "n1", channel: "pager", message: "Confirm the building is empty", trigger: "timer:page-facilities",
                                person: "Mo", role: "comms", ack: "page-facilities")
        let request = RollCallRequest(rollCall: "staff-safety", groups: ["site-hq"], people: ["Mo"])
        let events = h.advance(to: at(5))
        #expect(events == [
            ev(at(5), system, nil, .timerFired(key: key("page-facilities"), due: at(5), lateBy: .zero)),
            ev(at(5), system, nil, .notificationQueued(page)),
            ev(at(5), system, nil, .acknowledgementRequested(AckRequested(
                ack: "page-facilities", notification: "n1", channel: "pager", role: "comms", person: "Mo", within: .minutes(5),
                escalate: [], message: "Confirm the building is empty"))),
            ev(at(5), system, nil, .timerArmed(key: key("ack:page-facilities"), due: at(10), repeatEvery: nil)),
            ev(at(5), system, nil, .rollCallRequested(request)),
        ])
        #expect(Run.effects(of: events).last == .resolveRollCall(request))
        // Nobody to escalate to: the first step is the last.
        #expect(h.advance(to: at(10)).map(\.body) == [
            .timerFired(key: key("ack:page-facilities"), due: at(10), lateBy: .zero),
            .escalationExhausted(ack: "page-facilities", steps: 0),
        ])
        h.accept("Mo", .acknowledge("page-facilities"), at: at(12))
        #expect(h.run.currentState == "b")
    }

    @Test("only the people directory or the incident commander names deputies; naming the same deputy twice is refused")
    func deputies() {
        var h = paged(deputy: nil)
        #expect(h.reject("Lee", .nameDeputy(person: "Lee", deputy: "Kim"), at: at(1)).contains("only the incident commander"))
        h.accept("Dana", .nameDeputy(person: "Lee", deputy: "Kim"), at: at(1))
        #expect(h.run.deputies == ["Lee": "Kim"])
        #expect(h.reject(system, .nameDeputy(person: "Lee", deputy: "Kim"), at: at(2)) == "Kim is already Lee's deputy")
        #expect(h.reject(system, .nameDeputy(person: "Lee", deputy: "Lee"), at: at(2)) == "Lee cannot be their own deputy")
        h.accept(system, .nameDeputy(person: "Lee", deputy: nil), at: at(3))
        #expect(h.run.deputies.isEmpty)
    }
}

@Suite("Run engine: roll calls")
struct RunRollCallTests {
    func started(_ people: [String] = HB.five) -> Harness {
        var h = Harness(HB.evacuation)
        h.accept("Dana", startCommand(), at: t0)
        h.accept(system, .startRollCall("staff-safety", people: people), at: at(1))
        return h
    }

    @Test("entering the state asks the shell to resolve the roll call's groups; role holders are named directly")
    func requested() {
        var h = Harness(HB.evacuation)
        let (events, effects) = h.accept("Dana", startCommand(), at: t0)
        let request = RollCallRequest(rollCall: "staff-safety", groups: ["site-hq"], people: [])
        #expect(events.last == ev(t0, "Dana", nil, .rollCallRequested(request)))
        #expect(effects == [.resolveRollCall(request)])
        #expect(h.reject("Ana", .answer(rollCall: "staff-safety", person: "Ana", option: "safe", channel: "sms"), at: at(1))
            == "roll call 'staff-safety' has not started in run R1")
        #expect(h.reject(system, .startRollCall("staff-safty", people: []), at: at(1)).contains("did you mean 'staff-safety'?"))
        #expect(h.reject("Ana", .startRollCall("staff-safety", people: HB.five), at: at(1)).contains("only the incident commander"))
    }

    @Test("each person's messages go to the channels the directory can reach them on, in via's order: first message on the first, each resend on the next")
    func routes() {
        var h = Harness(HB.evacuation)
        h.accept("Dana", startCommand(), at: t0)
        // Ana: no phone (email, then slack); Ben: slack only; Cleo: nothing reachable; Dev: all three (a list equal to
        // via says nothing); Zed is not asked. Eli is absent: reachable everywhere.
        let given = ["Ana": ["email", "slack"], "Ben": ["slack"], "Cleo": [], "Dev": ["sms", "email", "slack"], "Zed": ["email"]]
        let start = h.accept(system, .startRollCall("staff-safety", people: HB.five, routes: given), at: at(1))
        let kept = ["Ana": ["email", "slack"], "Ben": ["slack"], "Cleo": []]
        #expect(start.events.first == ev(at(1), system, nil, .rollCallStarted(rollCall: "staff-safety", people: HB.five, routes: kept)))
        #expect(h.run.rollCalls["staff-safety"]?.routes == kept)
        let first = start.events.compactMap { if case .notificationQueued(let n) = $0.body { "\(n.person ?? "")@\(n.channel)" } else { nil } }
        #expect(first == ["Ana@email", "Ben@slack", "Cleo@sms", "Dev@sms", "Eli@sms"])
        let resend = h.advance(to: at(16)).compactMap { if case .notificationQueued(let n) = $0.body { "\(n.person ?? "")@\(n.channel)" } else { nil } }
        #expect(resend == ["Ana@slack", "Ben@slack", "Cleo@email", "Dev@email", "Eli@email"])
        let second = h.advance(to: at(31)).compactMap { if case .notificationQueued(let n) = $0.body { "\(n.person ?? "")@\(n.channel)" } else { nil } }
        #expect(second == ["Ana@slack", "Ben@slack", "Cleo@slack", "Dev@slack", "Eli@slack"])
    }

    @Test("a roll call whose people are all reachable everywhere records no routes, as before routes existed")
    func noRoutes() {
        var h = Harness(HB.evacuation)
        h.accept("Dana", startCommand(), at: t0)
        let start = h.accept(system, .startRollCall("staff-safety", people: HB.five, routes: ["Ana": ["sms", "email", "slack"]]), at: at(1))
        #expect(start.events.first == ev(at(1), system, nil, .rollCallStarted(rollCall: "staff-safety", people: HB.five)))
    }

    @Test("a roll call of five: a message each, answers (the last counts), resends only to those not accounted for, then overdue")
    func fivePeople() {
        var h = Harness(HB.evacuation)
        h.accept("Dana", startCommand(), at: t0)
        let start = h.accept(system, .startRollCall("staff-safety", people: HB.five + ["Ana", ""]), at: at(1))
        #expect(start.events == [ev(at(1), system, nil, .rollCallStarted(rollCall: "staff-safety", people: HB.five))]
            + HB.five.enumerated().map { ev(at(1), system, nil, .notificationQueued(HB.rollNote("n\($0.offset + 1)", "sms", $0.element))) }
            + [ev(at(1), system, nil, .timerArmed(key: key("rollcall:staff-safety:resend"), due: at(16), repeatEvery: nil)),
               ev(at(1), system, nil, .timerArmed(key: key("rollcall:staff-safety:within"), due: at(61), repeatEvery: nil))])
        #expect(h.reject(system, .startRollCall("staff-safety", people: HB.five), at: at(2)).contains("already started"))

        h.accept("Ana", .answer(rollCall: "staff-safety", person: "Ana", option: "safe", channel: "sms"), at: at(3))
        let first = h.accept("Ben", .answer(rollCall: "staff-safety", person: "Ben", option: "away", channel: "email"), at: at(5))
        #expect(first.events == [ev(at(5), "Ben", nil, .answerReceived(rollCall: "staff-safety", person: "Ben", option: "away", channel: "email", latency: .minutes(4)))])
        h.accept("Ben", .answer(rollCall: "staff-safety", person: "Ben", option: "safe", channel: "link"), at: at(6))
        #expect(h.reject("Zed", .answer(rollCall: "staff-safety", person: "Zed", option: "safe", channel: "sms"), at: at(6))
            == "roll call 'staff-safety' does not ask Zed")
        #expect(h.reject("Ana", .answer(rollCall: "staff-safety", person: "Ana", option: "saf", channel: "sms"), at: at(6))
            .hasPrefix("'saf' is not an option of roll call 'staff-safety' (did you mean 'safe'?)"))
        #expect(h.run.rollCalls["staff-safety"]?.answers["Ben"]?.count == 2)
        #expect(h.run.evaluate(.rollCallMeasure(l("staff-safety"), .count(option: l("safe")), .equal, l(.people(2)))))
        #expect(h.run.evaluate(.rollCallMeasure(l("staff-safety"), .count(option: l("away")), .equal, l(.people(0)))))

        let reminder1 = "Reminder 1 of 3: \(HB.ask)"
        #expect(h.advance(to: at(16)) == [
            ev(at(16), system, nil, .timerFired(key: key("rollcall:staff-safety:resend"), due: at(16), lateBy: .zero)),
            ev(at(16), system, nil, .rollCallProgress(HB.tally(2, safe: 2))),
            ev(at(16), system, nil, .notificationQueued(HB.rollNote("n6", "email", "Cleo", reminder1))),
            ev(at(16), system, nil, .notificationQueued(HB.rollNote("n7", "email", "Dev", reminder1))),
            ev(at(16), system, nil, .notificationQueued(HB.rollNote("n8", "email", "Eli", reminder1))),
            ev(at(16), system, nil, .timerArmed(key: key("rollcall:staff-safety:resend", 2), due: at(31), repeatEvery: nil)),
        ])

        #expect(h.reject("Zed", .markAccounted(rollCall: "staff-safety", person: "Cleo", why: "seen"), at: at(20)).contains("holds no role"))
        let marked = h.accept("Dana", .markAccounted(rollCall: "staff-safety", person: "Cleo", why: "seen at the assembly point"), at: at(20))
        #expect(marked.events == [ev(at(20), "Dana", ic, .personAccounted(rollCall: "staff-safety", person: "Cleo", why: "seen at the assembly point"))])
        #expect(h.run.evaluate(.rollCallMeasure(l("staff-safety"), .accounted, .atLeast, l(.percent(60)))))
        #expect(!h.run.evaluate(.rollCallMeasure(l("staff-safety"), .accounted, .greater, l(.percent(60)))))
        #expect(h.run.currentState == "evacuate")

        let reminder2 = "Reminder 2 of 3: \(HB.ask)", reminder3 = "Reminder 3 of 3: \(HB.ask)"
        #expect(h.advance(to: at(46)) == [
            ev(at(31), system, nil, .timerFired(key: key("rollcall:staff-safety:resend", 2), due: at(31), lateBy: .zero)),
            ev(at(31), system, nil, .rollCallProgress(HB.tally(3, safe: 2, marked: 1))),
            ev(at(31), system, nil, .notificationQueued(HB.rollNote("n9", "slack", "Dev", reminder2))),
            ev(at(31), system, nil, .notificationQueued(HB.rollNote("n10", "slack", "Eli", reminder2))),
            ev(at(31), system, nil, .timerArmed(key: key("rollcall:staff-safety:resend", 3), due: at(46), repeatEvery: nil)),
            ev(at(46), system, nil, .timerFired(key: key("rollcall:staff-safety:resend", 3), due: at(46), lateBy: .zero)),
            ev(at(46), system, nil, .rollCallProgress(HB.tally(3, safe: 2, marked: 1))),
            ev(at(46), system, nil, .notificationQueued(HB.rollNote("n11", "slack", "Dev", reminder3))),
            ev(at(46), system, nil, .notificationQueued(HB.rollNote("n12", "slack", "Eli", reminder3))),
        ])
        #expect(!h.run.evaluate(.rollCallOverdue(l("staff-safety"))))
        #expect(h.advance(to: at(61)) == [
            ev(at(61), system, nil, .timerFired(key: key("rollcall:staff-safety:within"), due: at(61), lateBy: .zero)),
            ev(at(61), system, nil, .rollCallOverdue(HB.tally(3, safe: 2, marked: 1))),
        ])
        #expect(h.run.evaluate(.rollCallOverdue(l("staff-safety"))))
        #expect(h.run.armedTimers.isEmpty)

        // 4 of 5 is 80%: the guard `accounted >= 80%` holds and moves the run.
        let fourth = h.accept("Dev", .answer(rollCall: "staff-safety", person: "Dev", option: "safe", channel: "sms"), at: at(62))
        #expect(fourth.events.last == ev(at(62), "Dev", nil, .stateEntered(state: "recover", from: "evacuate", cause: .guardHeld)))
    }

    @Test("an answer asking for help moves the run through the count(help) guard")
    func helpMovesTheRun() {
        var h = started()
        let events = h.accept("Eli", .answer(rollCall: "staff-safety", person: "Eli", option: "help", channel: "sms"), at: at(2)).events
        #expect(events.last == ev(at(2), "Eli", nil, .stateEntered(state: "rescue", from: "evacuate", cause: .guardHeld)))
        // The roll call goes on after the state that asked it.
        #expect(h.run.armedTimer(key("rollcall:staff-safety:resend")) != nil)
    }

    @Test("the last person accounted for records the tally and stops the resends and the deadline")
    func complete() {
        var h = started(["Ana", "Ben"])
        h.accept("Ana", .answer(rollCall: "staff-safety", person: "Ana", option: "away", channel: "sms"), at: at(2))
        let last = h.accept("Dana", .markAccounted(rollCall: "staff-safety", person: "Ben", why: "on the phone with me"), at: at(3))
        #expect(last.events == [
            ev(at(3), "Dana", ic, .personAccounted(rollCall: "staff-safety", person: "Ben", why: "on the phone with me")),
            ev(at(3), "Dana", ic, .rollCallProgress(HB.tally(2, of: 2, away: 1, marked: 1))),
            ev(at(3), "Dana", ic, .timerCancelled(key: key("rollcall:staff-safety:resend"))),
            ev(at(3), "Dana", ic, .timerCancelled(key: key("rollcall:staff-safety:within"))),
            ev(at(3), "Dana", ic, .stateEntered(state: "recover", from: "evacuate", cause: .guardHeld)),
        ])
        #expect(h.reject("Dana", .markAccounted(rollCall: "staff-safety", person: "Ben", why: "again"), at: at(4))
            == "Ben was already marked accounted for by Dana")
    }

    @Test("a roll call nobody is asked is complete at once: 0 of 0 is 100%")
    func empty() {
        var h = Harness(HB.evacuation)
        h.accept("Dana", startCommand(), at: t0)
        let events = h.accept(system, .startRollCall("staff-safety", people: []), at: at(1)).events
        #expect(events == [
            ev(at(1), system, nil, .rollCallStarted(rollCall: "staff-safety", people: [])),
            ev(at(1), system, nil, .rollCallProgress(HB.tally(0, of: 0))),
            ev(at(1), system, nil, .stateEntered(state: "recover", from: "evacuate", cause: .guardHeld)),
        ])
    }

    @Test("a roll call in a terminal state messages everyone once, with no resends and no deadline")
    func inTerminalState() {
        let playbook = PB.playbook("after", start: "a", channels: ["sms", "email", "slack"], states: [
            PB.state("a", owner: ic, transitions: [PB.on("stand-down", to: "done")]),
            PB.state("done", [.learn], onEnter: [.rollCall(HB.safety)], terminal: true),
        ])
        var h = Harness(playbook)
        h.accept("Dana", startCommand(), at: t0)
        h.accept("Dana", .raise("stand-down"), at: at(1))
        let events = h.accept(system, .startRollCall("staff-safety", people: ["Ana"]), at: at(2)).events
        #expect(events.map(\.body) == [
            .rollCallStarted(rollCall: "staff-safety", people: ["Ana"]),
            .notificationQueued(HB.rollNote("n1", "sms", "Ana")),
        ])
        #expect(h.run.armedTimers.isEmpty)
    }

    @Test("replaying the journal of a roll call rebuilds its tally and its timers")
    func replay() {
        var h = started()
        h.accept("Ana", .answer(rollCall: "staff-safety", person: "Ana", option: "safe", channel: "sms"), at: at(2))
        _ = h.advance(to: at(20))
        var fresh = Run(playbook: HB.evacuation)
        for event in h.journal { fresh.apply(event) }
        #expect(fresh == h.run)
        #expect(fresh.rollCalls["staff-safety"]?.tally(options: ["safe", "help", "away"]) == HB.tally(1, safe: 1))
        #expect(fresh.rollCalls["staff-safety"]?.resends == 1)
        #expect(fresh.nextDue == at(31))
    }
}

@Suite("Timeline words for acknowledgements and roll calls")
struct HearingBackTextTests {
    @Test("each event reads as one line, with names and counts only", arguments: [
        (RunEvent.Body.acknowledged(ack: "page-it", person: "Lee", latency: .minutes(3)), "page-it by Lee after 3m"),
        (.escalated(ack: "page-it", step: 1, to: "deputy", person: "Kim", notification: "n2"), "page-it: step 1 to Kim (deputy) paged by n2"),
        (.escalated(ack: "page-it", step: 1, to: "deputy", person: nil, notification: nil), "page-it: step 1 (deputy) passed over: no deputy known"),
        (.escalationExhausted(ack: "page-it", steps: 2), "page-it: nobody acknowledged after 2 escalation steps"),
        (.rollCallStarted(rollCall: "staff-safety", people: HB.five), "staff-safety with 5 people"),
        (.answerReceived(rollCall: "staff-safety", person: "Ana", option: "safe", channel: "sms", latency: .minutes(2)),
         "staff-safety: Ana answered safe by sms after 2m"),
        (.personAccounted(rollCall: "staff-safety", person: "Cleo", why: "seen at the assembly point"),
         "staff-safety: Cleo accounted for: \"seen at the assembly point\""),
        (.rollCallOverdue(HB.tally(3, safe: 2, marked: 1)), "staff-safety: 3 of 5 accounted for (safe 2, help 0, away 0, marked 1), 2 not"),
    ])
    func words(body: RunEvent.Body, text: String) {
        #expect(TimelineText.hearingBack(body) == text)
    }
}
