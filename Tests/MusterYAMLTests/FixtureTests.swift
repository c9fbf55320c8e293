import Testing
import MusterCore
import MusterYAML

@Suite("The issue's example playbook")
struct FixtureTests {
    let loaded = PlaybookLoader.load(file: fixturePath("ransomware.yaml"))

    @Test("decodes with no errors; the validator warns about the three states the example leaves without an owner")
    func clean() {
        #expect(!loaded.diagnostics.hasErrors)
        #expect(loaded.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.code)" } == [
            "43:3: no-owner", "52:3: no-owner", "60:3: no-owner",
        ])
        #expect(loaded.playbook != nil)
    }

    @Test("has the header, services, roles and channels as written")
    func header() throws {
        let p = try #require(loaded.playbook)
        #expect(p.formatVersion == 1)
        #expect(p.id.value == "ransomware-file-servers")
        #expect(p.id.location.line == 2 && p.id.location.column == 5)
        #expect(p.version == 3)
        #expect(p.title == "Ransomware on file servers")
        #expect(p.summary == "Encryption on shared drives; contain, then restore from immutable backups.")
        #expect(p.severity == .p1)
        #expect(p.reviewEvery == nil)
        #expect(p.start.value == "triage")

        #expect(p.services.map(\.id.value) == ["file-shares"])
        let service = p.services[0]
        #expect(service.rto?.value == .hours(4))
        #expect(service.rpo?.value == .hours(1))
        #expect(service.mtpd?.value == .hours(24))
        #expect(service.minimumCapacity == "Read access to finance and HR shares")
        #expect(service.dependsOn == [
            .technology: ["nas-cluster-1", "backup-vault"], .people: ["it-operations"], .suppliers: ["backup-vendor"],
        ])

        #expect(p.roles.map(\.id.value) == ["incident_commander", "it_ops", "comms"])
        #expect(p.roles.map(\.title) == ["Incident Commander", "IT Operations lead", "Communications lead"])
        #expect(p.roles.map(\.required) == [true, true, false])

        #expect(p.channels.map(\.id.value) == ["bridge", "execs"])
        #expect(p.channels[0].type.value == .slack)
        #expect(p.channels[0].settings["url"]?.value == .text("${MUSTER_SLACK_URL}"))
        #expect(p.channels[1].type.value == .email)
        #expect(p.channels[1].settings["to"]?.value == .list(["crisis-team@example.com"]))
    }

    @Test("has the run-wide timer anchored to the RTO")
    func runWideTimer() throws {
        let p = try #require(loaded.playbook)
        #expect(p.timers.count == 1)
        let timer = p.timers[0]
        #expect(timer.id.value == "rto-warning")
        guard case .at(let at) = timer.anchor, case .objective(let service, let objective) = at.value.base else {
            Issue.record("expected an objective anchor, found \(timer.anchor)")
            return
        }
        #expect(service.value == "file-shares")
        #expect(objective == .rto)
        #expect(at.value.offset == .hours(-1))
        #expect(timer.notify?.value == "execs")
        #expect(timer.message?.value.parts == [.text("One hour left before the RTO of file shares")])
    }

    @Test("has the five states with phases, marks, tasks, timers, transitions and the decision")
    func states() throws {
        let p = try #require(loaded.playbook)
        #expect(p.states.map(\.id.value) == ["triage", "declare", "contain", "restore", "closed"])
        #expect(p.states.map(\.phases) == [[.detect, .assess], [.assess], [.respond], [.recover], [.learn]])
        #expect(p.states.map(\.marks) == [[.detected], [], [.declared], [.contained], [.recovered, .closed]])
        #expect(p.states.map(\.terminal) == [false, false, false, false, true])
        #expect(p.allTasks.map(\.task.id.value) == ["confirm", "scope", "isolate", "notify-staff", "restore-backup"])
        #expect(p.allTasks.map(\.task.role.value) == ["it_ops", "it_ops", "it_ops", "comms", "it_ops"])

        let triage = p.states[0]
        #expect(triage.owner?.value == "incident_commander")
        guard case .notify(let action) = try #require(triage.onEnter.first) else {
            Issue.record("expected a notify action")
            return
        }
        #expect(action.channel.value == "bridge")
        // message: "Ransomware playbook started: {{run.title}} (IC: {{roles.incident_commander}})" on line 34
        #expect(action.message.value.variables.map(\.value) == ["run.title", "roles.incident_commander"])
        #expect(action.message.value.variables.map(\.location.line) == [34, 34])
        #expect(action.message.value.variables.map(\.location.column) == [50, 69])

        let timer = try #require(triage.timers.first)
        #expect(timer.id.value == "triage-overdue")
        #expect(timer.anchor == .after(Located(.minutes(30), at: timer.anchor.location)))
        #expect(timer.repeatEvery?.value == .minutes(30))
        #expect(timer.message?.value.variables.map(\.value) == ["timer.elapsed"])

        #expect(triage.transitions.map { $0.on?.value } == ["confirmed", "false_alarm"])
        #expect(triage.transitions.map(\.to.value) == ["declare", "closed"])
        #expect(triage.transitions[0].when?.value == .taskDone(triage.transitions[0].when!.value.firstName!))
        #expect(triage.transitions[0].when?.value.firstName?.value == "confirm")
        // `- { on: confirmed, when: tasks.confirm.done, to: declare }` on line 41: the guard at column 32.
        #expect(triage.transitions[0].when?.location == MusterCore.SourceLocation(file: loaded.path, line: 41, column: 32))
        #expect(triage.transitions[0].when?.value.firstName?.location.column == 38)
        #expect(triage.transitions[1].when == nil)

        let decision = try #require(p.states[1].decision)
        #expect(decision.id.value == "declare-major")
        #expect(decision.question == "Declare a major incident?")
        #expect(decision.by.value == "incident_commander")
        #expect(decision.options.map(\.name.value) == ["declare", "keep-watching"])
        #expect(decision.options.map(\.target.value) == ["contain", "triage"])
        #expect(decision.deadline?.value == .minutes(15))
        #expect(decision.defaultOption?.value == "declare")

        let contain = p.states[2]
        #expect(contain.transitions.count == 1)
        #expect(contain.transitions[0].on == nil)
        #expect(contain.transitions[0].when?.value == .allTasksDone)
        #expect(p.states[3].transitions[0].when?.value.firstName?.value == "restore-backup")
    }
}

extension TimerAnchor {
    var location: MusterCore.SourceLocation {
        switch self {
        case .after(let span): span.location
        case .at(let expression): expression.location
        }
    }
}

extension GuardExpression {
    /// The first id named in the guard, for checks on where it was read.
    var firstName: Located<String>? {
        switch self {
        case .taskDone(let id), .taskSkipped(let id), .roleAssigned(let id), .decisionMade(let id): id
        case .comparison(.decision(let id), _, _): id
        case .rollCallMeasure(let id, _, _, _), .rollCallOverdue(let id), .ack(let id, _): id
        case .comparison, .literal, .allTasksDone: nil
        case .not(let inner): inner.firstName
        case .and(let a, let b), .or(let a, let b): a.firstName ?? b.firstName
        }
    }
}
