import MusterCore
import MusterYAML
import Testing

/// Issue 13: "five mistakes needed four runs". When the decoder cannot build the whole playbook (a missing key,
/// a wrong type), the validator still checks the rest of the file in the same run, and reports only what does
/// not depend on the missing parts.
@Suite("Validation reports every independent error in one pass")
struct OnePassValidationTests {
    static let header = """
        muster: 1
        id: five-mistakes
        version: 1
        roles:
          incident_commander: { title: Incident Commander }
          ops: { title: Operations lead }
        channels:
          bridge: { type: slack, url: "${MUSTER_BRIDGE_URL}", live_only: true }
        start: triage

        """

    @Test("a missing key and a wrong type do not hide an unknown channel, role and state")
    func fiveMistakes() {
        let text = Self.header + """
            states:
              triage:
                phase: respond
                owner: ops
                on_enter:
                  - notify: brige
                    message: "Triage started"
                tasks:
                  - { id: check, title: Check the alert, role: opps }
                  - { id: page, title: Page the on-call, role: ops, evidence: maybe }
                transitions:
                  - { when: tasks.check.done, to: contian }
              contain:
                phase: respond
                owner: ops
                transitions:
                  - { to: closed }
              closed:
                phase: learn
                terminal: true
            """
        let loaded = PlaybookLoader.load(text: text, file: "five.yaml")
        #expect(loaded.playbook == nil)
        #expect(loaded.diagnostics.map(\.description) == [
            "five.yaml:1:1: error: the playbook is missing required key 'title'",
            "five.yaml:15:17: error: notify channel 'brige' is not a channel (did you mean 'bridge'?)",
            "five.yaml:18:52: error: task role 'opps' is not a role (did you mean 'ops'?)",
            "five.yaml:19:67: error: 'evidence' must be true or false, found 'maybe'",
            "five.yaml:21:39: error: transition target 'contian' is not a state (did you mean 'contain'?)",
        ])
    }

    @Test("findings that a missing piece could cause are left out: a dropped state's name is not 'unknown', reachability waits")
    func dependentFindingsWait() {
        // `contain` is not a mapping: it is missing from the model, so 'to: contain' is not reported as unknown,
        // and nothing is said about reachability; the unknown role elsewhere still is.
        let text = Self.header + """
            title: Broken state
            states:
              triage:
                phase: respond
                owner: ops
                tasks:
                  - { id: check, title: Check, role: opps }
                transitions:
                  - { when: tasks.check.done, to: contain }
              contain: [not, a, mapping]
              closed:
                phase: learn
                terminal: true
            """
        let loaded = PlaybookLoader.load(text: text, file: "dep.yaml")
        #expect(loaded.playbook == nil)
        #expect(loaded.diagnostics.map(\.code) == ["unknown-role", "wrong-type"])
    }

    @Test("a clean playbook is untouched by this: the same findings as before, and a playbook")
    func cleanFile() {
        let text = Self.header + """
            title: Fine
            states:
              triage:
                phase: respond
                owner: ops
                transitions:
                  - { to: closed }
              closed:
                phase: learn
                terminal: true
            """
        let loaded = PlaybookLoader.load(text: text, file: "fine.yaml")
        #expect(loaded.playbook != nil)
        #expect(loaded.diagnostics.map(\.description) == [])
    }
}
