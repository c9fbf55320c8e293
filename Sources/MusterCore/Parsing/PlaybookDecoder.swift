/// Turns a located source tree into a `Playbook`, checking structure only: known keys, value types, required
/// keys, durations, names from fixed lists (phases, marks, severities, channel types), the syntax of guards,
/// templates and time expressions, the format version, and ids that must be unique across the playbook.
/// Whether references point anywhere (states, roles, channels...) is the validator's business.
///
/// It reports as many independent errors as it can in one pass. `playbook` is nil when an error left a hole
/// in the model (a missing or mistyped value); errors such as an unknown key or a duplicate id leave the
/// model whole, so the playbook comes back with them and can be validated too.
public enum PlaybookDecoder {
    public static let formatVersion = 1

    public static func decode(_ node: SourceNode) -> (playbook: Playbook?, diagnostics: [Diagnostic]) {
        let decoded = decodeForValidation(node)
        return (decoded.playbook, decoded.diagnostics)
    }

    /// What the decoder made of a tree, whole or not.
    public struct Decoded: Sendable {
        /// The playbook, when no error left a hole in it.
        public var playbook: Playbook?
        /// When the tree is a mapping: the playbook as far as it decoded, holes filled with placeholders located
        /// at line 0 (`PlaybookDecoder.placeholderLine`), items without a usable id left out. For validating
        /// the rest of a broken file in the same pass (`PlaybookValidator.independentFindings`), never for running.
        public var partial: Playbook?
        /// The kinds of item (`state`, `role`, `channel`, `task`, `decision`, `service`, `timer`, `transition`)
        /// of which at least one was left out of `partial`: references to that kind may point at the missing one.
        public var missingKinds: Set<String>
        public var diagnostics: [Diagnostic]
    }

    /// The line of the placeholders in `Decoded.partial`: no finding about a placeholder is real.
    public static let placeholderLine = 0

    /// `decode`, with the partial model of a file that has errors, so that the validator can report every
    /// independent error of the file in the same run.
    public static func decodeForValidation(_ node: SourceNode) -> Decoded {
        var decoding = Decoding()
        let partial = decoding.playbook(node)
        return Decoded(playbook: decoding.complete ? partial : nil, partial: partial, missingKinds: decoding.missingKinds,
                       diagnostics: decoding.diagnostics.sortedByLocation())
    }

    static let durationHint = "(write 30m, 4h, 1h30m, 2d)"

    enum Keys {
        static let playbook = ["muster", "id", "version", "title", "summary", "severity", "review_every", "services",
                               "roles", "commander", "channels", "start", "timers", "states"]
        static let service = ["title", "rto", "rpo", "mtpd", "minimum_capacity", "depends_on"]
        static let role = ["title", "required", "responsibilities"]
        static let state = ["title", "phase", "owner", "marks", "on_enter", "tasks", "timers", "transitions", "decision",
                            "terminal"]
        static let task = ["id", "title", "role", "evidence"]
        static let transition = ["on", "when", "to"]
        static let decision = ["id", "question", "by", "options", "deadline", "default"]
        static let timer = ["id", "after", "at", "repeat", "notify", "message", "raise", "when", "to", "ack_within", "escalate",
                            "roll_call"]
        static let action = ["notify", "message", "raise", "roll_call", "to", "id", "ack_within", "escalate"]
        static let rollCall = ["id", "who", "ask", "options", "via", "resend", "within"]
        static let resend = ["every", "max"]
        static let audience = ["group", "role", "person"]
        static let channelCommon = ["type", "exercise", "live_only", "max_attempts", "timeout"]
        static let channelSettings = ["url", "secret", "headers", "to", "from", "subject", "smtp", "username", "password",
                                      "starttls", "routing_key", "account", "token"]

        /// Settings each channel type takes, and which of them it requires.
        static func channel(_ type: ChannelType) -> (allowed: [String], required: [String]) {
            switch type {
            case .webhook: (["url", "secret", "headers"], ["url"])
            case .slack, .teams, .mattermost: (["url"], ["url"])
            case .pagerduty: (["routing_key", "url"], ["routing_key"])
            case .email: (["to", "from", "subject", "smtp", "username", "password", "starttls"], ["to"])
            // A Twilio-compatible API: `to` is optional (personal messages go to the person's phone).
            case .sms: (["url", "account", "token", "from", "to"], ["url", "account", "token", "from"])
            }
        }
    }
}

/// One pass over one playbook's tree, collecting diagnostics.
struct Decoding {
    var diagnostics: [Diagnostic] = []
    /// False once an error left the model without a value it needs.
    var complete = true
    /// Kinds of item left out of the model (see `PlaybookDecoder.Decoded.missingKinds`).
    var missingKinds: Set<String> = []
    private var firstTask: [String: SourceLocation] = [:]
    private var firstTimer: [String: SourceLocation] = [:]
    private var firstDecision: [String: SourceLocation] = [:]
    private var firstRollCall: [String: SourceLocation] = [:]
    private var firstAck: [String: SourceLocation] = [:]

    typealias Mapping = SourceNode.Mapping
    typealias Scalar = SourceNode.Scalar

    /// An error that leaves a hole in the model.
    mutating func fail(_ code: String, _ message: String, at location: SourceLocation) {
        diagnostics.append(.error(code, message, at: location))
        complete = false
    }

    /// An error after which the model is still whole (the value read is usable as written).
    mutating func report(_ code: String, _ message: String, at location: SourceLocation) {
        diagnostics.append(.error(code, message, at: location))
    }

    /// A stand-in for a value an error left out (never seen by anything that runs: `complete` is false).
    func placeholder<T>(_ value: T, near location: SourceLocation) -> Located<T> {
        Located(value, at: SourceLocation(file: location.file, line: PlaybookDecoder.placeholderLine, column: 0))
    }

