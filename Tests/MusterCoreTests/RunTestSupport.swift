import Testing
@testable import MusterCore

// A compact way to write playbooks in code (the engine tests do not depend on the YAML loader).

let here = MusterCore.SourceLocation(file: "test.yaml", line: 1, column: 1)

func l<T>(_ value: T) -> Located<T> { Located(value, at: here) }

/// `Hello {{run.title}}` as a template, without the template parser.
func template(_ text: String) -> Template {
    var parts: [Template.Part] = []
    var rest = Substring(text)
    while let open = rest.range(of: "{{") {
        if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
        let afterOpen = rest[open.upperBound...]
        guard let close = afterOpen.range(of: "}}") else { break }
        parts.append(.variable(l(String(afterOpen[..<close.lowerBound]))))
        rest = afterOpen[close.upperBound...]
    }
    if !rest.isEmpty { parts.append(.text(String(rest))) }
    return Template(source: text, parts: parts)
}

extension Substring {
    func range(of needle: String) -> Range<Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}

enum PB {
    static func playbook(
        _ id: String, version: Int = 3, title: String = "Test playbook", severity: Severity = .p1, start: String,
        services: [Service] = [], roles: [String] = [Playbook.incidentCommander, "it_ops", "comms"],
        channels: [String] = ["bridge", "execs"], timers: [TimerSpec] = [], states: [State]
    ) -> Playbook {
        Playbook(
            id: l(id), version: version, title: title, severity: severity, services: services,
            roles: roles.map { Role(id: l($0), title: $0) },
            channels: channels.map { Channel(id: l($0), type: l(.webhook), settings: ["url": l(.text("http://127.0.0.1/"))]) },
            start: l(start), timers: timers, states: states, location: here
        )
    }

    static func state(
        _ id: String, _ phases: [Phase] = [.respond], title: String? = nil, owner: String? = nil, marks: [Mark] = [],
        onEnter: [EntryAction] = [], tasks: [MusterCore.Task] = [], timers: [TimerSpec] = [], transitions: [Transition] = [],
        decision: Decision? = nil, terminal: Bool = false
    ) -> State {
        State(id: l(id), title: title, phases: phases, owner: owner.map { l($0) }, marks: marks, onEnter: onEnter, tasks: tasks,
              timers: timers, transitions: transitions, decision: decision, terminal: terminal, location: here)
    }

    static func task(_ id: String, _ role: String, evidence: Bool = false) -> MusterCore.Task {
        MusterCore.Task(id: l(id), title: "Task \(id)", role: l(role), evidenceRequired: evidence, location: here)
    }

    static func on(_ event: String, when guardExpression: GuardExpression? = nil, to target: String) -> Transition {
        Transition(on: l(event), when: guardExpression.map { l($0) }, to: l(target), location: here)
    }

    static func when(_ guardExpression: GuardExpression?, to target: String) -> Transition {
        Transition(on: nil, when: guardExpression.map { l($0) }, to: l(target), location: here)
    }

    static func timer(
        _ id: String, after: TimeSpan? = nil, at: TimeExpression? = nil, repeat interval: TimeSpan? = nil,
        notify: String? = nil, message: String? = nil, raise: String? = nil
    ) -> TimerSpec {
        let anchor: TimerAnchor = if let after { .after(l(after)) } else { .at(l(at!)) }
        return TimerSpec(id: l(id), anchor: anchor, repeatEvery: interval.map { l($0) }, notify: notify.map { l($0) },
                         message: message.map { l(template($0)) }, raise: raise.map { l($0) }, location: here)
    }

    static func notify(_ channel: String, _ message: String) -> EntryAction {
        .notify(NotifyAction(channel: l(channel), message: l(template(message)), location: here))
    }

    static func decision(
        _ id: String, by: String = Playbook.incidentCommander, options: [(String, String)], deadline: TimeSpan? = nil,
        default defaultOption: String? = nil
    ) -> Decision {
        Decision(id: l(id), question: "\(id)?", by: l(by), options: options.map { .init(name: l($0.0), target: l($0.1)) },
                 deadline: deadline.map { l($0) }, defaultOption: defaultOption.map { l($0) }, location: here)
    }

