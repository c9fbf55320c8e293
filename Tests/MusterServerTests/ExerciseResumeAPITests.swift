import MusterTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import MusterCore
import MusterExercise
import MusterJournal
import MusterRuntime
import MusterServer
import MusterYAML
import Testing

/// Two servers on one journal file, one after the other: an exercise started through the first is driven by
/// the second, by the same facilitator.
@Suite("Exercises across server restarts")
struct ExerciseResumeAPITests {
    /// Another server on the fixture's journal file (a new process would open it the same way).
    /// The next server on the same journal, as `muster serve` leaves it once listening: its exercises taken up
    /// (the router test harness binds no port, so nothing calls the running hook).
    /// `pumpInterval`: a long one keeps this server's timer pump from taking up exercises by itself (after its first
    /// pass), so a test sees what a request does.
    static func nextServer(_ f: ServerFixture, pumpInterval: Duration? = nil) throws -> ServerState {
        var configuration = f.state.configuration
        if let pumpInterval { configuration.pumpInterval = pumpInterval }
        configuration.instanceID = ServerConfiguration.defaultInstanceID(port: 0)  // another server (or a restart elsewhere)
        let state = ServerState(runtime: IncidentRuntime(journal: try TestDatabase.open(home: f.folder, durability: .normal)),
                                configuration: configuration)
        state.reattachExercises()
        return state
    }

    static func clockEvents(_ journal: Journal, _ runID: String) throws -> [ExerciseClockChange] {
        try journal.events(runID: runID).compactMap { if case .exerciseClock(let c) = $0.body { c } else { nil } }
    }

    @Test("a restarted server takes up the exercise paused; its facilitator resumes and releases the next inject, a player still cannot")
    func restartThenResume() async throws {
        let f = try ServerFixture()
        let run = try await f.app.test(.router) { client async throws -> String in
            let started = try await client.call(f, "Olga", .post, "/api/exercises", ["exercise": "ransomware-tabletop-2026q4", "speed": "30"])
            #expect(started.status == 201, "\(started.text)")
            let run = try #require(started.json["id"] as? String)
            #expect(try await client.call(f, "Lee", .post, "/api/runs/\(run)/exercise", ["control": "pause"]).status == 403)
            return run
        }
        // The first server's graceful shutdown suspended the running clock, on the timeline.
        let journal = f.state.journal
        #expect(try Self.clockEvents(journal, run).last.map { if case .suspended = $0 { true } else { false } } == true)

        let second = try Self.nextServer(f)
        try await buildApplication(state: second).test(.router) { client async throws in
            let view = try await client.call(f, "Olga", .get, "/api/runs/\(run)/exercise")
            #expect(view.status == 200, "\(view.text)")
            #expect(view.json["driven"] as? Bool == true && view.json["you_facilitate"] as? Bool == true && view.json["facilitator"] as? String == "Olga")
            let clock = try #require(view.json["clock"] as? [String: Any])
            #expect(clock["paused"] as? Bool == true && clock["running"] as? Bool == false && clock["speed"] as? String == "30")
            let status = try await client.call(f, "Olga", .get, "/api/runs/\(run)")
            let you = status.json["you"] as? [String: Any]
            #expect(you?["facilitator"] as? Bool == true && (you?["can"] as? [String: Any])?["exercise_control"] as? Bool == true, "\(status.text)")

            for control in ["resume", "next"] {
                let denied = try await client.call(f, "Lee", .post, "/api/runs/\(run)/exercise", ["control": control])
                #expect(denied.status == 403 && (denied.json["error"] as? String)?.contains("facilitator (Olga)") == true, "\(denied.text)")
            }
            let resumed = try await client.call(f, "Olga", .post, "/api/runs/\(run)/exercise", ["control": "resume"])
            #expect(resumed.status == 200, "\(resumed.text)")
            let next = try await client.call(f, "Olga", .post, "/api/runs/\(run)/exercise", ["control": "next"])
            #expect(next.status == 200, "\(next.text)")
            #expect(((next.json["events"] as? [[String: Any]]) ?? []).contains { $0["type"] as? String == "inject-delivered" })
            let players = try await client.call(f, "Lee", .get, "/api/runs/\(run)/exercise")
            #expect((players.json["injects"] as? [[String: Any]] ?? []).map { $0["id"] as? String } == ["I1", "I2"])
            // A player's action goes through the re-attached session, in scenario time.
            let done = try await client.call(f, "Lee", .post, "/api/runs/\(run)/commands", ["type": "task-done", "task": "confirm"])
            #expect(done.status == 200, "\(done.text)")
        }

        let events = try journal.events(runID: run)
        let delivered = events.compactMap { if case .injectDelivered(let d) = $0.body { d.inject } else { nil } }
        #expect(delivered == ["I1", "I2"])
        let start = try #require(events.first { if case .exerciseStarted = $0.body { true } else { false } })
        #expect(start.actor == "Olga")
        let suspensions = try Self.clockEvents(journal, run).filter { if case .suspended = $0 { true } else { false } }
        #expect(suspensions.count == 2, "one at each shutdown, none when the second server took it up (already paused)")
        let stored = try journal.storedEvents(runID: run)
        #expect(stored.last { $0.type == "task-completed" }?.scenarioTime != nil)
        #expect(try journal.verify(runID: run).isIntact)
    }

