import Foundation
import MusterCore
import MusterTestSupport
import Testing
@testable import MusterJournal

/// `JournalLocation`: which backend a text names, what its description shows (never a password), and that a
/// libpq multi-host URL (how servers find a promoted standby, `docs/deployment.md`) reaches the writable host.
@Suite("Journal locations")
struct JournalLocationTests {
    @Test("a text names a backend; a multi-host URL is one PostgreSQL location", arguments: [
        ("postgres://muster:pw@127.0.0.1:5432/postgres", JournalLocation.Backend.postgresql),
        ("postgresql://muster:pw@db1:5432,db2:5432/muster?target_session_attrs=read-write", .postgresql),
        ("host=db1,db2 port=5432,5433 dbname=muster target_session_attrs=read-write", .postgresql),
        ("sqlite:/var/lib/muster/muster.db", .sqlite),
        ("/var/lib/muster/muster.db", .sqlite),
    ])
    func backend(_ text: String, _ expected: JournalLocation.Backend) {
        #expect(JournalLocation.parse(text).backend == expected)
    }

    @Test("the description drops the password and keeps every host, port and parameter", arguments: [
        ("postgres://muster:s3cret@127.0.0.1:5432/postgres", "postgres://muster@127.0.0.1:5432/postgres"),
        ("postgres://muster:s3cret@127.0.0.1:5432,127.0.0.1:5433/postgres?target_session_attrs=read-write",
         "postgres://muster@127.0.0.1:5432,127.0.0.1:5433/postgres?target_session_attrs=read-write"),
        ("postgresql://muster:s3cret@db1,db2,db3/muster?connect_timeout=3&target_session_attrs=read-write",
         "postgresql://muster@db1,db2,db3/muster?connect_timeout=3&target_session_attrs=read-write"),
        ("postgres://muster@db1:5432,db2:5432/muster?password=s3cret&target_session_attrs=read-write",
         "postgres://muster@db1:5432,db2:5432/muster?target_session_attrs=read-write"),
        ("host=db1,db2 port=5432,5433 password=s3cret dbname=muster target_session_attrs=read-write",
         "host=db1,db2 port=5432,5433 dbname=muster target_session_attrs=read-write"),
    ])
    func redaction(_ url: String, _ shown: String) {
        let location = JournalLocation.parse(url)
        #expect(location.description == shown)
        #expect(!location.description.contains("s3cret"))
    }

    @Test("a multi-host URL whose first host is down opens the journal on the next one (target_session_attrs=read-write)")
    func multiHost() throws {
        let home = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-location-\(UUID().uuidString)")
        let single = try TestPostgres.url(forHome: home)
        let server = try TestPostgres.server()
        let closed = try TestPostgres.freePort()
        // postgres://USER:PW@HOST:PORT/DB?options=... -> postgres://USER:PW@127.0.0.1:CLOSED,HOST:PORT/DB?...&target_session_attrs=read-write
        let hostPart = "\(server.host):\(server.port)"
        let url = single.replacingOccurrences(of: "@" + hostPart + "/", with: "@127.0.0.1:\(closed),\(hostPart)/") + "&target_session_attrs=read-write"
        #expect(url.contains(",\(hostPart)/"))
        let journal = try Journal.open(.postgres(url: url))
        defer { try? journal.close() }
        #expect(try journal.isWritable())
        #expect(journal.location.description.contains("127.0.0.1:\(closed),\(hostPart)"))
        if !server.password.isEmpty { #expect(!journal.location.description.contains(server.password)) }

        // Nowhere writable: unavailable (what the server answers 503 for), and the message names no password.
        let nowhere = "postgres://muster:s3cret-nowhere@127.0.0.1:\(closed),127.0.0.1:\(closed)/postgres?target_session_attrs=read-write&connect_timeout=2"
        do {
            _ = try Journal.open(.postgres(url: nowhere))
            Issue.record("opened a journal on two closed ports")
        } catch {
            #expect(!"\(error)".contains("s3cret"), "\(error)")
        }
    }
}
