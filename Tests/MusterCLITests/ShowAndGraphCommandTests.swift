import Foundation
import MusterTestSupport
import Testing

@Suite("muster show and muster graph", .ownThreads)
struct ShowAndGraphCommandTests {
    @Test("show by path prints the readable summary without channel URLs")
    func showByPath() throws {
        let result = try CLI.run(["show", "playbooks/portal-outage.yaml"])
        #expect(result.status == 0)
        #expect(result.stderr == "")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(Array(lines.prefix(3)) == [
            #"Customer portal "down" outage"#,
            "id: portal-outage  version: 2  severity: P2",
            "The customer portal is unreachable; fail over to site B if it stays down.",
        ])
        #expect(lines.contains("    RTO 2h  RPO 0m  MTPD 8h"))
        #expect(lines.contains("  bridge  slack (live only)"))
        #expect(lines.contains("  1. triage  [detect, assess]  (start)"))
        #expect(lines.contains("  4. closed  [learn]  (terminal)"))
        #expect(!result.stdout.contains("hooks.example.com"))
    }

    @Test("show by id finds the playbook in playbooks/")
    func showByID() throws {
        let byID = try CLI.run(["show", "portal-outage"])
        let byPath = try CLI.run(["show", "playbooks/portal-outage.yaml"])
        #expect(byID.status == 0)
        #expect(byID.stdout == byPath.stdout)
    }

    @Test("an unknown id is one line on stderr with a suggestion, exit 1")
    func unknownID() throws {
        let result = try CLI.run(["show", "portal-outag"])
        #expect(result.stdout == "")
        #expect(result.stderr == "error: no playbook file or id 'portal-outag' in playbooks/ (did you mean 'portal-outage'?)\n")
        #expect(result.status == 1)
    }

    @Test("show, graph and simulate refuse a playbook that fails validation, with its diagnostics")
    func refusesInvalid() throws {
        let expected = """
            broken/broken.yaml:14:62: error: unknown key 'evidnce' in task 'check' (did you mean 'evidence'?)
            broken/broken.yaml:16:30: error: transition target 'contian' is not a state (did you mean 'contain'?)
            broken/broken.yaml:17:3: error: state 'contain' cannot be reached from the start state 'triage'
            error: broken/broken.yaml is not a valid playbook (3 errors)

            """
        for arguments in [
            ["show", "broken/broken.yaml"],
            ["graph", "broken/broken.yaml", "--format", "dot"],
            ["simulate", "broken/broken.yaml", "--script", "scripts/portal-outage.yaml"],
        ] {
            let result = try CLI.run(arguments)
            #expect(result.stdout == "", "\(arguments)")
            #expect(result.stderr == expected, "\(arguments)")
            #expect(result.status == 1, "\(arguments)")
        }
    }

    @Test("graph --format mermaid prints a flowchart with a diamond per decision")
    func mermaid() throws {
        let result = try CLI.run(["graph", "portal-outage", "--format", "mermaid"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("flowchart TD\n"))
        #expect(result.stdout.contains(#"    d1{"Fail over to site #quot;B#quot; now?"}:::decision"#))
        #expect(result.stdout.contains(#"    s1 -.->|"escalated (timer)"| s2"#))
    }

    @Test("graph --format dot renders with Graphviz")
    func dotRenders() throws {
        let dot = try #require(CLI.graphviz(), "Graphviz `dot` is required (apt-get install -y graphviz)")
        let result = try CLI.run(["graph", "playbooks/portal-outage.yaml", "--format", "dot"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("digraph \"portal-outage\" {\n"))
        let rendered = try CLI.runProgram(dot, ["-Tsvg"], input: result.stdout)
        #expect(rendered.status == 0, "\(rendered.stderr)")
        #expect(rendered.stderr == "")
        #expect(rendered.stdout.contains("<svg"))
    }

    @Test("quotes, backslashes, angle brackets and non-ASCII text survive DOT and Graphviz")
    func dotEscaping() throws {
        let dot = try #require(CLI.graphviz(), "Graphviz `dot` is required (apt-get install -y graphviz)")
        let result = try CLI.run(["graph", "odd/odd-characters.yaml", "--format", "dot"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains(#"label="Is it \"A\" or \\B\\ -> [C]? #1\n<now>""#))
        let rendered = try CLI.runProgram(dot, ["-Tsvg"], input: result.stdout)
        #expect(rendered.status == 0, "\(rendered.stderr)")
        #expect(rendered.stderr == "")
        #expect(rendered.stdout.contains("Is it &quot;A&quot; or \\B\\ &#45;&gt; [C]? #1"))
        #expect(rendered.stdout.contains("ünïcödé ✓"))
    }

    @Test("every bundled playbook's DOT renders with Graphviz", arguments: BundledPlaybooks.ids)
    func bundledDotRenders(id: String) throws {
        let dot = try #require(CLI.graphviz(), "Graphviz `dot` is required (apt-get install -y graphviz)")
        let result = try CLI.run(["graph", id, "--format", "dot"], in: CLI.packageRoot)
        #expect(result.status == 0, "\(result.stderr)")
        let rendered = try CLI.runProgram(dot, ["-Tsvg"], input: result.stdout)
        #expect(rendered.status == 0, "\(rendered.stderr)")
        #expect(rendered.stderr == "")
    }

    @Test("a usage mistake exits non-zero with a message and never a stack trace")
    func usageErrors() throws {
        for arguments in [["graph"], ["graph", "portal-outage", "--format", "png"], ["frobnicate"]] {
            let result = try CLI.run(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains("Error:") || result.stderr.contains("error:"), "\(arguments)")
            #expect(!result.stderr.contains("Fatal error"), "\(arguments)")
            #expect(!result.stderr.contains("Stack dump"), "\(arguments)")
        }
    }
}