    /// A section (`roles:`, `tasks:`...) that is there but not of the right type: all its items are missing.
    mutating func section<T>(_ node: SourceNode?, kind: String, _ read: (inout Decoding, SourceNode) -> T?) -> T? {
        guard let node else { return nil }
        let value = read(&self, node)
        if value == nil { missingKinds.insert(kind) }
        return value
    }

    // MARK: - The playbook

    mutating func playbook(_ node: SourceNode) -> Playbook? {
        guard case .mapping(let top) = node else {
            fail("wrong-type", "a playbook must be a mapping of keys such as 'muster', 'id' and 'states', found \(node.kindDescription)", at: node.location)
            return nil
        }
        let context = "the playbook"
        // The format version comes first: keys of another format mean nothing here.
        if let versionNode = required(top, "muster", in: context, why: " (the format version: write muster: 1)") {
            if let format = wholeNumber(versionNode, "muster"), format != PlaybookDecoder.formatVersion {
                return failFormat(format, at: versionNode.location)
            }
        }
        checkKeys(top, allowed: PlaybookDecoder.Keys.playbook, in: context)

        let id = required(top, "id", in: context).flatMap { locatedText($0, "id") }
        if let id, !Decoding.isSlug(id.value) {
            report("invalid-id", "'\(id.value)' is not a valid playbook id (use lowercase letters, digits, '-' and '_', starting with a letter or digit)", at: id.location)
        }
        var version: Int?
        if let node = required(top, "version", in: context), let v = wholeNumber(node, "version") {
            if v < 1 { report("invalid-value", "'version' must be at least 1, found \(v)", at: node.location) }
            version = v
        }
        let title = required(top, "title", in: context).flatMap { text($0, "title") }
        let summary = top["summary"].flatMap { text($0, "summary") }
        var severity = Severity.p3
        if let node = top["severity"], let s = severityValue(node) { severity = s }
        let reviewEvery = top["review_every"].flatMap { duration($0, "review_every") }
        let services = section(top["services"], kind: "service") { $0.mapping($1, "services") }.map { decodeServices($0) } ?? []
        let roles = section(top["roles"], kind: "role") { $0.mapping($1, "roles") }.map { decodeRoles($0) } ?? []
        let channels = section(top["channels"], kind: "channel") { $0.mapping($1, "channels") }.map { decodeChannels($0) } ?? []
        let start = required(top, "start", in: context).flatMap { locatedText($0, "start") }
        let commander = top["commander"].flatMap { locatedText($0, "commander") }
        let timers = section(top["timers"], kind: "timer") { $0.list($1, "timers") }.map { decodeTimers($0, of: nil) } ?? []
        let statesNode = required(top, "states", in: context)
        if statesNode == nil { missingKinds.insert("state") }
        let states = section(statesNode, kind: "state") { $0.mapping($1, "states") }.map { decodeStates($0) } ?? []

        return Playbook(
            formatVersion: PlaybookDecoder.formatVersion, id: id ?? placeholder("", near: top.location), version: version ?? 1,
            title: title ?? "", summary: summary,
            severity: severity, reviewEvery: reviewEvery?.value, services: services, roles: roles, channels: channels,
            start: start ?? placeholder("", near: top.location), timers: timers, states: states, commander: commander,
            location: top.location)
    }

    mutating func failFormat(_ format: Int, at location: SourceLocation) -> Playbook? {
        fail("unsupported-format", "unsupported format version \(format) (this Muster reads format \(PlaybookDecoder.formatVersion))", at: location)
        return nil
    }

    // MARK: - Services, roles, channels

    mutating func decodeServices(_ m: Mapping) -> [Service] {
        m.entries.compactMap { entry in
            let id = itemID(entry.key, kind: "service")
            let context = "service '\(id.value)'"
            guard let fields = itemMapping(entry.value, context) else { return Service(id: id) }
            checkKeys(fields, allowed: PlaybookDecoder.Keys.service, in: context)
            var service = Service(id: id)
            service.title = fields["title"].flatMap { text($0, "title") }
            service.rto = fields["rto"].flatMap { duration($0, "rto") }
            service.rpo = fields["rpo"].flatMap { duration($0, "rpo") }
            service.mtpd = fields["mtpd"].flatMap { duration($0, "mtpd") }
            service.minimumCapacity = fields["minimum_capacity"].flatMap { text($0, "minimum_capacity") }
            if let deps = fields["depends_on"].flatMap({ mapping($0, "depends_on") }) {
                let elements = DependencyElement.allCases.map(\.rawValue)
                checkKeys(deps, allowed: elements, in: "depends_on of \(context)")
                for dep in deps.entries {
                    guard let element = DependencyElement(rawValue: dep.key.text) else { continue }
                    if let names = textList(dep.value, dep.key.text) { service.dependsOn[element] = names.map(\.value) }
                }
            }
            return service
        }
    }

    mutating func decodeRoles(_ m: Mapping) -> [Role] {
        m.entries.compactMap { entry in
            let id = itemID(entry.key, kind: "role")
            let context = "role '\(id.value)'"
            // Shorthand: `comms: Communications lead`.
            if case .scalar(let s) = entry.value, !s.isNull {
                return Role(id: id, title: s.text)
            }
            guard let fields = itemMapping(entry.value, context, orWhat: "a title or a mapping") else { return Role(id: id, title: "") }
            checkKeys(fields, allowed: PlaybookDecoder.Keys.role, in: context)
            let title = required(fields, "title", in: context).flatMap { text($0, "title") }
            let isRequired = fields["required"].flatMap { bool($0, "required") } ?? false
            var responsibilities: String?
            if let node = fields["responsibilities"] {
                if case .sequence = node {
                    responsibilities = textList(node, "responsibilities")?.map(\.value).joined(separator: "\n")
                } else {
                    responsibilities = text(node, "responsibilities", what: "text or a list")
                }
            }
            return Role(id: id, title: title ?? "", required: isRequired, responsibilities: responsibilities)
        }
    }

