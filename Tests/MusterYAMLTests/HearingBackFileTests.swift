import Foundation
import MusterCore
import MusterYAML
import Testing

/// Acknowledged pages and roll calls as written in a playbook file: what the decoder reads, and every finding
/// about them at its file:line:column.
@Suite("Acknowledgements and roll calls in playbook files")
struct HearingBackFileTests {
    static let example = """
        muster: 1
        id: office-loss
        version: 1
        title: Loss of the main office
        severity: P1
        roles:
          incident_commander: { title: Incident Commander }
          it_ops: { title: IT Operations lead }
          facilities: { title: Facilities lead }
        channels:
          pager: { type: webhook, url: "${MUSTER_PAGER_URL}", live_only: true }
          sms: { type: webhook, url: "${MUSTER_SMS_URL}", live_only: true }
          email: { type: email, to: [crisis-team@example.com], live_only: true }
        start: evacuate
        states:
          evacuate:
            phase: respond
            owner: incident_commander
            on_enter:
              - notify: pager
                to: it_ops
                id: page-it
                message: "Main office lost: join the bridge"
                ack_within: 10m
                escalate: [deputy, incident_commander]
              - roll_call: { id: staff-safety, who: [group: site-hq, role: facilities], ask: "Are you safe?", options: { safe: I am safe, help: I need help, away: Not on site }, via: [sms, email], resend: { every: 15m, max: 3 }, within: 1h }
            timers:
              - { id: page-facilities, after: 5m, notify: pager, to: facilities, message: "Confirm the building is empty", ack_within: 5m }
            transitions:
              - { when: rollcall.staff-safety.count(help) > 0, to: rescue }
              - { when: rollcall.staff-safety.accounted >= 95% and acks.page-it.acknowledged, to: recover }
          rescue:
            phase: respond
            owner: incident_commander
            transitions: [ { when: acks.page-facilities.acknowledged or rollcall.staff-safety.overdue, to: recover } ]
          recover:
            phase: recover
            owner: incident_commander
            transitions: [ { on: recovered, to: closed } ]
          closed:
            phase: learn
            terminal: true

        """

