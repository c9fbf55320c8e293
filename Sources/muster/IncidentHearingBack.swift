import ArgumentParser
import Foundation
import MusterCore
import MusterRuntime

// Hearing back from the command line: acknowledge a page, answer a roll call, mark someone accounted for.
// What the run asked and who answered shows in `muster incident status`.

struct IncidentAck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ack", abstract: "Acknowledge a page (its id: the playbook's 'id:' of the notify, see incident status).",
        discussion: "Someone the page reached (the role's holder, a deputy or role paged by escalation) or the incident commander acknowledges it; its escalation stops.")
    @Argument(help: ArgumentHelp("The page's acknowledgement id.", valueName: "ACK_ID")) var ack: String
    @OptionGroup var person: PersonOption
    @OptionGroup var target: RunOption

    func run() throws { try IncidentCLI.act(.acknowledge(ack), as: person.name, run: target.run) }
}

struct IncidentAnswer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer", abstract: "Answer a roll call with one of its options (recorded as channel 'cli').",
        discussion: "You answer for yourself; with --for PERSON, someone holding a role on the run answers for another (a warden relaying a phone call). Answering again records both: the last answer counts.")
    @Argument(help: ArgumentHelp("The roll call's id.", valueName: "ROLLCALL")) var rollCall: String
    @Argument(help: ArgumentHelp("One of its options (safe, help, ...).", valueName: "OPTION")) var option: String
    @Option(name: .customLong("for"), help: ArgumentHelp("Answer for this person (needs a role on the run).", valueName: "PERSON"))
    var forPerson: String?
    @OptionGroup var person: PersonOption
    @OptionGroup var target: RunOption

    func run() throws {
        let actor = try IncidentCLI.person(person.name)
        let answerer = forPerson ?? actor
        if answerer != actor {
            // The API's rule (Permissions `.answer(for:)`): for someone else, only a role holder answers.
            let runtime = try IncidentCLI.readingRuntime()
            let record = try IncidentCLI.resolve(runtime, target.run)
            let snapshot: RunSnapshot
            do { snapshot = try runtime.snapshot(runID: record.id) } catch { throw IncidentCLI.fail(error) }
            guard snapshot.run.holders.values.contains(actor) else {
                throw IncidentCLI.reject(Rejection(.notPermitted, "\(actor) holds no role in run \(record.id): answering for \(answerer) takes a role (or let \(answerer) answer)"))
            }
        }
        try IncidentCLI.act(.answer(rollCall: rollCall, person: answerer, option: option, channel: "cli"), as: actor, run: target.run)
    }
}

struct IncidentAccounted: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounted", abstract: "Mark a person a roll call asks as accounted for by hand, with why (someone holding a role).")
    @Argument(help: ArgumentHelp("The roll call's id.", valueName: "ROLLCALL")) var rollCall: String
    @Argument(help: ArgumentHelp("The person, as the roll call names them.", valueName: "PERSON")) var who: String
    @Option(help: ArgumentHelp("Where or how they were seen.", valueName: "TEXT")) var why: String
    @OptionGroup var person: PersonOption
    @OptionGroup var target: RunOption

    func run() throws { try IncidentCLI.act(.markAccounted(rollCall: rollCall, person: who, why: why), as: person.name, run: target.run) }
}
