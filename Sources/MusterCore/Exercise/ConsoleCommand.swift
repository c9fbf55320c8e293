/// One line typed at the facilitator console (or piped in by a program), parsed:
///
///     done TASK [NOTE]            skip TASK [REASON]        event NAME
///     decide ID OPTION because RATIONALE                   assign ROLE PERSON        relieve ROLE [HANDOVER]
///     note TEXT                   lesson [strength|improvement] TEXT                 close [REASON]
///     pause   resume   speed N|manual|max   skip 10m   inject NOW "message"   inject ID   end [REASON]
///     overrule OBJECTIVE P|S|M|U because NOTE             status   evaluate   help
///     ack ID                      answer ROLLCALL OPTION [N%]  (drills: `as Kim Ode: answer staff-safety help`)
///
/// A player action may name who acts: `as Lee: done confirm`; otherwise the participant holding the role the
/// action needs acts (see `ExerciseRun.defaultActor(for:)`). `#` starts a comment line.
/// One line of the hot wash (see `ConsoleCommand.hotWash`).
public enum HotWashLine: Sendable, Hashable {
    /// An empty line, `done` or `end`: the hot wash is over.
    case end
    case lesson(actor: String?, Lesson)
    case overrule(actor: String?, objective: String, rating: Rating, note: String)
    case evaluate
    case help
    /// Not recorded, with the reason to show.
    case refused(String)
}

public enum ConsoleCommand: Sendable, Hashable {
    case nothing
    /// A player action through the engine; `actor` nil means "whoever holds the needed role".
    case action(actor: String?, Command.Action)
    /// A facilitator (or evaluator) input; `actor` nil means the facilitator (for overrules: the first evaluator).
    case control(actor: String?, ExerciseInput)
    case status
    case evaluate
    case help

    public static let helpText = """
        players:  done TASK [NOTE] | skip TASK [REASON] | event NAME | decide ID OPTION because WHY
                  assign ROLE PERSON | relieve ROLE [HANDOVER] | note TEXT | lesson [strength|improvement] TEXT | close [REASON]
                  ack ID | answer ROLLCALL OPTION (as the person answering) | answer ROLLCALL OPTION N% (a crowd)
                  prefix with 'as NAME:' to say who acts (default: the holder of the role the action needs)
        clock:    pause | resume | speed N|manual|max | skip 10m | end [REASON]
        injects:  inject NOW "message" | inject ID (deliver a listed inject now)
        evaluate: overrule OBJECTIVE P|S|M|U because NOTE | evaluate (interim) | status | help
        """

