import NIOCore
@testable import MusterServer
import Testing

@Suite("Stream batches")
struct FrameBatchTests {
    @Test("a batch is cut before each event that changes who holds a role, so what came before is written first")
    func cutBeforeAccessChanges() {
        func item(_ seq: Int, _ access: Bool) -> (seq: Int, frame: ByteBuffer, access: Bool) { (seq, ByteBuffer(string: "\(seq);"), access) }
        let batches = FrameBatch.split([item(1, false), item(2, false), item(3, true), item(4, false), item(5, true)])
        #expect(batches.map(\.seqs) == [[1, 2], [3, 4], [5]])
        #expect(batches.map(\.changesAccess) == [false, true, true])
        #expect(FrameBatch.split([item(1, true), item(2, false)]).map(\.changesAccess) == [true])
        #expect(FrameBatch.split([item(1, false), item(2, false)]).map(\.seqs) == [[1, 2]])
    }
}
