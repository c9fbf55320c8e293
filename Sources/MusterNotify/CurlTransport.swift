import CCurl
import Foundation
import MusterCore

/// Delivers requests with libcurl's multi interface, driven by dedicated threads (never the cooperative
/// pool; two by default, see `Configuration.threads`): many transfers proceed at once over reused
/// connections, each bounded by its connect and total timeouts, TLS certificates and host names verified.
///
/// Completions run on a transport thread and must return quickly; `send` resumes the caller's task.
/// A transfer is never cancelled by cancelling the awaiting task: its timeouts bound it.
public final class CurlTransport: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Concurrent transfers (so connections) to one host; further transfers wait in the engine, in order.
        public var maxConnectionsPerHost: Int
        /// Concurrent transfers overall.
        public var maxTotalConnections: Int
        /// Idle connections kept open for reuse.
        public var connectionCacheSize: Int
        /// A PEM bundle of trusted CAs (a private CA) used instead of the system store; nil uses the system store.
        public var caBundlePath: String?
        /// nil: libcurl's environment (`http_proxy`, `https_proxy`, `no_proxy`; when none is set as the transport
        /// is created, no proxy); "": no proxy at all;
        /// otherwise the proxy URL for every transfer.
        public var proxy: String?
        public var userAgent: String
        /// Threads, each with its own multi handle and connections, sharing the limits above (each gets an
        /// equal part, so there are never more threads than connections allowed per host). Requests are
        /// handed to them in turn; waiting transfers keep their order per thread. Two let the transport use
        /// a second core while the outbox worker records the previous batch (libcurl and the kernel's TCP
        /// work are most of a transfer's cost, and one thread runs them one transfer at a time): 10,000
        /// webhooks to a local nginx took ~15% less time than with one.
        public var threads: Int

        public init(
            maxConnectionsPerHost: Int = 32, maxTotalConnections: Int = 256, connectionCacheSize: Int = 64,
            caBundlePath: String? = nil, proxy: String? = nil, userAgent: String = "Muster/1", threads: Int = 2
        ) {
            self.threads = threads
            self.proxy = proxy
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.maxTotalConnections = maxTotalConnections
            self.connectionCacheSize = connectionCacheSize
            self.caBundlePath = caBundlePath
            self.userAgent = userAgent
        }
    }

    private let engines: [CurlEngine]
    /// Transfers handed to each engine and not yet completed.
    private let load: EngineLoad

    public init(configuration: Configuration = Configuration()) {
        let count = max(1, min(configuration.threads, configuration.maxConnectionsPerHost, configuration.maxTotalConnections))
        var part = configuration
        if configuration.proxy == nil, !Self.proxyVariables.contains(where: { ProcessInfo.processInfo.environment[$0] != nil }) {
            // No proxy in the environment: say so once ("" is no proxy), rather than have libcurl look the
            // variables up again for every transfer. With one set, libcurl reads them as before.
            part.proxy = ""
        }
        part.maxConnectionsPerHost = max(1, configuration.maxConnectionsPerHost / count)
        part.maxTotalConnections = max(1, configuration.maxTotalConnections / count)
        part.connectionCacheSize = max(1, configuration.connectionCacheSize / count)
        engines = (0..<count).map { _ in CurlEngine(configuration: part) }
        load = EngineLoad(count: count)
        for engine in engines { engine.start() }
    }

    deinit { for engine in engines { engine.shutdown() } }

    /// The variables libcurl takes a proxy from (`SCHEME_proxy` in either case, `all_proxy`; `no_proxy` only
    /// matters with one of them).
    static let proxyVariables = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                                 "smtp_proxy", "SMTP_PROXY", "smtps_proxy", "SMTPS_PROXY"]

    /// Hands each transfer to the engine with the fewest unfinished ones (the first on a tie: one request
    /// at a time always takes the same engine, so the same connection), one hand-over per engine.
    private func enqueue(_ transfers: [PendingTransfer]) {
        guard engines.count > 1 else {
            engines[0].enqueue(transfers)
            return
        }
        let targets = load.assign(transfers.count)
        var parts = Array(repeating: [PendingTransfer](), count: engines.count)
        for (transfer, engine) in zip(transfers, targets) {
            let load = self.load
            let completion = transfer.completion
            parts[engine].append(PendingTransfer(request: transfer.request) { result in
                load.finished(engine)  // before the caller can see the result and send again
                completion(result)
            })
        }
        for (engine, part) in zip(engines, parts) where !part.isEmpty { engine.enqueue(part) }
    }

    /// Sends all requests concurrently; results in the order of the requests.
    public func send(_ requests: [DeliveryRequest]) async -> [DeliveryResult] {
        guard !requests.isEmpty else { return [] }
        return await withCheckedContinuation { (continuation: CheckedContinuation<[DeliveryResult], Never>) in
            let batch = Batch(count: requests.count, continuation: continuation)
            enqueue(requests.enumerated().map { index, request in
                PendingTransfer(request: request) { result in batch.set(index, result) }
            })
        }
    }

    public func send(_ request: DeliveryRequest) async -> DeliveryResult {
        await send([request])[0]
    }

    /// Starts one transfer; `completion` runs on a transport thread when it ends.
    public func submit(_ request: DeliveryRequest, completion: @escaping @Sendable (DeliveryResult) -> Void) {
        enqueue([PendingTransfer(request: request, completion: completion)])
    }

    /// Starts many transfers with one hand-over to each transport thread (one wake-up for all of them, not
    /// one per request); `completion(index, result)` runs on a transport thread as each one ends.
    public func submit(_ requests: [DeliveryRequest], completion: @escaping @Sendable (Int, DeliveryResult) -> Void) {
        guard !requests.isEmpty else { return }
        enqueue(requests.enumerated().map { index, request in
            PendingTransfer(request: request) { result in completion(index, result) }
        })
    }

    /// Stops the thread: transfers still running or queued end as transient failures. Waits (bounded) for
    /// the thread to finish unless called from it. Later submissions fail at once.
    public func shutdown() { for engine in engines { engine.shutdown() } }

    /// The libcurl version this process runs with (`7.88.1`).
    public static var libcurlVersion: String {
        _ = CurlGlobal.initialized
        return String(cString: muster_curl_version_info().pointee.version)
    }
}

