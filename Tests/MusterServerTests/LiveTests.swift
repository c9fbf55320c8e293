import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MusterCore
import MusterJournal
import MusterServer
import Testing

@Suite("Live", .serialized)
struct LiveTests {
    @Test("SSE: Last-Event-ID resumes after that seq; events appended meanwhile arrive once each, in order")
    func streamResume() async throws {
        let f = try ServerFixture(poll: .milliseconds(50))
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let head = try f.state.journal.head(runID: id).sequence
            let hub = f.state
            // Stop the feeds (as shutdown does) once the later notes went out, so the stream response completes. The
            // waits are on the stream's progress, not on time: a loaded machine only makes them longer.
            let writer = _Concurrency.Task {
                try await StreamControl.waitForStream(hub, runID: id)
                for i in 1...5 { _ = try hub.runtime.execute(Command(actor: "Sam", .note("n\(i)")), on: id) }
                try await StreamControl.waitForStream(hub, runID: id, through: head + 5)
                StreamControl.stop(hub)
            }
            var headers = f.headers("Lee")
            headers[HTTPField.Name("Last-Event-ID")!] = "3"
            let text = try await client.execute(uri: "/api/runs/\(id)/stream", method: .get, headers: headers) { String(buffer: $0.body) }
            try await writer.value
            let ids = text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) }
            #expect(ids == Array(4...(head + 5)))
            #expect(text.contains("event: timeline"))
        }
    }

    @Test("50 clients act on one run at once: every accepted command is journaled exactly once and the chain verifies")
    func concurrentClients() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        let who = ["Lee", "Sam", "Olga", "Dana"][i % 4]
                        return try await client.call(f, who, .post, "/api/runs/\(id)/commands", ["type": "note", "text": "note \(i)"]).status
                    }
                }
                var all: [Int] = []
                for try await s in group { all.append(s) }
                return all
            }
            #expect(statuses.filter { $0 == 200 }.count == 50)
            #expect(try f.state.journal.verify(runID: id).isIntact)
            let notes = try f.state.journal.events(runID: id).compactMap { e -> String? in
                if case .noteAdded(let text) = e.body { text } else { nil }
            }
            #expect(notes.count == 50)
            #expect(Set(notes).count == 50)
        }
    }

    @Test("over a real socket: the board page and an authenticated call")
    func realSocket() async throws {
        let f = try ServerFixture()
        try await f.app.test(.live) { client async throws in
            #expect(try await client.call(f, nil, .get, "/").status == 200)
            #expect(try await client.call(f, "Lee", .get, "/api/me").json["name"] as? String == "Lee")
        }
    }

    @Test("headless Chromium renders the board of a seeded run: state, tasks by role, timeline")
    func browser() async throws {
        let f = try ServerFixture()
        try await f.app.test(.live) { client async throws in
            let id = try await client.declareRun(f)
            _ = try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", ["type": "task-done", "task": "confirm", "note": "EDR shows renames"])
            let port = try #require(client.port)
            // The board's own browser runner (bounded by `timeout`, 30 s at most; a missing chromium fails the test).
            let dom = try await BoardBrowserTests.dom(port: port, fragment: "run=\(id)&token=\(f.tokens["Lee"]!)", folder: f.folder)
            StreamControl.stop(f.state)
            #expect(dom.contains("id=\"run-state\">Triage the alert"), "\(dom.prefix(3000))")
            #expect(dom.contains("Finance shares encrypted"))
            #expect(dom.contains("Confirm encryption activity"))
            // Tasks grouped by role: the it_ops group (first in this state) is headed by its title and holder.
            let tasks = BoardBrowserTests.element("tasks", in: dom)
            #expect(tasks.contains("<div class=\"role\"><strong>IT Operations lead</strong> — Lee<div class=\"task done\" data-task=\"confirm\">"),
                    "\(tasks)")
            #expect(dom.contains("data-done=\"scope\""))  // Lee's own open task has its button
            #expect(!dom.contains("data-done=\"preserve-evidence\""))  // not Lee's role
            // The timeline has Lee's completion with its note as a sentence, with the task's title (issue 13).
            let timeline = BoardBrowserTests.element("timeline", in: dom)
            let entry = #/<li [^>]*data-type="task-completed"[^>]*>\d{2}:\d{2}:\d{2} Lee completed Confirm encryption activity on shares \(EDR alerts, file rename rate, ransom notes\): EDR shows renames</li>/#
            #expect(timeline.contains(" Dana assigned Lee as IT Operations lead</li>"), "\(timeline)")
            #expect(!timeline.contains("task 'confirm' done") && !timeline.contains("assigned to it_ops"))  // the descriptions of old
            #expect(timeline.contains(entry), "\(timeline)")
        }
    }
}
