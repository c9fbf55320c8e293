import Foundation
import MusterCore
import MusterYAML
import Testing

/// The semantic checks seen as people see them: a playbook file on disk, loaded with `PlaybookLoader`,
/// each finding printed as `file:line:column: severity: message`.
@Suite("Validator findings in playbook files")
struct ValidatorFileTests {
    /// The example of issue 2 with an owner on every non-terminal state: clean. Each test edits numbered lines.
    static let example = """
        muster: 1
        id: ransomware-file-servers
        version: 3
        title: Ransomware on file servers
        severity: P1
        services:
          file-shares:
            rto: 4h
            rpo: 1h
            mtpd: 24h
        roles:
          incident_commander: { title: Incident Commander, required: true }
          it_ops: { title: IT Operations lead, required: true }
          comms: { title: Communications lead }
        channels:
          bridge: { type: slack, url: "${MUSTER_SLACK_URL}", live_only: true }
          execs: { type: email, to: [crisis-team@example.com], live_only: true }
        start: triage
        timers:
          - id: rto-warning
            at: services.file-shares.rto - 1h
            notify: execs
            message: "One hour left before the RTO of file shares"
        states:
          triage:
            phase: [detect, assess]
            owner: incident_commander
            marks: [detected]
            on_enter:
              - notify: bridge
                message: "Ransomware playbook started: {{run.title}} (IC: {{roles.incident_commander}})"
            tasks:
              - { id: confirm, title: Confirm encryption activity on shares, role: it_ops }
              - { id: scope, title: List affected hosts and shares, role: it_ops }
            timers:
              - { id: triage-overdue, after: 30m, repeat: 30m, notify: execs, message: "Triage still open after {{timer.elapsed}}" }
            transitions:
              - { on: confirmed, when: tasks.confirm.done, to: declare }
              - { on: false_alarm, to: closed }
          declare:
            phase: assess
            owner: incident_commander
            decision:
              id: declare-major
              question: Declare a major incident?
              by: incident_commander
              options: { declare: contain, keep-watching: triage }
              deadline: 15m
              default: declare
          contain:
            phase: respond
            owner: incident_commander
            marks: [declared]
            tasks:
              - { id: isolate, title: Isolate affected hosts from the network, role: it_ops }
              - { id: notify-staff, title: Tell staff not to open shares, role: comms }
            transitions:
              - { when: all_tasks_done, to: restore }
          restore:
            phase: recover
            owner: it_ops
            marks: [contained]
            tasks: [ { id: restore-backup, title: Restore shares from the immutable backup, role: it_ops } ]
            transitions: [ { on: restored, when: tasks.restore-backup.done, to: closed } ]
          closed:
            phase: learn
            marks: [recovered, closed]
            terminal: true

        """

    /// Replaces line `line` (1-based) of `text`, checking that it held `old`.
    static func edit(_ text: String, line: Int, _ old: String, _ new: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        precondition(lines[line - 1] == old, "line \(line) is '\(lines[line - 1])', not '\(old)'")
        lines[line - 1] = new
        return lines.joined(separator: "\n")
    }

    /// Several edits of the example, each naming a line of the original (apply bottom-up if a line is added).
    static func edits(_ changes: [(Int, String, String)]) -> String {
        changes.sorted { $0.0 > $1.0 }.reduce(example) { edit($0, line: $1.0, $1.1, $1.2) }
    }

    /// Writes the text to a fresh temporary file, loads it, and returns its findings without the file name
    /// (`12:3: error: ...`), after checking that every finding names that file.
    static func findings(_ text: String) throws -> [String] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("muster-validator-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("playbook.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let loaded = PlaybookLoader.load(file: path)
        return loaded.diagnostics.map { diagnostic in
            let line = diagnostic.description
            #expect(line.hasPrefix(path + ":"))
            return String(line.dropFirst(path.count + 1))
        }
    }

