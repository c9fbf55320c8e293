import Foundation
import MusterCore
import MusterJournal
import MusterNotify

/// Delivers the outbox: one pass claims the items that are due, routes each through its run's playbook
/// (the copy stored with the run), builds the channel's request, sends them all at once through one
/// `CurlTransport`, and records every attempt as an event on the run's timeline, in the same transaction as
/// the item's new status.
///
/// Delivery is at-least-once: an item is claimed (`sending`) before it is sent and settled after; a worker
/// that dies in between leaves it `sending`, and once the claim's lease has run out the next pass sends it
/// again with the same idempotency key (`Idempotency-Key`, PagerDuty `dedup_key`, email `Message-ID`).
///
/// One pass at a time per worker. The clock is injected: tests pass a manual one.
public final class OutboxWorker: @unchecked Sendable {
    public let journal: Journal
    public let transport: CurlTransport
    public let environment: [String: String]
    public let policy: RetryPolicy
    public let clock: @Sendable () -> Instant
    /// Items claimed and sent together.
    public let batchSize: Int
    /// A `sending` item older than this is taken to be abandoned by a dead worker and sent again.
    public let lease: TimeSpan
    /// A pass stops after this many items (the rest wait for the next pass).
    public let maximumItemsPerPass: Int
    /// This worker's name on its claims: its outcomes are recorded only for items that are still its claims.
    public let workerID: String
    /// Where chat buttons call back (`MUSTER_PUBLIC_URL`) and the Mattermost context secret, from `environment`.
    let callbacks: ChatCallbackSettings
    /// Where `muster serve` answers personal answer links (`https://muster.example.org`, no trailing `/`): each
    /// personal message that asks something (a roll call's question, a page to acknowledge) through email, sms or
    /// teams gets `BASE/a/TOKEN`, minted here just before it is sent. nil: messages carry no link.
    public let answerLinkBase: String?

    private let lock = NSLock()
    private var runs: [String: RunDeliveryInfo] = [:]
    /// Per stored playbook (by SHA-256): the secrets its channels take from this worker's environment.
    private var redactors: [String: Redactor] = [:]
    /// Per stored playbook (by SHA-256) and channel id: the channel with its settings resolved against this
    /// worker's environment (or why it cannot be sent), so each request only builds its payload.
    private var preparedChannels: [ChannelKey: Result<ChannelPayloads.PreparedChannel, ChannelConfigurationError>] = [:]

    private struct ChannelKey: Hashable {
        var playbookSHA256: String
        var channel: String
    }

    public init(
        journal: Journal, transport: CurlTransport, environment: [String: String], policy: RetryPolicy = .standard,
        batchSize: Int = 256, lease: TimeSpan = .minutes(5), maximumItemsPerPass: Int = 100_000,
        workerID: String? = nil, answerLinkBase: String? = nil, clock: @escaping @Sendable () -> Instant
    ) {
        self.answerLinkBase = answerLinkBase.flatMap(AnswerLinks.base)
        self.journal = journal
        self.transport = transport
        self.environment = environment
        // One public address for answer links and chat buttons: `--public-url` when given, else the environment's.
        var callbacks = ChatCallbackSettings(environment: environment)
        if let base = self.answerLinkBase { callbacks.publicURL = base }
        self.callbacks = callbacks
        self.policy = policy
        self.batchSize = max(1, batchSize)
        self.lease = lease
        self.maximumItemsPerPass = max(1, maximumItemsPerPass)
        self.clock = clock
        self.workerID = workerID ?? "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)/\(UUID().uuidString.prefix(8))"
    }

    // MARK: - Passes

    /// One pass, awaiting the transport (for async callers; the transfers run on the transport's thread).
    public func deliverDue() async throws(DeliveryError) -> PassReport {
        let start = clock()
        var report = PassReport(startedAt: start)
        let watch = ContinuousClock()
        while report.outcomes.count < maximumItemsPerPass {
            var mark = watch.now
            guard let batch = try claimAndPrepare(now: start, limit: min(batchSize, maximumItemsPerPass - report.outcomes.count), timings: &report.timings) else { break }
            mark = watch.now
            let results = await transport.send(batch.requests)
            report.timings.sending += watch.now - mark
            mark = watch.now
            try settle(batch, results: results, into: &report)
            report.timings.recording += watch.now - mark
        }
        return report
    }

