import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MusterCore
import MusterDelivery
import MusterExercise
import MusterJournal
import MusterNotify
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
    /// The service catalogue `GET /api/readiness` reads; nil: `$MUSTER_SERVICES`, else `services.yaml` beside the
    /// playbooks folder.
    public var servicesFile: String? = nil
    /// Largest accepted request body (413 beyond).
    public var maxBodyBytes: Int
    /// How often each watched run's journal head is read for live subscribers.
    public var streamPollInterval: Duration
    /// How often the timer pump fires due timers of open live runs.
    public var pumpInterval: Duration
    /// Failed logins per remote address per minute before 429.
    public var failedLoginLimit: Int
    /// How often an open live stream checks again that its token is valid and its user may still read the run
    /// (also at once when the run's roles change and when a user is revoked through this server).
    public var streamReauthInterval: Duration
    /// A live stream with nothing to send for this long sends an SSE comment, so departed clients are noticed.
    public var heartbeatInterval: Duration
    /// Open live streams per user; 429 beyond.
    public var maxStreamsPerUser: Int
    /// Batches of events queued for one live stream's client; a client that falls further behind is dropped
    /// (its stream ends after what was queued; it resumes with `Last-Event-ID`).
    public var streamBufferBatches: Int
    /// Time from a connection's opening (or the end of its previous response) to a complete request head.
    public var requestHeadTimeout: Duration
    /// A request whose next part (its body) does not arrive for this long closes the connection (Hummingbird's
    /// idle timeout; responses being written, live streams included, are not idle).
    public var idleTimeout: Duration
    /// Open connections at most; a connection beyond is closed at once.
    public var maxConnections: Int
    /// Proxies (load balancers) whose `X-Forwarded-For` names the client, for login throttling; empty: the
    /// connection's peer is the client.
    public var trustedProxies: [AddressRange] = []
    /// How long a lease (the timer pump's, an exercise's) lasts without renewal, on the database's clock: a server
    /// that dies is replaced within this (plus a pump interval). Renewed every pump pass.
    public var leaseDuration: TimeSpan = .seconds(5)
    /// This server's address as people's phones reach it (`https://muster.example.org`): personal answer links in
    /// the messages its outbox worker sends are `publicURL/a/TOKEN`. nil: they carry no link.
    public var publicURL: String? = nil
    /// Refused answer links (unknown or malformed tokens) per remote address per minute before 429.
    public var answerLinkFailureLimit: Int = 30
    /// This server's name in leases: `HOST:PORT` (a server restarted on the same address takes its own leases
    /// back at once: the old process cannot be listening there any more), or with port 0 the process id and a
    /// random suffix.
    public var instanceID: String
    /// The public URL and the secrets that the Slack, Mattermost and SMS callback routes (`/hooks/...`) check
    /// requests with (`ChatCallbackSettings(environment:)`: `MUSTER_PUBLIC_URL`, `MUSTER_SLACK_SIGNING_SECRET`,
    /// `MUSTER_MATTERMOST_ACTION_SECRET`, `MUSTER_SMS_AUTH_TOKEN`); a route without its secret refuses everything.
    public var chatCallbacks = ChatCallbackSettings()
    /// The bot tokens the incident messages of bound chat channels are posted and edited with
    /// (`ChatPostingSettings(environment:)`: `MUSTER_SLACK_BOT_TOKEN`, `MUSTER_MATTERMOST_BOT_TOKEN`,
    /// `MUSTER_MATTERMOST_URL`); without any, no incident message is posted.
    public var chatPosting = ChatPostingSettings()
    /// The least time between two edits of one incident message: a burst of commands gives one edit per interval.
    public var incidentMessageInterval: Duration = .seconds(2)
    /// How often the publisher looks for runs whose incident message is out of date.
    public var incidentMessageTick: Duration = .milliseconds(250)

    public static func defaultInstanceID(port: Int) -> String {
        let host = ProcessInfo.processInfo.hostName
        return port != 0 ? "\(host):\(port)" : "\(host)/\(ProcessInfo.processInfo.processIdentifier)/\(UInt32.random(in: 0...UInt32.max) & 0xffffff)"
    }

    public init(host: String = "127.0.0.1", port: Int = 8080, playbooksFolder: String = "playbooks", exercisesFolder: String = "exercises",
                maxBodyBytes: Int = 64 * 1024, streamPollInterval: Duration = .milliseconds(200), pumpInterval: Duration = .milliseconds(500),
                failedLoginLimit: Int = 10, streamReauthInterval: Duration = .seconds(5), heartbeatInterval: Duration = .seconds(15),
                maxStreamsPerUser: Int = 16, streamBufferBatches: Int = 256, requestHeadTimeout: Duration = .seconds(10),
                idleTimeout: Duration = .seconds(30), maxConnections: Int = 512) {
        self.host = host
        self.port = port
        self.instanceID = Self.defaultInstanceID(port: port)
        self.playbooksFolder = playbooksFolder
        self.exercisesFolder = exercisesFolder
        self.maxBodyBytes = maxBodyBytes
        self.streamPollInterval = streamPollInterval
        self.pumpInterval = pumpInterval
        self.failedLoginLimit = failedLoginLimit
        self.streamReauthInterval = streamReauthInterval
        self.heartbeatInterval = heartbeatInterval
        self.maxStreamsPerUser = maxStreamsPerUser
        self.streamBufferBatches = streamBufferBatches
        self.requestHeadTimeout = requestHeadTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
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
    /// Refused answer-link tokens per address: guessing is bounded (the token's 256 bits are the real defence).
    let answerLimiter: LoginLimiter
    /// Answer links already looked up: a link never changes once minted, so each is read from the journal once.
    let answerLinks = BoundedCache<AnswerLink>(limit: 100_000)
    /// What the timeline says reached whom, per run with acks or roll calls, through a seq (the board's status).
    let reaches = BoundedCache<(through: Int, reach: HearingBackReach)>(limit: 64)
    /// The slash commands' typists by chat id, and which open run each chat channel is bound to (docs/chat.md).
    let chatPeople = ChatPeople()
    let chatBindings = ChatBindingIndex()
    /// `GET /healthz`: can this server reach a writable database?
    let health: DatabaseHealth
    let logger: Logger
    /// Open HTTP connections (at most `configuration.maxConnections`).
    let connections: ConnectionCounter
    /// Rung after anything in this server queued notifications; the outbox service (when running) wakes on it.
    public let deliveryBell = DeliveryBell()
    /// Group commit of live runs' commands, off the cooperative pool (set once in `init`).
    private(set) var writer: CommandWriter!
    /// Keeps bound chat channels' incident messages current (set once in `init`).
    private(set) var incidentMessages: IncidentMessagePublisher!
    private let lock = NSLock()
    /// Striped per-run locks: a fixed number, so run ids (unknown ones posted to `/commands` too) never grow
    /// memory. Two runs may share a stripe (they then wait for each other briefly); nothing holds two at once.
    private let runLocks: [NSLock] = (0..<64).map { _ in NSLock() }
    private var exercises: [String: ExerciseHandle] = [:]
    /// Facilitator and driver of exercise runs, as recorded at their start.
    let exerciseStarts = ExerciseStarts()
    /// The cluster leases this server holds (timer pump; exercises are in `exercises`).
    let leases = LeaseBook()
    /// Playbook files as last parsed, by path, modification time and size: requests do not re-read the folder.
    public let playbookCache = PlaybookCache()

    final class ExerciseHandle: @unchecked Sendable {
        /// Replaced (under `lock`) when another server's control moved the run on: see `ServerState.step`.
        var session: ExerciseSession
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
        self.hub = EventHub(journal: runtime.journal, interval: configuration.streamPollInterval, bufferBatches: configuration.streamBufferBatches)
        self.auth = Authenticator(journal: runtime.journal)
        self.limiter = LoginLimiter(limit: configuration.failedLoginLimit)
        self.answerLimiter = LoginLimiter(limit: configuration.answerLinkFailureLimit)
        self.health = DatabaseHealth(journal: runtime.journal)
        // Request text reaches log lines (paths, names, refusals): one wrapper escapes its control characters.
        var logger = logger
        logger.handler = EscapingLogHandler(logger.handler)
        self.connections = ConnectionCounter(limit: configuration.maxConnections)
        self.logger = logger
        self.writer = CommandWriter(state: self)
        self.incidentMessages = IncidentMessagePublisher(state: self)
    }

    /// Commands on one run are serialized in this process (other processes still race through the journal's
    /// expected-sequence check), so 200 clients on one run do not exhaust the runtime's retries.
    /// Per-run locks held (a constant: the stripes).
    var runLockCount: Int { runLocks.count }

    func runLock(_ runID: String) -> NSLock {
        var hasher = Hasher()
        hasher.combine(runID)
        return runLocks[Int(UInt(bitPattern: hasher.finalize()) % UInt(runLocks.count))]
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

    /// Starts driving an exercise here, under its lease (see `claimExercise`).
    func keep(_ handle: ExerciseHandle, runID: String) {
        _ = claimExercise(runID)
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
/// concurrent pumps or commands elsewhere fire each timer once, through the journal's expected sequence). With
/// several servers, only the holder of the `timer-pump` lease pumps; it gives the lease up on shutdown.
struct TimerPumpService: ServiceLifecycle.Service {
    let state: ServerState

    func run() async throws {
        let interval = state.configuration.pumpInterval
        await cancelWhenGracefulShutdown {
            await DatabaseExecutor.run {
                while !_Concurrency.Task.isCancelled && !_Concurrency.Task.isShuttingDownGracefully {
                    pumpOnce()
                    try? await _Concurrency.Task.sleep(for: interval)
                }
            }
        }
        await DatabaseExecutor.run { state.releaseTimerPump() }
    }

    func pumpOnce() {
        state.renewExerciseLeases()
        // One server fires the live runs' timers: the holder of the `timer-pump` lease (a row timed by the
        // database's clock, so a dead holder is replaced within the lease's duration, across failovers and
        // poolers). Commands still fire the timers due on their own run, on any server.
        guard state.holdsTimerPump() else { return }
        // Open runs come from an index of open runs, and each one's next due time from the runtime's copy
        // (brought up to date with one indexed read): the cost depends on the open runs only, not on closed
        // runs or on how many events there are.
        guard let runs = try? state.journal.openRuns() else { return }
        let now = state.now
        state.adoptOrphanedExercises(runs)
        state.pruneCommandKeys(now: now)
        for run in runs where run.mode == .live {
            guard let due = try? state.runtime.nextDue(runID: run.id), due <= now else { continue }
            let lock = state.runLock(run.id)
            lock.lock()
            let result = try? state.runtime.tick(runID: run.id)
            lock.unlock()
            if let result, result.sequences != nil { state.wrote(runID: run.id, effects: result.allEffects) }
        }
        // Exercises held here: bring the scenario up to its clock, so injects and timers arrive on the boards
        // while nobody acts.
        for (runID, handle) in state.heldExercises() {
            state.catchUp(handle, runID: runID)
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

/// On PostgreSQL, wakes the live streams of a run as soon as any server or `muster` process appends to it
/// (`LISTEN`/`NOTIFY`): events reach every server's subscribers without waiting for their poll, which stays as the
/// safety net (a missed notification delays, never loses). On SQLite it does nothing.
struct AppendListenerService: ServiceLifecycle.Service {
    let state: ServerState

    func run() async throws {
        let hub = state.hub
        let listener = state.journal.listenForAppends(onAppend: { runID, _ in hub.nudge(runID: runID) }, onReconnect: { hub.nudgeAll() })
        try? await gracefulShutdown()
        listener?.stop()
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
    ChatHooks.register(on: router, state: state)
    ChatCommands.register(on: router, state: state)
    let limits = state.configuration
    let headTimeout = TimeAmount(limits.requestHeadTimeout)
    let connections = state.connections
    let app = Application(
        responder: SecurityHeadersResponder(inner: APIFallbackResponder(inner: router.buildResponder(), routes: .shipped)),
        server: .http1(configuration: .init(
            additionalChannelHandlers: [ConnectionLimitHandler(counter: connections), RequestHeadTimeoutHandler(timeout: headTimeout)],
            idleTimeout: TimeAmount(limits.idleTimeout))),
        configuration: .init(address: .hostname(limits.host, port: limits.port), serverName: "muster"),
        services: services(state) + extraServices,
        onServerRunning: { channel in
            // Exercises a server started are taken up again once this server is listening, never before: a
            // server that cannot bind its port (another one has it) must not touch a running exercise.
            state.reattachExercises()
            await onServerRunning(channel)
        },
        logger: state.logger
    )
    return app
}

/// The server's own services. The exercise suspender comes first so that it is shut down last.
func services(_ state: ServerState) -> [any ServiceLifecycle.Service] {
    [ExerciseSuspendService(state: state), TimerPumpService(state: state), StreamShutdownService(hub: state.hub),
     AppendListenerService(state: state), IncidentMessageService(publisher: state.incidentMessages)]
}

/// What `muster serve` runs: the application with graceful shutdown on SIGTERM and SIGINT. Prints the bound
/// address once listening (port 0 picks a free port).
public enum MusterServerMain {
    public static func run(state: ServerState, extraServices: [any ServiceLifecycle.Service] = []) async throws {
        let app = buildApplication(state: state, extraServices: extraServices) { channel in
            let port = channel.localAddress?.port ?? state.configuration.port
            FileHandle.standardOutput.write(Data("muster: serving \(state.journal.path) on http://\(state.configuration.host):\(port)/\n".utf8))
        }
        do {
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            // NIO says `bind(descriptor:ptr:bytes:): Address already in use (errno: 98)`.
            if "\(error)".contains("Address already in use") {
                throw ServerStartError(message: "port \(state.configuration.port) on \(state.configuration.host) is already in use "
                    + "(is another muster serve running?); choose another with --port")
            }
            throw error
        }
    }
}

/// Why `muster serve` could not start, in one line.
public struct ServerStartError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Test and shutdown hook: ends every open live stream.
public enum StreamControl {
    public static func stop(_ state: ServerState) { state.hub.stop() }
    /// The last seq of a run handed to its open streams (nil when none is open).
    public static func deliveredThrough(_ state: ServerState, runID: String) -> Int? { state.hub.deliveredThrough(runID: runID) }
    /// Live streams open now (subscribers of every run's feed).
    public static func openStreams(_ state: ServerState) -> Int { state.hub.subscriberCount }
    /// Entries this server keeps per run id outside the runtime's bounded cache (the command writer's role
    /// indexes and pending queues, known exercise starts): what a flood of unknown run ids could grow.
    public static func perRunEntries(_ state: ServerState) -> Int {
        state.runLockCount + state.writer.trackedRuns + state.exerciseStarts.count
    }
}
