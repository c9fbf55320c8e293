import ArgumentParser
import Foundation
import MusterJournal

/// `muster db init|status|copy`: the journal's database itself, on either backend.
struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Create, inspect or copy the journal's database (SQLite or PostgreSQL).",
        discussion: """
            The journal is $MUSTER_HOME/muster.db, or PostgreSQL when MUSTER_DATABASE_URL (or --database) is a \
            postgres:// URL. See docs/journal.md.
            """,
        subcommands: [Init.self, Status.self, Copy.self]
    )

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the journal's schema, or upgrade it to this muster's format (under a lock: servers starting together do not race).")

        func run() throws {
            let journal = try DatabaseCommand.open(JournalChoice.location, create: true)
            defer { try? journal.close() }
            let statistics = try DatabaseCommand.statistics(journal)
            print("journal ready: \(statistics.backend.rawValue) \(statistics.location), format \(statistics.formatVersion), \(statistics.runs) runs")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the backend, format version, and how many runs and events the journal holds.")

        @OptionGroup var format: ListFormatOption

        func run() throws {
            let journal: Journal
            do { journal = try Journal.openForReading(JournalChoice.location) } catch { throw Console.cannotAct(error.description) }
            defer { try? journal.close() }
            let s = try DatabaseCommand.statistics(journal)
            if format.format == .json {
                print(JSONValue.object([
                    ("backend", .string(s.backend.rawValue)), ("location", .string(s.location)), ("formatVersion", .int(s.formatVersion)),
                    ("runs", .int(s.runs)), ("events", .int(s.events)), ("outboxItems", .int(s.outboxItems)),
                    ("users", .int(s.users)), ("improvementEvents", .int(s.improvementEvents)),
                ]).rendered())
                return
            }
            print("""
                backend:            \(s.backend.rawValue)
                location:           \(s.location)
                format version:     \(s.formatVersion) (this muster: \(Journal.formatVersion))
                runs:               \(s.runs)
                events:             \(s.events)
                outbox items:       \(s.outboxItems)
                users:              \(s.users)
                improvement events: \(s.improvementEvents)
                """)
        }
    }

    struct Copy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a whole journal between backends (SQLite to PostgreSQL, or PostgreSQL to an SQLite file), then verify every chain.",
            discussion: """
                SOURCE and TARGET are postgres:// URLs or paths of SQLite journals. The target must be empty; each run \
                is copied in one transaction, so an interrupted copy is continued with --resume. Exit 1 when a chain of \
                the copy does not verify.
                """)

        @Option(help: ArgumentHelp("The journal to copy: a postgres:// URL or an SQLite file.", valueName: "SOURCE")) var from: String
        @Option(help: ArgumentHelp("The journal to fill: a postgres:// URL or an SQLite file (created when missing).", valueName: "TARGET")) var to: String
        @Flag(help: "Continue an interrupted copy: keep what the target holds, copy the rest.") var resume = false

        func run() throws {
            let sourceLocation = JournalLocation.parse(from)
            let targetLocation = JournalLocation.parse(to)
            guard sourceLocation != targetLocation else { throw Console.cannotAct("--from and --to name the same journal") }
            let source: Journal
            do { source = try Journal.openForReading(sourceLocation) } catch { throw Console.cannotAct(error.description) }
            defer { try? source.close() }
            let target = try DatabaseCommand.open(targetLocation, create: true)
            defer { try? target.close() }
            let report: JournalCopyReport
            do {
                report = try target.copyJournal(from: source, resume: resume) { Console.err($0 + "\n") }
            } catch {
                throw Console.cannotAct(error.description)
            }
            print("copied \(sourceLocation) to \(targetLocation): \(report.runsCopied) runs (\(report.eventsCopied) events, "
                + "\(report.outboxItemsCopied) outbox items), \(report.usersCopied) users, \(report.peopleCopied) people, \(report.accessEventsCopied) access-log "
                + "and \(report.improvementEventsCopied) improvement-log entries"
                + (report.runsAlreadyThere > 0 ? "; \(report.runsAlreadyThere) runs were already there" : ""))
            for verification in report.verifications where !verification.isIntact {
                Console.err("error: the copy does not verify: \(verification)\n")
            }
            for run in report.headMismatches {
                Console.err("error: run \(run) has a different head in the copy (it changed in the source meanwhile); copy again\n")
            }
            guard report.isIntact else { throw ExitCode(ExitStatus.refused) }
            print("verified: \(report.verifications.count - 2) run chains, the access log and the improvement log are intact")
        }
    }

    static func open(_ location: JournalLocation, create: Bool) throws -> Journal {
        do { return try Journal.open(location, create: create) } catch { throw Console.cannotAct(error.description) }
    }

    static func statistics(_ journal: Journal) throws -> JournalStatistics {
        do { return try journal.statistics() } catch { throw Console.cannotAct(error.description) }
    }
}
