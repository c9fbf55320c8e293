@testable import MusterCore
import MusterYAML
import Testing

/// The small playbook the renderer tests print (the same as the CLI fixture `portal-outage.yaml`).
enum Fixture {
    static let playbookText = #"""
muster: 1
id: portal-outage
version: 2
title: Customer portal "down" outage
summary: The customer portal is unreachable; fail over to site B if it stays down.
severity: P2
services:
  portal:
    title: Customer portal
    rto: 2h
    rpo: 0m
    mtpd: 8h
    minimum_capacity: Log-in and balance pages
    depends_on: { technology: [web-1, db-1], suppliers: [cdn-vendor] }
roles:
  incident_commander: { title: Incident Commander, required: true }
  ops: { title: Operations lead, required: true, responsibilities: Diagnosis and failover }
channels:
  bridge: { type: slack, url: "https://hooks.example.com/services/T000/SECRET", live_only: true }
start: triage
timers:
  - { id: rto-warning, at: services.portal.rto - 30m, notify: bridge, message: "RTO of {{services.portal.title}} in 30 minutes" }
states:
  triage:
    phase: [detect, assess]
    owner: incident_commander
    marks: [detected]
    on_enter:
      - { notify: bridge, message: "Portal outage: {{run.title}} (IC {{roles.incident_commander}})" }
    tasks:
      - { id: check, title: Check the portal from outside, role: ops }
      - { id: page, title: Page the on-call engineer, role: incident_commander }
      - { id: logs, title: Collect the load balancer logs, role: ops, evidence: true }
    timers:
      - { id: escalate, after: 20m, raise: escalated }
    transitions:
      - { on: confirmed, when: tasks.check.done, to: decide }
      - { on: escalated, to: decide }
  decide:
    phase: assess
    owner: incident_commander
    decision:
      id: failover
      question: Fail over to site "B" now?
      by: incident_commander
      options: { fail-over: recover, wait: triage }
      deadline: 10m
      default: fail-over
  recover:
    phase: recover
    owner: ops
    marks: [declared, contained, recovered]
    tasks:
      - { id: switch, title: Switch DNS to site B, role: ops }
    transitions:
      - { when: all_tasks_done, to: closed }
  closed:
    phase: learn
    owner: incident_commander
    marks: [closed]
    terminal: true
"""#

    static func playbook() throws -> Playbook {
        let loaded = PlaybookLoader.load(text: playbookText, file: "portal-outage.yaml")
        #expect(loaded.diagnostics == [], "fixture must be clean: \(loaded.diagnostics)")
        return try #require(loaded.playbook)
    }
}

@Suite("Playbook renderers")
struct PlaybookRendererTests {
    @Test("show prints services, roles, channel types, timers and states in breadth-first order")
    func summary() throws {
        let expected = #"""
Customer portal "down" outage
id: portal-outage  version: 2  severity: P2
The customer portal is unreachable; fail over to site B if it stays down.

Services
  portal  Customer portal
    RTO 2h  RPO 0m  MTPD 8h
    minimum capacity: Log-in and balance pages
    depends on: technology: web-1, db-1; suppliers: cdn-vendor

Roles
  incident_commander  Incident Commander (required)
  ops                 Operations lead (required)
                      Diagnosis and failover

Channels
  bridge  slack (live only)

Timers (run-wide)
  rto-warning  at services.portal.rto - 30m  notify bridge "RTO of {{services.portal.title}} in 30 minutes"

States (start: triage)

  1. triage  [detect, assess]  (start)
     owner: incident_commander
     marks: detected
     on enter:
       notify bridge "Portal outage: {{run.title}} (IC {{roles.incident_commander}})"
     tasks:
       ops:
         - check  Check the portal from outside
         - logs   Collect the load balancer logs (evidence required)
       incident_commander:
         - page  Page the on-call engineer
     timers:
       escalate  after 20m  raise escalated
     transitions:
       on confirmed when tasks.check.done -> decide
       on escalated -> decide

  2. decide  [assess]
     owner: incident_commander
     decision failover: Fail over to site "B" now?
       by incident_commander, deadline 10m, default fail-over
       fail-over -> recover
       wait -> triage

  3. recover  [recover]
     owner: ops
     marks: declared, contained, recovered
     tasks:
       ops:
         - switch  Switch DNS to site B
     transitions:
       when all_tasks_done -> closed