    public static func parse(_ line: String) -> Result<ConsoleCommand, ConsoleError> {
        var text = trimmed(line)
        if text.isEmpty || text.hasPrefix("#") { return .success(.nothing) }
        var actor: String?
        if text.hasPrefix("as "), let colon = text.firstIndex(of: ":") {
            let name = trimmed(String(text[text.index(text.startIndex, offsetBy: 3)..<colon]))
            guard !name.isEmpty else { return .failure(ConsoleError("write 'as NAME: ACTION'")) }
            actor = name
            text = trimmed(String(text[text.index(after: colon)...]))
        }
        let (word, rest) = split(text)
        let (first, afterFirst) = split(rest)
        func need(_ what: String, _ value: String) -> ConsoleError? { value.isEmpty ? ConsoleError("'\(word)' needs \(what)") : nil }
        func action(_ a: Command.Action) -> Result<ConsoleCommand, ConsoleError> { .success(.action(actor: actor, a)) }
        func control(_ input: ExerciseInput) -> Result<ConsoleCommand, ConsoleError> { .success(.control(actor: actor, input)) }

        switch word {
        case "done":
            if let e = need("a task id: done TASK [NOTE]", first) { return .failure(e) }
            return action(.completeTask(first, note: afterFirst.isEmpty ? nil : unquoted(afterFirst)))
        case "skip":
            if let e = need("a duration (skip 10m) or a task (skip TASK [REASON])", first) { return .failure(e) }
            if afterFirst.isEmpty, let span = TimeSpan(parsing: first) { return control(.skip(span)) }
            return action(.skipTask(first, reason: afterFirst.isEmpty ? nil : unquoted(afterFirst)))
        case "event", "raise":
            if let e = need("an event name: event NAME", first) { return .failure(e) }
            guard afterFirst.isEmpty else { return .failure(ConsoleError("'\(word)' takes one event name")) }
            return action(.raise(first))
        case "decide":
            let (option, why) = split(afterFirst)
            guard !first.isEmpty, !option.isEmpty else { return .failure(ConsoleError("write 'decide ID OPTION because WHY'")) }
            var rationale = why
            if rationale.hasPrefix("because ") { rationale = trimmed(String(rationale.dropFirst("because ".count))) }
            if rationale == "because" { rationale = "" }
            guard !rationale.isEmpty else { return .failure(ConsoleError("a decision needs a rationale: decide \(first) \(option) because WHY")) }
            return action(.decide(decision: first, option: option, rationale: unquoted(rationale)))
        case "assign":
            let (person, extra) = split(afterFirst)
            guard !first.isEmpty, !person.isEmpty, extra.isEmpty else { return .failure(ConsoleError("write 'assign ROLE PERSON'")) }
            return action(.assign(role: first, person: person))
        case "relieve":
            if let e = need("a role: relieve ROLE [HANDOVER]", first) { return .failure(e) }
            return action(.relieve(role: first, handover: afterFirst.isEmpty ? nil : unquoted(afterFirst)))
        case "note":
            if let e = need("text: note TEXT", rest) { return .failure(e) }
            return action(.note(unquoted(rest)))
        case "lesson":
            if let e = need("text: lesson [strength|improvement] TEXT", rest) { return .failure(e) }
            var kind = LessonKind.improvement
            var statement = rest
            let label = first.hasSuffix(":") ? String(first.dropLast()) : first
            if let k = LessonKind(rawValue: label), !afterFirst.isEmpty {
                kind = k
                statement = afterFirst
            }
            return action(.lesson(Lesson(text: unquoted(statement), kind: kind)))
        case "close":
            return action(.close(reason: rest.isEmpty ? nil : unquoted(rest)))
        case "ack":
            guard !first.isEmpty, afterFirst.isEmpty else { return .failure(ConsoleError("write 'ack ID' (as NAME: ack ID for someone else)")) }
            return action(.acknowledge(first))
        case "answer":
            let (option, share) = split(afterFirst)
            let usage = "write 'as NAME: answer ROLLCALL OPTION' (one person) or 'answer ROLLCALL OPTION N%' (a crowd)"
            guard !first.isEmpty, !option.isEmpty else { return .failure(ConsoleError(usage)) }
            if share.isEmpty {
                guard let actor else { return .failure(ConsoleError("who answers? " + usage)) }
                return .success(.control(actor: actor, .answers(rollCall: first, option: option, crowd: .named([actor]), at: nil)))
            }
            let digits = share.hasSuffix("%") ? String(share.dropLast()) : ""
            guard actor == nil, !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let percent = Int(digits), percent <= 100 else {
                return .failure(ConsoleError(usage))
            }
            return control(.answers(rollCall: first, option: option, crowd: .share(percent), at: nil))
        case "pause", "resume":
            guard rest.isEmpty else { return .failure(ConsoleError("'\(word)' takes nothing after it")) }
            return control(word == "pause" ? .pause : .resume)
        case "speed":
            guard let pace = ScenarioPace(parsing: rest) else {
                return .failure(ConsoleError("write 'speed N' (scenario seconds per real second, such as 30 or 0.5), 'speed manual' or 'speed max'"))
            }
            return control(.speed(pace))
        case "inject":
            if let e = need("NOW \"message\" or an inject id", first) { return .failure(e) }
            if first == "NOW" || first == "now" {
                let message = unquoted(afterFirst)
                if message.isEmpty { return .failure(ConsoleError("write 'inject NOW \"message\"'")) }
                return control(.injectNow(message: message, to: []))
            }
            guard afterFirst.isEmpty else { return .failure(ConsoleError("write 'inject ID' or 'inject NOW \"message\"'")) }
            return control(.deliver(inject: first))
        case "end":
            return control(.end(reason: rest.isEmpty ? "ended by the facilitator" : unquoted(rest)))
        case "overrule":
            let (ratingText, why) = split(afterFirst)
            guard !first.isEmpty, let rating = Rating(rawValue: ratingText.uppercased()) else {
                return .failure(ConsoleError("write 'overrule OBJECTIVE P|S|M|U because NOTE'"))
            }
            var note = why
            if note.hasPrefix("because ") { note = trimmed(String(note.dropFirst("because ".count))) }
            guard !note.isEmpty, note != "because" else { return .failure(ConsoleError("an overrule needs a note: overrule \(first) \(rating.rawValue) because WHY")) }
            return control(.overrule(objective: first, rating: rating, note: unquoted(note)))
        case "status":
            return .success(.status)
        case "evaluate":
            return .success(.evaluate)
        case "help", "?":
            return .success(.help)
        default:
            return .failure(ConsoleError("unknown command '\(word)'\(Suggestion.hint(for: word, in: consoleWords)) (type 'help')"))
        }
    }