/// How many transfers each engine has not finished yet, to hand new ones to the least busy.
final class EngineLoad: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int]

    init(count: Int) { counts = Array(repeating: 0, count: count) }

    /// The engine for each of `n` new transfers, counted as started.
    func assign(_ n: Int) -> [Int] {
        lock.lock()
        defer { lock.unlock() }
        var targets: [Int] = []
        targets.reserveCapacity(n)
        for _ in 0..<n {
            var best = 0
            for index in counts.indices where counts[index] < counts[best] { best = index }
            counts[best] += 1
            targets.append(best)
        }
        return targets
    }

    func finished(_ engine: Int) {
        lock.lock()
        counts[engine] -= 1
        lock.unlock()
    }
}

/// `curl_global_init` exactly once per process (a `static let` initializer runs once, thread-safely).
enum CurlGlobal {
    static let initialized: CURLcode = curl_global_init(muster_curl_global_default)
}

struct PendingTransfer: Sendable {
    var request: DeliveryRequest
    var completion: @Sendable (DeliveryResult) -> Void
}

/// A FIFO of transfers waiting for room (amortised O(1) pop).
struct TransferQueue {
    private var items: [PendingTransfer] = []
    private var head = 0

    var isEmpty: Bool { head >= items.count }

    mutating func push(_ item: PendingTransfer) { items.append(item) }

    mutating func pop() -> PendingTransfer? {
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head > 1024, head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return item
    }
}

/// Collects the results of one `send` and resumes its caller when the last arrives.
private final class Batch: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [DeliveryResult?]
    private var remaining: Int
    private let continuation: CheckedContinuation<[DeliveryResult], Never>

    init(count: Int, continuation: CheckedContinuation<[DeliveryResult], Never>) {
        results = Array(repeating: nil, count: count)
        remaining = count
        self.continuation = continuation
    }

    func set(_ index: Int, _ result: DeliveryResult) {
        lock.lock()
        guard results[index] == nil else {
            lock.unlock()
            return
        }
        results[index] = result
        remaining -= 1
        let done = remaining == 0 ? results.map { $0! } : nil
        lock.unlock()
        if let done { continuation.resume(returning: done) }
    }
}

