import ArgumentParser
import Foundation
import MusterCore
import MusterExercise
import MusterJournal
import MusterReports
import MusterRuntime
import MusterYAML

/// Finding and loading the service catalogue: `--services FILE`, else `$MUSTER_SERVICES`, else `services.yaml`
/// beside the playbooks folder.
enum CatalogueAccess {
    /// The catalogue, valid; prints its diagnostics and exits 2 when it is missing or has errors.
    static func load(_ explicit: String?, playbooks: String) throws -> (path: String, loaded: LoadedCatalogue, catalogue: ServiceCatalogue) {
        let located = CatalogueLoader.locate(explicit: explicit, environment: ProcessInfo.processInfo.environment, playbooksFolder: playbooks)
        guard FileManager.default.fileExists(atPath: located.path) else {
            throw Console.cannotAct("no service catalogue at \(located.path) (write one, see docs/readiness.md, or pass --services FILE)")
        }
        let loaded = CatalogueLoader.load(file: located.path)
        for d in loaded.diagnostics { Console.err(d.description + "\n") }
        guard let catalogue = loaded.catalogue, !loaded.hasErrors else {
            let errors = loaded.diagnostics.filter { $0.severity == .error }.count
            throw Console.cannotAct("\(located.path) is not a valid service catalogue (\("error".counted(errors)))")
        }
        return (located.path, loaded, catalogue)
    }

    /// The valid playbooks of `folder` (first file wins per id); nothing when the folder does not exist.
    static func playbooks(_ folder: String) -> [LoadedPlaybook] {
        guard FileManager.default.fileExists(atPath: folder) else { return [] }
        var seen: Set<String> = []
        return PlaybookLoader.loadAll(paths: [folder]).filter { loaded in
            guard let p = loaded.playbook, !loaded.hasErrors else { return false }
            return seen.insert(p.id.value).inserted
        }
    }

    /// The scorecard's records: the journal when there is one (a fresh clone has none: every service reads
    /// "never exercised"), exercise runs evaluated by replay.
    static func records(_ catalogue: ServiceCatalogue, playbooks: String, now: Instant) throws -> ReadinessRecords {
        let journal: Journal? = JournalChoice.exists ? try JournalAccess.openForReading() : nil
        defer { try? journal?.close() }
        do {
            return try ReadinessRecords.load(catalogue: catalogue, playbooksFolder: playbooks, journal: journal, now: now) { run in
                guard let journal else { return nil }
                return try ExerciseReplay.load(run, from: journal).exercise.evaluation()
            }
        } catch {
            for d in error.diagnostics { Console.err(d.description + "\n") }
            throw Console.fail(error.description)
        }
    }
}

extension CatalogueAccess {
    /// For `muster incident status`: the catalogue services the run affects (its own, and every service that
    /// depends on them, directly or not) with their MTPD clocks from the disruption start, when a catalogue is
    /// at the default place. Nothing when there is none; one line on standard error when it does not validate.
    static func statusLines(_ run: Run, runID: String, now: Instant) -> [String] {
        guard let disruption = run.disruptionStart else { return [] }
        let own = run.playbook.services.map(\.id.value)
        let elapsed = (run.mark(.recovered) ?? run.closedAt ?? now) - disruption
        let result = CatalogueImpact.affected(services: own, elapsed: elapsed, from: CatalogueImpact.Source(playbooksFolder: PlaybookLookup.defaultFolder))
        if let warning = result.warning { Console.err("warning: \(warning)\n") }
        guard let found = result.found else { return [] }
        let analysis = found.analysis
        var out = ["catalogue services affected (\(found.path); muster impact --run \(runID) for the paths)"]
        for s in analysis.affected {
            var line = "  \(s.service): "
            if let left = s.timeLeft, let mtpd = s.mtpd {
                line += left.milliseconds >= 0 ? "MTPD \(mtpd): \(left.clock) left" : "MTPD \(mtpd): EXCEEDED by \((-left).clock)"
            } else {
                line += "no MTPD"
            }
            if own.contains(s.service) {
                line += "  (this run's)"
            } else {
                line += "  through \(s.path.dropLast().last.map(\.description) ?? "?")"
                line += s.coveredBy.isEmpty ? ", NO PLAYBOOK" : ", playbooks: \(s.coveredBy.joined(separator: ", "))"
            }
            out.append(line)
        }
        return out
    }
}

struct CatalogueOptions: ParsableArguments {
    @Option(help: "The service catalogue (default: $MUSTER_SERVICES, else services.yaml beside the playbooks folder).")
    var services: String?
    @Option(help: "Folder of playbooks (default: $MUSTER_PLAYBOOKS, else playbooks).")
    var playbooks: String?

    var playbooksFolder: String { playbooks ?? PlaybookLookup.defaultFolder }
}

// MARK: - muster impact

