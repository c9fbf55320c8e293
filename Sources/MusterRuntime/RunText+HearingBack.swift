import MusterCore

extension RunText {
    /// The run's pages that asked for an acknowledgement and its roll calls, for `muster incident status`:
    /// each ack acknowledged (by whom, when) or pending (who was paged last, and when the next escalation is
    /// due); each roll call's tally (answered per option, not yet answered, marked by hand) and the names of the
    /// people still unaccounted for. Names only: no contact details. Empty when the run has neither.
    public static func hearingBack(_ run: Run, now: Instant, maxNames: Int = 20) -> [String] {
        var out: [String] = []
        if !run.acks.isEmpty {
            out.append("acknowledgements")
            for ack in run.acks.values.sorted(by: { ($0.requestedAt, $0.id) < ($1.requestedAt, $1.id) }) {
                let paged = ack.person ?? "the holder of \(ack.role)"
                if let by = ack.acknowledgedBy {
                    let at = ack.acknowledgedAt.map { " at \($0.iso8601) (after \(($0 - ack.requestedAt).clock))" } ?? ""
                    out.append("  \(ack.id): acknowledged by \(by)\(at)")
                    continue
                }
                var line = "  \(ack.id): PENDING, paged \(paged) (\(ack.role))"
                if ack.step > 0 { line += ", escalated \(ack.step) of \(ack.escalate.count) (last paged: \(ack.pagedPeople.last ?? ack.pagedRoles.last ?? "nobody"))" }
                if ack.exhausted {
                    line += ", escalation exhausted"
                } else if let timer = run.armedTimers.first(where: { $0.key.id == TimerKey.escalation(of: ack.id) }) {
                    let left = timer.due - now
                    line += ", next escalation \(timer.due.iso8601)" + (left.milliseconds > 0 ? " (in \(left.clock))" : " (due)")
                }
                out.append(line)
            }
        }
        let options = Dictionary(run.playbook.allRollCalls.map { ($0.id.value, $0.options.map(\.id.value)) }, uniquingKeysWith: { a, _ in a })
        if !run.rollCalls.isEmpty {
            out.append("roll calls")
            for record in run.rollCalls.values.sorted(by: { ($0.requestedAt, $0.id) < ($1.requestedAt, $1.id) }) {
                guard record.startedAt != nil else {
                    out.append("  \(record.id): asked for, not started (waiting for the people directory)")
                    continue
                }
                let answered = (options[record.id] ?? []).map { "\($0) \(record.people(choosing: $0))" }
                let notAnswered = record.people.filter { record.answers[$0] == nil }.count
                var line = "  \(record.id): \(record.accounted)/\(record.people.count) accounted"
                if !answered.isEmpty { line += "; answered " + answered.joined(separator: ", ") }
                line += "; not yet answered \(notAnswered)"
                if !record.marked.isEmpty { line += "; marked by hand \(record.marked.count)" }
                if record.overdue { line += "; OVERDUE" }
                out.append(line)
                let missing = record.unaccounted
                if !missing.isEmpty {
                    let shown = missing.prefix(maxNames).joined(separator: ", ")
                    out.append("    unaccounted: \(shown)" + (missing.count > maxNames ? " and \(missing.count - maxNames) more" : ""))
                }
            }
        }
        return out
    }
}