/// The multi handle and its thread. `pending` and `stopping` are shared under `lock`; everything else
/// (the multi handle's transfers, `active`) belongs to the worker thread alone.
final class CurlEngine: @unchecked Sendable {
    let configuration: CurlTransport.Configuration
    private let lock = NSLock()
    private var pending: [PendingTransfer] = []
    private var stopping = false
    private var refusal = "the delivery transport is shut down"
    private let exited = DispatchSemaphore(value: 0)
    private var multi: UnsafeMutableRawPointer?
    private var thread: Thread?
    /// Worker thread only.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    /// Worker thread only: admission control. libcurl's own queue for transfers over its connection limits
    /// (CURLMOPT_MAX_HOST_CONNECTIONS) revives waiting transfers slowly (measured with libcurl 7.88.1: 16
    /// connections and 1,000 queued posts ran at about 3,000/s, against 30,000/s when no transfer waits inside
    /// libcurl). So the engine hands libcurl at most `maxConnectionsPerHost` transfers per host and
    /// `maxTotalConnections` overall, and keeps the rest here, in arrival order per host.
    private var activeHost: [UnsafeMutableRawPointer: String] = [:]
    private var activePerHost: [String: Int] = [:]
    private var waiting: [String: TransferQueue] = [:]
    /// Hosts with waiting transfers, in the order they first had to wait.
    private var waitingHosts: [String] = []
    /// Worker thread only: easy handles of finished transfers, reset, for the next ones (creating and
    /// destroying one per message cost more than the transfer's own setup).
    private var idleHandles: [CurlTransfer.IdleHandle] = []

