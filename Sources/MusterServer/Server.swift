import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MusterCore
import MusterDelivery
import MusterExercise
import MusterJournal
import MusterReports
import MusterRuntime
import MusterYAML
import NIOCore
import ServiceLifecycle

/// Where and how `muster serve` runs.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Where `POST /api/runs` finds playbooks by id, and `/api/exercises` lists exercises.
    public var playbooksFolder: String
    public var exercisesFolder: String
    /// Largest accepted request body (413 beyond).
    public var maxBodyBytes: Int
    /// How often each watched run's journal head is read for live subscribers.
    public var streamPollInterval: Duration
    /// How often the timer pump fires due timers of open live runs.
    public var pumpInterval: Duration
    /// Failed logins per remote address per minute before 429.
    public var failedLoginLimit: Int

    public init(host: String = "127.0.0.1", port: Int = 8080, playbooksFolder: String = "playbooks", exercisesFolder: String = "exercises",
                maxBodyBytes: Int = 64 * 1024, streamPollInterval: Duration = .milliseconds(200), pumpInterval: Duration = .milliseconds(500),
                failedLoginLimit: Int = 10) {
        self.host = host
        self.port = port
        self.playbooksFolder = playbooksFolder
        self.exercisesFolder = exercisesFolder
        self.maxBodyBytes = maxBodyBytes
        self.streamPollInterval = streamPollInterval
        self.pumpInterval = pumpInterval
        self.failedLoginLimit = failedLoginLimit
    }
}

/// Request context: Hummingbird's basics plus the caller's address (for the failed-login limit).
public struct MusterRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    public var maxUploadSize: Int { 64 * 1024 }
}

/// What the routes share: the runtime over the journal, users, the live feeds, exercise sessions held by this server.
public final class ServerState: @unchecked Sendable {
    public let runtime: IncidentRuntime
    public var journal: Journal { runtime.journal }
    public let configuration: ServerConfiguration
    let hub: EventHub
    let auth: Authenticator
    let limiter: LoginLimiter
    let logger: Logger
    /// Rung after anything in this server queued notifications; the outbox service (when running) wakes on it.
    public let deliveryBell = DeliveryBell()
    /// Group commit of live runs' commands, off the cooperative pool (set once in `init`).
    private(set) var writer: CommandWriter!
    private let lock = NSLock()
    private var runLocks: [String: NSLock] = [:]
    private var exercises: [String: ExerciseHandle] = [:]
    /// Facilitator and driver of exercise runs, as recorded at their start.
    let exerciseStarts = ExerciseStarts()

    final class ExerciseHandle: @unchecked Sendable {
        let session: ExerciseSession
        let facilitator: String
        let lock = NSLock()
        init(session: ExerciseSession, facilitator: String) {
            self.session = session
            self.facilitator = facilitator
        }
    }

    public init(runtime: IncidentRuntime, configuration: ServerConfiguration, logger: Logger = Logger(label: "muster.server")) {
        self.runtime = runtime
        self.configuration = configuration
        self.hub = EventHub(journal: runtime.journal, interval: configuration.streamPollInterval)
        self.auth = Authenticator(journal: runtime.journal)
        self.limiter = LoginLimiter(limit: configuration.failedLoginLimit)
        // Request text reaches log lines (paths, names, refusals): one wrapper escapes its control characters.
        var logger = logger
        logger.handler = EscapingLogHandler(logger.handler)
        self.logger = logger
        self.writer = CommandWriter(state: self)
    }

    /// Commands on one run are serialized in this process (other processes still race through the journal's
    /// expected-sequence check), so 200 clients on one run do not exhaust the runtime's retries.
    func runLock(_ runID: String) -> NSLock {
        lock.lock()
        defer { lock.unlock() }
        if let l = runLocks[runID] { return l }
        let l = NSLock()
        runLocks[runID] = l
        return l
    }

    func exercise(_ runID: String) -> ExerciseHandle? {
        lock.lock()
        defer { lock.unlock() }
        return exercises[runID]
    }

    /// Exercise runs this server drives, by run id.
    func heldExercises() -> [String: ExerciseHandle] {
        lock.lock()
        defer { lock.unlock() }
        return exercises
    }

    func keep(_ handle: ExerciseHandle, runID: String) {
        lock.lock()
        exercises[runID] = handle
        lock.unlock()
    }

    /// Stops holding an exercise (another process wrote to its run): the next control takes it up afresh.
    func forget(_ handle: ExerciseHandle, runID: String) {
        lock.lock()
        if exercises[runID] === handle { exercises[runID] = nil }
        lock.unlock()
    }

