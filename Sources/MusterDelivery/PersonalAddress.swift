import MusterCore
import MusterJournal
import MusterNotify

/// Where a personal message (a `Notification` with `person`) goes through one channel: the person's contact point
/// from the people directory for the channel's type. Contact details are personal data: they go into the request
/// (and its redactor) only, never into a reason, an event or an outbox row.
enum PersonalAddress: Sendable, Hashable {
    /// The channel's type has no personal address (webhook, teams, pagerduty): sent to the channel as configured.
    case channel
    /// The person's phone (sms), email address (email), Slack member id (slack) or `@username` (mattermost).
    case address(String)
    /// Not sendable to this person through this channel; the reason names the person and the missing field only.
    case unreachable(String)

    /// `person` is the directory's entry for `name`, nil when the directory has no one of that name.
    static func resolve(_ person: Person?, named name: String, channel: Channel) -> PersonalAddress {
        let type = channel.type.value
        guard ChannelPayloads.addressesPeople(type) else { return .channel }
        let through = "\(type.rawValue) channel '\(channel.id.value)'"
        guard let person else {
            return .unreachable("not sent: no one named \(name) in the people directory, so no contact point for \(through)")
        }
        guard let point = person.contactPoint(for: type) else { return .channel }
        guard let value = point.value, !value.isEmpty else {
            return .unreachable("not sent: \(person.name) has no \(point.field) in the people directory, needed for \(through)")
        }
        return .address(value)
    }
}
