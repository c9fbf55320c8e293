import MusterCore

/// Where a notification for a playbook channel goes in a run of the given mode.
public enum ChannelRoute: Sendable, Hashable {
    /// Send through this channel (the named one, or its `exercise:` override in an exercise run).
    case send(Channel)
    /// Not sent, and recorded as such: a `live_only` channel in an exercise run.
    case skipped(reason: String)
    /// The playbook has no such channel (the validator catches this in playbooks; kept for safety).
    case unknown(reason: String)
}

public enum ChannelRouting {
    /// In an exercise run a channel's `exercise:` override is used instead of it; without one, a
    /// `live_only` channel is skipped. Live runs use the channel as written.
    public static func route(channel id: String, in playbook: Playbook, mode: RunMode) -> ChannelRoute {
        guard let channel = playbook.channel(id) else {
            return .unknown(reason: "playbook '\(playbook.id.value)' has no channel '\(id)'")
        }
        guard mode == .exercise else { return .send(channel) }
        if let override = channel.exerciseOverride {
            guard let target = playbook.channel(override.value) else {
                return .unknown(reason: "channel '\(id)' names exercise channel '\(override.value)', which the playbook does not define")
            }
            if target.liveOnly {
                return .skipped(reason: "channel '\(id)' goes to '\(target.id.value)' in exercises, which is live_only: not sent in an exercise run")
            }
            return .send(target)
        }
        if channel.liveOnly {
            return .skipped(reason: "channel '\(id)' is live_only: not sent in an exercise run")
        }
        return .send(channel)
    }
}
