import MusterCore

/// One file of an evidence pack.
public struct EvidenceArtefact: Sendable, Hashable {
    public var kind: ArtefactKind
    /// Relative to the pack's folder.
    public var path: String
    public var sha256: String
    public var title: String
    public var detail: String?

    public init(kind: ArtefactKind, path: String, sha256: String, title: String, detail: String? = nil) {
        self.kind = kind
        self.path = path
        self.sha256 = sha256
        self.title = title
        self.detail = detail
    }
}

/// The index of an evidence pack: each control of the evidence map with the artefacts that satisfy it, and gaps
/// stated as plainly as evidence. Pure: the shell writes the artefacts and hands their paths and digests over.
public struct EvidenceIndex: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        /// Every kind of evidence the control names has an artefact.
        case evidenced
        /// Some have, some have not.
        case partial
        /// Nothing behind it.
        case gap
    }

    public var organisation: String?
    public var from: Day
    public var to: Day
    public var generatedAt: Instant
    public var map: EvidenceMap
    public var artefacts: [EvidenceArtefact]
    /// Why a kind has no artefact ("no exercise was held between … and …").
    public var absent: [ArtefactKind: String]

    public init(organisation: String?, from: Day, to: Day, generatedAt: Instant, map: EvidenceMap, artefacts: [EvidenceArtefact],
                absent: [ArtefactKind: String]) {
        self.organisation = organisation
        self.from = from
        self.to = to
        self.generatedAt = generatedAt
        self.map = map
        self.artefacts = artefacts
        self.absent = absent
    }

    public func artefacts(_ kind: ArtefactKind) -> [EvidenceArtefact] { artefacts.filter { $0.kind == kind } }

    public func status(_ control: EvidenceMap.Control) -> (status: Status, missing: [ArtefactKind]) {
        let missing = control.evidence.filter { artefacts($0).isEmpty }
        if control.evidence.isEmpty || missing.count == control.evidence.count { return (.gap, missing) }
        return (missing.isEmpty ? .evidenced : .partial, missing)
    }

    func why(_ kind: ArtefactKind) -> String { absent[kind] ?? "nothing of this kind in the pack" }

    public var gaps: [EvidenceMap.Control] { map.controls.filter { status($0).status == .gap } }

    public func html() -> String {
        var o = TextBuffer()
        o.write("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Evidence pack \(from) to \(to)</title>\n<style>\n\(ReportHTML.css)</style>\n</head>\n<body>\n<main>\n<header class=\"cover\">\n<p class=\"kicker\">Audit evidence · \(from) to \(to) · generated \(ReportFormat.time(generatedAt))</p>\n<h1>ICT continuity evidence pack</h1>\n<p>")
        if let organisation { o.html(organisation); o.write(". ") }
        let counts = map.controls.map { status($0).status }
        o.write("\(map.controls.count) controls: \(counts.filter { $0 == .evidenced }.count) evidenced, \(counts.filter { $0 == .partial }.count) partly, \(counts.filter { $0 == .gap }.count) with nothing behind them. Every file's SHA-256 is in <a href=\"MANIFEST.sha256\">MANIFEST.sha256</a> (check with <code>sha256sum -c MANIFEST.sha256</code>) and in <a href=\"index.json\">index.json</a>.</p>\n</header>\n")
        o.write("<section id=\"controls\">\n<h2>Controls</h2>\n<table>\n<thead><tr><th>Standard</th><th>Control</th><th>Status</th><th>Evidence</th></tr></thead>\n<tbody>\n")
        for (i, control) in map.controls.enumerated() {
            let (status, missing) = self.status(control)
            o.write("<tr id=\"control-\(i + 1)\"><td>"); o.html(control.standard); o.write("</td><td><strong>"); o.html(control.id)
            o.write("</strong> "); o.html(control.title)
            if let expects = control.expects { o.write("<br><small>"); o.html(expects); o.write("</small>") }
            o.write("</td><td>")
            let cls = status == .evidenced ? "met" : status == .partial ? "open" : "missed"
            o.write("<span class=\"badge \(cls)\">\(status == .gap ? "GAP" : status.rawValue)</span></td><td><ul>")
            for kind in control.evidence {
                let found = artefacts(kind)
                o.write("<li>"); o.html(kind.rawValue); o.write(": ")
                if found.isEmpty {
                    o.write("<strong>none</strong> ("); o.html(why(kind)); o.write(")")
                } else {
                    o.write("\(found.count) file\(found.count == 1 ? "" : "s"), <a href=\"#kind-\(kind.rawValue)\">listed below</a>")
                }
                o.write("</li>")
            }
            o.write("</ul>")
            if !missing.isEmpty, status == .partial {
                o.write("<small>Missing: "); o.html(missing.map(\.rawValue).joined(separator: ", ")); o.write("</small>")
            }
            o.write("</td></tr>\n")
        }
        o.write("</tbody>\n</table>\n</section>\n<section id=\"artefacts\">\n<h2>Artefacts</h2>\n")
        for kind in ArtefactKind.allCases {
            o.write("<h3 id=\"kind-\(kind.rawValue)\">"); o.html(kind.rawValue); o.write("</h3>\n")
            let found = artefacts(kind)
            if found.isEmpty {
                o.write("<p>None: "); o.html(why(kind)); o.write(".</p>\n")
                continue
            }
            o.write("<table>\n<thead><tr><th>File</th><th>What</th><th>SHA-256</th></tr></thead>\n<tbody>\n")
            for a in found {
                o.write("<tr><td><a href=\""); o.html(a.path); o.write("\">"); o.html(a.path); o.write("</a></td><td>"); o.html(a.title)
                if let d = a.detail { o.write("<br><small>"); o.html(d); o.write("</small>") }
                o.write("</td><td><code>"); o.html(a.sha256); o.write("</code></td></tr>\n")
            }
            o.write("</tbody>\n</table>\n")
        }
        o.write("</section>\n</main>\n</body>\n</html>\n")
        return o.string
    }

    /// `muster-evidence/1`: the period, each control with its status and artefact paths, and every artefact.
    public func json() -> String {
        var w = ReportJSON.Writer(o: TextBuffer())
        w.open("{")
        w.key("format"); w.string("muster-evidence/1")
        w.key("organisation"); w.string(organisation)
        w.key("from"); w.string(from.description)
        w.key("to"); w.string(to.description)
        w.key("generatedAt"); w.time(generatedAt)
        w.key("controls"); w.open("[")
        for control in map.controls {
            let (status, missing) = self.status(control)
            w.item(); w.open("{")
            w.key("standard"); w.string(control.standard)
            w.key("id"); w.string(control.id)
            w.key("title"); w.string(control.title)
            w.key("status"); w.string(status.rawValue)
            w.key("evidence"); w.open("{")
            for kind in control.evidence {
                w.key(kind.rawValue); w.open("["); for a in artefacts(kind) { w.item(); w.string(a.path) }; w.close("]")
            }
            w.close("}")
            w.key("missing"); w.open("[")
            for kind in missing { w.item(); w.open("{"); w.key("kind"); w.string(kind.rawValue); w.key("why"); w.string(why(kind)); w.close("}") }
            w.close("]")
            w.close("}")
        }
        w.close("]")
        w.key("artefacts"); w.open("[")
        for a in artefacts {
            w.item(); w.open("{")
            w.key("kind"); w.string(a.kind.rawValue); w.key("path"); w.string(a.path); w.key("sha256"); w.string(a.sha256)
            w.key("title"); w.string(a.title); w.key("detail"); w.string(a.detail)
            w.close("}")
        }
        w.close("]")
        w.close("}")
        w.o.write("\n")
        return w.o.string
    }
}
