import Foundation
import MusterCore
import MusterJournal
import MusterRuntime
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
///
/// Each subscriber's queue is bounded (`bufferBatches`): a client that stops reading while events keep coming is
/// dropped (its stream ends after what was queued, with nothing skipped) and resumes with `Last-Event-ID`.
final class EventHub: @unchecked Sendable {
    let journal: Journal
    let interval: Duration
    let bufferBatches: Int
    private let lock = NSLock()
    private var feeds: [String: Feed] = [:]
    private var streamsByUser: [String: Int] = [:]
    private var stopped = false

    /// What a live stream's handler receives: new events, or a reason to look at its access or its idle time.
    enum Signal: Sendable {
        case batch(FrameBatch)
        /// Check the token and read permission again now (a user was revoked through this server).
        case recheck
        /// The handler's own timer: heartbeat and periodic re-authorization.
        case tick
    }

    struct Subscriber {
        let user: String
        let continuation: AsyncStream<Signal>.Continuation
    }

    /// A subscription: its id, its signals, and the continuation the handler's timer yields ticks to.
    struct Subscription {
        let id: UUID
        let signals: AsyncStream<Signal>
        let continuation: AsyncStream<Signal>.Continuation
    }

    final class Feed: @unchecked Sendable {
        var last: Int
        /// Events this server just appended to the run, by seq, with their stored payload and hash: a poll takes
        /// the ones that follow `last` from here instead of reading and decoding them back from the journal (the
        /// JSON decoding was the largest cost of the stream under load). Only seqs above `last`; the rest (other
        /// processes, exercises, the timer pump) still come from the journal.
        var recent: [Int: (event: RunEvent, written: WrittenEvent)] = [:]
        var subscribers: [UUID: Subscriber] = [:]
        var task: _Concurrency.Task<Void, Never>?
        var wake: AsyncStream<Void>.Continuation?
        init(last: Int) { self.last = last }
    }

    /// The shortest time between two polls of one run.
    static let coalesce: Duration = .milliseconds(50)

    init(journal: Journal, interval: Duration = .milliseconds(200), bufferBatches: Int = 256) {
        self.journal = journal
        self.interval = interval
        self.bufferBatches = max(1, bufferBatches)
    }