    /// One pass, blocking the calling thread until the transport is done (for the CLI and `muster watch`;
    /// never call it on the cooperative pool). Pipelined: while one batch is on the wire (on the transport's
    /// thread), the next is claimed and prepared, then the first is recorded.
    public func deliverDueBlocking() throws(DeliveryError) -> PassReport {
        let start = clock()
        var report = PassReport(startedAt: start)
        let watch = ContinuousClock()
        var claimed = 0
        var inFlight: (batch: Batch, results: PendingResults)?
        // Items claimed in the transaction that recorded the previous batch (one commit for both), when it did.
        var preclaimed: [OutboxItem]?
        while true {
            var next: (batch: Batch, results: PendingResults)?
            if claimed < maximumItemsPerPass,
               let batch = try claimAndPrepare(now: start, limit: min(batchSize, maximumItemsPerPass - claimed), timings: &report.timings,
                                               preclaimed: preclaimed) {
                claimed += batch.planned.count
                next = (batch, PendingResults(batch.requests, through: transport))
            }
            preclaimed = nil
            if let current = inFlight {
                var mark = watch.now
                let results = current.results.wait()
                report.timings.sending += watch.now - mark
                mark = watch.now
                // The batch after `next`, claimed with this one's outcomes when there is room for it.
                let room = maximumItemsPerPass - claimed
                let claim = next != nil && room > 0 ? OutboxClaim(now: start, limit: min(batchSize, room), lease: lease, worker: workerID) : nil
                preclaimed = try settle(current.batch, results: results, into: &report, thenClaim: claim)
                report.timings.recording += watch.now - mark
            }
            guard let next else { break }
            inFlight = next
        }
        return report
    }

    /// Results of requests handed to the transport, collected as they come; `wait()` blocks for all of them.
    final class PendingResults: @unchecked Sendable {
        private let condition = NSCondition()
        private var results: [DeliveryResult?]
        private var remaining: Int

        init(_ requests: [DeliveryRequest], through transport: CurlTransport) {
            results = Array(repeating: nil, count: requests.count)
            remaining = requests.count
            // One hand-over for the whole batch: a wake-up of the transport's thread per request cost a
            // system call each on both threads.
            transport.submit(requests) { [self] index, result in
                condition.lock()
                // `case .none`, not `== nil`: that compares two optional results, copying both.
                if case .none = results[index] {
                    results[index] = result
                    remaining -= 1
                    if remaining == 0 { condition.signal() }
                }
                condition.unlock()
            }
        }

        func wait() -> [DeliveryResult] {
            condition.lock()
            defer { condition.unlock() }
            while remaining > 0 { condition.wait() }
            return results.map { $0! }
        }
    }

    /// Sends requests through the transport and waits on this thread for all results (in request order).
    public static func sendBlocking(_ requests: [DeliveryRequest], through transport: CurlTransport) -> [DeliveryResult] {
        guard !requests.isEmpty else { return [] }
        return PendingResults(requests, through: transport).wait()
    }

    // MARK: - Preparing

    /// One claimed item and what to do with it.
    struct Planned {
        var item: OutboxItem
        var notification: MusterCore.Notification?
        /// The channel it goes through (the exercise override in an exercise), or the playbook's name for it.
        var channel: String
        var maxAttempts: Int
        /// Attempts counted against `maxAttempts` (since a person last requeued it).
        var attemptsUsed: Int
        var redactor: Redactor
        enum Action {
            /// Index into the batch's requests.
            case send(Int)
            case skip(String)
            /// Never sent: a configuration problem, an unknown channel, an unreadable payload.
            case refuse(String)
        }
        var action: Action
    }

    struct Batch {
        var planned: [Planned]
        var requests: [DeliveryRequest]
    }