    var now: Instant { runtime.clock.now }

    /// After a write: wakes the stream poller of the run and, when notifications were queued, the outbox worker.
    func wrote(runID: String, effects: [Effect]? = nil) {
        hub.nudge(runID: runID)
        if effects.map({ $0.contains { if case .sendNotification = $0 { true } else { false } } }) ?? true { deliveryBell.ring() }
    }
}

/// The timer pump for open live runs: every `interval`, fires the timers that fell due (one transaction per run;
/// concurrent pumps or commands elsewhere fire each timer once, through the journal's expected sequence).
struct TimerPumpService: ServiceLifecycle.Service {
    let state: ServerState

    func run() async throws {
        let interval = state.configuration.pumpInterval
        await cancelWhenGracefulShutdown {
            while !_Concurrency.Task.isCancelled && !_Concurrency.Task.isShuttingDownGracefully {
                pumpOnce()
                try? await _Concurrency.Task.sleep(for: interval)
            }
        }
    }

    func pumpOnce() {
        let journal = state.journal
        guard let runs = try? journal.runs(), let closed = try? journal.closedRunIDs() else { return }
        let now = state.now
        for record in runs where record.mode == .live && !closed.contains(record.id) {
            guard let snapshot = try? state.runtime.snapshot(runID: record.id), let due = snapshot.run.nextDue, due <= now else { continue }
            let lock = state.runLock(record.id)
            lock.lock()
            let result = try? state.runtime.tick(runID: record.id)
            lock.unlock()
            if let result, result.sequences != nil { state.wrote(runID: record.id, effects: result.effects) }
        }
        // Exercises held here: bring the scenario up to its clock, so injects and timers arrive on the boards
        // while nobody acts.
        for (runID, handle) in state.heldExercises() {
            handle.lock.lock()
            let exercise = handle.session.exercise
            var stepped = false
            if let due = exercise.nextDue, due <= exercise.clock.scenarioTime(at: now) {
                stepped = (try? state.step(handle, runID: runID, .tick, by: Command.system))?.events.isEmpty == false
            }
            handle.lock.unlock()
            if stepped { state.wrote(runID: runID) }
        }
    }
}

/// Ends the live streams when shutdown begins, so in-flight SSE responses finish and the server can drain.
struct StreamShutdownService: ServiceLifecycle.Service {
    let hub: EventHub
    func run() async throws {
        try? await gracefulShutdown()
        hub.stop()
    }
}

/// Builds the application: routes, the timer pump, the stream feeds. Tests call it and use `app.test(.router)`;
/// `muster serve` runs it (`MusterServerMain`). `onServerRunning` runs once the server listens.
public func buildApplication(
    state: ServerState, extraServices: [any ServiceLifecycle.Service] = [],
    onServerRunning: @escaping @Sendable (any NIOCore.Channel) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router(context: MusterRequestContext.self)
    API.register(on: router, state: state)
    var app = Application(
        responder: SecurityHeadersResponder(inner: APIFallbackResponder(inner: router.buildResponder(), routes: .shipped)),
        configuration: .init(address: .hostname(state.configuration.host, port: state.configuration.port), serverName: "muster"),
        services: services(state) + extraServices,
        onServerRunning: onServerRunning,
        logger: state.logger
    )
    // Exercises a server started are driven again before the first request (see docs/server.md).
    app.beforeServerStarts { state.reattachExercises() }
    return app
}

/// The server's own services. The exercise suspender comes first so that it is shut down last.
func services(_ state: ServerState) -> [any ServiceLifecycle.Service] {
    [ExerciseSuspendService(state: state), TimerPumpService(state: state), StreamShutdownService(hub: state.hub)]
}

/// What `muster serve` runs: the application with graceful shutdown on SIGTERM and SIGINT. Prints the bound
/// address once listening (port 0 picks a free port).
public enum MusterServerMain {
    public static func run(state: ServerState, extraServices: [any ServiceLifecycle.Service] = []) async throws {
        let app = buildApplication(state: state, extraServices: extraServices) { channel in
            let port = channel.localAddress?.port ?? state.configuration.port
            FileHandle.standardOutput.write(Data("muster: serving \(state.journal.path) on http://\(state.configuration.host):\(port)/\n".utf8))
        }
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}

/// Test and shutdown hook: ends every open live stream.
public enum StreamControl {
    public static func stop(_ state: ServerState) { state.hub.stop() }
}