    /// One line of the hot wash, the lessons round after the end: `+ TEXT` a strength, `- TEXT` or plain text an
    /// area for improvement, `lesson ...` as on the console, optionally `as NAME:` first; `overrule` (the natural
    /// moment for it is right after reading the ratings), `evaluate` and `help` work too. A line that starts with
    /// another console command is refused, never stored as a lesson by accident (the journal is append-only).
    public static func hotWash(_ line: String) -> HotWashLine {
        var text = trimmed(line)
        if text.isEmpty || text == "done" || text == "end" { return .end }
        var actor: String?
        if text.hasPrefix("as "), let colon = text.firstIndex(of: ":") {
            actor = trimmed(String(text[text.index(text.startIndex, offsetBy: 3)..<colon]))
            text = trimmed(String(text[text.index(after: colon)...]))
        }
        if text.hasPrefix("+") { return .lesson(actor: actor, Lesson(text: unquoted(trimmed(String(text.dropFirst()))), kind: .strength)) }
        if text.hasPrefix("-") { return .lesson(actor: actor, Lesson(text: unquoted(trimmed(String(text.dropFirst()))), kind: .improvement)) }
        let word = split(text).0
        switch word {
        case "lesson", "overrule":
            switch parse(text) {
            case .success(.action(_, .lesson(let lesson))): return .lesson(actor: actor, lesson)
            case .success(.control(_, .overrule(let objective, let rating, let note))):
                return .overrule(actor: actor, objective: objective, rating: rating, note: note)
            case .failure(let error): return .refused(error.message)
            default: return .refused("write 'overrule OBJECTIVE P|S|M|U because NOTE'")
            }
        case "help", "?": return .help
        case "evaluate", "status": return .evaluate
        case _ where consoleWords.contains(word):
            return .refused("'\(word)' is a console command, and the exercise has ended: nothing was recorded. The hot wash takes "
                + "lessons ('+ text', '- text'), 'overrule OBJECTIVE P|S|M|U because NOTE', 'evaluate' and 'help'; to record "
                + "this line as a lesson, start it with '-'")
        default:
            return .lesson(actor: actor, Lesson(text: unquoted(text), kind: .improvement))
        }
    }

    public static let hotWashHelpText = """
        hot wash:  + TEXT (a strength) | - TEXT or TEXT (an area for improvement) | lesson [strength|improvement] TEXT
                   prefix with 'as NAME:' to say who | overrule OBJECTIVE P|S|M|U because NOTE | evaluate | help
                   an empty line, 'done' or 'end' finishes
        """

    /// The first words of console commands (a hot-wash line starting with one is refused, not stored).
    static let consoleWords: [String] = [
        "done", "skip", "event", "raise", "decide", "assign", "relieve", "note", "lesson", "close", "pause", "resume",
        "speed", "inject", "end", "overrule", "status", "evaluate", "help",
    ]

    static func trimmed(_ text: String) -> String {
        var scalars = Substring(text)
        while let f = scalars.first, f == " " || f == "\t" || f == "\r" || f == "\n" { scalars.removeFirst() }
        while let l = scalars.last, l == " " || l == "\t" || l == "\r" || l == "\n" { scalars.removeLast() }
        return String(scalars)
    }

    /// The first word and the rest, both trimmed.
    static func split(_ text: String) -> (String, String) {
        let t = trimmed(text)
        guard let space = t.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return (t, "") }
        return (String(t[..<space]), trimmed(String(t[space...])))
    }

    /// Text without one pair of surrounding double or single quotes.
    static func unquoted(_ text: String) -> String {
        let t = trimmed(text)
        if t.count >= 2, let f = t.first, let l = t.last, f == l, f == "\"" || f == "'" { return String(t.dropFirst().dropLast()) }
        return t
    }
}

public struct ConsoleError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