    /// `preclaimed`: items already claimed (with the previous batch's outcomes); nil claims them here.
    private func claimAndPrepare(now: Instant, limit: Int, timings: inout PassTimings, preclaimed: [OutboxItem]? = nil) throws(DeliveryError) -> Batch? {
        let watch = ContinuousClock()
        var mark = watch.now
        let claimed: [OutboxItem]
        if let preclaimed { claimed = preclaimed } else {
            do { claimed = try journal.claimOutbox(now: now, limit: limit, lease: lease, worker: workerID) } catch { throw .journal(error) }
        }
        timings.claiming += watch.now - mark
        mark = watch.now
        defer { timings.preparing += watch.now - mark }
        guard !claimed.isEmpty else { return nil }
        var batch = Batch(planned: [], requests: [])
        batch.planned.reserveCapacity(claimed.count)
        batch.requests.reserveCapacity(claimed.count)
        let notifications = Self.decodeNotifications(claimed)
        // What others appended since (a person's requeue, new notifications) counts for this batch.
        var refreshed: Set<String> = []
        // The run and the route of the previous item: a batch is mostly one run's notifications to a few
        // channels, and looking both up again for every item cost more than building the request.
        // Held in classes: copying these structs (a playbook, a channel, a run's history) for every item was
        // a good part of the work they saved.
        final class RunMemo {
            let info: RunDeliveryInfo
            let redactor: Redactor
            init(_ info: RunDeliveryInfo, _ redactor: Redactor) { self.info = info; self.redactor = redactor }
        }
        final class RouteMemo {
            let runID: String
            let channel: String
            let route: ChannelRoute
            let maxAttempts: Int
            let prepared: Result<ChannelPayloads.PreparedChannel, ChannelConfigurationError>?
            init(runID: String, channel: String, route: ChannelRoute, maxAttempts: Int,
                 prepared: Result<ChannelPayloads.PreparedChannel, ChannelConfigurationError>?) {
                self.runID = runID
                self.channel = channel
                self.route = route
                self.maxAttempts = maxAttempts
                self.prepared = prepared
            }

            /// The request through the prepared channel (only for a `.send` route).
            func request(notification: MusterCore.Notification, context: NotificationContext, recipient: String?) throws(ChannelConfigurationError) -> DeliveryRequest {
                switch prepared! {
                case .success(let channel): try channel.request(notification: notification, context: context, recipient: recipient)
                case .failure(let error): throw error
                }
            }
        }
        var lastRun: RunMemo?
        var lastRoute: RouteMemo?
        // The people of this batch's personal messages, by name as written (nil: not in the directory).
        var people: [String: Person?] = [:]
        // Answer links minted for this batch's requests, recorded (hashed) before any of them is sent.
        var links: [AnswerLink] = []
        for (item, decoded) in zip(claimed, notifications) {
            if refreshed.insert(item.runID).inserted {
                try? refresh(item.runID)
                lastRun = nil
            }
            var plan = Planned(item: item, notification: nil, channel: item.channel, maxAttempts: policy.defaultMaxAttempts,
                               attemptsUsed: item.attempts, redactor: Redactor(), action: .refuse(""))
            let run: RunMemo
            if let last = lastRun, last.info.record.id == item.runID, last.info.sequence >= item.seq {
                run = last
            } else {
                do {
                    let info = try runInfo(item.runID, atLeast: item.seq)
                    run = RunMemo(info, secrets(of: info))
                } catch let error {
                    plan.action = .refuse("not sent: \(error.description)")
                    batch.planned.append(plan)
                    continue
                }
                lastRun = run
                lastRoute = nil
            }
            plan.redactor = run.redactor
            plan.attemptsUsed = item.attempts - (run.info.requeuedAt[item.notificationID] ?? 0)
            guard let notification = decoded else {
                plan.action = .refuse("not sent: the outbox item's payload is not a notification")
                batch.planned.append(plan)
                continue
            }
            plan.notification = notification
            let route: RouteMemo
            if let last = lastRoute, last.runID == item.runID, last.channel == notification.channel {
                route = last
            } else {
                let info = run.info
                let original = info.playbook.channel(notification.channel)
                let routed = ChannelRouting.route(channel: notification.channel, in: info.playbook, mode: info.mode)
                var maxAttempts = policy.defaultMaxAttempts
                var preparedChannel: Result<ChannelPayloads.PreparedChannel, ChannelConfigurationError>?
                if case .send(let channel) = routed {
                    maxAttempts = max(1, channel.maxAttempts ?? original?.maxAttempts ?? policy.defaultMaxAttempts)
                    preparedChannel = prepared(channel, of: info)
                }
                route = RouteMemo(runID: item.runID, channel: notification.channel, route: routed, maxAttempts: maxAttempts, prepared: preparedChannel)
                lastRoute = route
            }
            switch route.route {
            case .skipped(let reason):
                plan.action = .skip(reason)
            case .unknown(let reason):
                plan.action = .refuse("not sent: \(reason)")
            case .send(let channel):
                plan.channel = channel.id.value
                plan.maxAttempts = route.maxAttempts
                var recipient: String?
                if let name = notification.person {
                    let person: Person?
                    if let known = people[name] { person = known } else {
                        do { person = try journal.person(named: name) } catch { throw .journal(error) }
                        people[name] = person
                    }
                    switch PersonalAddress.resolve(person, named: name, channel: channel) {
                    case .channel: break
                    case .address(let address):
                        recipient = address
                        // Whatever a receiver or the transport says about this attempt, the address stays out of it.
                        plan.redactor.add(address)
                    case .unreachable(let reason):
                        plan.action = .skip(reason)
                        batch.planned.append(plan)
                        continue
                    }
                }
                var context = run.info.context(atSequence: item.seq)
                if let name = notification.person { context.question = question(of: notification, person: name, in: run.info) }
                var sent = notification
                var link: AnswerLink?
                var token: String?
                if let base = answerLinkBase, let minted = AnswerLinks.mint(for: notification, runID: item.runID, channel: channel,
                                                                            playbook: run.info.playbook, now: now) {
                    // The token goes into this one request and nowhere else: the redactor keeps it out of any reason
                    // recorded for the attempt, the outbox row and the timeline keep the message without it.
                    let line = AnswerLinks.line(base: base, token: minted.token)
                    if channel.type.value == .sms { context.answerLine = line } else { sent.message = notification.message + line }
                    plan.redactor.add(minted.token)
                    link = minted.link
                    token = minted.token
                }
                do {
                    var request = try route.request(notification: sent, context: context, recipient: recipient)
                    if let token { request.redactor.add(token) }
                    plan.action = .send(batch.requests.count)
                    batch.requests.append(request)
                    if let link { links.append(link) }
                } catch {
                    plan.action = .refuse("not sent: \(error.message)")
                }
            }
            batch.planned.append(plan)
        }
        do { try journal.addAnswerLinks(links) } catch { throw .journal(error) }
        return batch
    }