    /// Subscribes `user` to a run's new events; the stream ends when the hub stops or the subscriber falls
    /// `bufferBatches` behind. Nil when `user` already has `limit` streams open.
    func subscribe(runID: String, user: String, limit: Int = .max) throws(JournalError) -> Subscription? {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Signal>.makeStream(bufferingPolicy: .bufferingOldest(bufferBatches))
        let head = try journal.head(runID: runID).sequence
        lock.lock()
        if stopped {
            lock.unlock()
            continuation.finish()
            return Subscription(id: id, signals: stream, continuation: continuation)
        }
        guard streamsByUser[user, default: 0] < limit else {
            lock.unlock()
            continuation.finish()
            return nil
        }
        streamsByUser[user, default: 0] += 1
        let feed: Feed
        if let existing = feeds[runID] {
            feed = existing
        } else {
            feed = Feed(last: head)
            feeds[runID] = feed
            start(feed, runID: runID)
        }
        feed.subscribers[id] = Subscriber(user: user, continuation: continuation)
        lock.unlock()
        // Also when the response is dropped before its body ever runs: the stream's end releases the user's slot.
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(runID: runID, id: id) }
        return Subscription(id: id, signals: stream, continuation: continuation)
    }

    func unsubscribe(runID: String, id: UUID) {
        lock.lock()
        guard let feed = feeds[runID], let subscriber = feed.subscribers.removeValue(forKey: id) else { lock.unlock(); return }
        let left = streamsByUser[subscriber.user, default: 1] - 1
        streamsByUser[subscriber.user] = left > 0 ? left : nil
        if feed.subscribers.isEmpty {
            feeds[runID] = nil
            feed.task?.cancel()
            feed.wake?.finish()
        }
        lock.unlock()
    }

    /// Remembers events this server appended (a successful append: the journal holds exactly these rows at these
    /// seqs) for the run's next poll; nothing is kept for a run nobody watches.
    func appended(runID: String, _ events: [(RunEvent, WrittenEvent)]) {
        guard !events.isEmpty else { return }
        lock.lock()
        if let feed = feeds[runID] {
            for (event, written) in events where written.seq > feed.last { feed.recent[written.seq] = (event, written) }
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

    /// Polls every watched run now (the notifications of other processes may have been missed).
    func nudgeAll() {
        lock.lock()
        let wakes = feeds.values.compactMap(\.wake)
        lock.unlock()
        for wake in wakes { wake.yield() }
    }

    /// Ends every stream (graceful shutdown: open SSE responses finish so in-flight requests can complete).
    func stop() {
        lock.lock()
        stopped = true
        let all = feeds.values
        feeds.removeAll()
        streamsByUser.removeAll()
        lock.unlock()
        for feed in all {
            feed.task?.cancel()
            feed.wake?.finish()
            for s in feed.subscribers.values { s.continuation.finish() }
        }
    }

    /// Asks every open stream to check its token and permission now (after a revocation).
    func recheckAll() {
        lock.lock()
        let all = feeds.values.flatMap { $0.subscribers.values }
        lock.unlock()
        for s in all { s.continuation.yield(.recheck) }
    }

    /// The last seq of a run handed to its subscribers; nil when nobody watches the run.
    func deliveredThrough(runID: String) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        return feeds[runID]?.last
    }

    /// Open streams, all runs.
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
                await DatabaseExecutor.run { self.poll(feed, runID: runID) }
                // At most one poll per `coalesce` (20 a second: still live for a board): under a burst of commands
                // every nudge would otherwise cost a journal read and one write per subscriber; now a batch collects
                // what came meanwhile.
                try? await _Concurrency.Task.sleep(for: Self.coalesce)
            }
        }
    }

    private func poll(_ feed: Feed, runID: String) {
        // The events this server appended that follow `last` without a gap, then the journal for anything after.
        lock.lock()
        var last = feed.last
        var known: [(seq: Int, event: RunEvent, written: WrittenEvent)] = []
        while let next = feed.recent.removeValue(forKey: last + 1) {
            last += 1
            known.append((last, next.event, next.written))
        }
        lock.unlock()
        let read = (try? journal.storedEvents(runID: runID, after: last)) ?? []
        guard !known.isEmpty || !read.isEmpty else { return }
        let framed = known.map { (seq: $0.seq, frame: Self.frame(seq: $0.seq, event: $0.event, payload: $0.written.payload, hash: $0.written.hash, scenario: nil),
                                  access: Self.changesAccess($0.event)) }
            + read.map { (seq: $0.seq, frame: Self.frame($0), access: Self.changesAccess($0.event)) }
        let batches = FrameBatch.split(framed)
        lock.lock()
        feed.last = read.last?.seq ?? last
        let final = feed.last
        if !feed.recent.isEmpty { feed.recent = feed.recent.filter { $0.key > final } }
        let subscribers = Array(feed.subscribers.values)
        lock.unlock()
        for s in subscribers {
            for batch in batches {
                // A full queue: this client stopped reading. End its stream after what it has queued (no gap); it
                // resumes from its last seq with `Last-Event-ID`.
                if case .dropped = s.continuation.yield(.batch(batch)) {
                    s.continuation.finish()
                    break
                }
            }
        }
    }

    static func changesAccess(_ event: RunEvent) -> Bool {
        switch event.body {
        case .roleAssigned, .roleRelieved: true
        default: false
        }
    }

    /// One timeline event as an SSE frame: `id: SEQ`, `event: timeline`, `data: {json}` (`EventJSON.bytes`).
    static func frame(_ event: StoredEvent) -> ByteBuffer {
        frame(seq: event.seq, event: event.event, payload: event.payload, hash: event.hash, scenario: event.scenarioTime)
    }

    static func frame(seq: Int, event: RunEvent, payload: String, hash: String, scenario: Instant?) -> ByteBuffer {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(payload.utf8.count + 320)
        bytes.append(contentsOf: "id: \(seq)\nevent: timeline\ndata: ".utf8)
        EventJSON.write(seq: seq, event: event, payload: payload, hash: hash, scenario: scenario, into: &bytes)
        bytes.append(contentsOf: [10, 10])
        return ByteBuffer(bytes: bytes)
    }
}