    @Test("the example playbook is clean")
    func exampleIsClean() throws {
        let found = try Self.findings(Self.example)
        #expect(found == [])
    }

    @Test("a missing incident_commander role is reported at the roles mapping")
    func missingCommander() throws {
        let text = Self.example.replacingOccurrences(of: "incident_commander", with: "lead")
        let found = try Self.findings(text)
        #expect(found == [
            "12:3: error: the 'incident_commander' role is missing (every run needs an incident commander: add it under 'roles')",
        ])
    }

    @Test("references to unknown states")
    func unknownStates() throws {
        let text = Self.edits([
            (18, "start: triage", "start: triag"),
            (39, "      - { on: false_alarm, to: closed }", "      - { on: false_alarm, to: contian }"),
            (47, "      options: { declare: contain, keep-watching: triage }", "      options: { declare: contain, keep-watching: triage, later: tirage }"),
        ])
        let found = try Self.findings(text)
        #expect(found == [
            "18:8: error: start state 'triag' is not a state (did you mean 'triage'?)",
            "39:32: error: transition target 'contian' is not a state (did you mean 'contain'?)",
            "47:66: error: decision option target 'tirage' is not a state (did you mean 'triage'?)",
        ])
    }

    @Test("references to unknown roles")
    func unknownRoles() throws {
        let text = Self.edits([
            (46, "      by: incident_commander", "      by: incident_comander"),
            (56, "      - { id: notify-staff, title: Tell staff not to open shares, role: comms }",
             "      - { id: notify-staff, title: Tell staff not to open shares, role: comm }"),
            (61, "    owner: it_ops", "    owner: it-ops"),
        ])
        let found = try Self.findings(text)
        #expect(found == [
            "46:11: error: decision role 'incident_comander' is not a role (did you mean 'incident_commander'?)",
            "56:73: error: task role 'comm' is not a role (did you mean 'comms'?)",
            "61:12: error: state owner 'it-ops' is not a role (did you mean 'it_ops'?)",
        ])
    }

    @Test("references to unknown channels")
    func unknownChannels() throws {
        let text = Self.edits([
            (16, #"  bridge: { type: slack, url: "${MUSTER_SLACK_URL}", live_only: true }"#, #"  bridge: { type: slack, url: "${MUSTER_SLACK_URL}", exercise: drill }"#),
            (22, "    notify: execs", "    notify: exec"),
            (30, "      - notify: bridge", "      - notify: brige"),
        ])
        let found = try Self.findings(text)
        #expect(found == [
            "16:64: error: exercise channel 'drill' is not a channel",
            "22:13: error: notify channel 'exec' is not a channel (did you mean 'execs'?)",
            "30:17: error: notify channel 'brige' is not a channel (did you mean 'bridge'?)",
        ])
    }

    // `severity == "P7"` and `mode == "drill"` are refused by the guard parser already (the decoder's findings).
    @Test("guards naming unknown tasks, decisions, options and roles")
    func guardNames() throws {
        let text = Self.edits([
            (38, "      - { on: confirmed, when: tasks.confirm.done, to: declare }",
             "      - { on: confirmed, when: tasks.confrim.done or decisions.declare-majr.made, to: declare }"),
            (39, "      - { on: false_alarm, to: closed }",
             "      - { on: false_alarm, when: roles.comm.assigned, to: closed }"),
            (58, "      - { when: all_tasks_done, to: restore }",
             #"      - { when: all_tasks_done and decisions.declare-major == "maybe", to: restore }"#),
        ])
        let found = try Self.findings(text)
        #expect(found == [
            "38:38: error: guard task 'confrim' is not a task (did you mean 'confirm'?)",
            "38:64: error: guard decision 'declare-majr' is not a decision (did you mean 'declare-major'?)",
            "39:40: error: guard role 'comm' is not a role (did you mean 'comms'?)",
            "58:64: error: 'maybe' is not an option of decision 'declare-major' (options: declare, keep-watching)",
        ])
    }

    @Test("a guard on another state's task is a warning")
    func foreignTask() throws {
        let text = Self.edit(Self.example, line: 38, "      - { on: confirmed, when: tasks.confirm.done, to: declare }",
                             "      - { on: confirmed, when: tasks.isolate.done, to: declare }")
        let found = try Self.findings(text)
        #expect(found == [
            "38:38: warning: guard task 'isolate' belongs to state 'contain', not to 'triage' where this transition is",
        ])
    }

    @Test("an unreachable state")
    func unreachable() throws {
        let text = Self.example + """
              orphan:
                phase: learn
                owner: incident_commander
                transitions: [ { on: done, to: closed } ]

            """
        let found = try Self.findings(text)
        #expect(found == [
            "69:3: error: state 'orphan' cannot be reached from the start state 'triage'",
        ])
    }

    @Test("a state with no way out, and a state from which no terminal state can be reached")
    func deadEnds() throws {
        let text = Self.edits([
            (39, "      - { on: false_alarm, to: closed }", "      - { on: false_alarm, to: limbo }"),
            (64, "    transitions: [ { on: restored, when: tasks.restore-backup.done, to: closed } ]",
             "    transitions: [ { on: restored, when: tasks.restore-backup.done, to: closed }, { on: wait, to: stuck } ]"),
        ]) + """
              limbo:
                phase: assess
                owner: incident_commander
                transitions: [ { on: retry, to: limbo } ]
              stuck:
                phase: respond
                owner: incident_commander

            """
        let found = try Self.findings(text)
        #expect(found == [
            "69:3: error: no terminal state can be reached from state 'limbo' (the run would never end)",
            "73:3: error: state 'stuck' is not terminal and has no way out (add a transition or a decision, or mark it terminal: true)",
        ])
    }

    @Test("a terminal state with transitions")
    func terminalWithTransitions() throws {
        let text = Self.example + """
                transitions: [ { on: reopen, to: triage } ]

            """
        let found = try Self.findings(text)
        #expect(found == [
            "69:20: error: terminal state 'closed' has transitions (a run ends here: remove them or drop 'terminal: true')",
        ])
    }

    @Test("a cycle of eventless transitions")
    func eventlessCycle() throws {
        let text = Self.edit(Self.example, line: 64,
                             "    transitions: [ { on: restored, when: tasks.restore-backup.done, to: closed } ]",
                             "    transitions: [ { on: restored, when: tasks.restore-backup.done, to: closed }, { when: not tasks.restore-backup.done, to: contain } ]")
        let found = try Self.findings(text)
        #expect(found == [
            "58:9: error: eventless transitions form a cycle contain -> restore -> contain, which could loop for ever (give one of them an 'on:' event)",
        ])
    }

    @Test("rto longer than mtpd; an rpo of zero is fine")
    func objectives() throws {
        let text = Self.edits([(8, "    rto: 4h", "    rto: 30h"), (9, "    rpo: 1h", "    rpo: 0m")])
        let found = try Self.findings(text)
        #expect(found == [
            "8:10: error: rto of service 'file-shares' (1d6h) is longer than its mtpd (1d): recovery must come before the disruption becomes intolerable",
        ])
    }

    @Test("a decision default that is not an option and a zero deadline")
    func decision() throws {
        let text = Self.edits([(48, "      deadline: 15m", "      deadline: 0m"), (49, "      default: declare", "      default: maybe")])
        let found = try Self.findings(text)
        #expect(found == [
            "48:17: error: deadline of decision 'declare-major' must be positive, found 0m",
            "49:16: error: default 'maybe' is not an option of decision 'declare-major' (options: declare, keep-watching)",
        ])
    }

    @Test("zero timer durations and a time before the run start")
    func timerDurations() throws {
        let text = Self.edits([
            (21, "    at: services.file-shares.rto - 1h", "    at: services.file-shares.rto - 5h"),
            (36, #"      - { id: triage-overdue, after: 30m, repeat: 30m, notify: execs, message: "Triage still open after {{timer.elapsed}}" }"#,
             #"      - { id: triage-overdue, after: 0m, repeat: 0m, notify: execs, message: "Triage still open after {{timer.elapsed}}" }"#),
        ])
        let found = try Self.findings(text)
        #expect(found == [
            "21:9: error: timer 'rto-warning' resolves to -1h from the run start; it must fire after the start",
            "36:38: error: 'after' of timer 'triage-overdue' must be positive, found 0m",
            "36:50: error: 'repeat' of timer 'triage-overdue' must be positive, found 0m",
        ])
    }

    @Test("a time expression naming an unknown service")
    func timeExpressionService() throws {
        let text = Self.edit(Self.example, line: 21, "    at: services.file-shares.rto - 1h", "    at: services.file-share.rto - 1h")
        let found = try Self.findings(text)
        #expect(found == [
            "21:18: error: service 'file-share' in time expression is not a service (did you mean 'file-shares'?)",
        ])
    }

    @Test("unknown template variables, names and timer variables outside timers")
    func templates() throws {
        let text = Self.edits([
            (23, #"    message: "One hour left before the RTO of file shares""#,
             #"    message: "One hour left before {{services.file-share.rto}} ({{decisions.declare-majr}})""#),
            (31, #"        message: "Ransomware playbook started: {{run.title}} (IC: {{roles.incident_commander}})""#,
             #"        message: "Started: {{run.titel}} by {{roles.comm}} at {{timer.elapsed}}""#),
        ])
        let found = try Self.findings(text)
        #expect(found == [
            "23:47: error: service 'file-share' in template variable 'services.file-share.rto' is not a service (did you mean 'file-shares'?)",
            "23:77: error: decision 'declare-majr' in template variable 'decisions.declare-majr' is not a decision (did you mean 'declare-major'?)",
            "31:30: error: unknown template variable 'run.titel' (did you mean 'run.title'?)",
            "31:53: error: role 'comm' in template variable 'roles.comm' is not a role (did you mean 'comms'?)",
            "31:65: error: template variable 'timer.elapsed' is only available in a timer's message",
        ])
    }

    @Test("a decision id that is also a task id")
    func decisionTaskClash() throws {
        let text = Self.edit(Self.example, line: 44, "      id: declare-major", "      id: confirm")
        let found = try Self.findings(text)
        #expect(found == [
            "44:11: error: decision id 'confirm' is also a task id (task written at 33:15)",
        ])
    }

    @Test("warnings: no owner, no deadline, unheard event, idle required role, skipped tasks")
    func warnings() throws {
        let text = Self.edits([
            (15, "channels:", "  scribe: { title: Scribe, required: true }\nchannels:"),
            (23, #"    message: "One hour left before the RTO of file shares""#,
             #"    message: "One hour left before the RTO of file shares"\#n    raise: escalate"#),
            (48, "      deadline: 15m", "      # no deadline"),
            (58, "      - { when: all_tasks_done, to: restore }", "      - { to: restore }"),
            (61, "    owner: it_ops", "    # no owner"),
        ])
        let found = try Self.findings(text)
        #expect(found == [
            "15:3: warning: required role 'scribe' owns no state, task or decision",
            "25:12: warning: timer 'rto-warning' raises 'escalate', but no transition listens to it with 'on: escalate'",
            "46:11: warning: decision 'declare-major' has no deadline, so the run may wait for it for ever (add 'deadline' and 'default')",
            "60:9: warning: transition to 'restore' has neither 'on' nor 'when', so it is taken at once and skips the tasks of state 'contain' (add 'when: all_tasks_done'?)",
            "61:3: warning: state 'restore' has no owner (add 'owner: ROLE')",
        ])
    }
}
