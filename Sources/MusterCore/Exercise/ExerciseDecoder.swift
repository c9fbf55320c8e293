/// Turns a located source tree into an `Exercise`, checking structure only (known keys with suggestions,
/// value types, required keys, durations, speeds, the `do:` syntax of expectations, the syntax of `unless`
/// guards, duplicate ids). Whether names exist in the playbook is `ExerciseValidator`'s business.
///
/// It reuses the playbook decoder's helpers (`Decoding`), so both files report problems the same way.
/// `exercise` is nil when an error left a hole in the model.
public enum ExerciseDecoder {
    public static let formatVersion = 1

    enum Keys {
        static let exercise = ["muster", "exercise", "title", "type", "playbook", "scenario", "objectives", "participants",
                               "controllers", "evaluators", "clock", "duration", "ratings", "injects", "roster"]
        static let playbook = ["id", "version"]
        static let objective = ["id", "text", "capability"]
        static let clock = ["speed", "start", "disruption_started"]
        static let ratings = ["P", "S", "M", "late_credit"]
        static let inject = ["id", "at", "contingency", "unless", "from", "to", "method", "message", "expect", "questions",
                             "controller", "notes"]
        static let expectation = ["do", "within", "objective"]
        static let rosterPerson = ["name", "groups", "site", "deputy", "reachable"]
    }

    /// Whether a YAML tree looks like an exercise file (a mapping with an `exercise` key) rather than a playbook.
    public static func isExercise(_ node: SourceNode) -> Bool {
        if case .mapping(let m) = node { return m["exercise"] != nil }
        return false
    }

    public static func decode(_ node: SourceNode) -> (exercise: Exercise?, diagnostics: [Diagnostic]) {
        var reader = ExerciseReading()
        let exercise = reader.exercise(node)
        return (reader.d.complete ? exercise : nil, reader.d.diagnostics.sortedByLocation())
    }
}

struct ExerciseReading {
    var d = Decoding()
    var firstInject: [String: SourceLocation] = [:]
    var firstObjective: [String: SourceLocation] = [:]
    var firstRosterName: [String: SourceLocation] = [:]

    mutating func exercise(_ node: SourceNode) -> Exercise? {
        guard case .mapping(let top) = node else {
            d.fail("wrong-type", "an exercise must be a mapping of keys such as 'muster', 'exercise' and 'injects', found \(node.kindDescription)", at: node.location)
            return nil
        }
        let context = "the exercise"
        if let versionNode = d.required(top, "muster", in: context, why: " (the format version: write muster: 1)"),
           let format = d.wholeNumber(versionNode, "muster"), format != ExerciseDecoder.formatVersion {
            d.fail("unsupported-format", "unsupported format version \(format) (this Muster reads format \(ExerciseDecoder.formatVersion))", at: versionNode.location)
            return nil
        }
        d.checkKeys(top, allowed: ExerciseDecoder.Keys.exercise, in: context)

        let id = d.required(top, "exercise", in: context, why: " (the exercise's id)").flatMap { d.locatedText($0, "exercise") }
        if let id, !Decoding.isSlug(id.value) {
            d.report("invalid-id", "'\(id.value)' is not a valid exercise id (use lowercase letters, digits, '-' and '_', starting with a letter or digit)", at: id.location)
        }
        let title = d.required(top, "title", in: context).flatMap { d.text($0, "title") }
        var type = ExerciseType.tabletop
        if let node = top["type"], let name = d.locatedText(node, "type") {
            if let t = ExerciseType(rawValue: name.value) {
                type = t
            } else {
                let names = ExerciseType.allCases.map(\.rawValue)
                d.fail("invalid-name", "'\(name.value)' is not an exercise type\(d.hintOr(name.value, names, "write \(names.joined(separator: ", "))"))", at: name.location)
            }
        }
        var playbookID: Located<String>?
        var playbookVersion: Located<Int>?
        if let node = d.required(top, "playbook", in: context, why: " (the id of the playbook under test)") {
            if case .mapping(let m) = node {
                d.checkKeys(m, allowed: ExerciseDecoder.Keys.playbook, in: "'playbook'")
                playbookID = d.required(m, "id", in: "'playbook'").flatMap { d.locatedText($0, "id") }
                if let v = m["version"], let n = d.wholeNumber(v, "version") {
                    if n < 1 { d.report("invalid-value", "'version' must be at least 1, found \(n)", at: v.location) }
                    playbookVersion = Located(n, at: v.location)
                }
            } else {
                playbookID = d.locatedText(node, "playbook", what: "a playbook id or a mapping with 'id' and 'version'")
            }
        }
        // The id names a file in the playbooks folder: nothing that could make a path leave it.
        if let id = playbookID, !Playbook.isValidID(id.value) {
            d.report("invalid-id", "'\(id.value)' is not a playbook id (use lowercase letters, digits, '-' and '_', starting with a letter or digit)", at: id.location)
        }
        let scenario = top["scenario"].flatMap { d.text($0, "scenario") }
        let objectives = top["objectives"].flatMap { d.list($0, "objectives") }.map { decodeObjectives($0) } ?? []
        let participants = top["participants"].flatMap { d.mapping($0, "participants") }.map { decodeParticipants($0) } ?? []
        let controllers = top["controllers"].flatMap { names($0, "controllers") } ?? []
        let evaluators = top["evaluators"].flatMap { names($0, "evaluators") } ?? []
        let clock = top["clock"].flatMap { d.mapping($0, "clock") }.map { decodeClock($0) } ?? ClockSettings()
        var duration: Located<TimeSpan>?
        if let node = top["duration"], let span = d.duration(node, "duration") {
            if span.value <= .zero { d.report("invalid-value", "'duration' must be positive, found \(span.value)", at: span.location) }
            duration = span
        }
        let ratings = top["ratings"].flatMap { d.mapping($0, "ratings") }.map { decodeRatings($0) } ?? .defaults
        var injects: [Inject] = []
        if let node = d.required(top, "injects", in: context, why: " (the master scenario events list)"), let list = d.list(node, "injects") {
            injects = decodeInjects(list)
        }
        let roster = top["roster"].flatMap { d.list($0, "roster") }.map { decodeRoster($0) }
        guard let id, let title, let playbookID else { return nil }
        return Exercise(
            id: id, title: title, type: type, playbook: playbookID, playbookVersion: playbookVersion, scenario: scenario,
            objectives: objectives, participants: participants, controllers: controllers, evaluators: evaluators,
            clock: clock, duration: duration, ratings: ratings, injects: injects, roster: roster, location: top.location)
    }

