/// Untrusted text (a run's title, a note, a reason, a name) made safe to post into Slack or Mattermost: it can no
/// longer notify a whole channel or workspace (`@channel`, `@here`, `@all`, `@everyone`, `<!channel>`,
/// `<!everyone>`, `<!subteam^…>`), mention someone (`<@U123>`), or dress a link up as other text (`<https://x|y>`).
/// What it says stays readable: a zero-width joiner after the `@` keeps `@here` from matching as a mention, and the
/// angle brackets of Slack's markup are escaped as Slack asks (`&lt;`, `&gt;`, `&amp;`).
public enum ChatText {
    /// The words Slack and Mattermost read as "notify everyone" after an `@`.
    static let broadcasts: Set<String> = ["channel", "here", "all", "everyone"]
    static let joiner: Character = "\u{2060}"  // WORD JOINER: invisible, breaks the mention

    /// For Slack (`mrkdwn` and plain text): control characters escaped, and every `@word` that would notify a group
    /// broken.
    public static func slack(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(character)
            }
        }
        return breakBroadcasts(out)
    }

    /// For Mattermost (Markdown): `@channel`, `@here`, `@all` and each `@user` mention broken, and link markup
    /// (`[text](url)`, `<url>`) shown as typed.
    public static func mattermost(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "[", "]", "(", ")", "<", ">", "\\", "`", "*", "_", "~":
                out.append("\\")
                out.append(character)
            default: out.append(character)
            }
        }
        return breakMentions(out)
    }

    /// `@channel` → `@⁠channel` for the broadcast words (any case), whatever follows them.
    static func breakBroadcasts(_ text: String) -> String {
        guard text.contains("@") else { return text }
        var out = ""
        var rest = Substring(text)
        while let at = rest.firstIndex(of: "@") {
            out += rest[..<at]
            out.append("@")
            rest = rest[rest.index(after: at)...]
            let word = rest.prefix { $0.isLetter }.lowercased()
            if broadcasts.contains(word) { out.append(joiner) }
        }
        return out + rest
    }

    /// Every `@` followed by a letter, digit or `_`: Mattermost notifies users and groups by name as well.
    static func breakMentions(_ text: String) -> String {
        guard text.contains("@") else { return text }
        var out = ""
        var previous: Character?
        for character in text {
            if previous == "@", character.isLetter || character.isNumber || character == "\\" { out.append(joiner) }
            out.append(character)
            previous = character
        }
        return out
    }
}
