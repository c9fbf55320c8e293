import Foundation
import MusterCore

/// The people directory (format 7, `docs/people.md`): who holds roles and how to reach them, shared by every server
/// on the journal. Each add, update and removal is on the access log in the same transaction, with the names of
/// the fields it set or changed and never their values (contact details are personal data; the log is forever).
extension Journal {
    /// Adds `person`, or replaces every field of the person of that name (looked up without regard to case; the
    /// stored spelling stays). The deputy must be in the directory; it is stored in its stored spelling. Returns what
    /// changed; a person given exactly as stored writes nothing.
    @discardableResult
    public func upsertPerson(_ person: Person, at: Instant, by actor: String = Journal.systemActor) throws(JournalError) -> PersonChange {
        let person = Self.normalized(person)
        if let problem = person.problem { throw .invalidPerson(problem) }
        return try write { db in
            let names = try Journal.directoryNames(db)
            return try Journal.upsert(db, person, names: names, record: nil, at: at, actor: actor)
        }
    }

    /// Adds or replaces every person of `people` in ONE transaction: all of them, or (on the first problem,
    /// thrown as `.invalidPerson` with the person's place in `record`) none. A name given twice is refused; a deputy
    /// may be anyone of `people` or of the directory. People of the directory not in `people` are left as they are.
    @discardableResult
    public func importPeople(_ people: [Person], at: Instant, by actor: String = Journal.systemActor) throws(JournalError) -> PeopleImportReport {
        let people = people.map(Self.normalized)
        var seen: [String: Int] = [:]
        for (index, person) in people.enumerated() {
            if var problem = person.problem {
                problem.record = index
                throw .invalidPerson(problem)
            }
            if let first = seen[person.name.lowercased()] {
                throw .invalidPerson(PersonProblem(.name, "\(person.name) is given twice (also as person \(first + 1))", record: index))
            }
            seen[person.name.lowercased()] = index
        }
        return try write { db in
            var names = try Journal.directoryNames(db)
            for person in people where names[person.name.lowercased()] == nil { names[person.name.lowercased()] = person.name }
            var report = PeopleImportReport()
            for (index, person) in people.enumerated() {
                switch try Journal.upsert(db, person, names: names, record: index, at: at, actor: actor) {
                case .added: report.added.append(names[person.name.lowercased()] ?? person.name)
                case .updated: report.updated.append(names[person.name.lowercased()] ?? person.name)
                case .unchanged: report.unchanged.append(names[person.name.lowercased()] ?? person.name)
                }
            }
            return report
        }
    }

    /// Removes the person named `name` (any case) and returns the stored spelling. Someone who is still another
    /// person's deputy is refused (`.personIsDeputy`): nothing is removed.
    @discardableResult
    public func removePerson(named name: String, at: Instant, by actor: String = Journal.systemActor) throws(JournalError) -> String {
        try write { db in
            guard let stored = try db.value(String.self, "SELECT name FROM people WHERE name_key = ?", [name.lowercased()]) else {
                throw JournalError.unknownPerson(name)
            }
            let dependants = try db.column(String.self, "SELECT name FROM people WHERE deputy = ? ORDER BY name_key", [stored])
            if !dependants.isEmpty { throw JournalError.personIsDeputy(stored, of: dependants) }
            try db.execute("DELETE FROM people WHERE name = ?", [stored])
            try Journal.appendAccess(db, .personRemoved(name: stored), actor: actor, at: at)
            return stored
        }
    }

    /// Everyone in the directory, by name (without regard to case).
    public func people() throws(JournalError) -> [Person] {
        try read { db in try db.all("SELECT \(Journal.personColumns) FROM people ORDER BY name_key, name").map(Journal.person) }
    }

    /// The person named `name`, in any case, as stored (with the stored spelling); nil when there is none.
    public func person(named name: String) throws(JournalError) -> Person? {
        try read { db in
            try db.one("SELECT \(Journal.personColumns) FROM people WHERE name_key = ?", [name.lowercased()]).map(Journal.person)
        }
    }

    /// The person whose Slack member id is `id` (exactly, as Slack sends `user.id`); nil when nobody has it.
    public func person(slackID id: String) throws(JournalError) -> Person? {
        try read { db in try db.one("SELECT \(Journal.personColumns) FROM people WHERE slack_id = ? ORDER BY name_key LIMIT 1", [id]).map(Journal.person) }
    }

    /// The person whose Mattermost username is `username` (without regard to case, stored with or without its
    /// `@`, as Mattermost sends `user_name` without it); nil when nobody has it.
    public func person(mattermostUser username: String) throws(JournalError) -> Person? {
        let plain = (username.hasPrefix("@") ? String(username.dropFirst()) : username).lowercased()
        return try read { db in
            try db.one("SELECT \(Journal.personColumns) FROM people WHERE LOWER(mattermost_user) IN (?, ?) ORDER BY name_key LIMIT 1",
                       [plain, "@" + plain]).map(Journal.person)
        }
    }

