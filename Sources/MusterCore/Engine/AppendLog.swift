/// An append-only list whose copies share everything but a short tail, so that appending to a copy of a run
/// (which `Run.decide` does for every note and lesson) costs O(1) instead of copying the whole history.
///
/// Frozen chunks are immutable and shared between copies; only the tail (fewer than `chunkSize` elements)
/// is copied when a shared copy appends.
struct AppendLog<Element: Sendable & Equatable>: Sendable, Equatable {
    private final class Chunk: Sendable {
        let items: [Element]
        let previous: Chunk?
        /// Elements in all chunks before this one.
        let offset: Int

        init(items: [Element], previous: Chunk?) {
            self.items = items
            self.previous = previous
            self.offset = previous.map { $0.offset + $0.items.count } ?? 0
        }
    }

    private static var chunkSize: Int { 16 }

    private var frozen: Chunk?
    private var tail: [Element] = []

    init() {}

    var count: Int { (frozen.map { $0.offset + $0.items.count } ?? 0) + tail.count }
    var isEmpty: Bool { count == 0 }

    var last: Element? {
        if let last = tail.last { return last }
        return frozen?.items.last
    }

    mutating func append(_ element: Element) {
        tail.append(element)
        if tail.count >= Self.chunkSize {
            frozen = Chunk(items: tail, previous: frozen)
            tail = []
        }
    }

    /// Every element in order (O(n): for readers, not for the engine's hot path).
    var elements: [Element] {
        var chunks: [Chunk] = []
        var cursor = frozen
        while let chunk = cursor {
            chunks.append(chunk)
            cursor = chunk.previous
        }
        var out: [Element] = []
        out.reserveCapacity(count)
        for chunk in chunks.reversed() { out.append(contentsOf: chunk.items) }
        out.append(contentsOf: tail)
        return out
    }

    static func == (a: AppendLog, b: AppendLog) -> Bool {
        guard a.count == b.count else { return false }
        if a.frozen === b.frozen { return a.tail == b.tail }
        return a.elements == b.elements
    }
}