    /// One name or a list of names.
    mutating func names(_ node: SourceNode, _ key: String) -> [String]? {
        if case .sequence = node { return d.textList(node, key)?.map(\.value) }
        return d.text(node, key, what: "a name or a list of names").map { [$0] }
    }

    mutating func decodeObjectives(_ nodes: [SourceNode]) -> [ExerciseObjective] {
        nodes.enumerated().compactMap { index, node in
            guard let fields = d.itemMapping(node, "objective #\(index + 1)") else { return nil }
            let id = d.required(fields, "id", in: "objective #\(index + 1)").flatMap { d.locatedText($0, "id") }
            let context = id.map { "objective '\($0.value)'" } ?? "objective #\(index + 1)"
            d.checkKeys(fields, allowed: ExerciseDecoder.Keys.objective, in: context)
            if let id { unique(id, kind: "objective", in: \.firstObjective) }
            let text = d.required(fields, "text", in: context).flatMap { d.text($0, "text") }
            let capability = fields["capability"].flatMap { d.text($0, "capability") }
            guard let id, let text else { return nil }
            return ExerciseObjective(id: id, text: text, capability: capability, location: fields.location)
        }
    }

    /// `roster:` people: a name (unique without regard to case), groups (one or a list), a site, a deputy, and
    /// the channels they are reachable on (one or a list; `[]` for nobody's reach).
    mutating func decodeRoster(_ nodes: [SourceNode]) -> [RosterPerson] {
        nodes.enumerated().compactMap { index, node in
            let numbered = "roster person #\(index + 1)"
            guard let fields = d.itemMapping(node, numbered) else { return nil }
            let name = d.required(fields, "name", in: numbered).flatMap { d.locatedText($0, "name", what: "the name of a person") }
            let context = name.map { "roster person '\($0.value)'" } ?? numbered
            d.checkKeys(fields, allowed: ExerciseDecoder.Keys.rosterPerson, in: context)
            if let name {
                if name.value.isEmpty || name.value.count > 64 {
                    d.report("invalid-value", "a roster name must have 1 to 64 characters", at: name.location)
                }
                let key = name.value.lowercased()
                if let first = firstRosterName[key] {
                    d.report("duplicate-person", "'\(name.value)' is already on the roster (at \(first.line):\(first.column)); names are compared without regard to case", at: name.location)
                } else {
                    firstRosterName[key] = name.location
                }
            }
            func list(_ key: String) -> [Located<String>]? {
                guard let node = fields[key] else { return nil }
                if case .sequence = node { return d.textList(node, key) }
                if node.isNullScalar { return [] }
                return d.locatedText(node, key, what: "a name or a list of names").map { [$0] }
            }
            let groups = list("groups") ?? []
            for group in groups where !Decoding.isSlug(group.value) {
                d.report("invalid-id", "'\(group.value)' is not a group name (use lowercase letters, digits, '-' and '_')", at: group.location)
            }
            let site = fields["site"].flatMap { d.text($0, "site") }
            let deputy = fields["deputy"].flatMap { d.locatedText($0, "deputy", what: "the name of a person on the roster") }
            if let deputy, let name, deputy.value.lowercased() == name.value.lowercased() {
                d.report("invalid-value", "\(name.value) cannot be their own deputy", at: deputy.location)
            }
            let reachable = list("reachable")
            guard let name else { return nil }
            return RosterPerson(name: name, groups: groups, site: site, deputy: deputy, reachable: reachable, location: fields.location)
        }
    }

