import MusterCore
import MusterServer
import Testing

@Suite("Permissions")
struct PermissionTests {
    static let access = RunAccess(holders: ["incident_commander": "Dana", "it_ops": "Lee", "comms": "Sam"])
    static let restricted = RunAccess(holders: ["incident_commander": "Dana", "it_ops": "Lee"], restricted: true)
    static let exercise = RunAccess(holders: ["incident_commander": "Dana"], facilitator: "Fay")

    struct Case: Sendable, CustomTestStringConvertible {
        var person: String
        var action: RunAction
        var access: RunAccess
        var expected: String  // allowed | forbidden | hidden
        var testDescription: String { "\(person) \(action) -> \(expected)" }
    }

    static let cases: [Case] = [
        // reading and notes: anyone who sees the run
        Case(person: "Olga", action: .read, access: access, expected: "allowed"),
        Case(person: "Olga", action: .note, access: access, expected: "allowed"),
        Case(person: "Lee", action: .note, access: access, expected: "allowed"),
        // observers do not act
        Case(person: "Olga", action: .raiseEvent, access: access, expected: "forbidden"),
        Case(person: "Olga", action: .lesson, access: access, expected: "forbidden"),
        Case(person: "Olga", action: .task(role: "it_ops"), access: access, expected: "forbidden"),
        Case(person: "Olga", action: .task(role: nil), access: access, expected: "forbidden"),
        Case(person: "Sam", action: .raiseEvent, access: access, expected: "allowed"),
        Case(person: "Sam", action: .lesson, access: access, expected: "allowed"),
        // tasks: the role's holder or the incident commander
        Case(person: "Lee", action: .task(role: "it_ops"), access: access, expected: "allowed"),
        Case(person: "Dana", action: .task(role: "it_ops"), access: access, expected: "allowed"),
        Case(person: "Sam", action: .task(role: "it_ops"), access: access, expected: "forbidden"),
        Case(person: "Lee", action: .task(role: "security_lead"), access: access, expected: "forbidden"),
        Case(person: "Lee", action: .task(role: nil), access: access, expected: "allowed"),
        // decisions: the decision's role only
        Case(person: "Dana", action: .decide(role: "incident_commander"), access: access, expected: "allowed"),
        Case(person: "Lee", action: .decide(role: "incident_commander"), access: access, expected: "forbidden"),
        Case(person: "Dana", action: .decide(role: "it_ops"), access: access, expected: "forbidden"),
        Case(person: "Lee", action: .decide(role: "it_ops"), access: access, expected: "allowed"),
        // assigning, relieving, closing: the incident commander
        Case(person: "Dana", action: .assign, access: access, expected: "allowed"),
        Case(person: "Dana", action: .relieve, access: access, expected: "allowed"),
        Case(person: "Dana", action: .close, access: access, expected: "allowed"),
        Case(person: "Lee", action: .assign, access: access, expected: "forbidden"),
        Case(person: "Lee", action: .relieve, access: access, expected: "forbidden"),
        Case(person: "Lee", action: .close, access: access, expected: "forbidden"),
        // restricted runs: nothing at all for people not on them
        Case(person: "Olga", action: .read, access: restricted, expected: "hidden"),
        Case(person: "Olga", action: .note, access: restricted, expected: "hidden"),
        Case(person: "Olga", action: .close, access: restricted, expected: "hidden"),
        Case(person: "Lee", action: .read, access: restricted, expected: "allowed"),
        Case(person: "Lee", action: .close, access: restricted, expected: "forbidden"),
        // exercises: the facilitator controls the clock
        Case(person: "Fay", action: .exerciseControl, access: exercise, expected: "allowed"),
        Case(person: "Dana", action: .exerciseControl, access: exercise, expected: "forbidden"),
        Case(person: "Fay", action: .raiseEvent, access: exercise, expected: "allowed"),
        // an exercise's evaluation: facilitator and commander while it runs, everyone who sees the run once it ended
        Case(person: "Fay", action: .readEvaluation(exerciseEnded: false), access: exercise, expected: "allowed"),
        Case(person: "Dana", action: .readEvaluation(exerciseEnded: false), access: exercise, expected: "allowed"),
        Case(person: "Olga", action: .readEvaluation(exerciseEnded: false), access: exercise, expected: "forbidden"),
        Case(person: "Olga", action: .readEvaluation(exerciseEnded: true), access: exercise, expected: "allowed"),
        Case(person: "Olga", action: .readEvaluation(exerciseEnded: true), access: restricted, expected: "hidden"),
        // overruling a rating: the facilitator or the incident commander
        Case(person: "Fay", action: .overruleRating, access: exercise, expected: "allowed"),
        Case(person: "Dana", action: .overruleRating, access: exercise, expected: "allowed"),
        Case(person: "Lee", action: .overruleRating, access: access, expected: "forbidden"),
        Case(person: "Olga", action: .overruleRating, access: exercise, expected: "forbidden"),
        // hearing back: anyone who sees the run acknowledges (the engine checks who was paged) and answers for
        // themself; answering for someone else and marking people accounted for take a role
        Case(person: "Olga", action: .acknowledge, access: access, expected: "allowed"),
        Case(person: "Olga", action: .answer(for: "Olga"), access: access, expected: "allowed"),
        Case(person: "Olga", action: .answer(for: "Sam"), access: access, expected: "forbidden"),
        Case(person: "Lee", action: .answer(for: "Olga"), access: access, expected: "allowed"),
        Case(person: "Fay", action: .answer(for: "Olga"), access: exercise, expected: "forbidden"),
        Case(person: "Lee", action: .markAccounted, access: access, expected: "allowed"),
        Case(person: "Olga", action: .markAccounted, access: access, expected: "forbidden"),
        Case(person: "Olga", action: .answer(for: "Olga"), access: restricted, expected: "hidden"),
        // retrying a dead-lettered notification: the incident commander or an admin (who must still see the run)
        Case(person: "Dana", action: .retryNotification(byAdmin: false), access: access, expected: "allowed"),
        Case(person: "Lee", action: .retryNotification(byAdmin: false), access: access, expected: "forbidden"),
        Case(person: "Olga", action: .retryNotification(byAdmin: true), access: access, expected: "allowed"),
        Case(person: "Olga", action: .retryNotification(byAdmin: true), access: restricted, expected: "hidden"),
        Case(person: "Fay", action: .retryNotification(byAdmin: false), access: exercise, expected: "forbidden"),
    ]

    @Test("each rule of the permission table", arguments: cases)
    func rule(_ c: Case) {
        let decision = Permissions.decide(c.action, by: c.person, on: c.access)
        switch decision {
        case .allowed: #expect(c.expected == "allowed")
        case .forbidden(let why): #expect(c.expected == "forbidden"); #expect(!why.isEmpty)
        case .hidden: #expect(c.expected == "hidden")
        }
    }
}