/// The same JSON as `EventJSON.object` serialized with sorted keys, written directly: under load the
/// dictionary + `JSONSerialization` round trip (and its key sorting) was the server's largest cost.
extension EventJSON {
    static func write(seq: Int, event: RunEvent, payload: String?, hash: String?, scenario: Instant?, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"actor":"#.utf8)
        string(event.actor, into: &out)
        out.append(contentsOf: #","at":"#.utf8)
        string(event.at.iso8601, into: &out)
        out.append(contentsOf: #","description":"#.utf8)
        string(RunText.describe(event.body), into: &out)
        if let hash {
            out.append(contentsOf: #","hash":"#.utf8)
            string(hash, into: &out)
        }
        out.append(contentsOf: #","payload":"#.utf8)
        if let payload {
            out.append(contentsOf: payload.utf8)  // the journal's canonical JSON of the body
        } else if let data = try? payloadEncoder.encode(event.body) {
            out.append(contentsOf: data)
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: #","role":"#.utf8)
        if let role = event.role { string(role, into: &out) } else { out.append(contentsOf: "null".utf8) }
        if let scenario {
            out.append(contentsOf: #","scenario_at":"#.utf8)
            string(scenario.iso8601, into: &out)
        }
        out.append(contentsOf: #","seq":\#(seq),"type":"#.utf8)
        string(event.body.typeName, into: &out)
        out.append(125)  // }
    }

    static let payloadEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// A JSON string, escaped as the journal's canonical JSON escapes it (one escaper for both).
    static func string(_ text: String, into out: inout [UInt8]) {
        CanonicalJSON.writeString(text, to: &out)
    }
}

/// New events of a run in seq order, encoded once for all subscribers: each frame, and all of them joined (what a
/// subscriber that has sent nothing of the batch yet writes in one go).
struct FrameBatch: Sendable {
    let seqs: [Int]
    let frames: [ByteBuffer]
    let joined: ByteBuffer
    /// Whether an event of the batch changes who holds a role: a stream checks its reader's permission again
    /// before writing it (a person relieved from a restricted run gets nothing more).
    let changesAccess: Bool

    init(_ framed: [(seq: Int, frame: ByteBuffer)], changesAccess: Bool = false) {
        self.changesAccess = changesAccess
        seqs = framed.map(\.seq)
        frames = framed.map(\.frame)
        var joined = ByteBuffer()
        joined.reserveCapacity(frames.reduce(0) { $0 + $1.readableBytes })
        for f in frames { joined.writeImmutableBuffer(f) }
        self.joined = joined
    }

    /// `framed` in order, cut before each event that changes who holds a role: such a batch starts with that event
    /// (`changesAccess`), so a stream that must end there has written everything before it.
    static func split(_ framed: [(seq: Int, frame: ByteBuffer, access: Bool)]) -> [FrameBatch] {
        var batches: [FrameBatch] = []
        var current: [(seq: Int, frame: ByteBuffer)] = []
        var currentChangesAccess = false
        for item in framed {
            if item.access, !current.isEmpty {
                batches.append(FrameBatch(current, changesAccess: currentChangesAccess))
                current = []
            }
            if item.access, current.isEmpty { currentChangesAccess = true }
            current.append((item.seq, item.frame))
        }
        if !current.isEmpty { batches.append(FrameBatch(current, changesAccess: currentChangesAccess)) }
        return batches
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
