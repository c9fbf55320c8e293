import Foundation

/// Hears, from other processes too, that runs grew: PostgreSQL's `LISTEN` on the journal's append channel, on a
/// connection and thread of its own. A hint, never the record: a missed notification (a dropped connection, a
/// listener started late) only delays a reader, which still reads the journal after the seq it has. After a
/// reconnect `onReconnect` runs, so readers look again at everything.
public final class AppendListener: @unchecked Sendable {
    private let thread: Thread

    init(store: PostgresStore, onAppend: @escaping @Sendable (_ runID: String, _ head: Int) -> Void, onReconnect: @escaping @Sendable () -> Void) {
        let box = StopFlag()
        thread = Thread {
            var connection: PostgresConnection?
            var everConnected = false
            while !box.isSet {
                do {
                    if connection == nil || connection!.isBroken {
                        let fresh = try PostgresConnection(url: store.url, synchronousCommit: store.synchronousCommit)
                        try fresh.execute("LISTEN \(PostgresStore.appendChannel)")
                        connection = fresh
                        if everConnected { onReconnect() }
                        everConnected = true
                    }
                    for (channel, payload) in try connection!.notifications(waitingAtMost: 250) where channel == PostgresStore.appendChannel {
                        let parts = payload.split(separator: " ")
                        if parts.count == 2, let head = Int(parts[1]) { onAppend(String(parts[0]), head) }
                    }
                } catch {
                    connection = nil
                    Thread.sleep(forTimeInterval: 0.5)  // the database is away: try again, boundedly often
                }
            }
        }
        thread.name = "muster-append-listener"
        self.flag = box
        thread.start()
    }

    private let flag: StopFlag

    /// Stops listening (within a quarter of a second) and closes its connection.
    public func stop() { flag.set() }

    deinit { flag.set() }
}

private final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

extension Journal {
    /// Calls `onAppend` whenever any process appends to a run of this journal (PostgreSQL), and `onReconnect` after
    /// its connection came back; nil for SQLite, which has no notifications (readers poll it). Stop it when done.
    public func listenForAppends(onAppend: @escaping @Sendable (_ runID: String, _ head: Int) -> Void,
                                 onReconnect: @escaping @Sendable () -> Void) -> AppendListener? {
        guard let store = store as? PostgresStore else { return nil }
        return AppendListener(store: store, onAppend: onAppend, onReconnect: onReconnect)
    }
}