    mutating func decodeParticipants(_ m: SourceNode.Mapping) -> [Participant] {
        m.entries.compactMap { entry in
            guard let person = d.locatedText(entry.value, entry.key.text, what: "the name of a person") else { return nil }
            return Participant(role: Located(entry.key.text, at: entry.key.location), person: person)
        }
    }

    mutating func decodeClock(_ m: SourceNode.Mapping) -> ClockSettings {
        d.checkKeys(m, allowed: ExerciseDecoder.Keys.clock, in: "'clock'")
        var clock = ClockSettings()
        if let node = m["speed"], let text = d.locatedText(node, "speed", what: "a speed such as 30, or manual") {
            if let pace = ScenarioPace(parsing: text.value) {
                clock.pace = pace
            } else {
                d.fail("invalid-value", "'\(text.value)' is not a speed (write scenario seconds per real second such as 30 or 0.5, or manual, or max)", at: text.location)
            }
        }
        if let node = m["start"], let text = d.locatedText(node, "start", what: "a UTC time such as 2026-03-06T17:40:00Z") {
            if let instant = Instant(iso8601: text.value) {
                clock.start = instant
            } else {
                d.fail("bad-time", "'start' must be a UTC time such as 2026-03-06T17:40:00Z, found '\(text.value)'", at: text.location)
            }
        }
        if let node = m["disruption_started"], let span = d.duration(node, "disruption_started") {
            if span.value < .zero { d.report("invalid-value", "'disruption_started' must not be negative", at: span.location) }
            clock.disruptionStarted = span.value
        }
        return clock
    }

    mutating func decodeRatings(_ m: SourceNode.Mapping) -> RatingThresholds {
        d.checkKeys(m, allowed: ExerciseDecoder.Keys.ratings, in: "'ratings'")
        var ratings = RatingThresholds.defaults
        func percent(_ key: String) -> Int? {
            guard let node = m[key] else { return nil }
            guard case .scalar(let s) = node, !s.isNull else {
                d.wrongType(key, "a percentage such as 75%", node)
                return nil
            }
            let digits = s.text.hasSuffix("%") ? String(s.text.dropLast()) : s.text
            guard let n = Int(digits), !digits.hasPrefix("+"), (0...100).contains(n) else {
                d.fail("invalid-value", "'\(key)' must be a percentage from 0% to 100%, found '\(s.text)'", at: s.location)
                return nil
            }
            return n
        }
        if let p = percent("P") { ratings.performed = p }
        if let s = percent("S") { ratings.some = s }
        if let mj = percent("M") { ratings.major = mj }
        if let late = percent("late_credit") { ratings.lateCredit = late }
        if !(ratings.performed >= ratings.some && ratings.some >= ratings.major) {
            d.report("invalid-value", "rating thresholds must not increase from P to S to M (found P \(ratings.performed)%, S \(ratings.some)%, M \(ratings.major)%)", at: m.location)
        }
        return ratings
    }

    // MARK: Injects