    mutating func decodeChannels(_ m: Mapping) -> [Channel] {
        m.entries.compactMap { entry in
            let id = itemID(entry.key, kind: "channel")
            let context = "channel '\(id.value)'"
            guard let fields = itemMapping(entry.value, context) else {
                missingKinds.insert("channel")
                return nil
            }
            let typeNames = ChannelType.allCases.map(\.rawValue)
            var type: Located<ChannelType>?
            if let node = required(fields, "type", in: context, why: " (one of \(typeNames.joined(separator: ", ")))"),
               let name = locatedText(node, "type") {
                if let t = ChannelType(rawValue: name.value) {
                    type = Located(t, at: name.location)
                } else {
                    fail("invalid-name", "'\(name.value)' is not a channel type\(hintOr(name.value, typeNames, "write \(typeNames.joined(separator: ", "))"))", at: name.location)
                }
            }
            let perType = type.map { PlaybookDecoder.Keys.channel($0.value) }
            // Unknown keys, and known keys that do not apply to this type.
            let allowed = PlaybookDecoder.Keys.channelCommon + (perType?.allowed ?? PlaybookDecoder.Keys.channelSettings)
            for field in fields.entries where !allowed.contains(field.key.text) {
                if let type, PlaybookDecoder.Keys.channelSettings.contains(field.key.text) {
                    let article = type.value == .email || type.value == .sms ? "an" : "a"
                    report("channel-key", "'\(field.key.text)' does not apply to \(article) \(type.value.rawValue) channel (\(context))", at: field.key.location)
                } else {
                    report("unknown-key", "unknown key '\(field.key.text)' in \(context)\(Suggestion.hint(for: field.key.text, in: allowed))", at: field.key.location)
                }
            }
            for key in perType?.required ?? [] where fields[key] == nil {
                fail("missing-key", "\(context) is missing required key '\(key)' (\(type!.value.rawValue) channels need it)", at: fields.location)
            }
            var settings: [String: Located<ChannelValue>] = [:]
            for key in perType?.allowed ?? [] {
                guard let node = fields[key] else { continue }
                let value: ChannelValue?
                switch key {
                case "headers":
                    value = stringMap(node, key).map(ChannelValue.map)
                case "to":
                    // One address or a list; kept as a list either way.
                    if case .sequence = node {
                        value = textList(node, key).map { .list($0.map(\.value)) }
                    } else {
                        value = text(node, key, what: "an address or a list of addresses").map { .list([$0]) }
                    }
                case "starttls":
                    value = bool(node, key).map(ChannelValue.flag)
                default:
                    value = text(node, key).map(ChannelValue.text)
                }
                if key == "smtp", case .text(let url)? = value, !url.contains("${"),
                   !(url.hasPrefix("smtp://") || url.hasPrefix("smtps://")) {
                    report("invalid-value", "'smtp' must be an smtp:// or smtps:// URL, found '\(url)'", at: node.location)
                }
                if let value { settings[key] = Located(value, at: node.location) }
            }
            if let node = fields["timeout"], let span = duration(node, "timeout") {
                settings["timeout"] = Located(.text(span.value.description), at: node.location)
            }
            let exercise = fields["exercise"].flatMap { locatedText($0, "exercise") }
            let liveOnly = fields["live_only"].flatMap { bool($0, "live_only") } ?? false
            var maxAttempts: Int?
            if let node = fields["max_attempts"], let n = wholeNumber(node, "max_attempts") {
                if n < 1 { report("invalid-value", "'max_attempts' must be at least 1, found \(n)", at: node.location) }
                maxAttempts = n
            }
            guard let type else {
                missingKinds.insert("channel")
                return nil
            }
            return Channel(id: id, type: type, settings: settings, exerciseOverride: exercise, liveOnly: liveOnly, maxAttempts: maxAttempts)
        }
    }

    // MARK: - States

    mutating func decodeStates(_ m: Mapping) -> [State] {
        m.entries.compactMap { entry in
            let id = itemID(entry.key, kind: "state")
            let context = "state '\(id.value)'"
            guard let fields = itemMapping(entry.value, context) else {
                return State(id: id, title: nil, phases: [], owner: nil, marks: [], onEnter: [], tasks: [], timers: [], transitions: [],
                             decision: nil, terminal: false, location: entry.key.location)
            }
            checkKeys(fields, allowed: PlaybookDecoder.Keys.state, in: context)
            let title = fields["title"].flatMap { text($0, "title") }
            let phases = required(fields, "phase", in: context).flatMap { phaseList($0) }
            let owner = fields["owner"].flatMap { locatedText($0, "owner") }
            let marks = fields["marks"].flatMap { markList($0) } ?? []
            let onEnter = fields["on_enter"].flatMap { list($0, "on_enter") }.map { decodeActions($0, of: context) } ?? []
            let tasks = section(fields["tasks"], kind: "task") { $0.list($1, "tasks") }.map { decodeTasks($0, of: context) } ?? []
            let timers = section(fields["timers"], kind: "timer") { $0.list($1, "timers") }.map { decodeTimers($0, of: context) } ?? []
            let transitions = section(fields["transitions"], kind: "transition") { $0.list($1, "transitions") }
                .map { decodeTransitions($0, of: context) } ?? []
            let decision = section(fields["decision"], kind: "decision") { $0.mapping($1, "decision") }.flatMap { decodeDecision($0, of: context) }
            let terminal = fields["terminal"].flatMap { bool($0, "terminal") } ?? false
            return State(
                id: id, title: title, phases: phases ?? [], owner: owner, marks: marks, onEnter: onEnter, tasks: tasks,
                timers: timers, transitions: transitions, decision: decision, terminal: terminal, location: entry.key.location)
        }
    }

