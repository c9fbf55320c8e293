/// The state machine as a diagram, in Mermaid (for Markdown) or Graphviz DOT.
///
/// States are filled with the colour of their first phase; decisions are diamonds whose options leave as
/// edges; edges carry `event [guard]`; edges taken by an event a timer raises are dashed; terminal states
/// are double-bordered; a dot marks the start.
public enum PlaybookGraph {
    /// Fill and border per phase (light fills keep black text readable).
    static func colours(_ phase: Phase) -> (fill: String, stroke: String) {
        switch phase {
        case .prepare: ("#E8EAF6", "#3949AB")
        case .detect: ("#FFF3E0", "#EF6C00")
        case .assess: ("#FFFDE7", "#F9A825")
        case .respond: ("#FFEBEE", "#C62828")
        case .recover: ("#E8F5E9", "#2E7D32")
        case .learn: ("#E3F2FD", "#1565C0")
        }
    }

    /// One edge of the diagram, before it is written in either syntax.
    struct Edge {
        var from: NodeRef
        var to: NodeRef
        var label: String?
        var dashed: Bool
    }

    enum NodeRef: Hashable {
        case start
        case state(String)
        case decision(String)
    }

    /// The edges in a stable order: start, then per state (reading order) its transitions, its decision and
    /// the decision's options.
    static func edges(_ playbook: Playbook) -> [Edge] {
        var edges = [Edge(from: .start, to: .state(playbook.start.value), label: nil, dashed: false)]
        for state in PresentationText.statesInReadingOrder(playbook) {
            let timerEvents = PresentationText.timerRaisedEvents(in: state, of: playbook)
            for transition in state.transitions {
                var parts: [String] = []
                if let event = transition.on { parts.append(event.value) }
                if let condition = transition.when { parts.append("[\(PresentationText.guardText(condition.value))]") }
                let byTimer = transition.on.map { timerEvents.contains($0.value) } ?? false
                if byTimer { parts.append("(timer)") }
                edges.append(Edge(
                    from: .state(state.id.value), to: .state(transition.to.value),
                    label: parts.isEmpty ? nil : parts.joined(separator: " "), dashed: byTimer))
            }
            if let decision = state.decision {
                edges.append(Edge(from: .state(state.id.value), to: .decision(decision.id.value), label: nil, dashed: false))
                for option in decision.options {
                    var label = option.name.value
                    let isDefault = decision.defaultOption?.value == option.name.value
                    if isDefault {
                        label += decision.deadline.map { " (default after \($0.value.description))" } ?? " (default)"
                    }
                    edges.append(Edge(
                        from: .decision(decision.id.value), to: .state(option.target.value),
                        label: label, dashed: false))
                }
            }
        }
        return edges
    }

    // MARK: Mermaid

    public static func mermaid(_ playbook: Playbook) -> String {
        let states = PresentationText.statesInReadingOrder(playbook)
        var ids: [NodeRef: String] = [.start: "start"]
        for (index, state) in states.enumerated() { ids[.state(state.id.value)] = "s\(index + 1)" }
        var decisionCount = 0
        for state in states {
            if let decision = state.decision, ids[.decision(decision.id.value)] == nil {
                decisionCount += 1
                ids[.decision(decision.id.value)] = "d\(decisionCount)"
            }
        }
        var out = ["flowchart TD"]
        let used = Phase.allCases.filter { phase in states.contains { $0.phases.first == phase } }
        for phase in used {
            let (fill, stroke) = colours(phase)
            out.append("    classDef \(phase.rawValue) fill:\(fill),stroke:\(stroke),color:#000")
        }
        out.append("    classDef decision fill:#FFFFFF,stroke:#424242,color:#000")
        out.append("    classDef startMarker fill:#000,stroke:#000,color:#fff")
        out.append("    start((\"start\")):::startMarker")
        var missing: [String] = []
        for state in states {
            let id = ids[.state(state.id.value)]!
            var label = mermaidEscape(state.id.value)
            if !state.phases.isEmpty { label += "<br/>" + mermaidEscape(PresentationText.phasesText(state.phases)) }
            let shape = state.terminal ? ("(((\"", "\")))") : ("[\"", "\"]")
            let phaseClass = state.phases.first.map { ":::\($0.rawValue)" } ?? ""
            out.append("    \(id)\(shape.0)\(label)\(shape.1)\(phaseClass)")
            if let decision = state.decision, let did = ids[.decision(decision.id.value)] {
                let question = PresentationText.wrapped(decision.question, width: 32).map(mermaidEscape).joined(separator: "<br/>")
                out.append("    \(did){\"\(question)\"}:::decision")
            }
        }
        func ref(_ node: NodeRef) -> String {
            if let id = ids[node] { return id }
            // A reference to a state that does not exist (only in playbooks that failed validation).
            let id = "m\(missing.count + 1)"
            if case .state(let name) = node { missing.append(name) }
            ids[node] = id
            out.append("    \(id)[\"\(mermaidEscape(missingName(node)))\"]")
            return id
        }
        for edge in edges(playbook) {
            let from = ref(edge.from), to = ref(edge.to)
            let arrow = edge.dashed ? "-.->" : "-->"
            if let label = edge.label {
                out.append("    \(from) \(arrow)|\"\(mermaidEscape(label))\"| \(to)")
            } else {
                out.append("    \(from) \(arrow) \(to)")
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    private static func missingName(_ node: NodeRef) -> String {
        switch node {
        case .start: "start"
        case .state(let name), .decision(let name): "\(name)?"
        }
    }

    /// Mermaid reads `#name;` entities inside quoted labels; quotes, angle brackets and `#` are written so.
    static func mermaidEscape(_ text: String) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "#": out += "#35;"
            case "\"": out += "#quot;"
            case "<": out += "#lt;"
            case ">": out += "#gt;"
            case "\n", "\r": out += " "
            default: out.append(ch)
            }
        }
        return out
    }

