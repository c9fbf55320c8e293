import MusterCore

/// A calendar date (UTC), `2027-01-31`: due dates and plan dates.
public struct Day: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Days since 1970-01-01.
    public var ordinal: Int64

    public init?(_ text: String) {
        guard text.utf8.count == 10, let instant = Instant(iso8601: text + "T00:00:00Z") else { return nil }
        ordinal = instant.millisecondsSinceEpoch / 86_400_000
        guard description == text else { return nil }  // 2027-02-31 is not a day
    }

    public init(_ instant: Instant) {
        let ms = instant.millisecondsSinceEpoch
        ordinal = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
    }

    public var description: String { String(Instant(millisecondsSinceEpoch: ordinal * 86_400_000).iso8601.prefix(10)) }
    public static func < (a: Day, b: Day) -> Bool { a.ordinal < b.ordinal }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let day = Day(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a date: \(text)"))
        }
        self = day
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// HSEEP capability elements.
public enum CapabilityElement: String, Sendable, Hashable, Codable, CaseIterable {
    case planning, organization, equipment, training, exercise
}

/// open → in-progress → done → verified → closed; a not-effective review sends a done action back to open.
public enum ActionStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case open
    case inProgress = "in-progress"
    case done, verified, closed
}

public enum ReviewResult: String, Sendable, Hashable, Codable, CaseIterable {
    case effective
    case notEffective = "not-effective"
}

/// What happened to an improvement action: one event of the hash-chained improvement log.
public enum ActionChange: Sendable, Hashable, Codable {
    case created(draft: ActionDraft)
    case started
    case done(note: String?)
    /// `on`: the day the review took place when it is recorded later (nil: the day it was recorded).
    case reviewed(method: String, result: ReviewResult, reviewer: String, note: String?, on: Day? = nil)
    case closed(note: String?)

    /// The journal's `type` column.
    public var typeName: String {
        switch self {
        case .created: "action-created"
        case .started: "action-started"
        case .done: "action-done"
        case .reviewed: "action-reviewed"
        case .closed: "action-closed"
        }
    }
}

/// The fields of a new action (an improvement-plan row).
public struct ActionDraft: Sendable, Hashable, Codable {
    /// Lesson ids (`RUN/SEQ`) the action answers.
    public var lessons: [String]
    /// The corrective action.
    public var title: String
    /// The capability or objective it improves (HSEEP's first column).
    public var capability: String
    /// The issue or area for improvement (usually the lesson's text).
    public var issue: String
    /// Point of contact.
    public var owner: String
    /// Responsible organisation.
    public var organization: String
    public var element: CapabilityElement
    public var due: Day

    public init(lessons: [String], title: String, capability: String, issue: String, owner: String, organization: String, element: CapabilityElement, due: Day) {
        self.lessons = lessons
        self.title = title
        self.capability = capability
        self.issue = issue
        self.owner = owner
        self.organization = organization
        self.element = element
        self.due = due
    }
}

public struct ActionEvent: Sendable, Hashable {
    public var seq: Int
    public var at: Instant
    public var actor: String
    public var actionID: String
    public var change: ActionChange

    public init(seq: Int, at: Instant, actor: String, actionID: String, change: ActionChange) {
        self.seq = seq
        self.at = at
        self.actor = actor
        self.actionID = actionID
        self.change = change
    }
}

public struct EffectivenessReview: Sendable, Hashable {
    public var method: String
    public var result: ReviewResult
    public var reviewer: String
    /// When it was recorded.
    public var at: Instant
    /// The findings.
    public var note: String?
    /// The day the review took place (the day it was recorded, unless it was recorded later).
    public var on: Day
    /// Who recorded it.
    public var recordedBy: String
}

/// One improvement action as its events leave it.
public struct ImprovementAction: Sendable, Hashable {
    public var id: String
    public var draft: ActionDraft
    public var status: ActionStatus
    public var createdAt: Instant
    public var createdBy: String
    public var startedAt: Instant?
    public var doneAt: Instant?
    /// Who marked it done (the actor of its last `done`); its effectiveness reviewer must be someone else.
    public var doneBy: String?
    public var closedAt: Instant?
    public var reviews: [EffectivenessReview]
    /// Times it was reopened by a not-effective review.
    public var reopened: Int

    /// Not finished (open or in progress) after its due date.
    public func isOverdue(today: Day) -> Bool {
        (status == .open || status == .inProgress) && today > draft.due
    }

    public var isOpen: Bool { status != .closed }
}