    mutating func decodeInjects(_ nodes: [SourceNode]) -> [Inject] {
        nodes.enumerated().compactMap { index, node in
            let numbered = "inject #\(index + 1)"
            guard let fields = d.itemMapping(node, numbered) else { return nil }
            let id = d.required(fields, "id", in: numbered).flatMap { d.locatedText($0, "id") }
            if let id {
                d.checkID(id, kind: "inject")
                unique(id, kind: "inject", in: \.firstInject)
            }
            let context = id.map { "inject '\($0.value)'" } ?? numbered
            d.checkKeys(fields, allowed: ExerciseDecoder.Keys.inject, in: context)
            var at: Located<TimeSpan>?
            if let node = d.required(fields, "at", in: context, why: " (scenario time from the start, such as 25m)"), let span = d.duration(node, "at") {
                if span.value < .zero { d.report("invalid-value", "'at' must not be negative", at: span.location) }
                at = span
            }
            let contingency = fields["contingency"].flatMap { d.bool($0, "contingency") } ?? false
            var unless: Located<GuardExpression>?
            if let node = fields["unless"], d.scalar(node, "unless", what: "a condition such as decisions.ID == \"option\"") != nil {
                unless = d.guardExpression(node)
            }
            let from = fields["from"].flatMap { d.text($0, "from") }
            var to: [Located<String>] = []
            if let node = fields["to"] {
                if case .sequence = node {
                    to = d.textList(node, "to") ?? []
                } else if let one = d.locatedText(node, "to", what: "a role or a list of roles") {
                    to = [one]
                }
            }
            var method = InjectMethod.inPerson
            if let node = fields["method"], let name = d.locatedText(node, "method") {
                switch name.value {
                case "phone": method = .phone
                case "email": method = .email
                case "chat": method = .chat
                case "in-person": method = .inPerson
                default:
                    if name.value.hasPrefix("channel:"), name.value.count > "channel:".count {
                        let channel = String(name.value.dropFirst("channel:".count))
                        let offset = "channel:".unicodeScalars.count
                        let location = isInline(node) ? name.location.advanced(byColumns: offset + quoteOffset(node)) : name.location
                        method = .channel(Located(channel, at: location))
                    } else {
                        let plain = ["phone", "email", "chat", "in-person"]
                        d.report("invalid-name", "'\(name.value)' is not a delivery method\(d.hintOr(name.value, plain, "write \(InjectMethod.names.joined(separator: ", "))"))", at: name.location)
                    }
                }
            }
            let message = d.required(fields, "message", in: context).flatMap { d.text($0, "message") }
            var expect: [InjectExpectation] = []
            if let node = fields["expect"], let list = d.list(node, "expect") {
                expect = list.enumerated().compactMap { i, item in decodeExpectation(item, index: i, of: context) }
            }
            var questions: [String] = []
            if let node = fields["questions"] { questions = names(node, "questions") ?? [] }
            let controller = fields["controller"].flatMap { d.text($0, "controller") }
            let notes = fields["notes"].flatMap { d.text($0, "notes") }
            guard let id, let at, let message else { return nil }
            return Inject(id: id, at: at, contingency: contingency, unless: unless, from: from, to: to, method: method,
                          message: message, expect: expect, questions: questions, controller: controller, notes: notes,
                          location: fields.location)
        }
    }

    func isInline(_ node: SourceNode) -> Bool {
        if case .scalar(let s) = node { return s.hasInlineColumns }
        return false
    }

    /// 1 for a quoted scalar (its text starts after the quote), 0 otherwise.
    func quoteOffset(_ node: SourceNode) -> Int {
        if case .scalar(let s) = node, s.style == .singleQuoted || s.style == .doubleQuoted { return 1 }
        return 0
    }

    mutating func decodeExpectation(_ node: SourceNode, index: Int, of inject: String) -> InjectExpectation? {
        let context = "expectation #\(index + 1) of \(inject)"
        guard let fields = d.itemMapping(node, context) else { return nil }
        d.checkKeys(fields, allowed: ExerciseDecoder.Keys.expectation, in: context)
        var what: ExpectedAction?
        var text = ""
        if let doNode = d.required(fields, "do", in: context, why: " (such as 'task confirm' or 'decision declare-major = declare')"),
           let s = d.scalar(doNode, "do", what: "an action such as 'task confirm'") {
            text = s.text
            what = parseAction(s)
        }
        var within: Located<TimeSpan>?
        if let node = fields["within"], let span = d.duration(node, "within") {
            if span.value <= .zero { d.report("invalid-value", "'within' must be positive, found \(span.value)", at: span.location) }
            within = span
        }
        let objective = fields["objective"].flatMap { d.locatedText($0, "objective") }
        guard let what else { return nil }
        return InjectExpectation(what: what, within: within, objective: objective, text: text, location: fields.location)
    }