    // MARK: DOT

    public static func dot(_ playbook: Playbook) -> String {
        let states = PresentationText.statesInReadingOrder(playbook)
        var out: [String] = []
        out.append("digraph \(dotQuote(playbook.id.value)) {")
        out.append("    label=\(dotQuote("\(playbook.title) (v\(playbook.version))"));")
        out.append("    labelloc=t;")
        out.append("    rankdir=TB;")
        out.append("    fontname=\"Helvetica\";")
        out.append("    node [fontname=\"Helvetica\", fontsize=11, shape=box, style=\"rounded,filled\", fillcolor=\"#FFFFFF\"];")
        out.append("    edge [fontname=\"Helvetica\", fontsize=9];")
        out.append("    \"start\" [shape=circle, style=filled, fillcolor=\"#000000\", label=\"\", width=0.2, fixedsize=true];")
        var declared: Set<NodeRef> = [.start]
        for state in states {
            var attributes: [String] = []
            var label = state.id.value
            if !state.phases.isEmpty { label += "\n" + PresentationText.phasesText(state.phases) }
            attributes.append("label=\(dotQuote(label))")
            if let phase = state.phases.first {
                let (fill, stroke) = colours(phase)
                attributes.append("fillcolor=\(dotQuote(fill))")
                attributes.append("color=\(dotQuote(stroke))")
            }
            if state.terminal {
                // Rounded boxes draw one border only; terminal states are plain boxes with two.
                attributes.append("style=filled")
                attributes.append("peripheries=2")
            }
            out.append("    \(dotQuote(nodeName(.state(state.id.value)))) [\(attributes.joined(separator: ", "))];")
            declared.insert(.state(state.id.value))
            if let decision = state.decision {
                let node = NodeRef.decision(decision.id.value)
                if !declared.contains(node) {
                    declared.insert(node)
                    out.append("    \(dotQuote(nodeName(node))) [shape=diamond, style=filled, fillcolor=\"#FFFFFF\", color=\"#424242\", label=\(dotQuote(PresentationText.wrapped(decision.question, width: 32).joined(separator: "\n")))];")
                }
            }
        }
        for edge in edges(playbook) {
            for node in [edge.from, edge.to] where !declared.contains(node) {
                declared.insert(node)
                out.append("    \(dotQuote(nodeName(node))) [label=\(dotQuote(missingName(node))), style=dashed, color=\"#C62828\"];")
            }
            var attributes: [String] = []
            if let label = edge.label { attributes.append("label=\(dotQuote(label))") }
            if edge.dashed { attributes.append("style=dashed") }
            let suffix = attributes.isEmpty ? "" : " [\(attributes.joined(separator: ", "))]"
            out.append("    \(dotQuote(nodeName(edge.from))) -> \(dotQuote(nodeName(edge.to)))\(suffix);")
        }
        out.append("}")
        return out.joined(separator: "\n") + "\n"
    }

    /// Separate name spaces, so a state and a decision may share an id.
    private static func nodeName(_ node: NodeRef) -> String {
        switch node {
        case .start: "start"
        case .state(let id): "state:\(id)"
        case .decision(let id): "decision:\(id)"
        }
    }

    /// A DOT double-quoted string: backslashes and quotes escaped, line breaks as `\n` (centred lines).
    static func dotQuote(_ text: String) -> String {
        var out = "\""
        for ch in text {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": break
            default: out.append(ch)
            }
        }
        return out + "\""
    }
}
