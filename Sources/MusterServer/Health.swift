import Foundation
import Hummingbird
import MusterJournal

/// `GET /healthz`: 200 `ok` while this server can reach a writable database, else 503 (with `Retry-After`) and
/// why: what a load balancer needs to stop sending commands to it. The answer is kept for one second, so a
/// balancer polling often costs the database one query a second.
final class DatabaseHealth: @unchecked Sendable {
    private let journal: Journal
    private let lock = NSLock()
    private var cached: (until: Date, problem: String?)?

    init(journal: Journal) { self.journal = journal }

    /// nil when writable; otherwise what is wrong.
    func problem() -> String? {
        lock.lock()
        if let cached, Date() < cached.until {
            lock.unlock()
            return cached.problem
        }
        lock.unlock()
        let problem: String?
        do {
            problem = try journal.isWritable() ? nil : "the database is read-only here (a standby, or a read-only journal)"
        } catch {
            problem = error.description
        }
        lock.lock()
        cached = (Date().addingTimeInterval(1), problem)
        lock.unlock()
        return problem
    }

    func response() -> Response {
        guard let problem = problem() else {
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: "ok")))
        }
        return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8", .retryAfter: "5"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: "database unavailable: \(problem)")))
    }
}