    mutating func phaseList(_ node: SourceNode) -> [Phase]? {
        let names = Phase.allCases.map(\.rawValue)
        let items: [Located<String>]
        if case .sequence(let nodes, let location) = node {
            guard let list = textList(node, "phase") else { return nil }
            if nodes.isEmpty {
                fail("invalid-value", "'phase' needs at least one phase (\(names.joined(separator: ", ")))", at: location)
                return nil
            }
            items = list
        } else {
            guard let one = locatedText(node, "phase", what: "a phase or a list of phases") else { return nil }
            items = [one]
        }
        var phases: [Phase] = []
        var ok = true
        for item in items {
            if let phase = Phase(rawValue: item.value) {
                phases.append(phase)
            } else {
                fail("invalid-name", "'\(item.value)' is not a phase\(hintOr(item.value, names, "write \(names.joined(separator: ", "))"))", at: item.location)
                ok = false
            }
        }
        return ok ? phases : nil
    }

    mutating func markList(_ node: SourceNode) -> [Mark]? {
        let names = Mark.allCases.map(\.rawValue)
        let items: [Located<String>]
        if case .sequence = node {
            guard let list = textList(node, "marks") else { return nil }
            items = list
        } else {
            guard let one = locatedText(node, "marks", what: "a list of marks") else { return nil }
            items = [one]
        }
        var marks: [Mark] = []
        for item in items {
            if let mark = Mark(rawValue: item.value) {
                marks.append(mark)
            } else {
                fail("invalid-name", "'\(item.value)' is not a mark\(hintOr(item.value, names, "write \(names.joined(separator: ", "))"))", at: item.location)
            }
        }
        return marks
    }

    mutating func decodeActions(_ nodes: [SourceNode], of state: String) -> [EntryAction] {
        nodes.enumerated().compactMap { index, node in
            let context = "on_enter action #\(index + 1) of \(state)"
            guard let fields = itemMapping(node, context, orWhat: "a mapping such as { notify: CHANNEL, message: TEXT }, { raise: EVENT } or { roll_call: ... }") else { return nil }
            checkKeys(fields, allowed: PlaybookDecoder.Keys.action, in: context)
            let notify = fields["notify"].flatMap { locatedText($0, "notify") }
            let raise = fields["raise"].flatMap { locatedText($0, "raise") }
            let message = fields["message"].flatMap { template($0, "message") }
            let kinds = ["notify", "raise", "roll_call"].compactMap { fields.entry($0) }
            if kinds.count > 1 {
                let later = kinds.max { $0.key.location < $1.key.location }!
                let what = kinds.count == 2 && fields["roll_call"] == nil
                    ? "both notifies and raises" : "has \(kinds.map { "'\($0.key.text)'" }.joined(separator: " and "))"
                fail("invalid-action", "\(context) \(what) (write one action each)", at: later.key.location)
                return nil
            }
            if kinds.isEmpty {
                fail("missing-key", "\(context) needs 'notify' (with 'message'), 'raise' or 'roll_call'", at: fields.location)
                return nil
            }
            if fields["notify"] == nil, let entry = fields.entry("message") {
                report("invalid-action", "'message' goes with 'notify', not '\(kinds[0].key.text)' (\(context))", at: entry.key.location)
            }
            if let rollCallNode = fields["roll_call"] {
                for key in ["to", "id", "ack_within", "escalate"] {
                    if let entry = fields.entry(key) {
                        report("invalid-action", "'\(key)' goes with 'notify', not 'roll_call' (\(context); a roll call's id goes inside it)", at: entry.key.location)
                    }
                }
                return decodeRollCall(rollCallNode, in: context).map(EntryAction.rollCall)
            }
            if let raise {
                for key in ["to", "id", "ack_within", "escalate"] {
                    if let entry = fields.entry(key) {
                        report("invalid-action", "'\(key)' goes with 'notify', not 'raise' (\(context))", at: entry.key.location)
                    }
                }
                return .raise(raise)
            }
            if fields["notify"] != nil, fields["message"] == nil {
                fail("missing-key", "\(context) is missing required key 'message' (required with 'notify')", at: fields.location)
                return nil
            }
            let ackID = fields["id"].flatMap { locatedText($0, "id") }
            if let ackID { checkID(ackID, kind: "acknowledgement") }
            let page = decodePage(fields, ackID: ackID, idKeyIsAck: true, in: context)
            guard let notify, let message, let page else { return nil }
            return .notify(NotifyAction(channel: notify, message: message, to: page.to, ack: page.ack, location: fields.location))
        }
    }

    /// `to`, `ack_within` and `escalate` (and the `id` of an `on_enter` page, given as `ackID`): nil after an error
    /// that leaves a hole.
    mutating func decodePage(_ fields: Mapping, ackID: Located<String>?, idKeyIsAck: Bool, in context: String) -> (to: Located<String>?, ack: AckSpec?)? {
        let to = fields["to"].flatMap { locatedText($0, "to", what: "a role id") }
        if fields["to"] != nil, to == nil { return nil }
        guard let withinEntry = fields.entry("ack_within") else {
            for key in idKeyIsAck ? ["escalate", "id"] : ["escalate"] where fields[key] != nil {
                report("invalid-action", "'\(key)' goes with 'ack_within' (\(context) asks for no acknowledgement)", at: fields.entry(key)!.key.location)
            }
            return (to, nil)
        }
        guard let within = duration(withinEntry.value, "ack_within") else { return nil }
        if to == nil {
            fail("missing-key", "\(context) asks for an acknowledgement but pages nobody: add 'to: ROLE' (whose holder acknowledges)", at: withinEntry.key.location)
            return nil
        }
        var escalate: [Located<String>] = []
        if let node = fields["escalate"] {
            if case .sequence = node {
                guard let list = textList(node, "escalate") else { return nil }
                escalate = list
            } else {
                guard let one = locatedText(node, "escalate", what: "a list of roles (or deputy)") else { return nil }
                escalate = [one]
            }
        }
        if let ackID { unique(ackID, kind: "acknowledgement", in: \.firstAck) }
        return (to, AckSpec(id: ackID, within: within, escalate: escalate))
    }