  4. closed  [learn]  (terminal)
     owner: incident_commander
     marks: closed
"""#
        #expect(PlaybookSummary.render(try Fixture.playbook()) == expected + "\n")
    }

    @Test("show never prints a channel's URL or secret")
    func summaryHidesSecrets() throws {
        let text = PlaybookSummary.render(try Fixture.playbook())
        #expect(!text.contains("hooks.example.com"))
        #expect(!text.contains("SECRET"))
    }

    @Test("Mermaid colours states by phase, draws decisions as diamonds and timer edges dashed")
    func mermaid() throws {
        let expected = #"""
flowchart TD
    classDef detect fill:#FFF3E0,stroke:#EF6C00,color:#000
    classDef assess fill:#FFFDE7,stroke:#F9A825,color:#000
    classDef recover fill:#E8F5E9,stroke:#2E7D32,color:#000
    classDef learn fill:#E3F2FD,stroke:#1565C0,color:#000
    classDef decision fill:#FFFFFF,stroke:#424242,color:#000
    classDef startMarker fill:#000,stroke:#000,color:#fff
    start(("start")):::startMarker
    s1["triage<br/>detect, assess"]:::detect
    s2["decide<br/>assess"]:::assess
    d1{"Fail over to site #quot;B#quot; now?"}:::decision
    s3["recover<br/>recover"]:::recover
    s4((("closed<br/>learn"))):::learn
    start --> s1
    s1 -->|"confirmed [tasks.check.done]"| s2
    s1 -.->|"escalated (timer)"| s2
    s2 --> d1
    d1 -->|"fail-over (default after 10m)"| s3
    d1 -->|"wait"| s1
    s3 -->|"[all_tasks_done]"| s4
"""#
        #expect(PlaybookGraph.mermaid(try Fixture.playbook()) == expected + "\n")
    }

    @Test("DOT escapes quotes, double-borders terminal states and dashes timer edges")
    func dot() throws {
        let expected = #"""
digraph "portal-outage" {
    label="Customer portal \"down\" outage (v2)";
    labelloc=t;
    rankdir=TB;
    fontname="Helvetica";
    node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled", fillcolor="#FFFFFF"];
    edge [fontname="Helvetica", fontsize=9];
    "start" [shape=circle, style=filled, fillcolor="#000000", label="", width=0.2, fixedsize=true];
    "state:triage" [label="triage\ndetect, assess", fillcolor="#FFF3E0", color="#EF6C00"];
    "state:decide" [label="decide\nassess", fillcolor="#FFFDE7", color="#F9A825"];
    "decision:failover" [shape=diamond, style=filled, fillcolor="#FFFFFF", color="#424242", label="Fail over to site \"B\" now?"];
    "state:recover" [label="recover\nrecover", fillcolor="#E8F5E9", color="#2E7D32"];
    "state:closed" [label="closed\nlearn", fillcolor="#E3F2FD", color="#1565C0", style=filled, peripheries=2];
    "start" -> "state:triage";
    "state:triage" -> "state:decide" [label="confirmed [tasks.check.done]"];
    "state:triage" -> "state:decide" [label="escalated (timer)", style=dashed];
    "state:decide" -> "decision:failover";
    "decision:failover" -> "state:recover" [label="fail-over (default after 10m)"];
    "decision:failover" -> "state:triage" [label="wait"];
    "state:recover" -> "state:closed" [label="[all_tasks_done]"];
}
"""#
        #expect(PlaybookGraph.dot(try Fixture.playbook()) == expected + "\n")
    }

    @Test("DOT quoting escapes backslashes, quotes and line breaks")
    func dotQuoting() {
        #expect(PlaybookGraph.dotQuote(#"a "b" \ c"#) == #""a \"b\" \\ c""#)
        #expect(PlaybookGraph.dotQuote("two\nlines") == #""two\nlines""#)
    }

    @Test("Mermaid labels write quotes, angle brackets and hashes as entities")
    func mermaidEscaping() {
        #expect(PlaybookGraph.mermaidEscape(#"say "hi" <now> #1"#) == "say #quot;hi#quot; #lt;now#gt; #35;1")
    }

    @Test("guards print back with the parentheses their meaning needs")
    func guardText() {
        let a = GuardExpression.taskDone(Located("a", at: SourceLocation(file: "f", line: 1, column: 1)))
        let b = GuardExpression.roleAssigned(Located("comms", at: SourceLocation(file: "f", line: 1, column: 1)))
        let option = Located("declare", at: SourceLocation(file: "f", line: 1, column: 1))
        let c = GuardExpression.comparison(.decision(option), .equal, option)
        #expect(PresentationText.guardText(.and(.or(a, b), .not(c))) == #"(tasks.a.done or roles.comms.assigned) and not decisions.declare == "declare""#)
        #expect(PresentationText.guardText(.not(.and(a, b))) == "not (tasks.a.done and roles.comms.assigned)")
        #expect(PresentationText.guardText(.or(.and(a, b), .allTasksDone)) == "tasks.a.done and roles.comms.assigned or all_tasks_done")
    }
}
