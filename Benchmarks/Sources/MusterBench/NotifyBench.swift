import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import MusterYAML
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Webhook delivery throughput, three ways in one run against the same local receiver (nginx-light
/// answering `return 200 'ok';` on 127.0.0.1, started here with a config of its own):
/// - Muster's outbox: 10,000 notifications of one run, claimed, sent over libcurl multi with connection
///   reuse, and every attempt journaled (event + status change) in a journal with `synchronous = FULL`;
/// - the naive baseline: the `curl` command spawned once per message (on a sample, extrapolated);
/// - the receiver's ceiling: `wrk -t2 -c16 -d5s` posting the same body.
enum NotifyBench {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static let messages = 10_000
    static let curlSample = 300

    static let playbookText = """
        muster: 1
        id: notify-bench
        version: 1
        title: Notification benchmark
        severity: P2
        roles:
          incident_commander: { title: Incident Commander }
        channels:
          hook: { type: webhook, url: "${MUSTER_BENCH_HOOK_URL}", secret: "${MUSTER_BENCH_HOOK_SECRET}" }
        start: work
        states:
          work:
            phase: respond
            owner: incident_commander
            on_enter:
              - { notify: hook, message: "Work started on {{run.title}}" }
            transitions:
              - { on: finish, to: done }
          done:
            phase: learn
            owner: incident_commander
            terminal: true
        """

    static func run() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("muster-notify-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let nginx = try Nginx(directory: scratch.appendingPathComponent("nginx"))
        defer { nginx.stop() }
        let url = "http://127.0.0.1:\(nginx.port)/hook"

        // A realistic body: what the webhook channel sends for one notification.
        let sample = try sampleRequest(url: url)
        guard case .httpPost(let post) = sample.target else { throw Failure("the sample request is not an HTTP POST") }
        let bodyFile = scratch.appendingPathComponent("body.json")
        try Data(post.body).write(to: bodyFile)

        // 1. Muster's outbox.
        let outbox = try outboxRun(url: url, scratch: scratch, nginx: nginx)
        // 1b. The same requests through the transport alone (no claim, no journal): what libcurl and the
        // kernel cost, so the gap to the ceiling can be split between the transport and the journal.
        let transportRate = try transportOnlyRun(sample, nginx: nginx)
        // 2. curl once per message.
        let curlSeconds = try curlRun(url: url, bodyFile: bodyFile.path, headers: post.headers)
        // 3. wrk.
        let wrkRate = try wrkRun(url: url, body: String(decoding: post.body, as: UTF8.self), headers: post.headers, scratch: scratch)

        let musterRate = Double(messages) / outbox.seconds
        let curlPerMessage = curlSeconds / Double(curlSample)
        let musterPerMessage = outbox.seconds / Double(messages)
        print("notify: \(messages) webhook notifications (\(post.body.count)-byte JSON, HMAC-signed) to nginx-light on 127.0.0.1")
        print("  Muster outbox (claim, libcurl multi, reuse, journaled attempts): \(MusterBench.format(outbox.seconds, 2)) s, \(Int(musterRate)) messages/s, \(outbox.connections) connections")
        print("  the transport alone (same request, same 16 connections, nothing journaled): \(Int(transportRate)) messages/s")
        print("  curl spawned per message (baseline, \(curlSample) sampled):      \(MusterBench.format(curlPerMessage * 1000, 2)) ms per message, \(Int(1 / curlPerMessage)) messages/s (\(MusterBench.format(curlPerMessage * Double(messages), 1)) s for \(messages))")
        print("  receiver ceiling (wrk -t2 -c16 -d5s, same POST):               \(Int(wrkRate)) requests/s")
        print("  outbox vs curl per message: \(MusterBench.format(curlPerMessage / musterPerMessage, 1))x faster (target: at least 20x)")
        print("  outbox vs receiver ceiling: \(MusterBench.format(musterRate / wrkRate * 100, 1))% (target: at least 50%); the transport alone: \(MusterBench.format(transportRate / wrkRate * 100, 1))%")
        let t = outbox.timings
        print("  outbox time: claim \(ms(t.claiming)) ms, prepare \(ms(t.preparing)) ms, send \(ms(t.sending)) ms, record \(ms(t.recording)) ms")
        print("  journal: \(outbox.events) attempt events and \(messages) status changes written, synchronous=FULL")
        print("  receiver: nginx counted \(outbox.received) requests during the outbox pass")
    }

    /// The outbox part alone (no curl, no wrk), for profiling it: `muster-bench notify-outbox [ROUNDS]`.
    static func runOutboxOnly() throws {
        let rounds = max(1, Int(CommandLine.arguments.dropFirst(2).first ?? "1") ?? 1)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("muster-notify-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let nginx = try Nginx(directory: scratch.appendingPathComponent("nginx"))
        defer { nginx.stop() }
        let url = "http://127.0.0.1:\(nginx.port)/hook"
        for round in 1...rounds {
            let outbox = try outboxRun(url: url, scratch: scratch.appendingPathComponent("round\(round)"), nginx: nginx)
            let t = outbox.timings
            print("notify-outbox: \(messages) in \(MusterBench.format(outbox.seconds, 3)) s, \(Int(Double(messages) / outbox.seconds)) messages/s; claim \(ms(t.claiming)) ms, prepare \(ms(t.preparing)) ms, send \(ms(t.sending)) ms, record \(ms(t.recording)) ms; nginx counted \(outbox.received); Muster CPU \(MusterBench.format(outbox.cpu / Double(messages) * 1e6, 1)) µs per message")
        }
    }

    static func sampleRequest(url: String) throws -> DeliveryRequest {
        let playbook = try benchPlaybook()
        let channel = playbook.channel("hook")!
        let notification = MusterCore.Notification(id: "n1", channel: "hook", message: "Work started on Benchmark run", trigger: "enter:work")
        let context = NotificationContext(runID: "r-bench1", runTitle: "Benchmark run", playbookID: "notify-bench", playbookTitle: playbook.title,
                                          state: "work", mode: .live, severity: .p2, time: Instant(millisecondsSinceEpoch: 1_772_818_800_000))
        return try ChannelPayloads.request(for: channel, notification: notification, context: context,
                                           environment: ["MUSTER_BENCH_HOOK_URL": url, "MUSTER_BENCH_HOOK_SECRET": "bench-secret-123456"])
    }

    static func benchPlaybook() throws -> Playbook {
        let loaded = PlaybookLoader.load(text: playbookText, file: "notify-bench.yaml")
        guard let playbook = loaded.playbook, !loaded.hasErrors else {
            throw Failure("the benchmark playbook does not load: \(loaded.diagnostics.map(\.description).joined(separator: "\n"))")
        }
        return playbook
    }

    // MARK: - Muster

    static func outboxRun(url: String, scratch: URL, nginx: Nginx) throws -> (seconds: Double, events: Int, connections: Int, timings: PassTimings, received: Int, cpu: Double) {
        let home = scratch.appendingPathComponent("journal")
        let journal = try Journal.open(home: home.path, durability: .full)
        let playbook = try benchPlaybook()
        let start = Instant(millisecondsSinceEpoch: 1_772_818_800_000)
        var run = Run(playbook: playbook)
        guard case .accepted(let startEvents, _) = run.execute(
            Command(actor: "Dana", .start(StartRun(runID: "r-bench1", mode: .live, title: "Benchmark run"))), at: start) else {
            throw Failure("the benchmark run did not start")
        }
        // The run's own first notification, then 9,999 more, each with its queued event and outbox row.
        var events = startEvents
        var outbox: [OutboxRequest] = []
        for event in startEvents {
            if case .notificationQueued(let n) = event.body { outbox.append(try OutboxRequest(n)) }
        }
        var index = outbox.count
        while outbox.count < messages {
            index += 1
            let n = MusterCore.Notification(id: "n\(index)", channel: "hook", message: "Update \(index) on Benchmark run", trigger: "enter:work")
            events.append(RunEvent(at: start, actor: Command.system, role: nil, .notificationQueued(n)))
            outbox.append(try OutboxRequest(n))
        }
        let header = RunHeader(id: "r-bench1", playbookID: "notify-bench", playbookVersion: 1, playbookText: playbookText,
                               mode: .live, title: "Benchmark run", createdAt: start)
        try journal.createRun(header, events: events, outbox: outbox)
        let before = try journal.head(runID: "r-bench1").sequence

        let connections = Int(ProcessInfo.processInfo.environment["MUSTER_BENCH_CONNECTIONS"] ?? "") ?? 16
        // Transport threads: the default unless MUSTER_BENCH_TRANSPORT_THREADS says otherwise (for comparison).
        var configuration = CurlTransport.Configuration(maxConnectionsPerHost: connections)
        if let threads = Int(ProcessInfo.processInfo.environment["MUSTER_BENCH_TRANSPORT_THREADS"] ?? "") { configuration.threads = threads }
        let transport = CurlTransport(configuration: configuration)
        let worker = OutboxWorker(
            journal: journal, transport: transport,
            environment: ["MUSTER_BENCH_HOOK_URL": url, "MUSTER_BENCH_HOOK_SECRET": "bench-secret-123456"],
            batchSize: Int(ProcessInfo.processInfo.environment["MUSTER_BENCH_BATCH"] ?? "") ?? 1000,
            clock: { start })
        let requestsBefore = try nginx.requestCount()
        perfControl("enable")
        let cpuBefore = processCPUSeconds()
        let threadsBefore = threadCPU()
        let master = nginx.process.processIdentifier
        let workers = ((try? String(contentsOfFile: "/proc/\(master)/task/\(master)/children", encoding: .utf8)) ?? "")
            .split(separator: " ").map(String.init)
        let nginxBefore = workers.reduce(0) { $0 + threadCPU($1).values.reduce(0, +) }
        let idleBefore = machineIdle()
        let clock = ContinuousClock()
        let began = clock.now
        let report = try worker.deliverDueBlocking()
        let elapsed = clock.now - began
        let idleAfter = machineIdle()
        let cpu = processCPUSeconds() - cpuBefore
        if ProcessInfo.processInfo.environment["MUSTER_BENCH_THREADS"] != nil {
            // The transport's thread is new for this pass; nginx's workers are its master's children.
            let after = threadCPU()
            var line = "  CPU by thread (ms):"
            for (name, value) in after.sorted(by: { $0.key < $1.key }) {
                let used = value - (threadsBefore[name] ?? 0)
                if used > 0.001 { line += " \(name) \(Int(used * 1000))" }
            }
            let nginxUsed = workers.reduce(0) { $0 + threadCPU($1).values.reduce(0, +) } - nginxBefore
            line += " | nginx worker \(Int(nginxUsed * 1000))"
            let idle = (idleAfter.idle - idleBefore.idle) / max(1, idleAfter.total - idleBefore.total)
            line += " | machine idle \(Int(idle * 100))%"
            print(line)
        }
        perfControl("disable")
        transport.shutdown()
        // What the receiver itself counted (less the status request that asked): every message arrived.
        let received = try nginx.requestCount() - requestsBefore - 1
        guard received == messages else { throw Failure("nginx received \(received) requests during the pass, expected \(messages)") }
        guard report.sent == messages else {
            throw Failure("the outbox sent \(report.sent) of \(messages): \(report.outcomes.first { if case .sent = $0.result { false } else { true } }.map(\.description) ?? "")")
        }
        let after = try journal.head(runID: "r-bench1").sequence
        let sent = try journal.outboxItems(statuses: [.sent]).count
        guard sent == messages else { throw Failure("only \(sent) items are marked sent") }
        try journal.close()
        return (seconds(elapsed), after - before, connections, report.timings, received, cpu)
    }

    /// `messages` copies of `sample` through a `CurlTransport` configured as the outbox's, handed over in
    /// batches of 1,000 with the next batch queued before the previous one is awaited (as the outbox worker
    /// does), nothing claimed or recorded; nginx must count every one. Messages per second. As in the outbox's
    /// pass, the transport is new, so opening its connections is timed too.
    static func transportOnlyRun(_ sample: DeliveryRequest, nginx: Nginx) throws -> Double {
        let transport = CurlTransport(configuration: CurlTransport.Configuration(maxConnectionsPerHost: 16))
        defer { transport.shutdown() }
        let requestsBefore = try nginx.requestCount()
        let batch = Array(repeating: sample, count: 1000)
        let clock = ContinuousClock()
        let began = clock.now
        let answered = Mutex(0)
        var inFlight: DispatchGroup?
        for _ in 0..<(messages / batch.count) {
            let group = DispatchGroup()
            for _ in batch { group.enter() }
            transport.submit(batch) { _, result in
                if result.status == 200 { answered.withLock { $0 += 1 } }
                group.leave()
            }
            inFlight?.wait()
            inFlight = group
        }
        inFlight?.wait()
        let elapsed = seconds(clock.now - began)
        let received = try nginx.requestCount() - requestsBefore - 1
        let sent = answered.withLock { $0 }
        guard sent == messages, received == messages else {
            throw Failure("the transport alone: \(sent) answered 200 and nginx counted \(received), expected \(messages)")
        }
        return Double(messages) / elapsed
    }

    // MARK: - curl

    /// What a shell loop does: posix_spawn `curl` once per message and wait for it (`--fail`: an HTTP
    /// error is a non-zero exit). Foundation's `Process` costs several times more per spawn here, so it is
    /// not used: the baseline should be the fair one.
    static func curlRun(url: String, bodyFile: String, headers: [HTTPHeader]) throws -> Double {
        var arguments = ["curl", "-s", "--fail", "-o", "/dev/null", "-X", "POST", "--data-binary", "@\(bodyFile)"]
        for header in headers { arguments += ["-H", "\(header.name): \(header.value)"] }
        arguments.append(url)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let clock = ContinuousClock()
        let began = clock.now
        for _ in 0..<curlSample {
            var pid: pid_t = 0
            let spawned = posix_spawn(&pid, "/usr/bin/curl", &actions, nil, argv, environ)
            guard spawned == 0 else { throw Failure("cannot spawn /usr/bin/curl (apt-get install -y curl): error \(spawned)") }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            guard status == 0 else { throw Failure("curl failed with wait status \(status)") }
        }
        return seconds(clock.now - began)
    }

    // MARK: - wrk

    static func wrkRun(url: String, body: String, headers: [HTTPHeader], scratch: URL) throws -> Double {
        func lua(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n") + "\""
        }
        var script = "wrk.method = \"POST\"\nwrk.body = \(lua(body))\n"
        for header in headers { script += "wrk.headers[\(lua(header.name))] = \(lua(header.value))\n" }
        let scriptURL = scratch.appendingPathComponent("post.lua")
        try script.write(to: scriptURL, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
        process.arguments = ["-t2", "-c16", "-d5s", "-s", scriptURL.path, url]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { throw Failure("cannot run wrk (apt-get install -y wrk): \(error)") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("Requests/sec:") }),
              let rate = Double(line.dropFirst("Requests/sec:".count).trimmingCharacters(in: .whitespaces)) else {
            throw Failure("wrk printed no rate: \(output)")
        }
        if output.contains("Non-2xx") { throw Failure("wrk got errors from the receiver: \(output)") }
        return rate
    }

    /// With `MUSTER_BENCH_PERF_CTL=FIFO,ACK` (perf record --control=fifo:FIFO,ACK -D -1), profiling covers only
    /// the outbox pass, not the journal setup before it.
    static func perfControl(_ command: String) {
        guard let spec = ProcessInfo.processInfo.environment["MUSTER_BENCH_PERF_CTL"] else { return }
        let paths = spec.split(separator: ",").map(String.init)
        guard paths.count == 2, let control = FileHandle(forWritingAtPath: paths[0]), let ack = FileHandle(forReadingAtPath: paths[1]) else { return }
        control.write(Data((command + "\n").utf8))
        _ = ack.availableData
        try? control.close()
        try? ack.close()
    }

    /// User and system CPU time of this process (all threads) so far: on a shared machine, CPU per message
    /// varies less than wall time.
    /// CPU seconds of every thread of process `pid` ("self" for this one), by thread name: where a pass's
    /// CPU went, for profiling. From `/proc/PID/task/TID/schedstat` (nanoseconds on a CPU); `stat`'s user and
    /// system times are in ticks of 1/100 s, too coarse for a pass of a quarter of a second.
    static func threadCPU(_ pid: String = "self") -> [String: Double] {
        var out: [String: Double] = [:]
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return out }
        for task in tasks {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
            let name = String(stat[stat.index(after: open)..<close])
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the name: state is field 3, utime field 14, stime field 15 (1-based, whole line).
            let key = pid == "self" ? "\(name)#\(task)" : name
            if let schedstat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/schedstat", encoding: .utf8),
               let first = schedstat.split(separator: " ").first, let nanoseconds = Double(first) {
                out[key, default: 0] += nanoseconds / 1e9
                continue
            }
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            out[key, default: 0] += (user + system) / 100
        }
        return out
    }

    /// Idle and total time of all CPUs so far (`/proc/stat`, in ticks of 1/100 s).
    static func machineIdle() -> (idle: Double, total: Double) {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return (0, 0) }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 5 else { return (0, 0) }
        // user nice system idle iowait irq softirq steal (guest time is already in user).
        return (ticks[3] + ticks[4], ticks.prefix(8).reduce(0, +))
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    static func ms(_ d: Duration) -> Int { Int(seconds(d) * 1000) }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// nginx-light on 127.0.0.1 with a config, pid file, logs and temp folders of its own.
final class Nginx {
    let process: Process
    let port: Int

    init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = try Nginx.freePort()
        let d = directory.path
        let config = """
            worker_processes 1;
            pid \(d)/nginx.pid;
            error_log \(d)/error.log warn;
            events { worker_connections 1024; }
            http {
              access_log off;
              client_body_temp_path \(d)/body;
              proxy_temp_path \(d)/proxy;
              fastcgi_temp_path \(d)/fastcgi;
              uwsgi_temp_path \(d)/uwsgi;
              scgi_temp_path \(d)/scgi;
              keepalive_requests 100000;
              client_body_buffer_size 64k;
              server {
                listen 127.0.0.1:\(port);
                location / { return 200 'ok'; }
                # Slack's Web API as the incident message sees it (chat.postMessage, chat.update): always ok.
                location /slack-api/ { default_type application/json; return 200 '{"ok":true,"channel":"C0BENCH","ts":"1700000000.000100"}'; }
                # Counts every request nginx handled: the bench checks the outbox's messages all arrived.
                location = /muster-bench-status { stub_status; }
              }
            }
            """
        let configURL = directory.appendingPathComponent("nginx.conf")
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
        process.arguments = ["-c", configURL.path, "-p", d, "-g", "daemon off;"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            throw NotifyBench.Failure("cannot start nginx (apt-get install -y nginx-light): \(error)")
        }
        // Bounded wait until it accepts connections.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if Nginx.accepts(port: port) { return }
            if !process.isRunning { break }
            usleep(20_000)
        }
        stop()
        throw NotifyBench.Failure("nginx did not start on 127.0.0.1:\(port): \((try? String(contentsOfFile: "\(d)/error.log", encoding: .utf8)) ?? "")")
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()  // SIGTERM: fast shutdown of master and workers
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// nginx's own count of requests handled so far (stub_status "requests"), this request included.
    func requestCount() throws -> Int {
        // "Active connections: 1 \nserver accepts handled requests\n 5 5 12 \nReading: ..."
        let text = try Nginx.exchange(port: port, "GET /muster-bench-status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        guard let range = text.range(of: "server accepts handled requests\n"),
              let line = text[range.upperBound...].split(separator: "\n").first else {
            throw NotifyBench.Failure("unexpected nginx status page: \(text)")
        }
        let numbers = line.split(separator: " ").compactMap { Int($0) }
        guard numbers.count == 3 else { throw NotifyBench.Failure("unexpected nginx status line: \(line)") }
        return numbers[2]
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        guard port > 0 else { throw NotifyBench.Failure("no free port on 127.0.0.1") }
        return port
    }

    static func accepts(port: Int) -> Bool {
        guard let fd = connectLoopback(port: port) else { return false }
        close(fd)
        return true
    }

    /// A TCP socket connected to 127.0.0.1:`port` (the caller closes it), or nil when nothing accepts there.
    /// Sends `request` on a fresh connection to 127.0.0.1:`port` and reads the response until the server closes it
    /// (HTTP/1.0, or `Connection: close`).
    static func exchange(port: Int, _ request: String) throws -> String {
        guard let fd = connectLoopback(port: port) else { throw NotifyBench.Failure("cannot connect to 127.0.0.1:\(port)") }
        defer { close(fd) }
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        return String(decoding: response, as: UTF8.self)
    }

    static func connectLoopback(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        guard withUnsafePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) } }) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }
}
