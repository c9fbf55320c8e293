import Foundation
import MusterCore
import MusterJournal

/// Personal answer links, minted by the worker just before a message is sent (`docs/people.md`): the engine never
/// sees a token, and the outbox row and the timeline keep the message without it.
public enum AnswerLinks {
    /// Channel types whose personal messages carry a link: they reach the person (email, sms) or show a card with
    /// it (teams). Slack and Mattermost answer with buttons; webhooks and PagerDuty are not read by the person.
    public static let channelTypes: Set<ChannelType> = [.email, .sms, .teams]

    /// How long a link stays usable after the question's own deadline (a roll call's `within`), and in all for a
    /// question without one (a page to acknowledge): late answers still count, and a link a day old is still one
    /// to one person's own question.
    public static let margin = TimeSpan.hours(24)

    /// `BASE_URL` checked and without a trailing `/`: nil unless it is an `http://` or `https://` URL with a host.
    public static func base(_ text: String) -> String? {
        var base = text.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        guard base.hasPrefix("https://") || base.hasPrefix("http://") else { return nil }
        let rest = base.drop { $0 != "/" }.dropFirst(2)
        guard !rest.isEmpty, !base.contains(where: { $0.isWhitespace || $0 == "?" || $0 == "#" }) else { return nil }
        return base
    }

    /// The line added to the message.
    public static func line(base: String, token: String) -> String {
        "\n\nAnswer here: \(url(base: base, token: token))"
    }

    public static func url(base: String, token: String) -> String { "\(base)/a/\(token)" }

    /// A fresh token and its journal row for `notification` sent through `channel`, when it asks its person something
    /// (a roll call's question or a page to acknowledge) through a channel type that carries links; nil otherwise.
    static func mint(for notification: MusterCore.Notification, runID: String, channel: Channel, playbook: Playbook, now: Instant)
        -> (token: String, link: AnswerLink)?
    {
        guard let person = notification.person, !person.isEmpty, channelTypes.contains(channel.type.value) else { return nil }
        let question: AnswerLink.Question
        var lifetime = margin
        if let rollCall = notification.rollCall {
            question = .rollCall(rollCall)
            if let within = playbook.rollCall(rollCall)?.within?.value { lifetime = within + margin }
        } else if let ack = notification.ack {
            question = .ack(ack)
        } else {
            return nil
        }
        let token = AnswerToken.make()
        let link = AnswerLink(tokenSHA256: AnswerToken.sha256(token), runID: runID, person: person, question: question,
                              notificationID: notification.id, message: notification.message, createdAt: now, expiresAt: now + lifetime)
        return (token, link)
    }
}
