import ArgumentParser
import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify

/// `muster outbox deliver | list | retry`.
struct OutboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Deliver, list and retry the notifications waiting in the outbox.",
        subcommands: [OutboxDeliver.self, OutboxList.self, OutboxRetry.self]
    )
}

struct OutboxDeliver: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliver",
        abstract: "Send the notifications that are due, once, and print what became of each.",
        discussion: """
            One pass: claims the due items, sends them concurrently over libcurl, and records every attempt on \
            its run's timeline. Failed items are retried by later passes (exponential backoff with jitter, \
            Retry-After honoured); after a channel's max_attempts (default 8) an item is dead-lettered. \
            `muster watch` runs passes by itself. Exits 0 when the pass could record its outcomes, even if \
            deliveries failed (they are in the outbox: `muster outbox list`).
            """
    )

    @Option(help: "Deliver at most this many items in this pass.") var limit: Int = 100_000
    @Option(help: "Items sent at once.") var batch: Int = 256
    @Flag(help: "Print only the summary line.") var quiet = false

    func run() throws {
        let journal = try DeliveryCLI.journal()
        let worker = OutboxWorker(
            journal: journal, transport: CurlTransport(), environment: DeliveryCLI.environment, batchSize: batch,
            maximumItemsPerPass: limit, answerLinkBase: DeliveryCLI.publicURL, clock: try DeliveryCLI.clock())
        let report: PassReport
        do { report = try worker.deliverDueBlocking() } catch {
            throw Console.fail(error.description)
        }
        if report.outcomes.isEmpty {
            Console.out("nothing due\n")
            return
        }
        if !quiet { for outcome in report.outcomes { Console.out(outcome.description + "\n") } }
        Console.out(report.summary + "\n")
    }
}

struct OutboxList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List outbox items: id, status, attempts, run, notification, channel, next attempt, last error."
    )

    @Flag(help: "Only dead-lettered items (waiting for `muster outbox retry`).") var dead = false
    @Option(name: .customLong("run"), help: "Only the items of this run (id or unique prefix).") var runName: String?
    @OptionGroup var output: ListFormatOption

    func run() throws {
        let journal = try DeliveryCLI.journal()
        var runID: String?
        if let runName {
            do { runID = try journal.resolveRun(prefix: runName).id } catch { throw Console.fail(error.description) }
        }
        let items: [OutboxItem]
        do { items = try journal.outboxItems(statuses: dead ? [.dead] : nil, runID: runID) } catch {
            throw Console.fail(error.description)
        }
        if output.format == .json {
            Console.out(JSONValue.array(items.map { item in
                .object([
                    ("id", .int(Int(item.id))), ("status", .string(item.status.rawValue)), ("run", .string(item.runID)),
                    ("notification", .string(item.notificationID)), ("channel", .string(item.channel)),
                    ("attempts", .int(item.attempts)), ("next_attempt", .string(item.nextAttempt.iso8601)),
                    ("last_error", .optional(item.lastError)),
                ])
            }).rendered() + "\n")
            return
        }
        if items.isEmpty {
            Console.out(dead ? "no dead-lettered items\n" : "the outbox is empty\n")
            return
        }
        for item in items {
            var line = "#\(item.id) \(item.status.rawValue) \(item.runID) \(item.notificationID) \(item.channel) attempts \(item.attempts)"
            if item.status == .pending || item.status == .failed { line += " next \(item.nextAttempt.iso8601)" }
            if let error = item.lastError { line += ": " + DeliveryCLI.oneLine(error) }
            Console.out(line + "\n")
        }
    }
}

struct OutboxRetry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Send a dead or failed item back to pending (recorded on its run's timeline).",
        discussion: "The item is due at once and gets a fresh set of attempts; the next `muster outbox deliver` sends it."
    )

    @Argument(help: "The outbox item id (from `muster outbox list`; a leading # is allowed).") var id: String
    @Option(name: .customLong("as"), help: "Who retries it (default: $USER).") var actor: String?

    func run() throws {
        let digits = id.hasPrefix("#") ? String(id.dropFirst()) : id
        guard let number = Int64(digits) else { throw Console.fail("'\(id)' is not an outbox item id (a number, see `muster outbox list`)") }
        let journal = try DeliveryCLI.journal()
        let who = actor ?? DeliveryCLI.environment["USER"] ?? "operator"
        let now = try DeliveryCLI.clock()()
        do {
            let item = try OutboxAdmin.requeue(journal, id: number, actor: who, at: now)
            Console.out("#\(item.id) \(item.runID) \(item.notificationID) \(item.channel): back to pending, due now (requeued by \(who))\n")
        } catch {
            throw Console.fail(error.description)
        }
    }
}