    @Test("a control for a server-started exercise this server does not hold takes it up from the journal, after the permission check")
    func lazyReattach() async throws {
        let f = try ServerFixture()
        let second = try Self.nextServer(f, pumpInterval: .seconds(3600))
        try await buildApplication(state: second).test(.router) { c2 async throws in
            // The second server is already up when the first starts the exercise (and stops).
            let run = try await f.app.test(.router) { c1 async throws -> String in
                let started = try await c1.call(f, "Olga", .post, "/api/exercises", ["exercise": "ransomware-tabletop-2026q4", "speed": "manual"])
                return try #require(started.json["id"] as? String)
            }
            // The first server gave its lease up when it stopped (it would run out within 5 s anyway).
            let deadline = Date().addingTimeInterval(10)
            while try f.state.journal.liveLease("exercise:\(run)") != nil, Date() < deadline { try await _Concurrency.Task.sleep(for: .milliseconds(100)) }
            #expect(try await c2.call(f, "Olga", .get, "/api/runs/\(run)/exercise").json["driven"] as? Bool == false)
            #expect(try await c2.call(f, "Lee", .post, "/api/runs/\(run)/exercise", ["control": "next"]).status == 403)
            #expect(try await c2.call(f, "Lee", .get, "/api/runs/\(run)/exercise").json["driven"] as? Bool == false, "a player's control re-attaches nothing")
            let next = try await c2.call(f, "Olga", .post, "/api/runs/\(run)/exercise", ["control": "next"])
            #expect(next.status == 200, "\(next.text)")
            #expect(next.json["scenario_now"] as? String == "2026-11-27T18:05:00.000Z")
            #expect(try await c2.call(f, "Olga", .get, "/api/runs/\(run)/exercise").json["driven"] as? Bool == true)
            #expect(try Self.clockEvents(f.state.journal, run).allSatisfy { if case .suspended = $0 { false } else { true } },
                    "a manual clock is never suspended")
        }
    }

    @Test("two servers up at once on one exercise: a control through the other one is handled on a copy that follows the driver, which goes on from it")
    func staleCopyDropped() async throws {
        let f = try ServerFixture()
        let second = try Self.nextServer(f)
        try await f.app.test(.router) { c1 async throws in
            let started = try await c1.call(f, "Olga", .post, "/api/exercises", ["exercise": "ransomware-tabletop-2026q4", "speed": "manual"])
            let run = try #require(started.json["id"] as? String)
            try await buildApplication(state: second).test(.router) { c2 async throws in
                // The first server holds the exercise's lease: the second leaves the run alone at its start-up, and
                // handles a control on a copy without taking the run over.
                #expect(try await c2.call(f, "Olga", .get, "/api/runs/\(run)/exercise").json["driven"] as? Bool == true)
                #expect(try await c2.call(f, "Olga", .post, "/api/runs/\(run)/exercise", ["control": "skip", "by": "5m"]).status == 200)
                #expect(try f.state.journal.liveLease("exercise:\(run)")?.holder == f.state.configuration.instanceID)
            }
            // The driver's copy is behind the journal: it goes on from the journal and decides the control again.
            let next = try await c1.call(f, "Olga", .post, "/api/runs/\(run)/exercise", ["control": "skip", "by": "5m"])
            #expect(next.status == 200, "\(next.text)")
            #expect(next.json["scenario_now"] as? String == "2026-11-27T17:50:00.000Z", "both skips count once each")
            #expect(try Self.clockEvents(f.state.journal, run).allSatisfy { if case .suspended = $0 { false } else { true } })
            #expect(try f.state.journal.verify(runID: run).isIntact)
        }
    }

    @Test("an exercise run from the terminal console is not taken up by a server: its controls stay 409")
    func consoleRunsStayTheirs() async throws {
        let f = try ServerFixture()
        let loaded = ExerciseLoader.load(file: repositoryRoot + "/exercises/ransomware-tabletop.yaml")
        let session = try ExerciseSession.start(journal: f.state.journal, loaded: loaded, playersFile: nil, pace: .manual).0.runID
        try await f.app.test(.router) { client async throws in
            let view = try await client.call(f, "Olga", .get, "/api/runs/\(session)/exercise")
            #expect(view.json["driven"] as? Bool == false && view.json["facilitator"] is NSNull)
            let refused = try await client.call(f, "Olga", .post, "/api/runs/\(session)/exercise", ["control": "pause"])
            #expect(refused.status == 409 && (refused.json["error"] as? String)?.contains("not an exercise driven by this server") == true)
        }
    }
}
