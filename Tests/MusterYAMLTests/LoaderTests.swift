import Testing
import MusterCore
import MusterYAML

@Suite("Loader: files, folders and values as written")
struct LoaderTests {
    static let tiny = """
        muster: 1
        id: tiny
        version: 1
        title: Tiny
        roles:
          incident_commander: Incident Commander
        start: open
        states:
          open: { phase: respond, transitions: [ { on: done, to: closed } ] }
          closed: { phase: learn, terminal: true }

        """

    @Test("a file that cannot be read gives one error at 1:1 naming the file and the system's reason")
    func unreadableFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let missing = folder.path + "/missing.yaml"
        let loaded = PlaybookLoader.load(file: missing)
        #expect(loaded.playbook == nil)
        #expect(loaded.diagnostics.map(\.description) == [
            "\(missing):1:1: error: cannot read '\(missing)': No such file or directory",
        ])
        #expect(loaded.diagnostics.first?.code == "unreadable-file")

        let asFile = PlaybookLoader.load(file: folder.path)
        #expect(asFile.diagnostics.map(\.message) == ["cannot read '\(folder.path)': Is a directory"])
    }

    @Test("a folder gives its .yaml and .yml files sorted by name, skipping other and hidden files")
    func folders() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("b.yml", Self.tiny.replacingOccurrences(of: "id: tiny", with: "id: b"))
        try folder.write("a.yaml", Self.tiny.replacingOccurrences(of: "id: tiny", with: "id: a"))
        try folder.write("notes.txt", "not a playbook")
        try folder.write(".hidden.yaml", "muster: [")
        let single = try folder.write("c.yaml", Self.tiny.replacingOccurrences(of: "id: tiny", with: "id: c"))

        let loaded = PlaybookLoader.loadAll(paths: [folder.path + "/", single])
        #expect(loaded.map(\.path) == [folder.path + "/a.yaml", folder.path + "/b.yml", folder.path + "/c.yaml", single])
        #expect(loaded.map { $0.playbook?.id.value } == ["a", "b", "c", "c"])
        #expect(loaded.allSatisfy { !$0.hasErrors })
    }

    @Test("the same playbook id in two files is an error at the second, naming the first")
    func duplicatePlaybookIDs() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("one.yaml", Self.tiny)
        try folder.write("two.yaml", Self.tiny)
        try folder.write("three.yaml", Self.tiny.replacingOccurrences(of: "id: tiny", with: "id: other"))
        let loaded = PlaybookLoader.loadAll(paths: [folder.path])
        #expect(loaded.map(\.path) == ["one", "three", "two"].map { folder.path + "/\($0).yaml" })
        #expect(PlaybookLoader.crossFileDiagnostics(loaded).map(\.description) == [
            "\(folder.path)/two.yaml:2:5: error: duplicate playbook id 'tiny' (first defined in \(folder.path)/one.yaml at 2:5)",
        ])
    }

    @Test("a YAML duplicate key is reported and leaves no playbook")
    func duplicateYAMLKey() throws {
        let loaded = try loadPlaybook(Self.tiny + "title: Again\n")
        #expect(loaded.playbook == nil)
        #expect(loaded.diagnostics.map(\.message) == ["duplicate key 'title' (first written at 4:1)"])
        #expect(loaded.diagnostics.first?.location.line == 11)
    }

    @Test("the loaded file keeps its text")
    func keepsText() throws {
        let loaded = try loadPlaybook(Self.tiny)
        #expect(loaded.text == Self.tiny)
        #expect(loaded.playbook?.id.location.file == loaded.path)
    }

    @Test("roles take a title shorthand; channel settings are kept as written, one address becomes a list")
    func valuesAsWritten() throws {
        let withoutRoles = Self.tiny.replacingOccurrences(of: "roles:\n  incident_commander: Incident Commander\n", with: "")
        let loaded = try loadPlaybook(withoutRoles + """
            severity: P2
            review_every: 180d
            roles:
              incident_commander: Incident Commander
              comms: { title: Communications lead, required: false, responsibilities: [Staff, Press] }
            channels:
              mail:
                type: email
                to: ops@example.com
                from: muster@example.com
                smtp: "smtps://mail.example.com:465"
                starttls: true
                exercise: drill
                live_only: false
                max_attempts: "5"
                timeout: 90s
              hook: { type: webhook, url: "http://127.0.0.1:8080/", headers: { X-Token: "${MUSTER_TOKEN}" }, live_only: true }
              drill: { type: pagerduty, routing_key: abc, url: "http://127.0.0.1:9/" }
            """)
        #expect(loaded.diagnostics == [])
        let p = try #require(loaded.playbook)
        #expect(p.severity == .p2)
        #expect(p.reviewEvery == .days(180))
        #expect(p.roles.map(\.title) == ["Incident Commander", "Communications lead"])
        #expect(p.roles[1].responsibilities == "Staff\nPress")
        let mail = try #require(p.channel("mail"))
        #expect(mail.settings.mapValues(\.value) == [
            "to": .list(["ops@example.com"]), "from": .text("muster@example.com"),
            "smtp": .text("smtps://mail.example.com:465"), "starttls": .flag(true), "timeout": .text("1m30s"),
        ])
        #expect(mail.exerciseOverride?.value == "drill")
        #expect(mail.liveOnly == false)
        #expect(mail.maxAttempts == 5)
        let hook = try #require(p.channel("hook"))
        #expect(hook.settings["headers"]?.value == .map(["X-Token": "${MUSTER_TOKEN}"]))
        #expect(hook.liveOnly)
        #expect(p.channel("drill")?.settings["routing_key"]?.value == .text("abc"))
    }

    @Test("durations written negative are read, so that the validator can say they must be positive")
    func negativeDurations() throws {
        let loaded = try loadPlaybook(Self.tiny.replacingOccurrences(
            of: "closed: { phase: learn, terminal: true }",
            with: "closed: { phase: learn, terminal: true, timers: [ { id: t, after: -15m, raise: x } ] }"))
        #expect(loaded.diagnostics == [])
        let timer = try #require(loaded.playbook?.states.last?.timers.first)
        #expect(timer.anchor == .after(Located(.minutes(-15), at: MusterCore.SourceLocation(file: loaded.path, line: 10, column: 69))))
    }

    @Test("positions inside a block scalar point at the scalar")
    func blockScalars() throws {
        let loaded = try loadPlaybook(Self.tiny + """
            channels:
              bridge: { type: slack, url: "https://example.com/hook" }
            timers:
              - id: late
                after: 1h
                notify: bridge
                message: >
                  Still open after {{ timer.elapsed }}
                  in {{state.title}}
            """)
        #expect(loaded.diagnostics == [])
        let message = try #require(loaded.playbook?.timers.first?.message)
        #expect(message.location.line == 17 && message.location.column == 14)
        #expect(message.value.variables.map(\.value) == ["timer.elapsed", "state.title"])
        #expect(message.value.variables.allSatisfy { $0.location == message.location })
    }

    @Test("positions inside a single-quoted scalar start one column after the quote")
    func quotedScalars() throws {
        let loaded = try loadPlaybook(Self.tiny.replacingOccurrences(
            of: "{ on: done, to: closed }", with: "{ on: done, when: 'roles.comms.assigned', to: closed }"))
        let when = try #require(loaded.playbook?.states.first?.transitions.first?.when)
        #expect(when.location.column == 60)
        #expect(when.value == .roleAssigned(Located("comms", at: MusterCore.SourceLocation(file: loaded.path, line: 9, column: 67))))
    }
}