    /// What a personal message asks (a roll call's options, or an acknowledgement), for its buttons or numbered
    /// replies; nil for a message that asks nothing.
    func question(of notification: MusterCore.Notification, person: String, in info: RunDeliveryInfo) -> PersonalQuestion? {
        if let id = notification.rollCall, let choices = info.rollCallChoices[id] {
            return PersonalQuestion(runID: info.record.id, question: .rollCall(id), choices: choices, person: person,
                                    mattermost: callbacks.mattermostActions)
        }
        if let ack = notification.ack {
            return PersonalQuestion(runID: info.record.id, question: .ack(ack), choices: [PersonalQuestion.acknowledge], person: person,
                                    mattermost: callbacks.mattermostActions)
        }
        return nil
    }

    /// The items' payloads as notifications (nil for one that does not decode).
    static func decodeNotifications(_ items: [OutboxItem]) -> [MusterCore.Notification?] {
        items.map { notification(payload: $0.payload) }
    }

    /// A stored payload (JSON of a `Notification`, read with the journal's strict parser) as a notification: its
    /// strings (the four it needs, and `person`, `role`, `ack`, `rollCall` when there), other members ignored (as `Codable`
    /// would); nil when it is not one.
    static func notification(payload: String) -> MusterCore.Notification? {
        guard case .object(let members)? = try? CanonicalJSON.parse(Array(payload.utf8)) else { return nil }
        var id: String?, channel: String?, message: String?, trigger: String?
        var person: String?, role: String?, ack: String?, rollCall: String?
        for (key, value) in members {
            guard case .string(let bytes) = value else { continue }
            switch String(decoding: key, as: UTF8.self) {
            case "id": id = String(decoding: bytes, as: UTF8.self)
            case "channel": channel = String(decoding: bytes, as: UTF8.self)
            case "message": message = String(decoding: bytes, as: UTF8.self)
            case "trigger": trigger = String(decoding: bytes, as: UTF8.self)
            case "person": person = String(decoding: bytes, as: UTF8.self)
            case "role": role = String(decoding: bytes, as: UTF8.self)
            case "ack": ack = String(decoding: bytes, as: UTF8.self)
            case "rollCall": rollCall = String(decoding: bytes, as: UTF8.self)
            default: continue
            }
        }
        guard let id, let channel, let message, let trigger else { return nil }
        return MusterCore.Notification(id: id, channel: channel, message: message, trigger: trigger, person: person, role: role,
                                       ack: ack, rollCall: rollCall)
    }

