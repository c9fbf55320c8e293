/// Writes large, valid playbooks for benchmarks: a chain of states through every phase, with tasks for
/// several roles, guarded and eventless transitions, a decision every fifth state, state timers and
/// objective-anchored run timers, and templated notifications: the shapes the validator must check.
enum PlaybookGenerator {
    static let phases = ["detect", "assess", "respond", "recover"]

    static func playbook(index: Int, states stateCount: Int) -> String {
        var y = """
        muster: 1
        id: generated-\(index)
        version: \(index % 7 + 1)
        title: Generated playbook \(index)
        summary: A synthetic playbook for measuring the loader.
        severity: P\(index % 4 + 1)
        services:
          service-a:
            rto: 4h
            rpo: 1h
            mtpd: 24h
            minimum_capacity: Read-only access
            depends_on: { technology: [cluster-\(index)], people: [operations], suppliers: [vendor-\(index % 9)] }
          service-b: { rto: 2h, rpo: 0m, mtpd: 8h }
        roles:
          incident_commander: { title: Incident Commander, required: true }
          ops: { title: Operations lead, required: true }
          comms: { title: Communications lead }
          security: { title: Security lead }
        channels:
          bridge: { type: slack, url: "${MUSTER_BENCH_SLACK_URL}" }
          execs: { type: email, to: [crisis-team@example.com] }
          hook: { type: webhook, url: "https://hooks.example.com/\(index)", secret: "${MUSTER_BENCH_SECRET}" }
        start: s0
        timers:
          - id: rto-warning
            at: services.service-a.rto - 1h
            notify: execs
            message: "One hour left before the RTO of {{services.service-a.title}} ({{services.service-a.rto}})"
          - id: mtpd-warning
            at: services.service-b.mtpd - 2h
            notify: execs
            message: "Two hours to the MTPD of service-b; run {{run.id}} in {{state.title}}"
        states:

        """
        let roles = ["ops", "comms", "security"]
        for s in 0..<stateCount {
            let last = s == stateCount - 1
            let phase = last ? "learn" : phases[s * phases.count / stateCount]
            y += "  s\(s):\n"
            y += "    title: Step \(s) of the response\n"
            y += "    phase: \(s % 10 == 0 ? "[\(phase), assess]" : phase)\n"
            if last {
                y += "    owner: incident_commander\n    marks: [recovered, closed]\n    terminal: true\n"
                continue
            }
            y += "    owner: \(roles[s % roles.count])\n"
            if s == 0 { y += "    marks: [detected]\n" }
            y += "    on_enter:\n"
            y += "      - notify: bridge\n"
            y += "        message: \"Entered {{state.title}} of {{run.title}} (IC: {{roles.incident_commander}}, elapsed {{run.elapsed}})\"\n"
            if s % 5 == 4 {
                y += """
                    decision:
                      id: d\(s)
                      question: Continue with step \(s + 1)?
                      by: incident_commander
                      options: { proceed: s\(s + 1), repeat: s\(s - 1) }
                      deadline: 15m
                      default: proceed

                """
                continue
            }
            y += "    tasks:\n"
            for t in 0..<3 {
                y += "      - { id: t\(s)-\(t), title: Do part \(t) of step \(s), role: \(roles[(s + t) % roles.count]) }\n"
            }
            y += "    timers:\n"
            y += "      - { id: tm\(s), after: 30m, repeat: 30m, notify: execs, message: \"Step \(s) open for {{timer.elapsed}}\" }\n"
            y += "    transitions:\n"
            if s % 2 == 0 {
                y += "      - { when: all_tasks_done and roles.ops.assigned, to: s\(s + 1) }\n"
            } else {
                y += "      - { on: step-\(s)-complete, when: \"tasks.t\(s)-0.done and (tasks.t\(s)-1.done or not severity == \\\"P1\\\")\", to: s\(s + 1) }\n"
            }
            y += "      - { on: abort-\(s), to: s\(stateCount - 1) }\n"
        }
        return y
    }
}
