import Foundation
import MusterJournal
import NIOCore

/// Fans each run's new timeline events out to its live subscribers (SSE). One poller per watched run reads the
/// journal's new rows at most every `interval` (shared by all subscribers of that run), so events appended by any
/// process arrive; a command handled by this server nudges the poller so its own events go out at once.
///
/// A subscriber gets batches in seq order. Resuming (`Last-Event-ID`) is the caller's: it subscribes first, then
/// reads the backlog from the journal, then drops batch events at or below the last seq it sent. Nothing is
/// missed (the subscription is older than the backlog read) and nothing is sent twice (the seq filter).
///
/// Each event is encoded as its SSE frame once per poll, not once per subscriber: with 100 subscribers the JSON
/// encoding was most of the server's work under load. Subscribers share the frames' storage (`ByteBuffer` is
/// copy-on-write).
final class EventHub: @unchecked Sendable {
    let journal: Journal
    let interval: Duration
    private let lock = NSLock()
    private var feeds: [String: Feed] = [:]
    private var stopped = false

    final class Feed: @unchecked Sendable {
        var last: Int
        var subscribers: [UUID: AsyncStream<FrameBatch>.Continuation] = [:]
        var task: _Concurrency.Task<Void, Never>?
        var wake: AsyncStream<Void>.Continuation?
        init(last: Int) { self.last = last }
    }

    init(journal: Journal, interval: Duration = .milliseconds(200)) {
        self.journal = journal
        self.interval = interval
    }

    /// Subscribes to a run's new events; the stream ends when the hub stops.
    func subscribe(runID: String) throws(JournalError) -> (UUID, AsyncStream<FrameBatch>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<FrameBatch>.makeStream(bufferingPolicy: .unbounded)
        let head = try journal.head(runID: runID).sequence
        lock.lock()
        if stopped {
            lock.unlock()
            continuation.finish()
            return (id, stream)
        }
        let feed: Feed
        if let existing = feeds[runID] {
            feed = existing
        } else {
            feed = Feed(last: head)
            feeds[runID] = feed
            start(feed, runID: runID)
        }
        feed.subscribers[id] = continuation
        lock.unlock()
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(runID: runID, id: id) }
        return (id, stream)
    }

    func unsubscribe(runID: String, id: UUID) {
        lock.lock()
        guard let feed = feeds[runID] else { lock.unlock(); return }
        feed.subscribers[id] = nil
        if feed.subscribers.isEmpty {
            feeds[runID] = nil
            feed.task?.cancel()
            feed.wake?.finish()
        }
        lock.unlock()
    }

    /// Polls a run now (after this server appended to it).
    func nudge(runID: String) {
        lock.lock()
        let wake = feeds[runID]?.wake
        lock.unlock()
        wake?.yield()
    }

    /// Ends every stream (graceful shutdown: open SSE responses finish so in-flight requests can complete).
    func stop() {
        lock.lock()
        stopped = true
        let all = feeds.values
        feeds.removeAll()
        lock.unlock()
        for feed in all {
            feed.task?.cancel()
            feed.wake?.finish()
            for c in feed.subscribers.values { c.finish() }
        }
    }

    var subscriberCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return feeds.values.reduce(0) { $0 + $1.subscribers.count }
    }

    private func start(_ feed: Feed, runID: String) {
        let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        feed.wake = wake
        let interval = interval
        feed.task = _Concurrency.Task { [weak self] in
            // Wake on a nudge or after `interval`, whichever first.
            let ticker = _Concurrency.Task {
                while !_Concurrency.Task.isCancelled {
                    try? await _Concurrency.Task.sleep(for: interval)
                    wake.yield()
                }
            }
            defer { ticker.cancel() }
            for await _ in wakes {
                guard let self, !_Concurrency.Task.isCancelled else { return }
                self.poll(feed, runID: runID)
            }
        }
    }

    private func poll(_ feed: Feed, runID: String) {
        lock.lock()
        let last = feed.last
        lock.unlock()
        guard let events = try? journal.storedEvents(runID: runID, after: last), !events.isEmpty else { return }
        let batch = FrameBatch(events)
        lock.lock()
        feed.last = events.last!.seq
        let subscribers = Array(feed.subscribers.values)
        lock.unlock()
        for s in subscribers { s.yield(batch) }
    }

    /// One timeline event as an SSE frame: `id: SEQ`, `event: timeline`, `data: {json}`.
    static func frame(_ event: StoredEvent) -> ByteBuffer {
        let data = (try? JSONSerialization.data(withJSONObject: EventJSON.object(event), options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(data.count + 40)
        buffer.writeString("id: \(event.seq)\nevent: timeline\ndata: ")
        buffer.writeBytes(data)
        buffer.writeString("\n\n")
        return buffer
    }
}

/// New events of a run in seq order, encoded once for all subscribers: each frame, and all of them joined (what a
/// subscriber that has sent nothing of the batch yet writes in one go).
struct FrameBatch: Sendable {
    let seqs: [Int]
    let frames: [ByteBuffer]
    let joined: ByteBuffer

    init(_ events: [StoredEvent]) {
        seqs = events.map(\.seq)
        frames = events.map(EventHub.frame)
        var joined = ByteBuffer()
        joined.reserveCapacity(frames.reduce(0) { $0 + $1.readableBytes })
        for f in frames { joined.writeImmutableBuffer(f) }
        self.joined = joined
    }

    /// What to send to a subscriber that has sent up to seq `last`, and the new last seq.
    func after(_ last: Int) -> (ByteBuffer?, Int) {
        guard let first = seqs.first, let final = seqs.last, final > last else { return (nil, last) }
        if first > last { return (joined, final) }
        var out = ByteBuffer()
        for (seq, frame) in zip(seqs, frames) where seq > last { out.writeImmutableBuffer(frame) }
        return (out, final)
    }
}
