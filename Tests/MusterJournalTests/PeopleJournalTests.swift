import Foundation
import GRDB
import MusterCore
import MusterTestSupport
import Testing
@testable import MusterJournal

/// Issue 17, the people directory (format 7): the journal's side on both backends, and the CSV codec.
@Suite("The people directory in the journal")
struct PeopleJournalTests {
    typealias Home = BothBackendsTests.Home

    static let dana = Person(name: "Dana Whitfield", email: "dana@example.org", phone: "+447700900101", slackID: "U024BE7LH",
                             groups: ["site-hq", "crisis-team", "site-hq"], site: "HQ")
    static let lee = Person(name: "Lee Chen", email: "lee@example.org", phone: "+447700900102", mattermostUser: "lee.chen",
                            groups: ["crisis-team"], site: "HQ", deputy: "dana whitfield")

    @Test("people are added, found in any case with the stored spelling, updated field by field and removed, each on the access log", arguments: TestBackend.allCases)
    func lifecycle(_ backend: TestBackend) throws {
        let home = try Home(backend)
        defer { home.remove() }
        let journal = try home.open()
        defer { try? journal.close() }
        #expect(try journal.upsertPerson(Self.dana, at: t0, by: "Robin") == .added)
        #expect(try journal.upsertPerson(Self.lee, at: t0 + .minutes(1), by: "Robin") == .added)
        let found = try #require(try journal.person(named: "LEE CHEN"))
        #expect(found.name == "Lee Chen")
        #expect(found.deputy == "Dana Whitfield")  // stored in the directory's spelling
        #expect(found.addedAt == t0 + .minutes(1))
        #expect(try journal.person(named: "dana whitfield")?.groups == ["crisis-team", "site-hq"])
        #expect(try journal.people().map(\.name) == ["Dana Whitfield", "Lee Chen"])
        #expect(try journal.people(inGroup: "site-hq").map(\.name) == ["Dana Whitfield"])
        #expect(try journal.peopleGroups().map(\.group) == ["crisis-team", "site-hq"])
        #expect(try journal.namesNotInDirectory(["lee chen", "Kim", "Dana Whitfield"]) == ["Kim"])

        // The same person again writes nothing; another spelling updates the stored one.
        #expect(try journal.upsertPerson(Self.dana, at: t0 + .minutes(2)) == .unchanged)
        var moved = Self.dana
        moved.name = "DANA WHITFIELD"
        moved.site = "Leeds DC"
        moved.phone = nil
        #expect(try journal.upsertPerson(moved, at: t0 + .minutes(3), by: "Robin") == .updated(fields: [.phone, .site]))
        let dana = try #require(try journal.person(named: "Dana Whitfield"))
        #expect(dana.name == "Dana Whitfield" && dana.site == "Leeds DC" && dana.phone == nil)
        #expect(dana.addedAt == t0 && dana.updatedAt == t0 + .minutes(3))

        // Dana is Lee's deputy: not removable until that changes.
        #expect(throws: JournalError.personIsDeputy("Dana Whitfield", of: ["Lee Chen"])) { try journal.removePerson(named: "dana whitfield", at: t0) }
        var lee = Self.lee
        lee.deputy = nil
        try journal.upsertPerson(lee, at: t0 + .minutes(4))
        #expect(try journal.removePerson(named: "dana whitfield", at: t0 + .minutes(5), by: "Robin") == "Dana Whitfield")
        #expect(throws: JournalError.unknownPerson("Dana Whitfield")) { try journal.removePerson(named: "Dana Whitfield", at: t0) }
        #expect(try journal.people().map(\.name) == ["Lee Chen"])

        // The access log: which fields, never their values.
        let log = try journal.accessEvents()
        #expect(log.map(\.type) == ["person-added", "person-added", "person-updated", "person-updated", "person-removed"])
        #expect(log.map(\.subject) == ["Dana Whitfield", "Lee Chen", "Dana Whitfield", "Lee Chen", "Dana Whitfield"])
        #expect(log[0].payload == #"{"fields":["email","phone","slack_id","groups","site"]}"#)
        #expect(log[2].payload == #"{"fields":["phone","site"]}"#)
        #expect(log[2].actor == "Robin")
        #expect(log.allSatisfy { !$0.payload.contains("@") && !$0.payload.contains("+44") })
        let report = try journal.verifyAccessLog()
        #expect(report.isIntact, "\(report)")
        #expect(report.eventCount == 5)
    }

