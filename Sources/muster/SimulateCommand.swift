import ArgumentParser
import Foundation
import MusterCore
import MusterYAML

enum SimulationFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a playbook through a scripted list of timed commands on a virtual clock.",
        discussion: "Exits 1 when a step is rejected without `expect: rejected`, or the script's `expect` fails."
    )

    @Argument(help: "A playbook file, or the id of a playbook in playbooks/.")
    var playbook: String

    @Option(help: "The simulation script (YAML).")
    var script: String

    @Option(help: "Output format: text or json.")
    var format: SimulationFormat = .text

    @Flag(help: "Record the simulated run in the journal ($MUSTER_HOME/muster.db), so that it can be reported on. Only exercise-mode scripts: a simulation is never a live incident.")
    var record = false

    func run() throws {
        let (loaded, playbook) = try PlaybookLookup.loadValid(self.playbook)
        let script = try loadScript(for: playbook)
        let result = Simulator.run(playbook: playbook, script: script)
        if record {
            try SimulationRecorder.record(result, playbookText: loaded.text, playbook: playbook)
        }
        switch format {
        case .text: Console.out(TimelineText.render(result))
        case .json: Console.out(SimulationJSON.render(result) + "\n")
        }
        if !result.succeeded { throw ExitCode(ExitStatus.refused) }
    }

    private func loadScript(for playbook: Playbook) throws -> SimulationScript {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: script, isDirectory: &isFolder), !isFolder.boolValue else {
            throw Console.fail("no such script file: \(script)")
        }
        guard let data = FileManager.default.contents(atPath: script) else {
            throw Console.fail("cannot read script file: \(script)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Console.fail("script file is not UTF-8 text: \(script)")
        }
        let parsed = YAMLSource.parse(text, file: script)
        var diagnostics = parsed.diagnostics
        var decoded: SimulationScript?
        if let node = parsed.node, !diagnostics.hasErrors {
            let result = SimulationScript.decode(node)
            diagnostics += result.diagnostics
            decoded = result.script
        }
        if let decoded { diagnostics += decoded.check(against: playbook) }
        diagnostics = diagnostics.sortedByLocation()
        guard let decoded, !diagnostics.hasErrors else {
            for diagnostic in diagnostics { Console.err(diagnostic.description + "\n") }
            let errors = diagnostics.filter { $0.severity == .error }.count
            throw Console.fail("\(script) is not a valid simulation script (\("error".counted(errors)))")
        }
        return decoded
    }
}

/// `simulate --format json`: the timeline and the summary as one JSON object, keys in a fixed order.
enum SimulationJSON {
    static func render(_ result: SimulationResult) -> String {
        let origin = result.origin
        func offset(_ at: Instant) -> JSONValue { .string(TimelineText.offsetText(at - origin)) }
        let timeline: [JSONValue] = result.entries.map { entry in
            switch entry {
            case .event(let event):
                return .object([
                    ("offset", offset(event.at)),
                    ("at", .string(event.at.iso8601)),
                    ("actor", .string(event.actor)),
                    ("role", .optional(event.role)),
                    ("type", .string(event.body.typeName)),
                    ("details", .string(TimelineText.details(event, origin: origin))),
                ])
            case .rejection(let rejection):
                return .object([
                    ("offset", offset(rejection.at)),
                    ("at", .string(rejection.at.iso8601)),
                    ("actor", .string(rejection.actor)),
                    ("role", .null),
                    ("type", .string("rejected")),
                    ("details", .string("\(rejection.step): \(rejection.reason)")),
                    ("step", .string(rejection.step)),
                    ("reason", .string(rejection.reason)),
                    ("expected", .bool(rejection.expected)),
                    ("line", .int(rejection.location.line)),
                ])
            }
        }
        let object = JSONValue.object([
            ("playbook", .string(result.playbookID)),
            ("version", .int(result.playbookVersion)),
            ("origin", .string(origin.iso8601)),
            ("end", .string(result.end.iso8601)),
            ("timeline", .array(timeline)),
            ("final_state", .optional(result.finalState)),
            ("terminal", .bool(result.finalStateIsTerminal)),
            ("closed", .bool(result.closed)),
            ("marks", .array(result.marks.map { mark in
                .object([("mark", .string(mark.mark.rawValue)), ("at", .string(mark.at.iso8601)), ("offset", offset(mark.at))])
            })),
            ("decisions", .array(result.decisions.map { decision in
                .object([
                    ("decision", .string(decision.decision)), ("option", .string(decision.option)),
                    ("rationale", .string(decision.rationale)), ("by_default", .bool(decision.byDefault)),
                    ("actor", .string(decision.actor)), ("at", .string(decision.at.iso8601)), ("offset", offset(decision.at)),
                ])
            })),
            ("lessons", .array(result.lessons.map { lesson in
                .object([
                    ("kind", .string(lesson.lesson.kind.rawValue)), ("text", .string(lesson.lesson.text)),
                    ("root_cause", .optional(lesson.lesson.rootCause)), ("actor", .string(lesson.actor)),
                    ("at", .string(lesson.at.iso8601)), ("offset", offset(lesson.at)),
                ])
            })),
            ("ok", .bool(result.succeeded)),
            ("failures", .array(result.failures.map { .string($0) })),
        ])
        return object.rendered()
    }
}