    /// `channel` of the run's stored playbook, resolved against this worker's environment once.
    private func prepared(_ channel: Channel, of info: RunDeliveryInfo) -> Result<ChannelPayloads.PreparedChannel, ChannelConfigurationError> {
        let key = ChannelKey(playbookSHA256: info.record.playbookSHA256, channel: channel.id.value)
        lock.lock()
        let known = preparedChannels[key]
        lock.unlock()
        if let known { return known }
        let environment = self.environment
        let result = Result { () throws(ChannelConfigurationError) in try ChannelPayloads.prepare(channel, environment: environment) }
        lock.lock()
        preparedChannels[key] = result
        lock.unlock()
        return result
    }

    /// Every value the playbook's channels take from the environment, and their URLs: kept out of any text
    /// the worker records, whatever the transport or a receiver said.
    private func secrets(of info: RunDeliveryInfo) -> Redactor {
        lock.lock()
        let known = redactors[info.record.playbookSHA256]
        lock.unlock()
        if let known { return known }
        let playbook = info.playbook
        var redactor = Redactor()
        for channel in playbook.channels {
            for (key, located) in channel.settings {
                let texts: [String]
                switch located.value {
                case .text(let t): texts = [t]
                case .list(let l): texts = l
                case .map(let m): texts = Array(m.values)
                case .flag: texts = []
                }
                if key == "headers", case .map(let headers) = located.value {
                    // Header values that look sensitive by their name are secrets even when written literally.
                    for (name, value) in headers where ["auth", "token", "key", "secret", "password", "cookie", "signature", "session"]
                        .contains(where: { name.lowercased().contains($0) }) {
                        if let resolved = try? EnvironmentResolver(environment).resolve(value, setting: key, channel: channel.id.value) {
                            redactor.add(resolved.value)
                        }
                    }
                }
                for text in texts {
                    for name in EnvironmentResolver.references(in: text) {
                        if let value = environment[name], !value.isEmpty { redactor.add(value) }
                    }
                    if ["url", "smtp"].contains(key), let resolved = try? EnvironmentResolver(environment).resolve(text, setting: key, channel: channel.id.value) {
                        redactor.addURL(resolved.value)
                    }
                    if ["secret", "routing_key", "password", "token", "account"].contains(key),
                       let resolved = try? EnvironmentResolver(environment).resolve(text, setting: key, channel: channel.id.value) {
                        redactor.add(resolved.value)
                    }
                }
            }
        }
        // The chat callback secrets (the Mattermost context secret signs every button) are this worker's too.
        redactor.add(callbacks.secrets)
        lock.lock()
        redactors[info.record.playbookSHA256] = redactor
        lock.unlock()
        return redactor
    }

    private func runInfo(_ runID: String, atLeast seq: Int) throws(DeliveryError) -> RunDeliveryInfo {
        lock.lock()
        let cached = runs[runID]
        lock.unlock()
        var info: RunDeliveryInfo
        if let cached {
            info = cached
            if info.sequence < seq { try info.refresh(journal) }
        } else {
            info = try RunDeliveryInfo.load(journal, runID: runID)
        }
        store(info)
        return info
    }