/// What a person asks of the improvement log.
public enum ActionCommand: Sendable, Hashable {
    case add(ActionDraft)
    case start(String)
    case done(String, note: String?)
    /// `on`: the day the review took place, when it is recorded afterwards (not in the future, not before the
    /// action was done).
    case review(String, method: String, result: ReviewResult, reviewer: String, note: String?, on: Day? = nil)
    case close(String, note: String?)

    /// The action the command names, as typed (nil for `add`).
    public var actionID: String? {
        switch self {
        case .add: nil
        case .start(let id), .done(let id, _), .review(let id, _, _, _, _, _), .close(let id, _): id
        }
    }
}

/// The improvement log's rules, as a pure machine: `decide` answers a command with the change to journal (or a
/// rejection a person can act on), `apply` folds journaled events. Replaying the log rebuilds every action.
public struct ImprovementLog: Sendable, Hashable {
    public private(set) var actions: [ImprovementAction] = []
    private var index: [String: Int] = [:]

    public init() {}

    public init(events: [ActionEvent]) {
        for event in events { apply(event) }
    }

    public func action(_ id: String) -> ImprovementAction? { index[id].map { actions[$0] } }

    /// The id the next created action gets: `A-1`, `A-2`, ...
    public var nextID: String { "A-\(actions.count + 1)" }

    /// The action id a person typed, as the log keeps it: `a-3`, `A-3` and `3` all mean `A-3`.
    public static func normalizedActionID(_ id: String) -> String {
        id.uppercased().hasPrefix("A-") ? "A-" + id.dropFirst(2) : "A-" + id
    }

    /// `today` (the recorder's day) bounds a review's date; nil skips that check.
    public func decide(_ command: ActionCommand, today: Day? = nil) -> Result<(actionID: String, change: ActionChange), Rejection> {
        func existing(_ id: String) -> Result<ImprovementAction, Rejection> {
            guard let action = action(Self.normalizedActionID(id)) else {
                return .failure(Rejection(.unknownAction, "no improvement action '\(id)' (actions are A-1 to A-\(actions.count))"))
            }
            return .success(action)
        }
        switch command {
        case .add(let draft):
            if draft.title.trimmingCharacters().isEmpty { return .failure(Rejection(.invalidArgument, "an action needs a title (the corrective action)")) }
            if draft.owner.trimmingCharacters().isEmpty { return .failure(Rejection(.invalidArgument, "an action needs an owner (--owner)")) }
            if draft.organization.trimmingCharacters().isEmpty { return .failure(Rejection(.invalidArgument, "an action needs a responsible organisation (--org)")) }
            return .success((nextID, .created(draft: draft)))
        case .start(let id):
            return existing(id).flatMap { a in
                a.status == .open ? .success((a.id, .started))
                    : .failure(Rejection(.wrongStatus, "\(a.id) is \(a.status.rawValue): only an open action can be started"))
            }
        case .done(let id, let note):
            return existing(id).flatMap { a in
                switch a.status {
                case .inProgress: .success((a.id, .done(note: note)))
                case .open: .failure(Rejection(.wrongStatus, "\(a.id) is open: start it first (muster actions start \(a.id))"))
                default: .failure(Rejection(.wrongStatus, "\(a.id) is \(a.status.rawValue) already"))
                }
            }
        case .review(let id, let method, let result, let reviewer, let note, let day):
            return existing(id).flatMap { a in
                guard a.status == .done else {
                    return .failure(Rejection(.wrongStatus, "\(a.id) is \(a.status.rawValue): an effectiveness review comes after the action is done"))
                }
                guard !method.trimmingCharacters().isEmpty, !reviewer.trimmingCharacters().isEmpty else {
                    return .failure(Rejection(.invalidArgument, "a review needs a method (--method) and a reviewer (--reviewer)"))
                }
                if let doneBy = a.doneBy, doneBy.trimmingCharacters() == reviewer.trimmingCharacters() {
                    return .failure(Rejection(.notPermitted, "\(reviewer) marked \(a.id) done and cannot also review its effectiveness: someone else reviews it"))
                }
                if let day, let today, day > today {
                    return .failure(Rejection(.invalidArgument, "a review cannot be dated \(day), after today (\(today))"))
                }
                if let day, let done = a.doneAt, day < Day(done) {
                    return .failure(Rejection(.invalidArgument, "a review cannot be dated \(day), before \(a.id) was done (\(Day(done)))"))
                }
                return .success((a.id, .reviewed(method: method, result: result, reviewer: reviewer, note: note, on: day)))
            }
        case .close(let id, let note):
            return existing(id).flatMap { a in
                switch a.status {
                case .verified: return .success((a.id, .closed(note: note)))
                case .closed: return .failure(Rejection(.wrongStatus, "\(a.id) is closed already"))
                default:
                    let why = a.reviews.last?.result == .notEffective
                        ? "its last effectiveness review found it not effective (it was reopened)"
                        : "it has no effectiveness review that found it effective"
                    return .failure(Rejection(.wrongStatus, "cannot close \(a.id) (\(a.status.rawValue)): \(why); run muster actions review \(a.id) --result effective ... once it is done"))
                }
            }
        }
    }

