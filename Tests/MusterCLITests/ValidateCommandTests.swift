import Foundation
import MusterTestSupport
import Testing

@Suite("muster validate", .ownThreads)
struct ValidateCommandTests {
    @Test("a clean folder prints only the summary and exits 0")
    func cleanFolder() throws {
        let result = try CLI.run(["validate", "playbooks"])
        #expect(result.stdout == "1 file, 0 errors, 0 warnings\n")
        #expect(result.stderr == "")
        #expect(result.status == 0)
    }

    @Test("without a path it validates playbooks/")
    func defaultFolder() throws {
        let result = try CLI.run(["validate"])
        #expect(result.stdout == "1 file, 0 errors, 0 warnings\n")
        #expect(result.status == 0)
    }

    @Test("findings print like a compiler, sorted by file, line and column, then a summary; errors exit 1")
    func brokenFiles() throws {
        let result = try CLI.run(["validate", "warnings", "broken", "playbooks"])
        #expect(result.stdout.split(separator: "\n", omittingEmptySubsequences: false) == [
            "broken/broken.yaml:14:62: error: unknown key 'evidnce' in task 'check' (did you mean 'evidence'?)",
            "broken/broken.yaml:16:30: error: transition target 'contian' is not a state (did you mean 'contain'?)",
            "broken/broken.yaml:17:3: error: state 'contain' cannot be reached from the start state 'triage'",
            "broken/syntax.yaml:4:1: error: YAML syntax: did not find expected ',' or ']' while parsing a flow sequence",
            "warnings/no-owner.yaml:9:3: warning: state 'triage' has no owner (add 'owner: ROLE')",
            "4 files, 4 errors, 1 warning",
            "",
        ])
        #expect(result.stderr == "")
        #expect(result.status == 1)
    }

    @Test("warnings alone exit 0; with --strict they exit 1")
    func strict() throws {
        let lenient = try CLI.run(["validate", "warnings"])
        #expect(lenient.stdout == """
            warnings/no-owner.yaml:9:3: warning: state 'triage' has no owner (add 'owner: ROLE')
            1 file, 0 errors, 1 warning

            """)
        #expect(lenient.status == 0)
        let strict = try CLI.run(["validate", "--strict", "warnings"])
        #expect(strict.stdout == lenient.stdout)
        #expect(strict.status == 1)
    }

    @Test("--format json prints an array of {file, line, column, severity, code, message}")
    func json() throws {
        let result = try CLI.run(["validate", "--format", "json", "broken/broken.yaml", "warnings"])
        #expect(result.status == 1)
        #expect(result.stdout == """
            [
              {"file": "broken/broken.yaml", "line": 14, "column": 62, "severity": "error", "code": "unknown-key", "message": "unknown key 'evidnce' in task 'check' (did you mean 'evidence'?)"},
              {"file": "broken/broken.yaml", "line": 16, "column": 30, "severity": "error", "code": "unknown-state", "message": "transition target 'contian' is not a state (did you mean 'contain'?)"},
              {"file": "broken/broken.yaml", "line": 17, "column": 3, "severity": "error", "code": "unreachable-state", "message": "state 'contain' cannot be reached from the start state 'triage'"},
              {"file": "warnings/no-owner.yaml", "line": 9, "column": 3, "severity": "warning", "code": "no-owner", "message": "state 'triage' has no owner (add 'owner: ROLE')"}
            ]

            """)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(parsed.count == 4)
        #expect(parsed.allSatisfy { Set($0.keys) == ["file", "line", "column", "severity", "code", "message"] })
    }

    @Test("a clean run in JSON is an empty array")
    func jsonClean() throws {
        let result = try CLI.run(["validate", "--format", "json", "playbooks"])
        #expect(result.stdout == "[]\n")
        #expect(result.status == 0)
    }

    @Test("a path that does not exist is one line on stderr and exit 1")
    func missingPath() throws {
        let result = try CLI.run(["validate", "nowhere"])
        #expect(result.stdout == "")
        #expect(result.stderr == "error: no such file or folder: nowhere\n")
        #expect(result.status == 1)
    }

    @Test("the bundled playbooks validate without errors")
    func bundledPlaybooks() throws {
        let result = try CLI.run(["validate", "playbooks"], in: CLI.packageRoot)
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.contains(" files, 0 errors, "), "\(result.stdout)")
    }

    @Test("five independent mistakes, two of which stop the decoder, are all reported in one run")
    func fiveMistakesInOneRun() throws {
        let result = try CLI.run(["validate", "--format", "json", "rounds/five-mistakes.yaml"])
        #expect(result.status == 1)
        let findings = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(findings.map { "\($0["line"]!):\($0["code"]!)" } == [
            "3:missing-key", "18:unknown-channel", "21:unknown-role", "22:wrong-type", "24:unknown-state",
        ])
        let text = try CLI.run(["validate", "rounds/five-mistakes.yaml"])
        #expect(text.stdout.hasSuffix("1 file, 5 errors, 0 warnings\n"))
    }
}