    private func refresh(_ runID: String) throws(DeliveryError) {
        lock.lock()
        let cached = runs[runID]
        lock.unlock()
        guard var info = cached else { return }
        try info.refresh(journal)
        store(info)
    }

    private func store(_ info: RunDeliveryInfo) {
        lock.lock()
        if let current = runs[info.record.id], current.sequence > info.sequence {
            lock.unlock()
            return
        }
        runs[info.record.id] = info
        lock.unlock()
    }

    // MARK: - Settling

    /// Records the batch's outcomes, run by run. With `claim`, the last run's recording also claims the next
    /// items (see `Journal.append(...thenClaim:)`) and returns them; nil when it could not (the items were
    /// recorded one by one, or nothing was asked), and the caller claims them itself.
    @discardableResult
    private func settle(_ batch: Batch, results: [DeliveryResult], into report: inout PassReport, thenClaim claim: OutboxClaim? = nil) throws(DeliveryError) -> [OutboxItem]? {
        let now = clock()
        // Per run, in the order runs first appear: the attempts' events, status changes and outcomes, in
        // item order. (Plain arrays: grouping tuples of these and projecting them with key paths went
        // through the runtime's generic copies, as much work as the recording itself.)
        struct RunEntries {
            var events: [RunEvent] = []
            var eventCounts: [Int] = []
            var updates: [OutboxUpdate] = []
            var outcomes: [DeliveryOutcome] = []
        }
        var runIDs: [String] = []
        var entries: [RunEntries] = []
        var current = -1
        for plan in batch.planned {
            let (events, update, outcome) = decide(plan, results: results, now: now)
            if current < 0 || runIDs[current] != plan.item.runID {
                if let known = runIDs.firstIndex(of: plan.item.runID) { current = known } else {
                    runIDs.append(plan.item.runID)
                    entries.append(RunEntries())
                    current = runIDs.count - 1
                }
            }
            entries[current].events += events
            entries[current].eventCounts.append(events.count)
            entries[current].updates.append(update)
            entries[current].outcomes.append(outcome)
        }
        var claimed: [OutboxItem]?
        for (position, (runID, run)) in zip(runIDs, entries).enumerated() {
            do {
                claimed = try record(runID: runID, events: run.events, updates: run.updates, now: now,
                                     claim: position == runIDs.count - 1 ? claim : nil)
                report.outcomes += run.outcomes
            } catch .journal(.invalidOutboxTransition) {
                // Someone else moved one of these items meanwhile (a lease that ran out under a slow
                // receiver, say): record the others one by one.
                var first = 0
                for (index, count) in run.eventCounts.enumerated() {
                    let events = Array(run.events[first..<(first + count)])
                    first += count
                    do {
                        try record(runID: runID, events: events, updates: [run.updates[index]], now: now)
                        report.outcomes.append(run.outcomes[index])
                    } catch .journal(.invalidOutboxTransition(_, let from, _)) {
                        var lost = run.outcomes[index]
                        lost.result = .claimLost("another worker settled it meanwhile (now \(from.rawValue)); nothing recorded for this attempt")
                        report.outcomes.append(lost)
                    }
                }
            }
        }
        return claimed
    }