    /// Folds one journaled event. Never fails: an event for an unknown action is ignored.
    public mutating func apply(_ event: ActionEvent) {
        if case .created(let draft) = event.change {
            guard index[event.actionID] == nil else { return }
            index[event.actionID] = actions.count
            actions.append(ImprovementAction(
                id: event.actionID, draft: draft, status: .open, createdAt: event.at, createdBy: event.actor,
                startedAt: nil, doneAt: nil, doneBy: nil, closedAt: nil, reviews: [], reopened: 0))
            return
        }
        guard let i = index[event.actionID] else { return }
        switch event.change {
        case .created: break
        case .started:
            actions[i].status = .inProgress
            if actions[i].startedAt == nil { actions[i].startedAt = event.at }
        case .done:
            actions[i].status = .done
            actions[i].doneAt = event.at
            actions[i].doneBy = event.actor
        case .reviewed(let method, let result, let reviewer, let note, let day):
            actions[i].reviews.append(EffectivenessReview(
                method: method, result: result, reviewer: reviewer, at: event.at, note: note, on: day ?? Day(event.at),
                recordedBy: event.actor))
            if result == .effective {
                actions[i].status = .verified
            } else {
                actions[i].status = .open
                actions[i].doneAt = nil
                actions[i].doneBy = nil
                actions[i].reopened += 1
            }
        case .closed:
            actions[i].status = .closed
            actions[i].closedAt = event.at
        }
    }
}

/// A lesson from a run, as the improvement log lists it.
extension ActionDraft {
    /// A draft answering the lessons `ids` (`RUN/SEQ` as `muster lessons list` prints them), found among
    /// `lessons`. Capability and issue default to the first lesson's playbook (with the phases it was recorded
    /// in) and the lessons' texts. Throws the first id that names none of them.
    public static func answering(
        _ ids: [String], among lessons: [LessonEntry], title: String, owner: String, organization: String,
        element: CapabilityElement, due: Day, capability: String? = nil, issue: String? = nil
    ) throws(UnknownLesson) -> ActionDraft {
        var found: [LessonEntry] = []
        for id in ids {
            guard let entry = lessons.first(where: { $0.id == id || $0.id.dropFirst(2) == id }) else { throw UnknownLesson(id: id) }
            found.append(entry)
        }
        let first = found.first
        let phases = first.map { $0.phases.isEmpty ? "" : " (\($0.phases.map(\.rawValue).joined(separator: ", ")))" } ?? ""
        return ActionDraft(
            lessons: found.map(\.id), title: title, capability: capability ?? ((first?.playbookTitle ?? "") + phases),
            issue: issue ?? found.map(\.lesson.text).joined(separator: "; "), owner: owner, organization: organization,
            element: element, due: due)
    }

    public struct UnknownLesson: Error, Sendable, Hashable {
        public var id: String
    }
}

public struct LessonEntry: Sendable, Hashable {
    /// `RUN/SEQ`.
    public var id: String
    public var runID: String
    public var runTitle: String
    public var playbookID: String
    public var playbookTitle: String
    public var mode: RunMode
    public var lesson: LessonRecord
    /// Phases of the state the run was in when the lesson was recorded.
    public var phases: [Phase]

    public init(runID: String, runTitle: String, playbookID: String, playbookTitle: String, mode: RunMode, lesson: LessonRecord, phases: [Phase]) {
        self.id = "\(runID)/\(lesson.seq)"
        self.runID = runID
        self.runTitle = runTitle
        self.playbookID = playbookID
        self.playbookTitle = playbookTitle
        self.mode = mode
        self.lesson = lesson
        self.phases = phases
    }

    /// Root-cause tags that appear in lessons of two or more runs.
    public static func recurringRootCauses(_ lessons: [LessonEntry]) -> [String: Set<String>] {
        var runs: [String: Set<String>] = [:]
        for l in lessons {
            guard let cause = l.lesson.rootCause?.trimmingCharacters(), !cause.isEmpty else { continue }
            runs[cause.lowercased(), default: []].insert(l.runID)
        }
        return runs.filter { $0.value.count >= 2 }
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