struct ImpactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "impact",
        abstract: "What falls when a site, supplier, technology or service is lost: every affected service by time left to its MTPD.",
        discussion: """
            Follows the catalogue's dependencies (services.yaml) through every level: --lost site:dc1 reaches the \
            domain controllers there, then sign-in, then everything that needs sign-in. Each service is listed with \
            the time left before its MTPD, the playbooks that cover it, and the path it was reached by; services no \
            playbook covers are listed again at the end. Kinds: service, site, supplier, technology, data, people, process. \
            --run RUN takes a declared run's catalogue services as lost and its disruption's clock (to its close, else now).
            """)

    @Option(name: .long, parsing: .upToNextOption, help: "What is lost, as KIND:ID (site:hq, supplier:cloud-provider, technology:san-1, service:payroll); several allowed.")
    var lost: [String] = []
    @Option(help: "How long the disruption has lasted (e.g. 2h): time left is counted from then.")
    var elapsed: String?
    @Option(name: .customLong("run"), help: ArgumentHelp("A declared run: its playbook's services are lost, its clock is the disruption's (an id or a prefix; 'open' for the default run).", valueName: "RUN"))
    var runID: String?
    @Option(help: "md (default) or json.") var format: Format = .md
    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?
    @OptionGroup var options: CatalogueOptions

    enum Format: String, ExpressibleByArgument { case md, json }

    func run() throws {
        guard !lost.isEmpty || runID != nil else {
            throw Console.cannotAct("name what is lost: --lost site:hq (kinds: \(NodeKind.allCases.map(\.rawValue).joined(separator: ", "))), or a run: --run RUN")
        }
        let (_, _, catalogue) = try CatalogueAccess.load(options.services, playbooks: options.playbooksFolder)
        var refs: [NodeRef] = []
        var runElapsed: TimeSpan?
        if let run = runID {
            // The run's services are down, and its clock started at the disruption it declared.
            let journal = try JournalAccess.openForReading()
            defer { try? journal.close() }
            let record = try JournalAccess.run(journal, run == "open" ? nil : run)
            let playbook = try JournalAccess.playbook(of: record)
            for service in playbook.services where catalogue.definition(of: NodeRef(.service, service.id.value)) != nil {
                refs.append(NodeRef(.service, service.id.value))
            }
            guard !refs.isEmpty else {
                throw Console.cannotAct("none of run \(record.id)'s services (\(playbook.services.map(\.id.value).joined(separator: ", "))) is in the catalogue")
            }
            let events: [RunEvent]
            do { events = try journal.events(runID: record.id) } catch { throw Console.fail(error.description) }
            if case .runStarted(let started) = events.first?.body {
                let end = events.contains { if case .runClosed = $0.body { true } else { false } } ? events.last!.at : ImprovementState.clock()
                runElapsed = end - started.disruptionStart
            }
        }
        for text in lost {
            guard let ref = NodeRef(parsing: text) else {
                throw Console.cannotAct("'\(text)' is not KIND:ID (kinds: \(NodeKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard catalogue.definition(of: ref) != nil else {
                let known = catalogue.nodes.filter { $0.ref.kind == ref.kind }.map(\.ref.id)
                throw Console.cannotAct("the catalogue has no \(ref.kind.rawValue) '\(ref.id)'\(Suggestion.hint(for: ref.id, in: known))")
            }
            refs.append(ref)
        }
        var elapsedSpan = runElapsed ?? .zero
        if let elapsed {
            guard let span = TimeSpan(parsing: elapsed) else { throw Console.cannotAct("--elapsed '\(elapsed)' is not a duration (write 30m, 4h, 1h30m, 2d)") }
            elapsedSpan = span
        }
        let playbooks = CatalogueAccess.playbooks(options.playbooksFolder).compactMap(\.playbook)
        let analysis = ImpactAnalysis.compute(catalogue, lost: refs, elapsed: elapsedSpan, coverage: ImpactAnalysis.coverage(playbooks))
        let text = format == .json ? ImpactReport.json(analysis) : ImpactReport.markdown(analysis, catalogue: catalogue)
        try JournalAccess.emit(text, to: output)
    }
}

// MARK: - muster readiness

struct ReadinessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "readiness",
        abstract: "The ICT readiness scorecard: per catalogue service, plans, exercises, ratings, RTO/RPO results, actions, review, dependencies.",
        discussion: """
            Reads the service catalogue, the playbooks and the journal ($MUSTER_HOME/muster.db, when there is one). \
            Services are sorted worst first; the HTML page carries a services-by-criteria matrix. Criteria: \
            docs/readiness.md. MUSTER_NOW fixes "now".
            """)

    @Option(help: "html, md or json. Default: from the -o extension, else md.") var format: ReportFormatOption?
    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?
    @OptionGroup var options: CatalogueOptions

    func run() throws {
        let (_, _, catalogue) = try CatalogueAccess.load(options.services, playbooks: options.playbooksFolder)
        let records = try CatalogueAccess.records(catalogue, playbooks: options.playbooksFolder, now: ImprovementState.clock())
        let card = records.scorecard
        let chosen = format ?? output.flatMap { $0.hasSuffix(".html") || $0.hasSuffix(".htm") ? .html : $0.hasSuffix(".json") ? .json : nil } ?? .md
        let text = switch chosen {
        case .html: ReadinessReport.html(card)
        case .md: ReadinessReport.markdown(card)
        case .json: ReadinessReport.json(card)
        }
        try JournalAccess.emit(text, to: output)
        if let output {
            Console.err("wrote \(output) (\(chosen.rawValue)): \(card.services.count) services, \(card.count(.failing)) failing, \(card.count(.attention)) need attention\n")
        }
    }
}
