import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import MusterRuntime

extension DeliveryCLI {
    /// One warning line per `${VAR}` (or other setting) that would stop a channel of this run from sending: the
    /// channels the playbook notifies (on entry, by timers), as the run's mode routes them. The run starts
    /// anyway; its notifications wait in the outbox.
    static func unsetVariableWarnings(playbook: Playbook, mode: RunMode, environment: [String: String] = environment) -> [String] {
        var notified: [String] = []
        func note(_ id: String) { if !notified.contains(id) { notified.append(id) } }
        for timer in playbook.timers { if let id = timer.notify?.value { note(id) } }
        for state in playbook.states {
            for action in state.onEnter { if case .notify(let n) = action { note(n.channel.value) } }
            for timer in state.timers { if let id = timer.notify?.value { note(id) } }
        }
        var seen: Set<String> = []
        var lines: [String] = []
        for channel in playbook.channels where notified.contains(channel.id.value) {
            guard case .send(let target) = ChannelRouting.route(channel: channel.id.value, in: playbook, mode: mode),
                  seen.insert(target.id.value).inserted else { continue }
            for problem in ChannelPayloads.check(target, environment: environment) {
                lines.append("\(problem.message): its notifications cannot be sent until this is fixed (then `muster outbox retry`)")
            }
        }
        return lines
    }
}
