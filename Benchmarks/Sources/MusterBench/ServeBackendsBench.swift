import Foundation
import MusterJournal

/// `muster-bench serve` on both backends in one invocation (issue 15): the same load (ServeBench) on a fresh
/// SQLite journal, then on a fresh schema of a throw-away PostgreSQL cluster (`scripts/postgres-cluster`, fsync
/// on) or of `MUSTER_BENCH_POSTGRES_URL`. PostgreSQL's commands/s as a ratio to SQLite's (target: at least 0.5),
/// p99 of each (target: under 50 ms); the loss and duplicate checks run on both.
extension ServeBench {
    static func runBackends() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") else { throw Failure("wrk is not installed (apt-get install -y wrk)") }
        let postgres = try BenchPostgres.start()
        defer { postgres.stop() }
        progress(BenchPostgres.settings(postgres.url))
        let sqlite = try run(backend: "SQLite", throwing: false)
        let pg = try run(backend: "PostgreSQL", journal: { .postgres(url: try postgres.freshSchema("serve")) }, throwing: false)
        let ratio = pg.rate / sqlite.rate
        print("serve, PostgreSQL against SQLite (same load, same run): \(Int(pg.rate)) against \(Int(sqlite.rate)) commands/s = \(MusterBench.format(ratio, 2))x (target: at least 0.5); p99 \(ms(pg.p99)) ms and \(ms(sqlite.p99)) ms (target: under 50 ms)")
        let met = ratio >= 0.5 && pg.p99 < 50_000 && sqlite.p99 < 50_000
        print("  targets \(met ? "met" : "NOT met"); events \(sqlite.clean && pg.clean ? "none lost or duplicated on either backend" : "CHECK FAILED on \([sqlite, pg].filter { !$0.clean }.map(\.backend).joined(separator: " and "))")")
        fflush(nil)
        if !sqlite.clean || !pg.clean { throw Failure("lost or duplicated events, non-2xx answers or an unclean stop (see above)") }
    }
}