    mutating func decodeRollCall(_ node: SourceNode, in owner: String) -> RollCallSpec? {
        guard let fields = itemMapping(node, "'roll_call' of \(owner)", orWhat: "a mapping with id, who, ask, options and via") else {
            missingKinds.insert("roll call")
            return nil
        }
        let id = required(fields, "id", in: "the roll call of \(owner)").flatMap { locatedText($0, "id") }
        if let id { checkID(id, kind: "roll call") }
        let context = id.map { "roll call '\($0.value)'" } ?? "the roll call of \(owner)"
        checkKeys(fields, allowed: PlaybookDecoder.Keys.rollCall, in: context)
        if let id { unique(id, kind: "roll call", in: \.firstRollCall) }
        var who: [RollCallSpec.Audience]?
        if let nodes = required(fields, "who", in: context, why: " (a list such as [group: site-hq, role: it_ops])").flatMap({ list($0, "who") }) {
            var out: [RollCallSpec.Audience] = []
            for item in nodes {
                guard case .mapping(let m) = item, m.entries.count == 1, let entry = m.entries.first,
                      PlaybookDecoder.Keys.audience.contains(entry.key.text) else {
                    fail("wrong-type", "items of 'who' in \(context) must be 'group: NAME', 'role: ROLE' or 'person: NAME', found \(item.kindDescription)", at: item.location)
                    continue
                }
                guard let name = locatedText(entry.value, entry.key.text) else { continue }
                switch entry.key.text {
                case "group": out.append(.group(name))
                case "role": out.append(.role(name))
                default: out.append(.person(name))
                }
            }
            if out.count == nodes.count { who = out }
            if nodes.isEmpty { report("invalid-value", "'who' of \(context) names nobody", at: fields.entry("who")!.value.location) }
        }
        let ask = required(fields, "ask", in: context, why: " (the question)").flatMap { template($0, "ask") }
        var options: [RollCallSpec.Option]?
        if let m = required(fields, "options", in: context, why: " (a mapping of option -> label, such as safe: I am safe)").flatMap({ mapping($0, "options") }) {
            if m.entries.isEmpty {
                report("invalid-value", "'options' of \(context) needs at least one option", at: m.location)
            }
            var result: [RollCallSpec.Option] = []
            var seen: [String: SourceLocation] = [:]
            for entry in m.entries {
                let option = Located(entry.key.text, at: entry.key.location)
                checkID(option, kind: "option")
                if let first = seen[option.value] {
                    report("duplicate-id", "duplicate option '\(option.value)' (first defined at \(first.line):\(first.column))", at: option.location)
                }
                seen[option.value] = option.location
                if let label = text(entry.value, entry.key.text) { result.append(RollCallSpec.Option(id: option, label: label)) }
            }
            if result.count == m.entries.count { options = result }
        }
        var via: [Located<String>]?
        if let node = required(fields, "via", in: context, why: " (the channels to try, in order)") {
            if case .sequence(let nodes, let location) = node {
                via = textList(node, "via")
                if nodes.isEmpty { fail("invalid-value", "'via' of \(context) needs at least one channel", at: location) }
            } else {
                via = locatedText(node, "via", what: "a list of channels").map { [$0] }
            }
        }
        var resendEvery: Located<TimeSpan>?, resendMax: Located<Int>?
        var resendOK = true
        if let node = fields["resend"] {
            if let m = mapping(node, "resend") {
                checkKeys(m, allowed: PlaybookDecoder.Keys.resend, in: "'resend' of \(context)")
                resendEvery = required(m, "every", in: "'resend' of \(context)").flatMap { duration($0, "every") }
                if let maxNode = required(m, "max", in: "'resend' of \(context)", why: " (how many resends at most)"),
                   let n = wholeNumber(maxNode, "max") {
                    resendMax = Located(n, at: maxNode.location)
                }
                resendOK = resendEvery != nil && resendMax != nil
            } else {
                resendOK = false
            }
        }
        let within = fields["within"].flatMap { duration($0, "within") }
        guard let id, let who, let ask, let options, let via, resendOK, fields["within"] == nil || within != nil else {
            missingKinds.insert("roll call")
            return nil
        }
        return RollCallSpec(id: id, who: who, ask: ask, options: options, via: via, resendEvery: resendEvery, resendMax: resendMax,
                            within: within, location: fields.location)
    }

    mutating func decodeTasks(_ nodes: [SourceNode], of state: String) -> [Task] {
        nodes.enumerated().compactMap { index, node in
            guard let fields = itemMapping(node, "task #\(index + 1) of \(state)") else {
                missingKinds.insert("task")
                return nil
            }
            let id = idField(fields, kind: "task", index: index, of: state)
            let context = id.map { "task '\($0.value)'" } ?? "task #\(index + 1) of \(state)"
            checkKeys(fields, allowed: PlaybookDecoder.Keys.task, in: context)
            if let id { unique(id, kind: "task", in: \.firstTask) }
            let title = required(fields, "title", in: context).flatMap { text($0, "title") }
            let role = required(fields, "role", in: context).flatMap { locatedText($0, "role") }
            let evidence = fields["evidence"].flatMap { bool($0, "evidence") } ?? false
            guard let id else {
                missingKinds.insert("task")
                return nil
            }
            return Task(id: id, title: title ?? "", role: role ?? placeholder("", near: fields.location), evidenceRequired: evidence,
                        location: fields.location)
        }
    }