    init(configuration: CurlTransport.Configuration) {
        self.configuration = configuration
        _ = CurlGlobal.initialized
        multi = curl_multi_init()
        if let multi {
            _ = muster_curl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost)
            _ = muster_curl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, configuration.maxTotalConnections)
            _ = muster_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, configuration.connectionCacheSize)
        }
    }

    func start() {
        guard multi != nil else {
            lock.lock()
            stopping = true
            refusal = "libcurl could not be initialised (curl_global_init returned \(CurlGlobal.initialized.rawValue))"
            lock.unlock()
            exited.signal()
            return
        }
        let thread = Thread { [self] in run() }
        thread.name = "muster-curl"
        self.thread = thread
        thread.start()
    }

    func enqueue(_ transfers: [PendingTransfer]) {
        lock.lock()
        if stopping {
            let reason = refusal
            lock.unlock()
            for t in transfers {
                t.completion(DeliveryResult(status: nil, latency: .zero, failure: .transient(reason), curlCode: -1))
            }
            return
        }
        pending += transfers
        // Under the lock: the worker clears `multi` under it before cleaning the handle up.
        if let multi { curl_multi_wakeup(multi) }
        lock.unlock()
    }

    func shutdown() {
        lock.lock()
        let alreadyStopping = stopping
        stopping = true
        if !alreadyStopping, let multi { curl_multi_wakeup(multi) }
        let isWorker = thread.map { Thread.current == $0 } ?? false
        lock.unlock()
        if !isWorker {
            // The loop wakes within one poll; the bound only guards against a libcurl call that never returns.
            if exited.wait(timeout: .now() + 30) == .success { exited.signal() }
        }
    }

    private func run() {
        guard let multi else { return }
        var running: Int32 = 0
        while true {
            lock.lock()
            let incoming = pending
            pending = []
            let stop = stopping
            lock.unlock()

            if stop {
                for t in incoming {
                    t.completion(DeliveryResult(status: nil, latency: .zero, failure: .transient("the delivery transport shut down before sending"), curlCode: -1))
                }
                for (easy, transfer) in active {
                    curl_multi_remove_handle(multi, easy)
                    transfer.complete(with: DeliveryResult(
                        status: nil, latency: transfer.elapsed, failure: .transient("the delivery transport shut down during the transfer"), curlCode: -1))
                }
                active = [:]
                for host in waitingHosts {
                    while let t = waiting[host]?.pop() {
                        t.completion(DeliveryResult(status: nil, latency: .zero, failure: .transient("the delivery transport shut down before sending"), curlCode: -1))
                    }
                }
                waiting = [:]
                waitingHosts = []
                break
            }

            for item in incoming { admit(item, multi: multi) }
            curl_multi_perform(multi, &running)
            var left: Int32 = 0
            var finished = false
            while let message = curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let code = muster_curl_msg_result(message)
                curl_multi_remove_handle(multi, easy)
                if let transfer = active.removeValue(forKey: easy) {
                    release(easy)
                    transfer.complete(with: transfer.result(code: code))
                    if idleHandles.count < max(1, configuration.maxTotalConnections) { idleHandles.append(transfer.takeHandle()) }
                }
                startWaiting(multi: multi)
                finished = true
            }
            // Transfers just ended (and waiting ones were started in their place): run libcurl again at once,
            // as a poll would return at once for the new transfers anyway (one system call less per round).
            if finished { continue }
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        lock.lock()
        self.multi = nil
        lock.unlock()
        for idle in idleHandles { curl_easy_cleanup(idle.easy) }
        idleHandles = []
        curl_multi_cleanup(multi)
        exited.signal()
    }

    /// Starts the transfer now if its host and the engine have room, else queues it.
    private func admit(_ item: PendingTransfer, multi: UnsafeMutableRawPointer) {
        let host = hostKey(item.request)
        if waiting[host]?.isEmpty == false || !hasRoom(host) {
            if !waitingHosts.contains(host) { waitingHosts.append(host) }
            waiting[host, default: TransferQueue()].push(item)
            return
        }
        begin(item, host: host, multi: multi)
    }

    private func hasRoom(_ host: String) -> Bool {
        active.count < max(1, configuration.maxTotalConnections)
            && activePerHost[host, default: 0] < max(1, configuration.maxConnectionsPerHost)
    }

    /// Starts waiting transfers while there is room, hosts in turn.
    private func startWaiting(multi: UnsafeMutableRawPointer) {
        var index = 0
        while index < waitingHosts.count {
            let host = waitingHosts[index]
            while hasRoom(host), let item = waiting[host]?.pop() { begin(item, host: host, multi: multi) }
            if waiting[host]?.isEmpty ?? true {
                waiting[host] = nil
                waitingHosts.remove(at: index)
            } else {
                index += 1
            }
        }
    }

    private func release(_ easy: UnsafeMutableRawPointer) {
        if let host = activeHost.removeValue(forKey: easy) {
            activePerHost[host, default: 1] -= 1
            if activePerHost[host] == 0 { activePerHost[host] = nil }
        }
    }

    /// Worker thread only: the last URL seen and its host key (consecutive requests mostly go to one URL).
    private var lastURL = ""
    private var lastHostKey = ""

    private func hostKey(_ request: DeliveryRequest) -> String {
        let url: String
        switch request.target {
        case .httpPost(let post): url = post.url
        case .smtp(let smtp): url = smtp.url
        }
        if url == lastURL { return lastHostKey }
        let key = Self.hostKey(request)
        lastURL = url
        lastHostKey = key
        return key
    }

    /// `scheme://host:port` of the request's URL, lower-cased (what libcurl's per-host limit counts).
    static func hostKey(_ request: DeliveryRequest) -> String {
        let url: String
        switch request.target {
        case .httpPost(let post): url = post.url
        case .smtp(let smtp): url = smtp.url
        }
        guard let schemeEnd = url.range(of: "://") else { return url.lowercased() }
        let rest = url[schemeEnd.upperBound...]
        let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        return (url[..<schemeEnd.upperBound] + rest[..<end]).lowercased()
    }

    private func begin(_ item: PendingTransfer, host: String, multi: UnsafeMutableRawPointer) {
        let transfer: CurlTransfer
        do {
            transfer = try CurlTransfer(item, reusing: idleHandles.popLast(), configuration: configuration)
        } catch {
            item.completion(DeliveryResult(status: nil, latency: .zero, failure: error.failure, curlCode: Int(error.code.rawValue)))
            return
        }
        let added = curl_multi_add_handle(multi, transfer.easy)
        guard added == CURLM_OK else {
            let text = String(cString: curl_multi_strerror(added))
            transfer.complete(with: DeliveryResult(status: nil, latency: .zero, failure: .transient("libcurl could not start the transfer: \(text)"), curlCode: -1))
            return
        }
        active[transfer.easy] = transfer
        activeHost[transfer.easy] = host
        activePerHost[host, default: 0] += 1
    }
}