    /// The events, the status change and the outcome for one attempt.
    private func decide(_ plan: Planned, results: [DeliveryResult], now: Instant) -> ([RunEvent], OutboxUpdate, DeliveryOutcome) {
        let item = plan.item
        let id = item.notificationID
        let attempt = item.attempts
        func event(_ body: RunEvent.Body) -> RunEvent { RunEvent(at: now, actor: Command.system, role: nil, body) }
        func outcome(_ result: DeliveryOutcome.Result, status: Int? = nil, latency: TimeSpan? = nil) -> DeliveryOutcome {
            DeliveryOutcome(itemID: item.id, runID: item.runID, notificationID: id, channel: plan.channel, attempt: attempt,
                            status: status, latency: latency, result: result)
        }
        /// The outbox row's error: the reason, and the body of a 401/403 that the timeline's reason leaves out.
        func rowError(_ clean: String, _ result: DeliveryResult?) -> String {
            guard let body = result?.withheldBody else { return clean }
            return clean + "; response body: " + plan.redactor.redact(String(body.prefix(200)))
        }
        func giveUp(_ reason: String, status: Int? = nil, latency: TimeSpan? = nil, result: DeliveryResult? = nil) -> ([RunEvent], OutboxUpdate, DeliveryOutcome) {
            let clean = plan.redactor.redact(reason)
            return ([event(.notificationFailed(id: id, channel: plan.channel, reason: clean, attempt: attempt, nextAttempt: nil)),
                     event(.notificationDeadLettered(id: id, channel: plan.channel, reason: clean, attempts: attempt))],
                    OutboxUpdate(id: item.id, status: .dead, error: rowError(clean, result), expected: [.sending], claimedBy: workerID),
                    outcome(.deadLettered(clean), status: status, latency: latency))
        }
        switch plan.action {
        case .skip(let reason):
            let clean = plan.redactor.redact(reason)
            return ([event(.notificationSkipped(id: id, channel: item.channel, reason: clean))],
                    OutboxUpdate(id: item.id, status: .skipped, error: clean, expected: [.sending], claimedBy: workerID),
                    outcome(.skipped(clean)))
        case .refuse(let reason):
            return giveUp(reason)
        case .send(let index):
            let result = results[index]
            guard let failure = result.failure else {
                return ([event(.notificationSent(id: id, channel: plan.channel, status: result.status,
                                                 latencyMs: result.latency.milliseconds, attempt: attempt))],
                        OutboxUpdate(id: item.id, status: .sent, expected: [.sending], claimedBy: workerID),
                        outcome(.sent, status: result.status, latency: result.latency))
            }
            if failure.isPermanent {
                return giveUp("permanent failure: \(failure.reason)", status: result.status, latency: result.latency, result: result)
            }
            if plan.attemptsUsed >= plan.maxAttempts {
                return giveUp("gave up after \(plan.attemptsUsed) attempts (max_attempts \(plan.maxAttempts)); last error: \(failure.reason)",
                              status: result.status, latency: result.latency, result: result)
            }
            let wait = policy.delay(afterAttempt: plan.attemptsUsed, key: item.idempotencyKey, status: result.status,
                                    retryAfter: result.retryAfter, now: now)
            let next = now + wait
            let clean = plan.redactor.redact(failure.reason)
            return ([event(.notificationFailed(id: id, channel: plan.channel, reason: clean, attempt: attempt, nextAttempt: next))],
                    OutboxUpdate(id: item.id, status: .failed, error: rowError(clean, result), nextAttempt: next, expected: [.sending], claimedBy: workerID),
                    outcome(.retrying(clean, next: next), status: result.status, latency: result.latency))
        }
    }

    /// Appends with the expected-sequence protocol: on a conflict, read what others appended and try again.
    /// With `claim`, the append also claims the next items, which are returned (nil without).
    @discardableResult
    private func record(runID: String, events: [RunEvent], updates: [OutboxUpdate], now: Instant, claim: OutboxClaim? = nil) throws(DeliveryError) -> [OutboxItem]? {
        lock.lock()
        var info = runs[runID]
        lock.unlock()
        var expected: Int
        if let info { expected = info.sequence } else {
            do { expected = try journal.head(runID: runID).sequence } catch { throw .journal(error) }
        }
        for _ in 0..<50 {
            do {
                // A closed run's chain ends with its close (and what people add at the hot wash): the head a report
                // told its readers to keep stays the head. Outcomes of notifications still in delivery at the close
                // go on their outbox rows only, which the report reads. The expected sequence makes this check and
                // the append one decision: a close that lands in between is a conflict, and the loop looks again.
                let events = try journal.isClosed(runID: runID) ? [] : events
                var claimed: [OutboxItem]?
                if let claim {
                    claimed = try journal.append(runID: runID, expectedSequence: expected, events: events, outboxUpdates: updates,
                                                 at: now, thenClaim: claim).claimed
                } else {
                    try journal.append(runID: runID, expectedSequence: expected, events: events, outboxUpdates: updates, at: now)
                }
                if var known = info, known.sequence == expected {
                    known.absorb(events)
                    store(known)
                }
                return claimed
            } catch .sequenceConflict(_, let actual) {
                if var known = info {
                    try known.refresh(journal)
                    info = known
                    expected = known.sequence
                } else {
                    expected = actual
                }
            } catch {
                throw .journal(error)
            }
        }
        throw .tooManyConflicts(runID: runID)
    }
}