    mutating func decodeTransitions(_ nodes: [SourceNode], of state: String) -> [Transition] {
        nodes.enumerated().compactMap { index, node in
            let context = "transition #\(index + 1) of \(state)"
            guard let fields = itemMapping(node, context) else {
                missingKinds.insert("transition")
                return nil
            }
            checkKeys(fields, allowed: PlaybookDecoder.Keys.transition, in: context)
            let on = fields["on"].flatMap { locatedText($0, "on") }
            let when = fields["when"].flatMap { guardExpression($0) }
            let to = required(fields, "to", in: context).flatMap { locatedText($0, "to") }
            guard let to, fields["when"] == nil || when != nil else {
                missingKinds.insert("transition")
                return nil
            }
            return Transition(on: on, when: when, to: to, location: fields.location)
        }
    }

    mutating func decodeDecision(_ fields: Mapping, of state: String) -> Decision? {
        let id = required(fields, "id", in: "the decision of \(state)").flatMap { locatedText($0, "id") }
        if let id { checkID(id, kind: "decision") }
        let context = id.map { "decision '\($0.value)'" } ?? "the decision of \(state)"
        checkKeys(fields, allowed: PlaybookDecoder.Keys.decision, in: context)
        if let id { unique(id, kind: "decision", in: \.firstDecision) }
        let question = required(fields, "question", in: context).flatMap { text($0, "question") }
        let by = required(fields, "by", in: context).flatMap { locatedText($0, "by") }
        var options: [Decision.Option]?
        if let m = required(fields, "options", in: context, why: " (a mapping of option -> state)").flatMap({ mapping($0, "options") }) {
            if m.entries.isEmpty {
                report("invalid-value", "'options' of \(context) needs at least one option", at: m.location)
            }
            var result: [Decision.Option] = []
            for entry in m.entries {
                if let target = locatedText(entry.value, entry.key.text, what: "a state id") {
                    result.append(Decision.Option(name: Located(entry.key.text, at: entry.key.location), target: target))
                }
            }
            if result.count == m.entries.count { options = result }
        }
        if options == nil { missingKinds.insert("option") }
        let deadline = fields["deadline"].flatMap { duration($0, "deadline") }
        let defaultOption = fields["default"].flatMap { locatedText($0, "default") }
        guard let id else {
            missingKinds.insert("decision")
            return nil
        }
        return Decision(id: id, question: question ?? "", by: by ?? placeholder("", near: fields.location), options: options ?? [], deadline: deadline, defaultOption: defaultOption, location: fields.location)
    }

    // MARK: - Timers

    /// `state` is nil for the run-wide timers at the top level.
    mutating func decodeTimers(_ nodes: [SourceNode], of state: String?) -> [TimerSpec] {
        nodes.enumerated().compactMap { index, node in
            let numbered = state.map { "timer #\(index + 1) of \($0)" } ?? "run-wide timer #\(index + 1)"
            guard let fields = itemMapping(node, numbered) else {
                missingKinds.insert("timer")
                return nil
            }
            let id = idField(fields, kind: "timer", index: index, of: state)
            let context = id.map { "timer '\($0.value)'" } ?? numbered
            checkKeys(fields, allowed: PlaybookDecoder.Keys.timer, in: context)
            if let id { unique(id, kind: "timer", in: \.firstTimer) }

            var anchor: TimerAnchor?
            let after = fields.entry("after"), at = fields.entry("at")
            switch (after, at) {
            case (nil, nil):
                fail("missing-key", "\(context) needs 'after' (a duration) or 'at' (a time such as run.start + 2h)", at: fields.location)
            case (let a?, let b?):
                let later = a.key.location < b.key.location ? b : a
                fail("timer-anchor", "\(context) has both 'after' and 'at' (write only one)", at: later.key.location)
            case (let a?, nil):
                anchor = duration(a.value, "after").map(TimerAnchor.after)
            case (nil, let b?):
                anchor = timeExpression(b.value).map(TimerAnchor.at)
            }
            let repeatEvery = fields["repeat"].flatMap { duration($0, "repeat") }
            let notify = fields["notify"].flatMap { locatedText($0, "notify") }
            let message = fields["message"].flatMap { template($0, "message") }
            let raise = fields["raise"].flatMap { locatedText($0, "raise") }
            let when = fields["when"].flatMap { guardExpression($0) }
            let rollCall = fields["roll_call"].flatMap { decodeRollCall($0, in: context) }
            if fields["notify"] == nil, fields["raise"] == nil, fields["roll_call"] == nil {
                report("missing-key", "\(context) needs 'notify' (with 'message'), 'raise' or 'roll_call'", at: fields.location)
            }
            var page: (to: Located<String>?, ack: AckSpec?)? = (nil, nil)
            if fields["notify"] != nil {
                page = decodePage(fields, ackID: id, idKeyIsAck: false, in: context)
            } else {
                for key in ["to", "ack_within", "escalate"] {
                    if let entry = fields.entry(key) {
                        report("invalid-action", "'\(key)' goes with 'notify' (\(context) notifies no channel)", at: entry.key.location)
                    }
                }
            }
            if fields["notify"] != nil, fields["message"] == nil {
                report("missing-key", "\(context) is missing required key 'message' (required with 'notify')", at: fields.location)
            }
            if fields["notify"] == nil, let entry = fields.entry("message") {
                report("invalid-action", "'message' goes with 'notify' (\(context) notifies no channel)", at: entry.key.location)
            }
            guard let id, let anchor, fields["when"] == nil || when != nil, fields["roll_call"] == nil || rollCall != nil,
                  let page else {
                missingKinds.insert("timer")
                return nil
            }
            return TimerSpec(id: id, anchor: anchor, repeatEvery: repeatEvery, notify: notify, message: message, raise: raise,
                             when: when, to: page.to, ack: page.ack, rollCall: rollCall, location: fields.location)
        }
    }

