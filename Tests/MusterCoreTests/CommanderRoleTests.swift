import MusterYAML
import Testing
@testable import MusterCore

/// A playbook may call its commanding role what the organisation calls it (`commander: ir_lead`).
@Suite("The commanding role")
struct CommanderRoleTests {
    static func text(commander: String) -> String {
        #"""
        muster: 1
        id: office-loss
        version: 1
        title: Loss of the main office
        severity: P2
        roles:
          ir_lead: { title: Incident response lead, required: true }
          facilities: { title: Facilities }
        commander: \#(commander)
        start: respond
        states:
          respond:
            phase: respond
            owner: ir_lead
            tasks:
              - { id: evacuate, title: Evacuate the building, role: facilities }
            transitions:
              - { when: all_tasks_done, to: closed }
          closed:
            phase: learn
            owner: ir_lead
            terminal: true
        """#
    }

    @Test("commander: names the role that commands runs: it starts with the declarer, assigns roles and closes")
    func namedCommander() throws {
        let loaded = PlaybookLoader.load(text: Self.text(commander: "ir_lead"), file: "office-loss.yaml")
        #expect(loaded.diagnostics == [], "\(loaded.diagnostics)")
        var h = Harness(try #require(loaded.playbook))
        let (started, _) = h.accept("Dana", startCommand(), at: t0)
        #expect(started.contains(ev(t0, "Dana", nil, .roleAssigned(role: "ir_lead", person: "Dana"))))
        #expect(h.run.commanderRole == "ir_lead" && h.run.commander == "Dana")
        h.accept("Dana", .assign(role: "facilities", person: "Lee"), at: at(1))
        #expect(h.reject("Lee", .assign(role: "ir_lead", person: "Lee"), at: at(2)).contains("incident commander"))
        h.accept("Lee", .completeTask("evacuate", note: "building clear"), at: at(3))
        h.accept("Dana", .close(reason: nil), at: at(4))
        #expect(h.run.status == .closed)
    }

    @Test("a commander: that is not a role is an error at its value, with the closest role")
    func unknownCommander() {
        let loaded = PlaybookLoader.load(text: Self.text(commander: "ir_laed"), file: "office-loss.yaml")
        #expect(loaded.diagnostics.map(\.description) == ["office-loss.yaml:9:12: error: commander role 'ir_laed' is not a role (did you mean 'ir_lead'?)"])
    }
}
