import ArgumentParser
import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import MusterRuntime
import MusterServer

/// `muster serve`: the HTTP API, the live stream and the web board over `$MUSTER_HOME/muster.db`.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the JSON API, the live timelines (SSE) and the web board; runs the timer pump and the outbox worker.",
        discussion: """
            Same journal as the other commands ($MUSTER_HOME/muster.db, default ./.muster); both may work at once.
            Every API call needs 'Authorization: Bearer TOKEN' (muster users add NAME). SIGTERM or Ctrl-C stops
            accepting connections, lets in-flight requests finish and exits 0. Notifications are delivered by the
            server's outbox worker, with channel ${VAR}s resolved from this process's environment: only names \
            starting with MUSTER_, or with a prefix listed in MUSTER_SECRET_PREFIXES (comma-separated). \
            Answers from Slack buttons, Mattermost buttons and SMS replies come in on /hooks/... (no token), checked \
            with MUSTER_SLACK_SIGNING_SECRET, MUSTER_MATTERMOST_ACTION_SECRET and MUSTER_SMS_AUTH_TOKEN; \
            MUSTER_PUBLIC_URL is this server's address as those platforms reach it (docs/people.md). \
            See docs/server.md and docs/notifications.md.
            """)

    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port (0 picks a free one; the chosen port is printed).") var port: Int = 8080
    @Option(help: "Folder of playbooks that POST /api/runs declares by id (default: $MUSTER_PLAYBOOKS, else playbooks).") var playbooks: String = PlaybookLookup.defaultFolder
    @Option(help: "Folder of exercises for /api/exercises.") var exercises: String = "exercises"
    @Option(help: "The service catalogue for /api/readiness (default: $MUSTER_SERVICES, else services.yaml beside the playbooks folder).")
    var services: String?
    @Option(help: "Failed logins per remote address per minute before 429 (behind a proxy, every client has its address).")
    var failedLoginLimit: Int = 10
    @Option(name: .customLong("trusted-proxy"), help: ArgumentHelp(
        "A load balancer or proxy (an address or CIDR, repeatable) whose X-Forwarded-For names the client for login throttling; from anyone else the header is ignored.",
        valueName: "CIDR"))
    var trustedProxies: [String] = []
    @Option(name: .customLong("public-url"), help: ArgumentHelp(
        "This server's address as people reach it (https://muster.example.org): personal messages that ask something carry an answer link under it (default: $MUSTER_PUBLIC_URL; none: no links).",
        valueName: "URL"))
    var publicURL: String?

    func validate() throws {
        guard failedLoginLimit >= 1 else { throw ValidationError("--failed-login-limit must be at least 1") }
        if let url = publicURL ?? DeliveryCLI.publicURL, AnswerLinks.base(url) == nil {
            throw ValidationError("--public-url (or MUSTER_PUBLIC_URL) '\(url)' is not an http:// or https:// URL with a host (like https://muster.example.org)")
        }
        let posting = ChatPostingSettings(environment: DeliveryCLI.environment)
        if posting.mattermostToken != nil, posting.mattermostURL == nil {
            throw ValidationError("\(ChatPostingSettings.mattermostTokenVariable) is set but \(ChatPostingSettings.mattermostURLVariable) is not: incident messages need the Mattermost server's address (like https://mattermost.example.org)")
        }
        for (variable, url) in [(ChatPostingSettings.slackAPIVariable, posting.slackAPI), (ChatPostingSettings.mattermostURLVariable, posting.mattermostURL ?? "https://x")]
        where AnswerLinks.base(url) == nil {
            throw ValidationError("\(variable) '\(url)' is not an http:// or https:// URL with a host")
        }
        for proxy in trustedProxies where AddressRange(proxy) == nil {
            throw ValidationError("--trusted-proxy '\(proxy)' is not an IPv4 or IPv6 address or CIDR range (like 10.0.0.0/8)")
        }
    }

    func run() throws {
        var runtime = try IncidentCLI.runtime(create: true)
        if case .postgres = runtime.journal.location, IncidentCLI.environment["MUSTER_NOW"] == nil {
            // Servers sharing a database share its clock: a host whose clock is off neither fires timers early nor
            // stamps events in the future.
            runtime = IncidentRuntime(journal: runtime.journal, clock: DatabaseClock(journal: runtime.journal))
        }
        var configuration = ServerConfiguration(host: host, port: port, playbooksFolder: playbooks, exercisesFolder: exercises,
                                                failedLoginLimit: failedLoginLimit)
        configuration.trustedProxies = trustedProxies.compactMap(AddressRange.init)
        configuration.servicesFile = services
        configuration.publicURL = (publicURL ?? DeliveryCLI.publicURL).flatMap(AnswerLinks.base)
        configuration.chatCallbacks = ChatCallbackSettings(environment: DeliveryCLI.environment)
        if let base = configuration.publicURL { configuration.chatCallbacks.publicURL = base }
        configuration.chatPosting = ChatPostingSettings(environment: DeliveryCLI.environment)
        let state = ServerState(runtime: runtime, configuration: configuration)
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        _Concurrency.Task {
            do {
                try await MusterServerMain.run(state: state, extraServices: OutboxWorkerHook(environment: DeliveryCLI.environment).services(for: state))
            } catch {
                failure.set("\(error)")
            }
            done.signal()
        }
        done.wait()
        try? runtime.journal.close()
        if let message = failure.message { throw IncidentCLI.fail("serve: \(message)") }
    }
}