    /// The person whose phone is `phone` (E.164, as an SMS gateway sends `From`); nil when nobody has it.
    public func person(phone: String) throws(JournalError) -> Person? {
        try read { db in try db.one("SELECT \(Journal.personColumns) FROM people WHERE phone = ? ORDER BY name_key LIMIT 1", [phone]).map(Journal.person) }
    }

    /// The members of `group`, by name.
    public func people(inGroup group: String) throws(JournalError) -> [Person] {
        try people().filter { $0.groups.contains(group) }
    }

    /// Every group named by someone in the directory, with how many people it has.
    public func peopleGroups() throws(JournalError) -> [(group: String, members: Int)] {
        var counts: [String: Int] = [:]
        for person in try people() { for group in person.groups { counts[group, default: 0] += 1 } }
        return counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Those of `names` that name nobody in the directory (without regard to case), in the order given: what a
    /// playbook check asks of the directory ("role holders nobody knows").
    public func namesNotInDirectory(_ names: [String]) throws(JournalError) -> [String] {
        let known = try read { db in Set(try db.column(String.self, "SELECT name_key FROM people")) }
        return names.filter { !known.contains($0.lowercased()) }
    }

    // MARK: - Rows

    static let personColumns = "name, email, phone, slack_id, mattermost_user, groups, site, deputy, added_at, updated_at"

    /// Groups sorted and once each; empty texts as nil (a blank CSV cell is no value).
    static func normalized(_ person: Person) -> Person {
        func blankless(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
        var person = person
        person.email = blankless(person.email)
        person.phone = blankless(person.phone)
        person.slackID = blankless(person.slackID)
        person.mattermostUser = blankless(person.mattermostUser)
        person.site = blankless(person.site)
        person.deputy = blankless(person.deputy)
        person.groups = Array(Set(person.groups)).sorted()
        return person
    }

    /// Every name of the directory by its key (`lowercased()`).
    static func directoryNames(_ db: any SQLSession) throws -> [String: String] {
        var names: [String: String] = [:]
        for row in try db.all("SELECT name_key, name FROM people") { names[row[0]] = row[1] as String }
        return names
    }

    /// Adds or updates one (valid, normalized) person inside the caller's write transaction, with its access-log entry.
    /// `names` maps every name a deputy may take (by key) to its spelling.
    static func upsert(_ db: any SQLSession, _ given: Person, names: [String: String], record: Int?, at: Instant, actor: String) throws -> PersonChange {
        var person = given
        if let deputy = person.deputy {
            guard let spelled = names[deputy.lowercased()] else {
                throw JournalError.invalidPerson(PersonProblem(.deputy, "no person named '\(deputy)' in the directory\(record == nil ? "" : " or the import")", record: record))
            }
            person.deputy = spelled
        }
        let groups = canonicalGroups(person.groups)
        guard let row = try db.one("SELECT \(personColumns) FROM people WHERE name_key = ?", [person.name.lowercased()]) else {
            try db.execute("""
                INSERT INTO people (name, name_key, email, phone, slack_id, mattermost_user, groups, site, deputy, added_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [person.name, person.name.lowercased(), person.email, person.phone, person.slackID, person.mattermostUser, groups,
                      person.site, person.deputy, at.millisecondsSinceEpoch, at.millisecondsSinceEpoch])
            try appendAccess(db, .personAdded(name: person.name, fields: person.setFields), actor: actor, at: at)
            return .added
        }
        let stored = Journal.person(row)
        person.name = stored.name
        let changed = person.changedFields(from: stored)
        if changed.isEmpty { return .unchanged }
        try db.execute("""
            UPDATE people SET email = ?, phone = ?, slack_id = ?, mattermost_user = ?, groups = ?, site = ?, deputy = ?, updated_at = ?
            WHERE name = ?
            """, [person.email, person.phone, person.slackID, person.mattermostUser, groups, person.site, person.deputy,
                  at.millisecondsSinceEpoch, stored.name])
        try appendAccess(db, .personUpdated(name: stored.name, fields: changed), actor: actor, at: at)
        return .updated(fields: changed)
    }

    /// `["crisis-team","site-hq"]`: canonical JSON, sorted, no spaces.
    static func canonicalGroups(_ groups: [String]) -> String {
        "[" + groups.map { AccessChange.quoted($0) }.joined(separator: ",") + "]"
    }

    static func person(_ row: SQLRow) -> Person {
        let groupsText: String = row[5]
        let groups = (try? JSONSerialization.jsonObject(with: Data(groupsText.utf8))) as? [String] ?? []
        var person = Person(name: row[0], email: row[1], phone: row[2], slackID: row[3], mattermostUser: row[4], groups: groups,
                            site: row[6], deputy: row[7])
        person.addedAt = Instant(millisecondsSinceEpoch: row[8])
        person.updatedAt = Instant(millisecondsSinceEpoch: row[9])
        return person
    }
}