    /// `line:column` of the first occurrence of `needle` in `text` (1-based), `occurrence` counting from 1.
    static func position(of needle: String, in text: String, occurrence: Int = 1) -> String {
        var seen = 0
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var rest = Substring(line)
            var offset = 0
            while let range = rest.range(of: needle) {
                seen += 1
                let column = offset + rest.distance(from: rest.startIndex, to: range.lowerBound)
                if seen == occurrence { return "\(index + 1):\(column + 1)" }
                offset = column + 1
                rest = Substring(line).dropFirst(offset)
            }
        }
        Issue.record("'\(needle)' is not in the text")
        return "?"
    }

    static func replacing(_ old: String, with new: String) -> String {
        precondition(example.contains(old), "'\(old)' is not in the example")
        return example.replacingOccurrences(of: old, with: new)
    }

    @Test("the example with pages, a roll call and their guards is clean, and decodes to the model")
    func exampleIsClean() throws {
        let clean = try ValidatorFileTests.findings(Self.example)
        #expect(clean == [])
        let playbook = try #require(try loadPlaybook(Self.example).playbook)
        guard case .notify(let page) = playbook.states[0].onEnter[0], case .rollCall(let rollCall) = playbook.states[0].onEnter[1] else {
            Issue.record("expected a page and a roll call")
            return
        }
        #expect(page.to?.value == "it_ops")
        #expect(page.ack?.id?.value == "page-it")
        #expect(page.ack?.within.value == .minutes(10))
        #expect(page.ack?.escalate.map(\.value) == ["deputy", "incident_commander"])
        #expect(rollCall.id.value == "staff-safety")
        #expect(rollCall.who == [.group(rollCall.who[0].name), .role(rollCall.who[1].name)])
        #expect(rollCall.who.map(\.name.value) == ["site-hq", "facilities"])
        #expect(rollCall.options.map(\.id.value) == ["safe", "help", "away"])
        #expect(rollCall.options.map(\.label) == ["I am safe", "I need help", "Not on site"])
        #expect(rollCall.via.map(\.value) == ["sms", "email"])
        #expect(rollCall.resendEvery?.value == .minutes(15))
        #expect(rollCall.resendMax?.value == 3)
        #expect(rollCall.within?.value == .hours(1))
        let timer = playbook.states[0].timers[0]
        #expect(timer.to?.value == "facilities")
        #expect(timer.ack?.within.value == .minutes(5))
        #expect(playbook.namedAcks.map(\.value) == ["page-it", "page-facilities"])
        #expect(playbook.states[0].transitions[1].when?.value.text == "rollcall.staff-safety.accounted >= 95% and acks.page-it.acknowledged")
    }

    @Test("an unknown roll call in a guard is an error at its id")
    func unknownRollCall() throws {
        let text = Self.replacing("when: rollcall.staff-safety.count(help) > 0", with: "when: rollcall.staff-safty.count(help) > 0")
        #expect(try ValidatorFileTests.findings(text) == [
            "\(Self.position(of: "staff-safty", in: text)): error: guard roll call 'staff-safty' is not a roll call (did you mean 'staff-safety'?)",
        ])
    }

    @Test("an unknown option of a roll call is an error at the option")
    func unknownOption() throws {
        let text = Self.replacing("count(help)", with: "count(hepl)")
        #expect(try ValidatorFileTests.findings(text) == [
            "\(Self.position(of: "hepl", in: text)): error: 'hepl' is not an option of roll call 'staff-safety' (did you mean 'help'?)",
        ])
    }

    @Test("a percentage outside 0-100% is an error at the number")
    func percentageOutOfRange() throws {
        let text = Self.replacing("accounted >= 95%", with: "accounted >= 150%")
        #expect(try ValidatorFileTests.findings(text) == [
            "\(Self.position(of: "150%", in: text)): error: 150% is not a share of a roll call's people (write 0% to 100%)",
        ])
    }

    @Test("an acknowledgement no page asks for is an error at its id")
    func unknownAck() throws {
        let text = Self.replacing("acks.page-it.acknowledged", with: "acks.page-itt.acknowledged")
        #expect(try ValidatorFileTests.findings(text) == [
            "\(Self.position(of: "page-itt", in: text)): error: guard acknowledgement 'page-itt' is not asked for by any page (did you mean 'page-it'?)",
        ])
    }

    @Test("unknown escalation roles, paged roles and roll call channels are errors where they are written")
    func unknownReferences() throws {
        let text = Self.replacing("escalate: [deputy, incident_commander]", with: "escalate: [deputy, incident_commandr]")
            .replacingOccurrences(of: "via: [sms, email]", with: "via: [sms, mail]")
            .replacingOccurrences(of: "to: facilities, message", with: "to: facility, message")
        #expect(try ValidatorFileTests.findings(text) == [
            "\(Self.position(of: "incident_commandr", in: text)): error: escalation step 'incident_commandr' is not a role or 'deputy' (did you mean 'incident_commander'?)",
            "\(Self.position(of: "mail]", in: text)): error: notify channel 'mail' is not a channel (did you mean 'email'?)",
            "\(Self.position(of: "facility", in: text)): error: paged role 'facility' is not a role (did you mean 'facilities'?)",
        ])
    }

    @Test("a roll call guard that is not a comparison is a syntax error at the column")
    func guardSyntax() throws {
        let text = Self.replacing("accounted >= 95%", with: "accounted >= most")
        let found = try errors(text)
        #expect(found == [
            "\(Self.position(of: "most", in: text)): invalid guard: expected a number or a percentage after '>=' (such as 95% or 0), found 'most'",
        ])
        let bare = Self.replacing("rollcall.staff-safety.count(help) > 0", with: "rollcall.staff-safety.count > 0")
        #expect(try errors(bare) == [
            "\(Self.position(of: "> 0, to: rescue", in: bare)): invalid guard: 'rollcall.staff-safety.count' needs an option in parentheses (write rollcall.staff-safety.count(OPTION) > 0)",
        ])
    }

    @Test("ack_within without a role to page, and escalate without ack_within, are errors at the key")
    func pageStructure() throws {
        let noRole = Self.replacing("        to: it_ops\n", with: "")
        #expect(try errors(noRole) == [
            "\(Self.position(of: "ack_within: 10m", in: noRole)): on_enter action #1 of state 'evacuate' asks for an acknowledgement but pages nobody: add 'to: ROLE' (whose holder acknowledges)",
        ])
        let noAck = Self.replacing("        ack_within: 10m\n", with: "")
        #expect(try errors(noAck) == [
            "\(Self.position(of: "id: page-it", in: noAck)): 'id' goes with 'ack_within' (on_enter action #1 of state 'evacuate' asks for no acknowledgement)",
            "\(Self.position(of: "escalate:", in: noAck)): 'escalate' goes with 'ack_within' (on_enter action #1 of state 'evacuate' asks for no acknowledgement)",
        ])
    }

    @Test("a roll call needs who, ask, options and via; resend needs every and max")
    func rollCallStructure() throws {
        let text = Self.replacing("ask: \"Are you safe?\", ", with: "").replacingOccurrences(of: "max: 3", with: "most: 3")
        let found = try errors(text)
        let rollCall = Self.position(of: "{ id: staff-safety", in: text)
        let resend = Self.position(of: "{ every: 15m", in: text)
        #expect(found.contains("\(rollCall): roll call 'staff-safety' is missing required key 'ask' (the question)"))
        #expect(found.contains("\(Self.position(of: "most", in: text)): unknown key 'most' in 'resend' of roll call 'staff-safety'"))
        #expect(found.contains("\(resend): 'resend' of roll call 'staff-safety' is missing required key 'max' (how many resends at most)"))
    }
}

extension RollCallSpec.Audience {
    var name: Located<String> {
        switch self {
        case .group(let n), .role(let n), .person(let n): n
        }
    }
}
