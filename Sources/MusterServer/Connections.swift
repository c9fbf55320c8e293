import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request head is not complete within `timeout` of the connection opening or of the
/// end of its previous response (a keep-alive connection waiting for its next request counts the same way).
/// Hummingbird's own idle timeout does not cover this case: a head that is still arriving is not a request yet.
/// Sits after the HTTP decoder, so `.head` arrives once the whole head has been read; requests in flight
/// (pipelined, or a live stream being written) are never timed out here.
final class RequestHeadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let timeout: TimeAmount
    private var scheduled: Scheduled<Void>?
    /// Requests whose head was read and whose response has not ended.
    private var inFlight = 0

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            inFlight += 1
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            inFlight = max(0, inFlight - 1)
            if inFlight == 0 { arm(context) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        disarm()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        scheduled = context.eventLoop.scheduleTask(in: timeout) { bound.value.close(promise: nil) }
    }

    private func disarm() {
        scheduled?.cancel()
        scheduled = nil
    }
}

/// Open connections of one server, shared by every connection's `ConnectionLimitHandler`.
final class ConnectionCounter: @unchecked Sendable {
    let limit: Int
    private let lock = NSLock()
    private var open = 0

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Counts a new connection in; false (nothing counted) when `limit` are open already.
    func admit() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard open < limit else { return false }
        open += 1
        return true
    }

    func release() {
        lock.lock()
        open = max(0, open - 1)
        lock.unlock()
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return open
    }
}

/// Closes a new connection at once when the server already has `ConnectionCounter.limit` open, so a flood of
/// connections (half-sent requests, idle sockets) cannot use up the process's file descriptors; the others are
/// served as usual. (Hummingbird's `MaximumAvailableConnections` only stops accepting between read cycles of the
/// listening socket and, in 2.28.1 with this NIO, did not hold the limit in a test.)
final class ConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let counter: ConnectionCounter
    private var counted = false

    init(counter: ConnectionCounter) {
        self.counter = counter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if counter.admit() {
            counted = true
        } else {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if counted {
            counted = false
            counter.release()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard counted else { return }  // refused: nothing of it reaches the routes
        context.fireChannelRead(data)
    }
}