final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String?
    func set(_ message: String) { lock.lock(); value = message; lock.unlock() }
    var message: String? { lock.lock(); defer { lock.unlock() }; return value }
}

/// `muster users add|list|revoke`: who may use `muster serve`.
struct UsersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Server users: add (prints the token once), list, revoke, rotate, reinstate.",
        subcommands: [Add.self, List.self, Revoke.self, Rotate.self, Reinstate.self])

    /// A new token for `name` through `change`, printed once.
    static func issueToken(_ name: String, verb: String, _ change: (Journal, String, Instant) throws(JournalError) -> Void) throws {
        let runtime = try IncidentCLI.runtime(create: false)
        defer { try? runtime.journal.close() }
        let token = Tokens.make()
        do { try change(runtime.journal, Tokens.sha256(token), runtime.clock.now) } catch { throw IncidentCLI.fail(.journal(error)) }
        IncidentCLI.out(token)
        FileHandle.standardError.write(Data("\(verb) \(name); the token above is shown only now\n".utf8))
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a user a new token (printed once); the old one stops working at once.")
        @Argument var name: String
        func run() throws {
            try UsersCommand.issueToken(name, verb: "new token for") { journal, hash, now throws(JournalError) in
                try journal.rotateUserToken(name: name, tokenSHA256: hash, at: now, by: defaultActor())
            }
        }
    }

    struct Reinstate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a revoked user sign in again, with a new token (printed once).")
        @Argument var name: String
        func run() throws {
            try UsersCommand.issueToken(name, verb: "reinstated") { journal, hash, now throws(JournalError) in
                try journal.reinstateUser(name: name, tokenSHA256: hash, at: now, by: defaultActor())
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user and print their token (shown once; only its SHA-256 is stored).")
        @Argument(help: "The person's name as runs know it (the name roles are assigned to): 1-64 letters, digits, spaces, . _ - ' , (not 'muster').") var name: String
        @Flag(help: "May manage users through the API.") var admin = false

        func run() throws {
            let runtime = try IncidentCLI.runtime(create: true)
            defer { try? runtime.journal.close() }
            let token = Tokens.make()
            do {
                try runtime.journal.addUser(name: name, tokenSHA256: Tokens.sha256(token), admin: admin, at: runtime.clock.now, by: defaultActor())
            } catch {
                throw IncidentCLI.fail(.journal(error))
            }
            IncidentCLI.out(token)
            FileHandle.standardError.write(Data("added \(name)\(admin ? " (admin)" : ""); the token above is shown only now\n".utf8))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users (never tokens).")
        @OptionGroup var output: ListFormatOption
        func run() throws {
            let runtime = try IncidentCLI.runtime(create: true)
            defer { try? runtime.journal.close() }
            let users: [UserRecord]
            do { users = try runtime.journal.users() } catch { throw IncidentCLI.fail(.journal(error)) }
            if output.format == .json {
                IncidentCLI.out(JSONValue.array(users.map { u in
                    .object([("name", .string(u.name)), ("admin", .bool(u.admin)), ("added_at", .string(u.createdAt.iso8601)),
                             ("revoked_at", .optional(u.revokedAt?.iso8601))])
                }).rendered())
                return
            }
            if users.isEmpty { IncidentCLI.out("no users yet (muster users add NAME)") }
            for u in users {
                IncidentCLI.out("\(u.name)\(u.admin ? "  admin" : "")  added \(u.createdAt.iso8601)\(u.revokedAt.map { "  REVOKED \($0.iso8601)" } ?? "")")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a user's token (takes effect within 2 seconds in a running server).")
        @Argument var name: String
        func run() throws {
            let runtime = try IncidentCLI.runtime(create: true)
            defer { try? runtime.journal.close() }
            do { try runtime.journal.revokeUser(name: name, at: runtime.clock.now, by: defaultActor()) } catch { throw IncidentCLI.fail(.journal(error)) }
            IncidentCLI.out("revoked \(name)")
        }
    }
}
