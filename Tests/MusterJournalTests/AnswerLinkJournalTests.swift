import Foundation
import GRDB
import MusterCore
import MusterTestSupport
import Testing
@testable import MusterJournal

/// Issue 17, personal answer links (format 8): the journal keeps each link's token hashed, on both backends.
@Suite("Answer links in the journal")
struct AnswerLinkJournalTests {
    typealias Home = BothBackendsTests.Home

    static func link(_ token: String, person: String = "Olga", question: AnswerLink.Question = .rollCall("staff-safety"), run: String = "r-1") -> AnswerLink {
        AnswerLink(tokenSHA256: AnswerToken.sha256(token), runID: run, person: person, question: question, notificationID: "n3",
                   message: "Are you safe?", createdAt: t0, expiresAt: t0 + .hours(25))
    }

    @Test("links are stored by their token's SHA-256 and found by it, with person, run, question and instants; the token itself is stored nowhere", arguments: TestBackend.allCases)
    func storeAndFind(_ backend: TestBackend) throws {
        let home = try Home(backend)
        defer { home.remove() }
        let journal = try home.open()
        defer { try? journal.close() }
        let olga = AnswerToken.make(), lee = AnswerToken.make()
        try journal.addAnswerLinks([Self.link(olga), Self.link(lee, person: "Lee", question: .ack("page-it"))])
        let found = try #require(try journal.answerLink(tokenSHA256: AnswerToken.sha256(olga)))
        #expect(found == Self.link(olga))
        #expect(try journal.answerLink(tokenSHA256: AnswerToken.sha256(lee))?.question == .ack("page-it"))
        #expect(try journal.answerLink(tokenSHA256: AnswerToken.sha256(AnswerToken.make())) == nil)
        #expect(try journal.answerLinks(runID: "r-1").count == 2)
        #expect(try journal.answerLinks(runID: "r-2").isEmpty)
        // A hash is stored once.
        #expect(throws: JournalError.self) { try journal.addAnswerLinks([Self.link(olga)]) }
        let dump = try home.behindMustersBack("SELECT * FROM answer_links").stdout
        #expect(dump.contains(AnswerToken.sha256(olga)))
        #expect(!dump.contains(olga) && !dump.contains(lee))
    }

    @Test("a format 7 journal becomes format 8 with its people kept, and takes links after")
    func migration() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        do {
            let queue = try DatabaseQueue(path: folder.database)
            var upToSeven = DatabaseMigrator()
            for (name, step) in [("v1", Schema.v1), ("v2", Schema.v2), ("v3", Schema.v3), ("v4", Schema.v4), ("v5", Schema.v5), ("v6", Schema.v6), ("v7", Schema.v7)] {
                upToSeven.registerMigration(name, migrate: step)
            }
            try upToSeven.migrate(queue)
            try queue.write { db in
                try db.execute(sql: "INSERT INTO people (name, name_key, phone, added_at, updated_at) VALUES ('Olga', 'olga', '+4915100000003', 0, 0)")
            }
            try queue.close()
        }
        #expect(try SQLite3.run(folder.database, "SELECT value FROM meta WHERE key = 'format_version'").stdout == "7\n")
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        #expect(try SQLite3.run(folder.database, "SELECT value FROM meta WHERE key = 'format_version'").stdout == "8\n")
        #expect(try journal.person(named: "olga")?.phone == "+4915100000003")
        let token = AnswerToken.make()
        try journal.addAnswerLinks([Self.link(token)])
        #expect(try journal.answerLink(tokenSHA256: AnswerToken.sha256(token))?.person == "Olga")
    }
}