    /// The ransomware example of issue 2, with evidence required on `isolate`.
    static let ransomware: Playbook = playbook(
        "ransomware-file-servers", title: "Ransomware on file servers", start: "triage",
        services: [Service(id: l("file-shares"), rto: l(.hours(4)), rpo: l(.hours(1)), mtpd: l(.hours(24)),
                           minimumCapacity: "Read access to finance and HR shares")],
        timers: [timer("rto-warning", at: TimeExpression(base: .objective(service: l("file-shares"), .rto), offset: -TimeSpan.hours(1)),
                       notify: "execs", message: "One hour left before the RTO of file shares")],
        states: [
            state("triage", [.detect, .assess], owner: Playbook.incidentCommander, marks: [.detected],
                  onEnter: [notify("bridge", "Ransomware playbook started: {{run.title}} (IC: {{roles.incident_commander}})")],
                  tasks: [task("confirm", "it_ops"), task("scope", "it_ops")],
                  timers: [timer("triage-overdue", after: .minutes(30), repeat: .minutes(30), notify: "execs",
                                 message: "Triage still open after {{timer.elapsed}}")],
                  transitions: [on("confirmed", when: .taskDone(l("confirm")), to: "declare"), on("false_alarm", to: "closed")]),
            state("declare", [.assess],
                  decision: decision("declare-major", options: [("declare", "contain"), ("keep-watching", "triage")],
                                     deadline: .minutes(15), default: "declare")),
            state("contain", [.respond], marks: [.declared],
                  tasks: [task("isolate", "it_ops", evidence: true), task("notify-staff", "comms")],
                  transitions: [when(.allTasksDone, to: "restore")]),
            state("restore", [.recover], marks: [.contained], tasks: [task("restore-backup", "it_ops")],
                  transitions: [on("restored", when: .taskDone(l("restore-backup")), to: "closed")]),
            state("closed", [.learn], marks: [.recovered, .closed], terminal: true),
        ]
    )
}

// Time and commands.

let t0 = Instant(iso8601: "2026-03-06T17:40:00Z")!

func at(_ minutes: Int64) -> Instant { t0 + .minutes(minutes) }

func cmd(_ actor: String, _ action: Command.Action) -> Command { Command(actor: actor, action) }

func startCommand(_ runID: String = "R1", title: String = "Finance shares encrypted", mode: RunMode = .live,
                  severity: Severity? = nil, disruptionStart: Instant? = nil, commander: String? = nil) -> Command.Action {
    .start(StartRun(runID: runID, mode: mode, title: title, severity: severity, disruptionStart: disruptionStart, commander: commander))
}

func ev(_ time: Instant, _ actor: String, _ role: String?, _ body: RunEvent.Body) -> RunEvent {
    RunEvent(at: time, actor: actor, role: role, body)
}

let ic = Playbook.incidentCommander
let system = Command.system

func key(_ id: String, _ instance: Int = 1) -> TimerKey { TimerKey(id: id, instance: instance) }

/// Drives a run step by step, keeps its journal, and checks after every step that replaying the journal on a
/// fresh run gives the same state.
struct Harness {
    var run: Run
    var journal: [RunEvent] = []

    init(_ playbook: Playbook = PB.ransomware) { run = Run(playbook: playbook) }

    /// Expects the command to be accepted and returns its events and effects.
    @discardableResult
    mutating func accept(_ actor: String, _ action: Command.Action, at time: Instant,
                         sourceLocation: SourceLocation_ = #_sourceLocation) -> (events: [RunEvent], effects: [Effect]) {
        let before = run
        let decided = run.decide(cmd(actor, action), at: time)
        #expect(run == before, "decide must not change the run", sourceLocation: sourceLocation)
        guard case .accepted(let events, let effects) = decided else {
            Issue.record("expected acceptance, got \(decided)", sourceLocation: sourceLocation)
            return ([], [])
        }
        for event in events { run.apply(event) }
        journal += events
        #expect(replayed() == run, "replay must rebuild the live state", sourceLocation: sourceLocation)
        return (events, effects)
    }

    /// Expects the command to be rejected; returns the reason and checks that nothing changed.
    @discardableResult
    mutating func reject(_ actor: String, _ action: Command.Action, at time: Instant,
                         sourceLocation: SourceLocation_ = #_sourceLocation) -> String {
        let before = run
        let decided = run.decide(cmd(actor, action), at: time)
        guard case .rejected(let rejection) = decided else {
            Issue.record("expected a rejection, got \(decided)", sourceLocation: sourceLocation)
            return ""
        }
        #expect(run == before, sourceLocation: sourceLocation)
        return rejection.reason
    }

    func replayed() -> Run {
        var fresh = Run(playbook: run.playbook)
        for event in journal { fresh.apply(event) }
        return fresh
    }

    /// Fires due timers like `TimedRun.advance` and journals what they did.
    mutating func advance(to time: Instant, fireAtDueTimes: Bool = true) -> [RunEvent] {
        var timed = TimedRun(run: run)
        let events = timed.advance(to: time, fireAtDueTimes: fireAtDueTimes)
        run = timed.run
        journal += events
        #expect(replayed() == run)
        return events
    }
}

typealias SourceLocation_ = Testing.SourceLocation
