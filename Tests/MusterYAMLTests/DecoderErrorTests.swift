import Testing
import MusterCore
import MusterYAML

/// Each structural error, written to a real file and loaded: exact message, line and column.
@Suite("Decoder: structural errors")
struct DecoderErrorTests {
    /// A small valid playbook; tests append to or replace parts of it.
    static let header = """
        muster: 1
        id: tiny
        version: 1
        title: Tiny
        roles:
          incident_commander: Incident Commander
        start: open

        """

    @Test("the small playbook the other tests start from is clean")
    func baseline() throws {
        let loaded = try loadPlaybook(Self.header + """
            states:
              open:
                phase: respond
                transitions: [ { on: done, to: closed } ]
              closed: { phase: learn, terminal: true }
            """)
        #expect(loaded.diagnostics == [])
        #expect(loaded.playbook?.states.count == 2)
    }

    @Test("an unknown key in a state is reported at the key, with a suggestion")
    func unknownKeyInState() throws {
        let loaded = try loadPlaybook(Self.header + """
            states:
              triage:
                tilte: Triage
                phase: detect
            """)
        #expect(loaded.diagnostics.map(\.description) == [
            "\(loaded.path):10:5: error: unknown key 'tilte' in state 'triage' (did you mean 'title'?)",
        ])
        #expect(loaded.diagnostics.first?.code == "unknown-key")
        // An unknown key leaves the model whole.
        #expect(loaded.playbook != nil)
    }

    @Test("an unquoted comma in a flow mapping is explained: quote the value it split")
    func unquotedComma() throws {
        let loaded = try loadPlaybook(Self.header + """
            states:
              triage:
                phase: detect
                tasks:
                  - { id: evacuate, title: Leave the building, use the fire exits, role: incident_commander }
            """)
        #expect(loaded.diagnostics.map(\.description).contains(
            "\(loaded.path):12:52: error: unknown key 'use the fire exits' in task 'evacuate' (an unquoted comma in '{ ... }' ends a value: quote the value of 'title', e.g. title: \"..., use the fire exits\")"),
            "\(loaded.diagnostics)")
    }

    @Test("unknown keys at every level name where they are; no suggestion when nothing is close")
    func unknownKeysEverywhere() throws {
        #expect(try errors(Self.header + """
            sumary: Short
            colour: blue
            services:
              db: { rto: 4h, rtp: 1h }
            states:
              open:
                phase: respond
                tasks: [ { id: t1, title: T, role: incident_commander, evidnce: true } ]
                transitions: [ { on: x, to: open, wehn: all_tasks_done } ]
                decision: { id: d, question: Q, by: incident_commander, options: { a: open }, dedline: 5m }
            """) == [
            "8:1: unknown key 'sumary' in the playbook (did you mean 'summary'?)",
            "9:1: unknown key 'colour' in the playbook",
            "11:18: unknown key 'rtp' in service 'db' (did you mean 'rto'?)",
            "15:60: unknown key 'evidnce' in task 't1' (did you mean 'evidence'?)",
            "16:39: unknown key 'wehn' in transition #1 of state 'open' (did you mean 'when'?)",
            "17:83: unknown key 'dedline' in decision 'd' (did you mean 'deadline'?)",
        ])
    }

    @Test("a value of the wrong type names the key and what was found")
    func wrongTypes() throws {
        let loaded = try loadPlaybook("""
            muster: 1
            id: tiny
            version: three
            title: [Tiny]
            roles:
              incident_commander: { title: IC, required: yes }
            start: open
            states:
              open:
                phase: respond
                tasks: { id: t1 }
                terminal: on
            """)
        #expect(loaded.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" } == [
            "3:10: 'version' must be a whole number, found 'three'",
            "4:8: 'title' must be text, found a list",
            "6:46: 'required' must be true or false, found 'yes'",
            "11:12: 'tasks' must be a list, found a mapping",
            "12:15: 'terminal' must be true or false, found 'on'",
        ])
        #expect(loaded.diagnostics.allSatisfy { $0.code == "wrong-type" })
        #expect(loaded.playbook == nil)
    }

    @Test("'states' must be a mapping")
    func statesMustBeAMapping() throws {
        #expect(try errors(Self.header + """
            states:
              - open
              - closed
            """) == ["9:3: 'states' must be a mapping, found a list"])
    }

    @Test("a missing required key is reported at the enclosing mapping")
    func missingKeys() throws {
        #expect(try errors(Self.header + """
            states:
              open:
                phase: respond
              contain:
                title: Contain
                tasks:
                  - { id: isolate, role: incident_commander }
                transitions:
                  - on: contained
            """) == [
            "12:5: state 'contain' is missing required key 'phase'",
            "14:9: task 'isolate' is missing required key 'title'",
            "16:9: transition #1 of state 'contain' is missing required key 'to'",
        ])
    }

    @Test("an empty file misses every required top-level key, at 1:1")
    func emptyFile() throws {
        #expect(try errors("") == [
            "1:1: the playbook is missing required key 'muster' (the format version: write muster: 1)",
            "1:1: the playbook is missing required key 'id'",
            "1:1: the playbook is missing required key 'version'",
            "1:1: the playbook is missing required key 'title'",
            "1:1: the playbook is missing required key 'start'",
            "1:1: the playbook is missing required key 'states'",
        ])
    }

    @Test("a playbook that is not a mapping is refused as a whole")
    func notAMapping() throws {
        #expect(try errors("- muster: 1\n") == [
            "1:1: a playbook must be a mapping of keys such as 'muster', 'id' and 'states', found a list",
        ])
    }

    @Test("durations must be written with units")
    func badDurations() throws {
        #expect(try errors(Self.header + """
            review_every: 1 year
            services:
              db: { rto: 4 hours, rpo: 30, mtpd: 1h30m }
            states:
              open:
                phase: respond
                decision: { id: d, question: Q, by: incident_commander, options: { a: open }, deadline: 30 minutes }
                timers: [ { id: t, after: [30m], raise: late } ]
            """) == [
            "8:15: '1 year' is not a duration (write 30m, 4h, 1h30m, 2d)",
            "10:14: '4 hours' is not a duration (write 30m, 4h, 1h30m, 2d)",
            "10:28: '30' is not a duration (write 30m, 4h, 1h30m, 2d)",
            "14:93: '30 minutes' is not a duration (write 30m, 4h, 1h30m, 2d)",
            "15:31: 'after' must be a duration (write 30m, 4h, 1h30m, 2d), found a list",
        ])
    }

    @Test("phases, marks, severities and channel types must be known names, with a suggestion when one is close")
    func fixedNames() throws {
        #expect(try errors(Self.header + """
            severity: P5
            channels:
              bridge: { type: slak, url: "https://example.com/hook" }
              other: { type: carrier-pigeon }
            states:
              open:
                phase: [detect, respnd]
                marks: [contianed, done]
              closed:
                phase: banana
            """) == [
            "8:11: 'P5' is not a severity (write P1, P2, P3 or P4)",
            "10:19: 'slak' is not a channel type (did you mean 'slack'?)",
            "11:18: 'carrier-pigeon' is not a channel type (write webhook, slack, teams, mattermost, pagerduty, email, sms)",
            "14:21: 'respnd' is not a phase (did you mean 'respond'?)",
            "15:13: 'contianed' is not a mark (did you mean 'contained'?)",
            "15:24: 'done' is not a mark (write detected, declared, contained, recovered, closed)",
            "17:12: 'banana' is not a phase (write prepare, detect, assess, respond, recover, learn)",
        ])
    }

    @Test("a guard that does not parse points at the column inside the scalar, plain or quoted")
    func badGuards() throws {
        #expect(try errors(Self.header + """
            states:
              open:
                phase: respond
                transitions:
                  - { on: a, when: tasks.confirm.done and, to: open }
                  - on: b
                    when: "roles.it_ops.assigned or (all_tasks_done"
                    to: open
                  - { on: c, when: 'severity == P1', to: open }
            """) == [
            "12:46: invalid guard: expected an operand after 'and'",
            "14:56: invalid guard: expected ')' to close the '(' at 14:41",
            "16:37: invalid guard: expected a quoted value after '==', found 'P1'",
        ])
    }

    @Test("a template that does not parse points at its column; in a block scalar, at the scalar")
    func badTemplates() throws {
        #expect(try errors(Self.header + """
            channels:
              bridge: { type: slack, url: "https://example.com/hook" }
            states:
              open:
                phase: respond
                on_enter:
                  - { notify: bridge, message: "Started {{run.title" }
                  - notify: bridge
                    message: |
                      Still open
                      {{ }}
            """) == [
            "14:45: invalid template: '{{' is not closed (add '}}')",
            "16:18: invalid template: empty placeholder (write a variable such as {{run.title}})",
        ])
    }

    @Test("a time expression that does not parse points at its column")
    func badTimeExpressions() throws {
        #expect(try errors(Self.header + """
            timers:
              - { id: a, at: services.db.rtoo - 1h, raise: late }
              - { id: b, at: "run.start + 2 hours", raise: late }
            states:
              open: { phase: respond }
            """) == [
            "9:30: invalid time expression: 'rtoo' is not an objective (did you mean 'rto'?)",
            "10:31: invalid time expression: '2 hours' is not a duration (write 30m, 4h, 1h30m, 2d)",
        ])
    }

    @Test("a format version other than 1 is refused, and nothing else is reported")
    func unsupportedFormat() throws {
        let loaded = try loadPlaybook("""
            muster: 2
            id: tiny
            flows: {}
            """)
        #expect(loaded.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" } == [
            "1:9: unsupported format version 2 (this Muster reads format 1)",
        ])
        #expect(loaded.diagnostics.first?.code == "unsupported-format")
        #expect(loaded.playbook == nil)
    }

    @Test("task ids are unique across the whole playbook")
    func duplicateTaskIDs() throws {
        let loaded = try loadPlaybook(Self.header + """
            states:
              open:
                phase: respond
                tasks:
                  - id: confirm
                    title: Confirm
                    role: incident_commander
                transitions: [ { to: closed } ]
              closed:
                phase: learn
                tasks: [ { id: confirm, title: Again, role: incident_commander } ]
                terminal: true
            """)
        #expect(loaded.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" } == [
            "18:20: duplicate task id 'confirm' (first defined at 12:13)",
        ])
        #expect(loaded.diagnostics.first?.code == "duplicate-id")
    }

    @Test("timer ids are unique across run-wide and state timers, and decision ids across states")
    func duplicateTimerAndDecisionIDs() throws {
        #expect(try errors(Self.header + """
            timers:
              - { id: late, after: 1h, raise: late }
            states:
              open:
                phase: respond
                timers: [ { id: late, after: 2h, raise: later } ]
                decision: { id: go, question: Go?, by: incident_commander, options: { yes: closed } }
              closed:
                phase: learn
                decision: { id: go, question: Again?, by: incident_commander, options: { no: open } }
            """) == [
            "13:21: duplicate timer id 'late' (first defined at 9:11)",
            "17:21: duplicate decision id 'go' (first defined at 14:21)",
        ])
    }

    @Test("each channel type requires its own keys, at the channel's mapping")
    func channelRequiredKeys() throws {
        #expect(try errors(Self.header + """
            channels:
              bridge: { type: slack }
              pager: { type: pagerduty }
              mail:
                type: email
                subject: Incident
              hook: { type: webhook, secret: s }
            states:
              open: { phase: respond }
            """) == [
            "9:11: channel 'bridge' is missing required key 'url' (slack channels need it)",
            "10:10: channel 'pager' is missing required key 'routing_key' (pagerduty channels need it)",
            "12:5: channel 'mail' is missing required key 'to' (email channels need it)",
            "14:9: channel 'hook' is missing required key 'url' (webhook channels need it)",
        ])
    }

    @Test("a key that does not apply to the channel's type is an error at the key")
    func channelForbiddenKeys() throws {
        #expect(try errors(Self.header + """
            channels:
              bridge: { type: slack, url: "https://example.com/hook", to: [a@example.com], routing: x }
              mail: { type: email, to: ops@example.com, url: "https://example.com", smtp: mail.example.com }
            states:
              open: { phase: respond }
            """) == [
            "9:59: 'to' does not apply to a slack channel (channel 'bridge')",
            "9:80: unknown key 'routing' in channel 'bridge'",
            "10:45: 'url' does not apply to an email channel (channel 'mail')",
            "10:79: 'smtp' must be an smtp:// or smtps:// URL, found 'mail.example.com'",
        ])
    }

    @Test("a timer needs exactly one of 'after' and 'at'")
    func timerAnchors() throws {
        #expect(try errors(Self.header + """
            timers:
              - { id: both, after: 1h, at: run.start + 1h, raise: late }
              - { id: neither, raise: late }
            states:
              open: { phase: respond }
            """) == [
            "9:28: timer 'both' has both 'after' and 'at' (write only one)",
            "10:5: timer 'neither' needs 'after' (a duration) or 'at' (a time such as run.start + 2h)",
        ])
    }

    @Test("a timer needs 'notify' or 'raise', and 'message' goes with 'notify'")
    func timerActions() throws {
        #expect(try errors(Self.header + """
            channels:
              bridge: { type: slack, url: "https://example.com/hook" }
            timers:
              - { id: silent, after: 1h }
              - { id: mute, after: 1h, notify: bridge }
              - { id: orphan, after: 1h, raise: late, message: "Late" }
            states:
              open: { phase: respond }
            """) == [
            "11:5: timer 'silent' needs 'notify' (with 'message'), 'raise' or 'roll_call'",
            "12:5: timer 'mute' is missing required key 'message' (required with 'notify')",
            "13:43: 'message' goes with 'notify' (timer 'orphan' notifies no channel)",
        ])
    }

    @Test("an on_enter action notifies with a message, or raises, not both")
    func entryActions() throws {
        let loaded = try loadPlaybook(Self.header + """
            channels:
              bridge: { type: slack, url: "https://example.com/hook" }
            states:
              open:
                phase: respond
                on_enter:
                  - { notify: bridge }
                  - { notify: bridge, message: Hi, raise: go }
                  - {}
                  - { raise: go }
            """)
        #expect(loaded.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" } == [
            "14:9: on_enter action #1 of state 'open' is missing required key 'message' (required with 'notify')",
            "15:40: on_enter action #2 of state 'open' both notifies and raises (write one action each)",
            "16:9: on_enter action #3 of state 'open' needs 'notify' (with 'message'), 'raise' or 'roll_call'",
        ])
        #expect(loaded.playbook == nil)
    }

    @Test("booleans are only true and false; yes, no and on stay words where names are expected")
    func yamlOneOneWords() throws {
        let loaded = try loadPlaybook(Self.header + """
            states:
              open:
                phase: respond
                decision: { id: go, question: Go?, by: incident_commander, options: { yes: closed, no: open } }
                transitions: [ { on: yes, to: closed }, { on: off, to: open } ]
              closed: { phase: learn, terminal: true }
            """)
        #expect(loaded.diagnostics == [])
        let open = try #require(loaded.playbook?.states.first)
        #expect(open.decision?.options.map(\.name.value) == ["yes", "no"])
        #expect(open.transitions.map { $0.on?.value } == ["yes", "off"])
    }

    @Test("ids are slugs for playbooks and words for everything a guard or template names")
    func ids() throws {
        #expect(try errors("""
            muster: 1
            id: Ransomware Files
            version: 0
            title: Tiny
            roles:
              incident commander: IC
            start: open
            states:
              open:
                phase: respond
                tasks: [ { id: a.b, title: T, role: x } ]
            """) == [
            "2:5: 'Ransomware Files' is not a valid playbook id (use lowercase letters, digits, '-' and '_', starting with a letter or digit)",
            "3:10: 'version' must be at least 1, found 0",
            "6:3: 'incident commander' is not a valid role id (use letters, digits, '-' and '_')",
            "11:20: 'a.b' is not a valid task id (use letters, digits, '-' and '_')",
        ])
    }

    @Test("many independent errors come out of one pass, in file order")
    func manyErrorsInOnePass() throws {
        let loaded = try loadPlaybook(Self.header + """
            states:
              open:
                phase: respnd
                tilte: Open
                tasks: [ { id: t, title: T, role: incident_commander, evidence: maybe } ]
                transitions: [ { when: "all_tasks_done or", to: closed } ]
              closed: { phase: learn, terminal: yes }
            """)
        #expect(loaded.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" } == [
            "10:12: 'respnd' is not a phase (did you mean 'respond'?)",
            "11:5: unknown key 'tilte' in state 'open' (did you mean 'title'?)",
            "12:69: 'evidence' must be true or false, found 'maybe'",
            "13:46: invalid guard: expected an operand after 'or'",
            "14:37: 'terminal' must be true or false, found 'yes'",
        ])
        #expect(loaded.playbook == nil)
    }

    @Test("an empty value is 'nothing', and an item without an id is named by its place")
    func emptyValuesAndUnnamedItems() throws {
        #expect(try errors(Self.header + """
            timers:
              - { after: 1h, raise: late }
            states:
              open:
                phase: respond
                owner:
                title: ~
                tasks:
                  - title: Unnamed
                    role: incident_commander
            """) == [
            "9:5: run-wide timer #1 is missing required key 'id'",
            "13:11: 'owner' must be text, found nothing",
            "14:12: 'title' must be text, found nothing",
            "16:9: task #1 of state 'open' is missing required key 'id'",
        ])
    }

    @Test("a YAML syntax error is reported with its position and nothing is decoded")
    func yamlSyntax() throws {
        let loaded = try loadPlaybook("muster: 1\nid: [tiny\n")
        #expect(loaded.playbook == nil)
        #expect(loaded.diagnostics.count == 1)
        #expect(loaded.diagnostics.first?.code == "yaml-syntax")
    }
}