    @Test("an import is all or nothing: a bad deputy in the third person leaves the directory and the log untouched", arguments: TestBackend.allCases)
    func importAllOrNothing(_ backend: TestBackend) throws {
        let home = try Home(backend)
        defer { home.remove() }
        let journal = try home.open()
        defer { try? journal.close() }
        try journal.upsertPerson(Person(name: "Kim"), at: t0)
        let bad = [Self.lee, Self.dana, Person(name: "Sam", deputy: "Nobody")]
        #expect(throws: JournalError.invalidPerson(PersonProblem(.deputy, "no person named 'Nobody' in the directory or the import", record: 2))) {
            try journal.importPeople(bad, at: t0 + .minutes(1))
        }
        #expect(try journal.people().map(\.name) == ["Kim"])
        #expect(try journal.accessEvents().count == 1)
        let twice = [Self.dana, Person(name: "dana whitfield")]
        #expect(throws: JournalError.invalidPerson(PersonProblem(.name, "dana whitfield is given twice (also as person 1)", record: 1))) {
            try journal.importPeople(twice, at: t0)
        }
        #expect(throws: JournalError.invalidPerson(PersonProblem(.phone, Person.phoneProblem("0770")!, record: 0))) {
            try journal.importPeople([Person(name: "Ann", phone: "0770")], at: t0)
        }

        // Lee's deputy comes later in the file; Kim (already there) is named in another case.
        let good = [Self.lee, Self.dana, Person(name: "Sam", deputy: "KIM")]
        let report = try journal.importPeople(good, at: t0 + .minutes(2), by: "Robin")
        #expect(report == PeopleImportReport(added: ["Lee Chen", "Dana Whitfield", "Sam"], updated: [], unchanged: []))
        #expect(try journal.person(named: "sam")?.deputy == "Kim")
        #expect(try journal.people().count == 4)
        let again = try journal.importPeople(good, at: t0 + .minutes(3))
        #expect(again.unchanged.count == 3)
        #expect(try journal.accessEvents().count == 4)
        #expect(try journal.verifyAccessLog().isIntact)
    }

    @Test("verify finds a person added or removed behind Muster's back", arguments: TestBackend.allCases)
    func tamper(_ backend: TestBackend) throws {
        let home = try Home(backend)
        defer { home.remove() }
        let journal = try home.open()
        defer { try? journal.close() }
        try journal.upsertPerson(Self.dana, at: t0)
        #expect(try home.behindMustersBack("""
            INSERT INTO people (name, name_key, groups, added_at, updated_at) VALUES ('Eve', 'eve', '[]', 0, 0);
            """).status == 0)
        let added = try journal.verifyAccessLog()
        #expect(added.firstBroken?.problem == .recordDisagrees("person 'Eve' is in the people table but was never added through Muster"))
        #expect(try home.behindMustersBack("DELETE FROM people;").status == 0)
        let removed = try journal.verifyAccessLog()
        #expect(removed.firstBroken == BrokenLink(seq: 1, problem: .recordDisagrees("person 'Dana Whitfield' is in the access log but was removed from the people table outside Muster")))
    }

    @Test("a format 6 journal becomes the current format with its access log's bytes and hashes unchanged, and takes people after")
    func migration() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        do {
            let queue = try DatabaseQueue(path: folder.database)
            var upToSix = DatabaseMigrator()
            for (name, step) in [("v1", Schema.v1), ("v2", Schema.v2), ("v3", Schema.v3), ("v4", Schema.v4), ("v5", Schema.v5), ("v6", Schema.v6)] {
                upToSix.registerMigration(name, migrate: step)
            }
            try upToSix.migrate(queue)
            try queue.write { db in
                try db.execute(sql: "INSERT INTO users (name, token_sha256, admin, created_at) VALUES ('Dana', ?, 1, 0)", arguments: [String(repeating: "a", count: 64)])
                try Journal.appendAccess(SQLiteSession(db), .userAdded(name: "Dana", admin: true, tokenSHA256: String(repeating: "a", count: 64)), actor: "muster", at: t0)
            }
            try queue.close()
        }
        let before = try SQLite3.run(folder.database, "SELECT * FROM access_events").stdout
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        #expect(try SQLite3.run(folder.database, "SELECT * FROM access_events").stdout == before)
        #expect(try SQLite3.run(folder.database, "SELECT value FROM meta WHERE key = 'format_version'").stdout == "\(Journal.formatVersion)\n")
        let triggers = try SQLite3.run(folder.database, "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'access_events' ORDER BY name").stdout
        #expect(triggers == Schema.accessTriggers.sorted().joined(separator: "\n") + "\n")
        try journal.upsertPerson(Self.dana, at: t0 + .minutes(1))
        #expect(try journal.accessEvents().map(\.type) == ["user-added", "person-added"])
        #expect(try journal.verifyAccessLog().isIntact)
        // The guards came back with the table.
        #expect(try SQLite3.run(folder.database, "DELETE FROM access_events").status != 0)
    }

    @Test("a format 6 journal on PostgreSQL is refused until upgraded (db init), then is the current format with its access log unchanged")
    func postgresMigration() throws {
        let home = try Home(.postgresql)
        defer { home.remove() }
        let schema = try TestPostgres.schema(forHome: home.path)
        let token = String(repeating: "a", count: 64)
        let added = AccessChange.userAdded(name: "Dana", admin: true, tokenSHA256: token)
        let hash = Chain.logEntryHash(tag: Chain.accessEventTag, seq: 1, atMS: t0.millisecondsSinceEpoch, actor: "muster", subject: "Dana",
                                      type: added.type, payload: added.payload, prevHash: Chain.accessLogStart)
        let made = try TestPostgres.psql(PostgresSchema.steps.filter { $0.format <= 6 }.map(\.sql).joined(separator: "\n") + """

            INSERT INTO users (name, token_sha256, admin, created_at) VALUES ('Dana', '\(token)', 1, \(t0.millisecondsSinceEpoch));
            INSERT INTO access_events (seq, at_ms, actor, subject, type, payload, prev_hash, hash)
            VALUES (1, \(t0.millisecondsSinceEpoch), 'muster', 'Dana', 'user-added', '\(added.payload)', '\(Chain.accessLogStart)', '\(hash)');
            """, schema: schema)
        #expect(made.status == 0, "\(made.stderr)")
        let before = try TestPostgres.psql("SELECT * FROM access_events", schema: schema).stdout
        let location = try TestDatabase.location(home: home.path, backend: .postgresql)
        #expect(throws: JournalError.olderFormat(path: location.description, found: 6, supported: Journal.formatVersion)) { try Journal.open(location, create: false) }
        let journal = try Journal.open(location, create: true)
        defer { try? journal.close() }
        #expect(try TestPostgres.psql("SELECT * FROM access_events", schema: schema).stdout == before)
        #expect(try TestPostgres.psql("SELECT value FROM meta WHERE key = 'format_version'", schema: schema).stdout == "\(Journal.formatVersion)\n")
        try journal.upsertPerson(Self.dana, at: t0 + .minutes(1))
        #expect(try journal.accessEvents().map(\.type) == ["user-added", "person-added"])
        #expect(try journal.verifyAccessLog().isIntact)
        #expect(try home.behindMustersBack("INSERT INTO access_events (seq, at_ms, actor, subject, type, payload, prev_hash, hash) VALUES (3, 0, 'x', 'x', 'person-renamed', '{}', 'x', 'x')").status != 0)
    }

    @Test("each field is checked and a problem names it", arguments: [
        (Person(name: "muster"), Person.Field.name),
        (Person(name: "Lee", email: "lee at example.org"), .email),
        (Person(name: "Lee", email: "lee@localhost"), .email),
        (Person(name: "Lee", phone: "+44 7700 900102"), .phone),
        (Person(name: "Lee", phone: "+4477"), .phone),
        (Person(name: "Lee", phone: "+4477009001021234"), .phone),
        (Person(name: "Lee", phone: "447700900102"), .phone),
        (Person(name: "Lee", slackID: "u024 be7lh"), .slackID),
        (Person(name: "Lee", mattermostUser: "lee chen"), .mattermostUser),
        (Person(name: "Lee", groups: ["Crisis Team"]), .groups),
        (Person(name: "Lee", site: "HQ\n2"), .site),
        (Person(name: "Lee", deputy: "lee"), .deputy),
    ])
    func fieldProblems(_ person: Person, _ field: Person.Field) {
        #expect(person.problem?.field == field, "\(String(describing: person.problem))")
    }

    @Test("valid people have no problem")
    func valid() {
        #expect(Self.dana.problem == nil)
        #expect(Self.lee.problem == nil)
        #expect(Person(name: "Zoë O'Brien-Ng", phone: "+12025550123", groups: ["finance", "site_2"]).problem == nil)
    }

    @Test("CSV: RFC 4180 quoting, any column order, CRLF, a BOM and blank lines read; every problem has its line and column")
    func csv() throws {
        let text = "\u{FEFF}site,name,groups,email\r\n\"Leeds, \"\"North\"\"\",Lee Chen,crisis-team; it-ops ,lee@example.org\r\n\r\n\"HQ\nfloor 2\",Dana,,\r\nHQ,Sam,,sam@example.org"
        let records = try PeopleCSV.records(text).get()
        #expect(records.map(\.line) == [1, 2, 4, 6])
        #expect(records[2].fields == ["HQ\nfloor 2", "Dana", "", ""])
        let lines = text.replacingOccurrences(of: "\"HQ\nfloor 2\"", with: "\"HQ, floor 2\"")
        let file = try PeopleCSV.parse(lines).get()
        #expect(file.rows.map(\.line) == [2, 4, 5])
        #expect(file.rows[0].person == Person(name: "Lee Chen", email: "lee@example.org", groups: ["crisis-team", "it-ops"], site: "Leeds, \"North\""))
        #expect(file.rows[1].person.site == "HQ, floor 2")
        #expect(file.columns == [.site: 1, .name: 2, .groups: 3, .email: 4])
        #expect(file.locate(PersonProblem(.email, "x", record: 2)) == PeopleCSV.Problem(line: 5, column: 4, message: "x"))
        // A problem in a record that spans lines is placed on its first line.
        #expect(PeopleCSV.parse(text).failure == .init(line: 4, column: 1, message: "a site is 1 to 100 characters without control characters"))

        let cases: [(String, PeopleCSV.Problem)] = [
            ("", .init(line: 1, column: 1, message: "the file is empty: it needs a header row naming its columns, like name,email,phone")),
            ("name,mail\n", .init(line: 1, column: 2, message: "unknown column 'mail' (the columns are name, email, phone, slack_id, mattermost_user, groups, site, deputy)")),
            ("email\nx@example.org\n", .init(line: 1, column: 1, message: "the header has no 'name' column")),
            ("name,phone\nLee,+447700900102,x\n", .init(line: 2, column: 3, message: "this row has 3 fields, the header 2")),
            ("name,phone\nLee,\"+447700900102\n", .init(line: 2, column: 2, message: "a quoted field is never closed")),
            ("name,phone\nLe\"e,+447700900102\n", .init(line: 2, column: 1, message: "a quote inside a field that does not start with one (RFC 4180: quote the whole field and double the quote)")),
            // A mistake of quoting is placed on the line where it is, even inside a record that spans lines.
            ("name,site\n\"a\nb\",\"x\"y\n", .init(line: 3, column: 2, message: "text after a closing quote (a quote inside a quoted field is doubled: \"\")")),
        ]
        for (input, expected) in cases {
            #expect(PeopleCSV.parse(input).failure == expected, "\(input.debugDescription)")
        }
        let badPhone = PeopleCSV.parse("name,email,phone\nDana,d@example.org,+447700900101\nLee,l@example.org,07700 900102\n").failure
        #expect(badPhone?.line == 3 && badPhone?.column == 3)
    }

    @Test("CSV: render reads back as the same people")
    func csvRoundTrip() throws {
        let people = [Self.dana, Person(name: "Sam O'Neill", email: "sam@example.org", site: " Leeds, \"DC\" ", deputy: "Dana Whitfield")]
        let text = PeopleCSV.render(people)
        #expect(text.hasPrefix("name,email,phone,slack_id,mattermost_user,groups,site,deputy\n"))
        let back = try PeopleCSV.parse(text).get().rows.map(\.person)
        #expect(back[0] == Self.dana)
        #expect(back[1].deputy == "Dana Whitfield")
        #expect(back[1].site == "Leeds, \"DC\"")  // spaces at the ends of a field are trimmed on reading
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
