import ArgumentParser
import Foundation
import MusterCore
import MusterDelivery
import MusterNotify
import MusterYAML

/// `muster notify test CHANNEL --playbook P`.
struct NotifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "Check a playbook's notification channels.",
        subcommands: [NotifyTest.self]
    )
}

struct NotifyTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Send a clearly marked test message through a channel and print the result.",
        discussion: """
            Resolves the channel's ${VAR} settings from the environment first: an unset or empty variable, or \
            one outside the allowed prefixes (MUSTER_, or those MUSTER_SECRET_PREFIXES lists), is \
            reported (with where the playbook uses it) and nothing is sent. With --exercise the channel is \
            routed as in an exercise run (its exercise: override, live_only skipped). Exits 0 when the \
            receiver accepted the message, 1 otherwise. Nothing is written to the journal.
            """
    )

    @Argument(help: "The channel id, as written under the playbook's channels:.") var channel: String
    @Option(help: "The playbook: a file, or an id in playbooks/.") var playbook: String
    @Flag(help: "Route as an exercise run would (exercise override, live_only skipped, [EXERCISE] prefix).") var exercise = false

    func run() throws {
        let (_, playbook) = try PlaybookLookup.loadValid(self.playbook)
        guard playbook.channel(channel) != nil else {
            let ids = playbook.channels.map(\.id.value)
            let known = ids.isEmpty ? " (it has no channels)" : Suggestion.hint(for: channel, in: ids)
            throw Console.fail("playbook '\(playbook.id.value)' has no channel '\(channel)'\(known)")
        }
        let mode: RunMode = exercise ? .exercise : .live
        let target: Channel
        switch ChannelRouting.route(channel: channel, in: playbook, mode: mode) {
        case .send(let routed): target = routed
        case .skipped(let reason):
            Console.out("not sent: \(reason)\n")
            return
        case .unknown(let reason): throw Console.fail(reason)
        }
        let environment = DeliveryCLI.environment
        let problems = ChannelPayloads.check(target, environment: environment)
        if !problems.isEmpty {
            for problem in problems { Console.err(problem.description + "\n") }
            throw Console.fail("no test message sent: channel '\(target.id.value)' cannot be used in this environment (\("problem".counted(problems.count)))")
        }
        let now = try DeliveryCLI.clock()()
        let testID = "test-\(now.millisecondsSinceEpoch)"
        let via = target.id.value == channel ? "" : " (exercise route: '\(target.id.value)')"
        let notification = MusterCore.Notification(
            id: testID, channel: target.id.value,
            message: "[TEST] Muster test message for channel '\(channel)' of playbook '\(playbook.id.value)'. This is not an incident; no action is needed.",
            trigger: "test")
        let context = NotificationContext(
            runID: testID, runTitle: "Muster channel test (not an incident)", playbookID: playbook.id.value,
            playbookTitle: playbook.title, state: playbook.start.value, stateTitle: playbook.state(playbook.start.value)?.title,
            mode: mode, severity: .p4, event: "test", time: now)
        let request: DeliveryRequest
        do {
            request = try ChannelPayloads.request(for: target, notification: notification, context: context, environment: environment)
        } catch {
            throw Console.fail("no test message sent: \(error.message)")
        }
        let transport = CurlTransport()
        let result = OutboxWorker.sendBlocking([request], through: transport)[0]
        transport.shutdown()
        let kind = target.type.value.rawValue
        if let failure = result.failure {
            throw Console.fail("test message to '\(channel)'\(via) (\(kind)) failed: \(request.redactor.redact(failure.description))")
        }
        let status = result.status.map { ", answer \($0)" } ?? ""
        Console.out("sent a test message to '\(channel)'\(via) (\(kind))\(status) in \(result.latency.milliseconds) ms\n")
    }
}