    // MARK: - Ids

    /// The `id` of a list item (task, timer), required and checked.
    mutating func idField(_ fields: Mapping, kind: String, index: Int, of state: String?) -> Located<String>? {
        let owner = state.map { "\(kind) #\(index + 1) of \($0)" } ?? "run-wide \(kind) #\(index + 1)"
        guard let id = required(fields, "id", in: owner).flatMap({ locatedText($0, "id") }) else { return nil }
        checkID(id, kind: kind)
        return id
    }

    /// A mapping key used as an id (services, roles, channels, states).
    mutating func itemID(_ key: Scalar, kind: String) -> Located<String> {
        let id = Located(key.text, at: key.location)
        checkID(id, kind: kind)
        return id
    }

    /// Ids are named in guards (`tasks.ID.done`) and templates (`{{roles.ID}}`), so they are words.
    mutating func checkID(_ id: Located<String>, kind: String) {
        if id.value.isEmpty || !id.value.unicodeScalars.allSatisfy(Decoding.isIDScalar) {
            report("invalid-id", "'\(id.value)' is not a valid \(kind) id (use letters, digits, '-' and '_')", at: id.location)
        }
    }

    mutating func unique(_ id: Located<String>, kind: String, in seen: WritableKeyPath<Decoding, [String: SourceLocation]>) {
        if let first = self[keyPath: seen][id.value] {
            report("duplicate-id", "duplicate \(kind) id '\(id.value)' (first defined at \(first.line):\(first.column))", at: id.location)
        } else {
            self[keyPath: seen][id.value] = id.location
        }
    }

    static func isIDScalar(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
    }

    /// `[a-z0-9][a-z0-9-_]*`
    static func isSlug(_ s: String) -> Bool { Playbook.isValidID(s) }


    // MARK: - Keys

    mutating func checkKeys(_ m: Mapping, allowed: [String], in context: String) {
        for (index, entry) in m.entries.enumerated() where !allowed.contains(entry.key.text) {
            var hint = Suggestion.hint(for: entry.key.text, in: allowed)
            // `{ title: Capture memory, disk images, role: x }`: the comma ended the title, and the rest became a
            // key without a value. No key has a space, so say what happened.
            if index > 0, entry.key.text.contains(" "), case .scalar(let value) = entry.value, value.isNull {
                let before = m.entries[index - 1].key.text
                hint = " (an unquoted comma in '{ ... }' ends a value: quote the value of '\(before)', e.g. \(before): \"..., \(entry.key.text)\")"
            }
            report("unknown-key", "unknown key '\(entry.key.text)' in \(context)\(hint)", at: entry.key.location)
        }
    }

    /// The value of a required key, or an error at the enclosing mapping.
    mutating func required(_ m: Mapping, _ key: String, in context: String, why: String = "") -> SourceNode? {
        if let node = m[key] { return node }
        fail("missing-key", "\(context) is missing required key '\(key)'\(why)", at: m.location)
        return nil
    }

    mutating func itemMapping(_ node: SourceNode, _ context: String, orWhat: String = "a mapping") -> Mapping? {
        if case .mapping(let m) = node { return m }
        fail("wrong-type", "\(context) must be \(orWhat), found \(node.kindDescription)", at: node.location)
        return nil
    }

    // MARK: - Values

    mutating func wrongType(_ key: String, _ what: String, _ node: SourceNode) {
        fail("wrong-type", "'\(key)' must be \(what), found \(node.kindDescription)", at: node.location)
    }

    mutating func mapping(_ node: SourceNode, _ key: String) -> Mapping? {
        if case .mapping(let m) = node { return m }
        wrongType(key, "a mapping", node)
        return nil
    }

    mutating func list(_ node: SourceNode, _ key: String) -> [SourceNode]? {
        if case .sequence(let nodes, _) = node { return nodes }
        wrongType(key, "a list", node)
        return nil
    }

    mutating func scalar(_ node: SourceNode, _ key: String, what: String) -> Scalar? {
        if case .scalar(let s) = node, !s.isNull { return s }
        wrongType(key, what, node)
        return nil
    }

    mutating func text(_ node: SourceNode, _ key: String, what: String = "text") -> String? {
        scalar(node, key, what: what)?.text
    }

    mutating func locatedText(_ node: SourceNode, _ key: String, what: String = "text") -> Located<String>? {
        scalar(node, key, what: what).map { Located($0.text, at: $0.location) }
    }

    mutating func textList(_ node: SourceNode, _ key: String) -> [Located<String>]? {
        guard let nodes = list(node, key) else { return nil }
        var out: [Located<String>] = []
        for item in nodes {
            if case .scalar(let s) = item, !s.isNull {
                out.append(Located(s.text, at: s.location))
            } else {
                fail("wrong-type", "items of '\(key)' must be text, found \(item.kindDescription)", at: item.location)
            }
        }
        return out.count == nodes.count ? out : nil
    }

    mutating func stringMap(_ node: SourceNode, _ key: String) -> [String: String]? {
        guard let m = mapping(node, key) else { return nil }
        var out: [String: String] = [:]
        for entry in m.entries {
            if let value = text(entry.value, entry.key.text) { out[entry.key.text] = value }
        }
        return out.count == m.entries.count ? out : nil
    }

