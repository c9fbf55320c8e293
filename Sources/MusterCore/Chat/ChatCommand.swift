/// What someone typed after `/muster` in Slack or Mattermost (docs/chat.md): one grammar for both platforms, each
/// verb mapped onto a command the engine already has. Parsing is pure: who typed it, which run the chat channel is
/// bound to and who a mention names are the shell's questions.
public enum ChatCommand: Sendable, Hashable {
    /// `declare PLAYBOOK TITLE`: start a live run of the playbook and bind this chat channel to it.
    case declare(playbook: String, title: String)
    /// `bind RUN`: commands typed in this chat channel act on RUN from now on.
    case bind(run: String)
    case status
    case help
    /// `ack [ACK]`: the page the typist was sent (the shell finds it when only one is open).
    case acknowledge(ack: String?)
    /// `assign ROLE @person`: the mention as typed; the shell maps it to a person of the directory.
    case assign(role: String, mention: String)
    /// Everything else: an engine command with nothing left to resolve.
    case act(Command.Action)

    /// The verbs, in the order `help` lists them, each with its arguments.
    public static let usage: [(verb: String, arguments: String, what: String)] = [
        ("declare", "PLAYBOOK TITLE", "start a run of a playbook here"),
        ("bind", "RUN", "work an existing run from this channel"),
        ("status", "", "where the run stands"),
        ("done", "TASK [note]", "complete a task"),
        ("skip", "TASK why", "skip a task, with the reason"),
        ("event", "NAME", "raise an event of the playbook"),
        ("decide", "DECISION OPTION because WHY", "record a decision"),
        ("assign", "ROLE @person", "give a role to someone"),
        ("relieve", "ROLE handover", "relieve a role's holder, with the handover"),
        ("note", "TEXT", "add a note to the timeline"),
        ("lesson", "TEXT", "record a lesson learned"),
        ("ack", "[PAGE]", "acknowledge a page sent to you"),
        ("close", "why", "close the run"),
        ("help", "", "this list"),
    ]

    /// The help text: one line per verb.
    public static var helpText: String {
        usage.map { verb, arguments, what in
            "`/muster \(verb)\(arguments.isEmpty ? "" : " " + arguments)`: \(what)"
        }.joined(separator: "\n")
    }

    /// Parses the text after the slash command (`done isolate-hosts contained at 10:02`). A refusal says what was
    /// wrong and how the verb is used.
    public static func parse(_ text: String) -> Result<ChatCommand, ChatCommandError> {
        var words = ChatWords(text)
        guard let verb = words.next()?.lowercased() else { return .success(.help) }
        func usage() -> String {
            let entry = Self.usage.first { $0.verb == verb }!
            return "usage: /muster \(verb)\(entry.arguments.isEmpty ? "" : " " + entry.arguments)"
        }
        func missing(_ what: String) -> Result<ChatCommand, ChatCommandError> { .failure(ChatCommandError("\(verb) needs \(what); \(usage())")) }
        func extra() -> Result<ChatCommand, ChatCommandError>? {
            words.rest.isEmpty ? nil : .failure(ChatCommandError("\(verb) takes no more than that, not '\(words.rest)'; \(usage())"))
        }
        switch verb {
        case "help":
            return .success(.help)
        case "status":
            return extra() ?? .success(.status)
        case "declare":
            guard let playbook = words.next() else { return missing("a playbook") }
            let title = words.rest
            guard !title.isEmpty else { return missing("a title") }
            return .success(.declare(playbook: playbook, title: title))
        case "bind":
            guard let run = words.next() else { return missing("a run id") }
            return extra() ?? .success(.bind(run: run))
        case "done":
            guard let task = words.next() else { return missing("a task") }
            let note = words.rest
            return .success(.act(.completeTask(task, note: note.isEmpty ? nil : note)))
        case "skip":
            guard let task = words.next() else { return missing("a task") }
            let why = words.rest
            guard !why.isEmpty else { return missing("the reason") }
            return .success(.act(.skipTask(task, reason: why)))
        case "event":
            guard let name = words.next() else { return missing("an event name") }
            return extra() ?? .success(.act(.raise(name)))
        case "decide":
            guard let decision = words.next() else { return missing("a decision") }
            guard let option = words.next() else { return missing("an option") }
            guard words.next()?.lowercased() == "because" else { return missing("'because' and the rationale") }
            let why = words.rest
            guard !why.isEmpty else { return missing("the rationale after 'because'") }
            return .success(.act(.decide(decision: decision, option: option, rationale: why)))
        case "assign":
            guard let role = words.next() else { return missing("a role") }
            guard let mention = words.next() else { return missing("a person (@name)") }
            return extra() ?? .success(.assign(role: role, mention: mention))
        case "relieve":
            guard let role = words.next() else { return missing("a role") }
            let handover = words.rest
            guard !handover.isEmpty else { return missing("the handover (what the next holder needs to know)") }
            return .success(.act(.relieve(role: role, handover: handover)))
        case "note":
            let text = words.rest
            guard !text.isEmpty else { return missing("the text") }
            return .success(.act(.note(text)))
        case "lesson":
            let text = words.rest
            guard !text.isEmpty else { return missing("the text") }
            return .success(.act(.lesson(Lesson(text: text))))
        case "ack":
            let ack = words.next()
            return extra() ?? .success(.acknowledge(ack: ack))
        case "close":
            let why = words.rest
            guard !why.isEmpty else { return missing("the reason") }
            return .success(.act(.close(reason: why)))
        default:
            let verbs = Self.usage.map(\.verb)
            return .failure(ChatCommandError("'\(verb)' is not a /muster command\(Suggestion.hint(for: verb, in: verbs)); /muster help lists them"))
        }
    }
}

public struct ChatCommandError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Words of a chat command: separated by white space; the rest of the line keeps its inner spacing.
struct ChatWords {
    private var remaining: Substring

    init(_ text: String) { remaining = Substring(text) }

    mutating func next() -> String? {
        remaining = remaining.drop { $0.isWhitespace }
        guard !remaining.isEmpty else { return nil }
        let word = remaining.prefix { !$0.isWhitespace }
        remaining = remaining[word.endIndex...]
        return String(word)
    }

    /// The rest of the line, trimmed.
    var rest: String {
        let text = remaining.drop { $0.isWhitespace }
        guard let last = text.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(text[...last])
    }
}