    /// `KIND NAME` or `KIND NAME = VALUE`, each word located in the file when the scalar is on one line.
    mutating func parseAction(_ s: SourceNode.Scalar) -> ExpectedAction? {
        var words: [(text: String, offset: Int)] = []
        var current = ""
        var start = 0
        for (i, c) in s.text.unicodeScalars.enumerated() {
            if c == " " || c == "\t" || c == "=" {
                if !current.isEmpty { words.append((current, start)) }
                current = ""
                if c == "=" { words.append(("=", i)) }
            } else {
                if current.isEmpty { start = i }
                current.unicodeScalars.append(c)
            }
        }
        if !current.isEmpty { words.append((current, start)) }
        func at(_ offset: Int) -> SourceLocation { s.hasInlineColumns ? s.textLocation.advanced(byColumns: offset) : s.location }
        func located(_ w: (text: String, offset: Int)) -> Located<String> { Located(w.text, at: at(w.offset)) }
        let kinds = ExpectedAction.kinds
        let usage = "write one of: task ID, event NAME, decision ID [= OPTION], state ID, role ID [= PERSON], notification CHANNEL, rollcall ID PERCENT%, ack ID"
        guard let kind = words.first else {
            d.report("invalid-expectation", "an expectation needs an action (\(usage))", at: s.location)
            return nil
        }
        guard kinds.contains(kind.text) else {
            d.report("invalid-expectation", "'\(kind.text)' is not a kind of expected action\(d.hintOr(kind.text, kinds, usage))", at: at(kind.offset))
            return nil
        }
        guard words.count >= 2, words[1].text != "=" else {
            d.report("invalid-expectation", "'\(kind.text)' needs a name after it (\(usage))", at: at(kind.offset))
            return nil
        }
        let name = located(words[1])
        if kind.text == "rollcall" {
            guard words.count >= 3, words[2].text != "=" else {
                d.report("invalid-expectation", "write 'rollcall \(name.value) PERCENT%': the share of the roll call's people accounted for, such as 90%", at: at(words[1].offset))
                return nil
            }
            let share = words[2]
            let digits = share.text.hasSuffix("%") ? String(share.text.dropLast()) : ""
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), digits.count <= 3, let percent = Int(digits) else {
                d.report("invalid-expectation", "'\(share.text)' is not a percentage (write the share of people accounted for, such as 90%)", at: at(share.offset))
                return nil
            }
            guard (0...100).contains(percent) else {
                d.report("percentage-out-of-range", "\(percent)% is not a share of a roll call's people (write 0% to 100%)", at: at(share.offset))
                return nil
            }
            if words.count > 3 {
                d.report("invalid-expectation", "unexpected '\(words[3].text)' after 'rollcall \(name.value) \(share.text)'", at: at(words[3].offset))
                return nil
            }
            return .rollCall(name, percent: Located(percent, at: at(share.offset)))
        }
        var value: Located<String>?
        if words.count > 2 {
            let takesValue = kind.text == "decision" || kind.text == "role"
            if takesValue, words[2].text == "=", words.count == 4, words[3].text != "=" {
                value = located(words[3])
            } else if takesValue, words[2].text == "=" {
                d.report("invalid-expectation", "write '\(kind.text) \(name.value) = \(kind.text == "role" ? "PERSON" : "OPTION")' with one name after '='", at: at(words[2].offset))
                return nil
            } else {
                d.report("invalid-expectation", "unexpected '\(words[2].text)' after '\(kind.text) \(name.value)' (\(usage))", at: at(words[2].offset))
                return nil
            }
        }
        switch kind.text {
        case "task": return .task(name)
        case "event": return .event(name)
        case "decision": return .decision(name, option: value)
        case "state": return .state(name)
        case "role": return .role(name, person: value)
        case "ack": return .ack(name)
        default: return .notification(name)
        }
    }

    mutating func unique(_ id: Located<String>, kind: String, in seen: WritableKeyPath<ExerciseReading, [String: SourceLocation]>) {
        if let first = self[keyPath: seen][id.value] {
            d.report("duplicate-id", "duplicate \(kind) id '\(id.value)' (first defined at \(first.line):\(first.column))", at: id.location)
        } else {
            self[keyPath: seen][id.value] = id.location
        }
    }
}