    mutating func wholeNumber(_ node: SourceNode, _ key: String) -> Int? {
        // Quoted digits count too: `'version' must be a whole number, found '3'` would only confuse.
        if case .scalar(let s) = node, s.style != .literal, s.style != .folded, let n = Int(s.text), !s.text.hasPrefix("+") { return n }
        wrongType(key, "a whole number", node)
        return nil
    }

    /// Only `true` and `false`: YAML 1.1's `yes`, `on` and friends are not booleans here.
    mutating func bool(_ node: SourceNode, _ key: String) -> Bool? {
        if case .scalar(let s) = node {
            if s.text == "true" { return true }
            if s.text == "false" { return false }
        }
        wrongType(key, "true or false", node)
        return nil
    }

    /// `30s`, `15m`, `4h`, `2d`, `1h30m`; a leading `-` is read so that the validator can say it must be positive.
    mutating func duration(_ node: SourceNode, _ key: String) -> Located<TimeSpan>? {
        guard case .scalar(let s) = node, !s.isNull else {
            wrongType(key, "a duration \(PlaybookDecoder.durationHint)", node)
            return nil
        }
        if let span = Decoding.parseDuration(s.text) { return Located(span, at: s.location) }
        fail("bad-duration", "'\(s.text)' is not a duration \(PlaybookDecoder.durationHint)", at: s.location)
        return nil
    }

    static func parseDuration(_ text: String) -> TimeSpan? {
        if text.hasPrefix("-") { return TimeSpan(parsing: String(text.dropFirst())).map { -$0 } }
        return TimeSpan(parsing: text)
    }

    mutating func severityValue(_ node: SourceNode) -> Severity? {
        guard let name = locatedText(node, "severity", what: "one of P1, P2, P3, P4") else { return nil }
        if let severity = Severity(rawValue: name.value) { return severity }
        fail("invalid-name", "'\(name.value)' is not a severity\(Severity.hint(for: name.value))", at: name.location)
        return nil
    }

    func hintOr(_ word: String, _ candidates: [String], _ fallback: String) -> String {
        let hint = Suggestion.hint(for: word, in: candidates)
        return hint.isEmpty ? " (\(fallback))" : hint
    }

    // MARK: - Expressions inside scalars

    mutating func guardExpression(_ node: SourceNode) -> Located<GuardExpression>? {
        guard let s = scalar(node, "when", what: "a condition such as tasks.ID.done") else { return nil }
        do {
            var expression = try GuardParser.parse(s.text, at: s.textLocation)
            if !s.hasInlineColumns { expression = expression.relocated(to: s.location) }
            return Located(expression, at: s.location)
        } catch {
            fail(error.code, error.message, at: s.hasInlineColumns ? error.location : s.location)
            return nil
        }
    }

    mutating func template(_ node: SourceNode, _ key: String) -> Located<Template>? {
        guard let s = scalar(node, key, what: "text") else { return nil }
        do {
            var template = try TemplateParser.parse(s.text, at: s.textLocation)
            if !s.hasInlineColumns { template = template.relocated(to: s.location) }
            return Located(template, at: s.location)
        } catch {
            fail(error.code, error.message, at: s.hasInlineColumns ? error.location : s.location)
            return nil
        }
    }

    mutating func timeExpression(_ node: SourceNode) -> Located<TimeExpression>? {
        guard let s = scalar(node, "at", what: "a time such as run.start + 2h or services.ID.rto - 1h") else { return nil }
        do {
            var expression = try TimeExpressionParser.parse(s.text, at: s.textLocation)
            if !s.hasInlineColumns, case .objective(let service, let kind) = expression.base {
                expression.base = .objective(service: Located(service.value, at: s.location), kind)
            }
            return Located(expression, at: s.location)
        } catch {
            fail(error.code, error.message, at: s.hasInlineColumns ? error.location : s.location)
            return nil
        }
    }
}

extension Severity {
    /// `(did you mean 'P1'?)` for `p1`; the list otherwise (`P5` is not a near miss of `P1`).
    static func hint(for word: String) -> String {
        if let near = Severity(rawValue: word.uppercased()) { return " (did you mean '\(near.rawValue)'?)" }
        return " (write P1, P2, P3 or P4)"
    }
}

// Block scalars (`|`, `>`) start their text on the next line; positions inside them point at the scalar.
extension Template {
    func relocated(to location: SourceLocation) -> Template {
        Template(source: source, parts: parts.map { part in
            if case .variable(let v) = part { .variable(Located(v.value, at: location)) } else { part }
        })
    }
}

extension GuardExpression {
    func relocated(to location: SourceLocation) -> GuardExpression {
        func move(_ v: Located<String>) -> Located<String> { Located(v.value, at: location) }
        switch self {
        case .literal, .allTasksDone: return self
        case .taskDone(let id): return .taskDone(move(id))
        case .taskSkipped(let id): return .taskSkipped(move(id))
        case .roleAssigned(let id): return .roleAssigned(move(id))
        case .decisionMade(let id): return .decisionMade(move(id))
        case .comparison(let subject, let op, let value):
            let movedSubject: Subject = if case .decision(let id) = subject { .decision(move(id)) } else { subject }
            return .comparison(movedSubject, op, move(value))
        case .rollCallMeasure(let id, let measure, let op, let quantity):
            let movedMeasure: RollCallMeasure = if case .count(let option) = measure { .count(option: move(option)) } else { measure }
            return .rollCallMeasure(move(id), movedMeasure, op, Located(quantity.value, at: location))
        case .rollCallOverdue(let id): return .rollCallOverdue(move(id))
        case .ack(let id, let property): return .ack(move(id), property)
        case .not(let inner): return .not(inner.relocated(to: location))
        case .and(let a, let b): return .and(a.relocated(to: location), b.relocated(to: location))
        case .or(let a, let b): return .or(a.relocated(to: location), b.relocated(to: location))
        }
    }
}
