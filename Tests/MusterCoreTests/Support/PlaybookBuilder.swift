import MusterCore

/// Builds playbooks in code with explicit, readable source locations, for validator tests.
/// Every location is in `test.yaml`; lines and columns are chosen as if the playbook had been written out.
enum B {
    static let file = "test.yaml"

    static func at(_ line: Int, _ column: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column)
    }

    static func name(_ value: String, _ line: Int, _ column: Int) -> Located<String> {
        Located(value, at: at(line, column))
    }

    static func span(_ text: String, _ line: Int, _ column: Int) -> Located<TimeSpan> {
        let value = text.hasPrefix("-") ? -TimeSpan(parsing: String(text.dropFirst()))! : TimeSpan(parsing: text)!
        return Located(value, at: at(line, column))
    }

    /// A template written as a plain scalar starting at `line:column`; each `{{path}}` is located at the
    /// first character of its path.
    static func template(_ text: String, _ line: Int, _ column: Int) -> Located<Template> {
        var parts: [Template.Part] = []
        var literal = ""
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            if i + 1 < chars.count, chars[i] == "{", chars[i + 1] == "{",
               let close = (i + 2..<chars.count).first(where: { $0 + 1 < chars.count && chars[$0] == "}" && chars[$0 + 1] == "}" }) {
                if !literal.isEmpty { parts.append(.text(literal)); literal = "" }
                parts.append(.variable(name(String(chars[(i + 2)..<close]), line, column + i + 2)))
                i = close + 2
            } else {
                literal.append(chars[i])
                i += 1
            }
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        return Located(Template(source: text, parts: parts), at: at(line, column))
    }

    static func role(_ id: String, _ line: Int, required: Bool = false) -> Role {
        Role(id: name(id, line, 3), title: id, required: required)
    }

    static let commander = role("incident_commander", 14, required: true)

    /// A transition written on one line as `- { on: E, when: G, to: T }`, the parts at fixed columns.
    static func transition(_ line: Int, on event: String? = nil, when guardExpression: GuardExpression? = nil, to target: String) -> Transition {
        Transition(
            on: event.map { name($0, line, 15) },
            when: guardExpression.map { Located($0, at: at(line, 30)) },
            to: name(target, line, 60),
            location: at(line, 9))
    }

    static func task(_ id: String, _ line: Int, role: String) -> Task {
        Task(id: name(id, line, 16), title: id, role: name(role, line, 50), location: at(line, 9))
    }

    /// A state at `line` (its key at column 3); owned by the incident commander unless said otherwise.
    static func state(
        _ id: String, _ line: Int, phases: [Phase] = [.respond], owner: String? = "incident_commander",
        onEnter: [EntryAction] = [], tasks: [Task] = [], timers: [TimerSpec] = [], transitions: [Transition] = [],
        decision: Decision? = nil, terminal: Bool = false
    ) -> State {
        State(
            id: name(id, line, 3), phases: phases, owner: owner.map { name($0, line + 1, 12) }, onEnter: onEnter,
            tasks: tasks, timers: timers, transitions: transitions, decision: decision, terminal: terminal,
            location: at(line + 1, 5))
    }

    static func playbook(
        services: [Service] = [], roles: [Role] = [commander], channels: [Channel] = [], start: String = "open",
        timers: [TimerSpec] = [], states: [State]
    ) -> Playbook {
        Playbook(
            id: name("test", 2, 5), version: 1, title: "Test", severity: .p3, services: services, roles: roles,
            channels: channels, start: name(start, 20, 8), timers: timers, states: states, location: at(1, 1))
    }

    /// The smallest valid playbook: `open` moves to the terminal `closed` on `resolved`.
    static func minimal(
        services: [Service] = [], roles: [Role] = [commander], channels: [Channel] = [], timers: [TimerSpec] = []
    ) -> Playbook {
        playbook(
            services: services, roles: roles, channels: channels, timers: timers,
            states: [
                state("open", 30, transitions: [transition(33, on: "resolved", to: "closed")]),
                state("closed", 90, phases: [.learn], owner: nil, terminal: true),
            ])
    }

    /// The example from issue 2 (ransomware on file servers), laid out line by line as in the issue.
    static func ransomware() -> Playbook {
        let services = [
            Service(id: name("file-shares", 8, 3), rto: span("4h", 9, 10), rpo: span("1h", 10, 10), mtpd: span("24h", 11, 11)),
        ]
        let roles = [
            commander,
            role("it_ops", 15, required: true),
            role("comms", 16),
        ]
        let channels = [
            Channel(id: name("bridge", 18, 3), type: Located(.slack, at: at(18, 19)), liveOnly: true),
            Channel(id: name("execs", 19, 3), type: Located(.email, at: at(19, 18)), liveOnly: true),
        ]
        let timers = [
            TimerSpec(
                id: name("rto-warning", 22, 11),
                anchor: .at(Located(TimeExpression(base: .objective(service: name("file-shares", 23, 18), .rto), offset: -.hours(1)), at: at(23, 9))),
                notify: name("execs", 24, 13),
                message: template("One hour left before the RTO of {{services.file-shares.title}}", 25, 14),
                location: at(22, 5)),
        ]
        let triage = state(
            "triage", 27, phases: [.detect, .assess],
            onEnter: [.notify(NotifyAction(
                channel: name("bridge", 31, 17),
                message: template("Ransomware playbook started: {{run.title}} (IC: {{roles.incident_commander}})", 32, 18),
                location: at(31, 9)))],
            tasks: [task("confirm", 34, role: "it_ops"), task("scope", 35, role: "it_ops")],
            timers: [TimerSpec(
                id: name("triage-overdue", 37, 15), anchor: .after(span("30m", 37, 38)), repeatEvery: span("30m", 37, 51),
                notify: name("execs", 37, 63), message: template("Triage still open after {{timer.elapsed}}", 37, 80),
                location: at(37, 9))],
            transitions: [
                transition(39, on: "confirmed", when: .taskDone(name("confirm", 39, 36)), to: "declare"),
                transition(40, on: "false_alarm", to: "closed"),
            ])
        let declare = state(
            "declare", 41, phases: [.assess],
            decision: Decision(
                id: name("declare-major", 44, 11), question: "Declare a major incident?", by: name("incident_commander", 46, 11),
                options: [
                    .init(name: name("declare", 47, 20), target: name("contain", 47, 29)),
                    .init(name: name("keep-watching", 47, 38), target: name("triage", 47, 53)),
                ],
                deadline: span("15m", 48, 17), defaultOption: name("declare", 49, 16), location: at(44, 7)))
        let contain = state(
            "contain", 50, phases: [.respond],
            tasks: [task("isolate", 54, role: "it_ops"), task("notify-staff", 55, role: "comms")],
            transitions: [transition(57, when: .allTasksDone, to: "restore")])
        let restore = state(
            "restore", 58, phases: [.recover], owner: "it_ops",
            tasks: [task("restore-backup", 62, role: "it_ops")],
            transitions: [transition(63, on: "restored", when: .taskDone(name("restore-backup", 63, 36)), to: "closed")])
        let closed = state("closed", 64, phases: [.learn], owner: nil, terminal: true)
        return Playbook(
            id: name("ransomware-file-servers", 2, 5), version: 3, title: "Ransomware on file servers", severity: .p1,
            services: services, roles: roles, channels: channels, start: name("triage", 20, 8), timers: timers,
            states: [triage, declare, contain, restore, closed], location: at(1, 1))
    }
}
