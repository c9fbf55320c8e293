import Foundation
import MusterCore
import MusterReports
import Testing

@Suite("Report rendering")
struct RenderTests {
    static let goldenFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// Compares with `Golden/NAME`; `MUSTER_UPDATE_GOLDEN=1 swift test ...` rewrites the file instead.
    func golden(_ name: String, _ actual: String) throws {
        let url = Self.goldenFolder.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["MUSTER_UPDATE_GOLDEN"] == "1" {
            try actual.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        if expected != actual {
            let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
            let line = zip(e, a).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(e.count, a.count)
            Issue.record("\(name) differs from the golden file at line \(line + 1):\n- \(line < e.count ? e[line] : "<end>")\n+ \(line < a.count ? a[line] : "<end>")")
        }
    }

    @Test("the Markdown of a looping, recovered, closed run matches the golden file")
    func markdownLoop() throws {
        try golden("loop.md", ReportMarkdown.render(makeReport(loopTimeline)))
    }

    @Test("the Markdown of an open, unrecovered exercise matches the golden file")
    func markdownOpen() throws {
        try golden("open.md", ReportMarkdown.render(makeReport(openTimeline, mode: .exercise)))
    }

    @Test("a tampered run says so before anything else, in every format")
    func tampered() throws {
        let report = makeReport(loopTimeline, intact: false)
        let md = ReportMarkdown.render(report)
        let lines = md.split(separator: "\n")
        #expect(lines[1].hasPrefix("> **WARNING: this run's timeline FAILED verification.**"))
        let html = ReportHTML.render(report)
        let body = try #require(html.range(of: "<main>"))
        let alert = try #require(html.range(of: "id=\"tampered\""))
        let header = try #require(html.range(of: "<header"))
        #expect(body.upperBound < alert.lowerBound && alert.lowerBound < header.lowerBound)
        let json = try JSONSerialization.jsonObject(with: Data(ReportJSON.render(report).utf8)) as! [String: Any]
        let integrity = json["integrity"] as! [String: Any]
        #expect(integrity["intact"] as? Bool == false)
        #expect((integrity["problem"] as? String)?.contains("hash mismatch") == true)
    }

    static let htmlCheck = #"""
import sys, xml.etree.ElementTree as ET
from html.parser import HTMLParser

VOID = {"area","base","br","col","embed","hr","img","input","link","meta","source","track","wbr"}
SVG_VOID_OK = {"path","line","circle","rect"}  # may be self-closed inside SVG

class Strict(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.ids, self.tags = [], [], set(), {}
        self.in_svg = 0
    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for k, v in attrs:
            if k == "id":
                if v in self.ids: self.errors.append("duplicate id " + v)
                self.ids.add(v)
            if k in ("src", "href") and v and ("//" in v): self.errors.append("external reference " + v)
        if tag == "svg": self.in_svg += 1
        if tag not in VOID: self.stack.append((tag, self.getpos()))
    def handle_startendtag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if not (self.in_svg and tag in SVG_VOID_OK) and tag not in VOID:
            self.errors.append("self-closed <%s/> outside SVG at %s" % (tag, self.getpos()))
    def handle_endtag(self, tag):
        if tag in VOID: self.errors.append("end tag for void element " + tag); return
        if not self.stack: self.errors.append("stray </%s> at %s" % (tag, self.getpos())); return
        open_tag, pos = self.stack.pop()
        if open_tag != tag: self.errors.append("</%s> at %s closes <%s> from %s" % (tag, self.getpos(), open_tag, pos))
        if tag == "svg": self.in_svg -= 1

text = open(sys.argv[1], encoding="utf-8").read()
assert text.startswith("<!DOCTYPE html>"), "no doctype"
p = Strict(); p.feed(text); p.close()
if p.stack: p.errors.append("unclosed: " + ", ".join(t for t, _ in p.stack))
for needed in sys.argv[2].split(","):
    if needed not in p.ids: p.errors.append("missing section #" + needed)
for tag in ("script", "iframe", "link", "img"):
    if p.tags.get(tag): p.errors.append("not self-contained: <%s>" % tag)
start = text.index("<svg"); end = text.index("</svg>") + len("</svg>")
svg = ET.fromstring(text[start:end])
assert svg.tag == "{http://www.w3.org/2000/svg}svg", svg.tag
count = sum(1 for _ in svg.iter())
print("svg-elements", count)
if "@media print" not in text: p.errors.append("no print CSS")
if p.errors: print("\n".join(p.errors)); sys.exit(1)
"""#

    @Test("the HTML is well-formed for a strict parser, self-contained, and its SVG is well-formed XML")
    func htmlStructure() throws {
        for (events, intact) in [(loopTimeline, true), (openTimeline, true), (loopTimeline, false)] {
            let html = ReportHTML.render(makeReport(events, intact: intact))
            let file = try temporaryFile("report.html", html)
            var sections = "summary,timeline-picture,roles,metrics,decisions,lessons,timeline,integrity"
            if !intact { sections += ",tampered" }
            let (status, output) = try python(Self.htmlCheck, [file, sections])
            #expect(status == 0, "\(output)")
        }
    }

    @Test("the SVG stays small for a run of 100,000 events: dense marks are aggregated")
    func denseSVG() throws {
        var events = Array(loopTimeline.prefix(4))
        var t = at("1m")
        for i in 0..<25_000 {
            events.append(RunEvent(at: t, actor: "Dana", role: "incident_commander", .stateEntered(state: i % 2 == 0 ? "contain" : "triage", from: nil, cause: .event("x"))))
            events.append(RunEvent(at: t, actor: "muster", role: nil, .timerFired(key: TimerKey(id: "rto-warning", instance: i), due: t, lateBy: .zero)))
            events.append(RunEvent(at: t, actor: "muster", role: nil, .notificationQueued(Notification(id: "n\(i)", channel: "bridge", message: "m", trigger: "timer:rto-warning"))))
            events.append(RunEvent(at: t, actor: "Dana", role: "incident_commander", .noteAdded(text: "note \(i)")))
            t = t + .seconds(7)
        }
        let report = makeReport(events)
        var out = TextBuffer()
        TimelineSVG.render(report, into: &out)
        let svg = out.string
        let file = try temporaryFile("dense.svg", svg)
        let (status, output) = try python("import sys, xml.etree.ElementTree as ET; print(sum(1 for _ in ET.parse(sys.argv[1]).getroot().iter()))", [file])
        #expect(status == 0, "\(output)")
        let elements = Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .max
        #expect(elements < 3000, "the SVG has \(elements) elements")
        #expect(svg.contains("×"))
    }

    @Test("the JSON parses and carries the same data as the other formats")
    func json() throws {
        let report = makeReport(loopTimeline)
        let object = try JSONSerialization.jsonObject(with: Data(ReportJSON.render(report).utf8)) as! [String: Any]
        #expect(object["schema"] as? String == "muster-report/1")
        let run = object["run"] as! [String: Any]
        #expect((run["playbook"] as! [String: Any])["sha256"] as? String == String(repeating: "ab", count: 32))
        #expect(run["status"] as? String == "closed")
        let metrics = object["metrics"] as! [[String: Any]]
        let recover = try #require(metrics.first { $0["id"] as? String == "time-to-recover" })
        #expect(recover["valueMs"] as? Int == 200 * 60_000)
        #expect((recover["from"] as! [String: Any])["name"] as? String == "disruption-start")
        #expect((object["events"] as! [Any]).count == loopTimeline.count)
        #expect((object["decisions"] as! [[String: Any]]).first?["byDefault"] as? Bool == true)
        #expect((object["lessons"] as! [[String: Any]]).first?["id"] as? String == "r-100001/27")
        let services = object["services"] as! [[String: Any]]
        #expect(services.first?["rto"] as? String == "met")
        #expect((object["roles"] as! [[String: Any]]).contains { $0["handover"] as? String == "Kim takes the press line" })
    }

    @Test("the JSON follows docs/report-schema.json: every required key of every object is present")
    func jsonSchema() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let schemaFile = root.appendingPathComponent("docs/report-schema.json").path
        let file = try temporaryFile("report.json", ReportJSON.render(makeReport(loopTimeline)))
        let (status, output) = try python(reportSchemaCheck, [schemaFile, file])
        #expect(status == 0, "\(output)")
    }
}

/// Checks a JSON report against docs/report-schema.json (types, enums, required and unexpected keys).
let reportSchemaCheck = #"""
import json, sys
schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2])); errors = []
defs = schema.get("$defs", {})
def check(node, value, path):
    if "$ref" in node: node = defs[node["$ref"].split("/")[-1]]
    types = node.get("type"); types = types if isinstance(types, list) else [types] if types else []
    names = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    if types:
        ok = any((t == "integer" and isinstance(value, int) and not isinstance(value, bool)) or (t in names and isinstance(value, names[t])) for t in types)
        if not ok: errors.append("%s: %r is not %s" % (path, value, types)); return
    if "enum" in node and value not in node["enum"]: errors.append("%s: %r not in enum" % (path, value))
    if isinstance(value, dict):
        for k in node.get("required", []):
            if k not in value: errors.append("%s: missing %s" % (path, k))
        props = node.get("properties", {})
        if node.get("additionalProperties") is False:
            for k in value:
                if k not in props: errors.append("%s: unexpected key %s" % (path, k))
        for k, sub in props.items():
            if k in value: check(sub, value[k], path + "." + k)
    if isinstance(value, list) and "items" in node:
        for i, item in enumerate(value[:50]): check(node["items"], item, "%s[%d]" % (path, i))
check(schema, doc, "$")
print("\n".join(errors)); sys.exit(1 if errors else 0)
"""#

