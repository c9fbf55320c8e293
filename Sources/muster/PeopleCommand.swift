import ArgumentParser
import Foundation
import MusterCore
import MusterJournal
import MusterRuntime

/// `muster people`: the directory of people in the journal (`docs/people.md`). Whoever runs `muster` on the journal
/// is an admin of it, so `show` and `export` print contact details; `list` leaves them out unless asked.
struct PeopleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "people",
        abstract: "The people directory: who holds roles, their groups, site, deputy and how to reach them.",
        discussion: "Email, phone and chat handles are personal data: they are kept in the journal's people table only, never in reports, timelines or logs.",
        subcommands: [Add.self, List.self, Show.self, Remove.self, Import.self, Export.self])

    /// Runs `body` on the journal (created if missing when `create`), turning journal errors into exits: a person
    /// the directory refuses (a bad field, a deputy still needed) is a refusal, 1; anything else could not act, 2.
    static func withJournal<T>(create: Bool, _ body: (Journal, Instant) throws(JournalError) -> T) throws -> T {
        let runtime = try IncidentCLI.runtime(create: create)
        defer { try? runtime.journal.close() }
        do { return try body(runtime.journal, runtime.clock.now) } catch { throw refusal(error) }
    }

    static func refusal(_ error: JournalError) -> ExitCode {
        IncidentCLI.printError(error.description)
        return ExitCode(ExitStatus.of(directory: error))
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a person, or change the fields given of someone already there (an empty value clears a field).")
        @Argument(help: "The name roles hold and users sign in with: 1-64 letters, digits, spaces, . _ - ' , (not 'muster').") var name: String
        @Option(help: "Email address.") var email: String?
        @Option(help: "Phone number, E.164: +, country code, number, no spaces (+442079460958).") var phone: String?
        @Option(help: "Slack member id (U024BE7LH).") var slack: String?
        @Option(help: "Mattermost username.") var mattermost: String?
        @Option(name: .customLong("group"), help: "A group (crisis-team, site-hq); repeat for several. Replaces the person's groups.") var groups: [String] = []
        @Option(help: "Site (HQ, Leeds DC).") var site: String?
        @Option(help: "Another person of the directory who stands in for this one.") var deputy: String?

        func run() throws {
            let (stored, change) = try PeopleCommand.withJournal(create: true) { journal, now throws(JournalError) in
                var person = try journal.person(named: name) ?? Person(name: name)
                if let email { person.email = email }
                if let phone { person.phone = phone }
                if let slack { person.slackID = slack }
                if let mattermost { person.mattermostUser = mattermost }
                if !groups.isEmpty { person.groups = groups.filter { !$0.isEmpty } }
                if let site { person.site = site }
                if let deputy { person.deputy = deputy }
                return (person.name, try journal.upsertPerson(person, at: now, by: defaultActor()))
            }
            switch change {
            case .added: print("added \(stored)")
            case .updated(let fields): print("updated \(stored): \(fields.map(\.rawValue).joined(separator: ", "))")
            case .unchanged: print("\(stored): nothing to change")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List people with their groups and site (contact details only with --contacts).")
        @Flag(help: "Also print email, phone and chat handles (personal data).") var contacts = false
        @Option(help: "Only the members of this group.") var group: String?
        @OptionGroup var output: ListFormatOption

        func run() throws {
            var people = try PeopleCommand.withJournal(create: false) { journal, _ throws(JournalError) in try journal.people() }
            if let group { people = people.filter { $0.groups.contains(group) } }
            if output.format == .json {
                print(JSONValue.array(people.map { PeopleCommand.json($0, contacts: contacts) }).rendered())
                return
            }
            if people.isEmpty { print(group == nil ? "no people yet (muster people add NAME, or muster people import FILE.csv)" : "nobody in group \(group!)") }
            for person in people {
                var line = person.name
                if !person.groups.isEmpty { line += "  groups: \(person.groups.joined(separator: ", "))" }
                if let site = person.site { line += "  site: \(site)" }
                if contacts {
                    for field in Person.Field.allCases where field.isContact {
                        if let value = person.text(field) { line += "  \(field.rawValue): \(value)" }
                    }
                }
                print(line)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one person, contact details included.")
        @Argument var name: String
        @OptionGroup var output: ListFormatOption

        func run() throws {
            let found = try PeopleCommand.withJournal(create: false) { journal, _ throws(JournalError) in try journal.person(named: name) }
            guard let person = found else { throw IncidentCLI.fail(.journal(.unknownPerson(name))) }
            if output.format == .json {
                print(PeopleCommand.json(person, contacts: true).rendered())
                return
            }
            for field in Person.Field.allCases {
                print("\((field.rawValue + ":").padding(toLength: 17, withPad: " ", startingAt: 0))\(person.text(field).map { field == .groups ? $0.replacingOccurrences(of: ";", with: ", ") : $0 } ?? "-")")
            }
            if let added = person.addedAt { print("added_at:        \(added.iso8601)") }
            if let updated = person.updatedAt { print("updated_at:      \(updated.iso8601)") }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a person (refused while they are someone's deputy).")
        @Argument var name: String

        func run() throws {
            let stored = try PeopleCommand.withJournal(create: false) { journal, now throws(JournalError) in
                try journal.removePerson(named: name, at: now, by: defaultActor())
            }
            print("removed \(stored)")
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add or update everyone of a CSV file (an HR export), all or nothing.",
            discussion: """
                The header row names the columns, in any order: name (required), email, phone, slack_id, mattermost_user, \
                groups (separated by ;), site, deputy. Fields may be quoted as RFC 4180 says. A deputy must name someone \
                in the file or the directory. The first bad row is reported as FILE:LINE:COLUMN and nothing is imported. \
                People of the directory who are not in the file are left as they are.
                """)
        @Argument(help: "The CSV file.") var file: String

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw Console.fail("cannot read \(file)") }
            guard let text = String(data: data, encoding: .utf8) else { throw Console.fail("\(file) is not UTF-8 text: nothing was imported") }
            let parsed: PeopleCSV.File
            switch PeopleCSV.parse(text) {
            case .success(let file): parsed = file
            case .failure(let problem): throw Self.refuse(file, problem)
            }
            let runtime = try IncidentCLI.runtime(create: true)
            defer { try? runtime.journal.close() }
            let report: PeopleImportReport
            do throws(JournalError) {
                report = try runtime.journal.importPeople(parsed.rows.map(\.person), at: runtime.clock.now, by: defaultActor())
            } catch .invalidPerson(let problem) {
                throw Self.refuse(file, parsed.locate(problem))
            } catch {
                throw PeopleCommand.refusal(error)
            }
            print("imported \(parsed.rows.count) people from \(file): \(report.added.count) added, \(report.updated.count) updated, \(report.unchanged.count) unchanged")
        }

        static func refuse(_ file: String, _ problem: PeopleCSV.Problem) -> ExitCode {
            Console.err("\(file):\(problem.line):\(problem.column): error: \(problem.message)\nnothing was imported\n")
            return ExitCode(ExitStatus.refused)
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the whole directory, contact details included, as CSV (which import reads back) or JSON.")
        enum Format: String, ExpressibleByArgument, CaseIterable { case csv, json }
        @Option(help: "csv or json.") var format: Format = .csv
        @Option(name: .shortAndLong, help: "Write to this file (created readable by its owner only) instead of standard output.") var output: String?

        func run() throws {
            let people = try PeopleCommand.withJournal(create: false) { journal, _ throws(JournalError) in try journal.people() }
            let text = switch format {
            case .csv: PeopleCSV.render(people)
            case .json: JSONValue.array(people.map { PeopleCommand.json($0, contacts: true) }).rendered() + "\n"
            }
            guard let output else {
                Console.out(text)
                return
            }
            // Personal data: the file is its owner's only.
            guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw Console.fail("cannot write \(output)")
            }
            Console.err("wrote \(people.count) people to \(output)\n")
        }
    }

    /// A person as JSON, keys in `Person.Field` order; contact details only when asked.
    static func json(_ person: Person, contacts: Bool) -> JSONValue {
        var members: [(String, JSONValue)] = []
        for field in Person.Field.allCases where contacts || !field.isContact {
            members.append((field.rawValue, field == .groups ? .array(person.groups.map { .string($0) }) : .optional(person.text(field))))
        }
        if let added = person.addedAt { members.append(("added_at", .string(added.iso8601))) }
        if let updated = person.updatedAt { members.append(("updated_at", .string(updated.iso8601))) }
        return .object(members)
    }
}