extension RunDeliveryInfo {
    /// Takes in events this worker just appended (so they need not be read back).
    mutating func absorb(_ events: [RunEvent]) {
        for event in events {
            sequence += 1
            times.append(event.at)
            if case .notificationRequeued(let id, _, _, let attempts) = event.body { requeuedAt[id] = attempts }
        }
    }
}

// MARK: - Reports

/// What one pass did, item by item.
public struct PassReport: Sendable {
    public var startedAt: Instant
    public var outcomes: [DeliveryOutcome] = []
    /// Where the pass spent its time (wall clock).
    public var timings = PassTimings()

    public init(startedAt: Instant, outcomes: [DeliveryOutcome] = []) {
        self.startedAt = startedAt
        self.outcomes = outcomes
    }

    public var sent: Int { outcomes.filter { if case .sent = $0.result { true } else { false } }.count }
    public var retrying: Int { outcomes.filter { if case .retrying = $0.result { true } else { false } }.count }
    public var deadLettered: Int { outcomes.filter { if case .deadLettered = $0.result { true } else { false } }.count }
    public var skipped: Int { outcomes.filter { if case .skipped = $0.result { true } else { false } }.count }

    /// `3 sent, 1 to retry, 0 dead-lettered, 0 skipped`.
    public var summary: String {
        "\(sent) sent, \(retrying) to retry, \(deadLettered) dead-lettered, \(skipped) skipped"
    }
}

/// Wall-clock time a pass spent claiming, preparing requests, sending and recording outcomes.
public struct PassTimings: Sendable, Hashable {
    public var claiming: Duration = .zero
    public var preparing: Duration = .zero
    public var sending: Duration = .zero
    public var recording: Duration = .zero
    public init() {}
}

/// One attempt's outcome (secrets redacted).
public struct DeliveryOutcome: Sendable, Hashable, CustomStringConvertible {
    public enum Result: Sendable, Hashable {
        case sent
        case retrying(String, next: Instant)
        case deadLettered(String)
        case skipped(String)
        /// The item was settled by someone else while this attempt ran.
        case claimLost(String)
    }

    public var itemID: Int64
    public var runID: String
    public var notificationID: String
    public var channel: String
    public var attempt: Int
    public var status: Int?
    public var latency: TimeSpan?
    public var result: Result

    /// `#12 r-7f3a2c n3 via ops (attempt 1): sent, HTTP 200 in 35 ms`.
    public var description: String {
        let head = "#\(itemID) \(runID) \(notificationID) via \(channel) (attempt \(attempt)): "
        switch result {
        case .sent:
            var text = head + "sent"
            if let status { text += ", \(status)" }
            if let latency { text += " in \(latency.milliseconds) ms" }
            return text
        case .retrying(let reason, let next): return head + "failed, next attempt \(next.iso8601): \(reason)"
        case .deadLettered(let reason): return head + "dead-lettered: \(reason)"
        case .skipped(let reason): return head + "skipped: \(reason)"
        case .claimLost(let reason): return head + "not recorded: \(reason)"
        }
    }
}

/// Why a pass stopped.
public enum DeliveryError: Error, Sendable, CustomStringConvertible {
    case journal(JournalError)
    case unreadablePlaybook(runID: String, detail: String)
    case tooManyConflicts(runID: String)

    public var description: String {
        switch self {
        case .journal(let error): error.description
        case .unreadablePlaybook(_, let detail): detail
        case .tooManyConflicts(let runID): "run \(runID) kept changing while delivery outcomes were recorded (50 tries); run the pass again"
        }
    }
}
