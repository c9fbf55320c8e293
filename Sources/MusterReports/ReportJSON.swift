import MusterCore

/// The report as JSON for other tools (schema: `docs/report-schema.json`, id `muster-report/1`).
/// Times are RFC 3339 UTC strings; spans are integer milliseconds (`…Ms`); keys are camelCase; absent values
/// are `null`. Written by hand so that key order is fixed and 100,000 events take no intermediate tree.
public enum ReportJSON {
    public static let schema = "muster-report/1"

    public static func render(_ r: RunReport) -> String { String(decoding: bytes(r), as: UTF8.self) }

    /// The UTF-8 bytes, without the copy into a `String` (large reports go straight to a file).
    public static func bytes(_ r: RunReport) -> [UInt8] {
        var o = TextBuffer(capacity: 16 * 1024 + r.events.count * 340)
        let m = r.metrics
        var w = Writer(o: o)
        w.open("{")
        w.key("schema"); w.string(schema)
        w.key("generatedAt"); w.time(r.generatedAt)
        w.key("run"); w.open("{")
        w.key("id"); w.string(r.run.id)
        w.key("title"); w.string(r.run.title)
        w.key("playbook"); w.open("{")
        w.key("id"); w.string(r.run.playbookID)
        w.key("version"); w.int(r.run.playbookVersion)
        w.key("title"); w.string(r.playbook.title)
        w.key("sha256"); w.string(r.run.playbookSHA256)
        w.close("}")
        w.key("mode"); w.string(r.run.mode.rawValue)
        w.key("severity"); w.string(r.severity.rawValue)
        w.key("createdAt"); w.time(r.run.createdAt)
        w.key("disruptionStart"); w.time(m.disruptionStart)
        w.key("startedAt"); w.time(m.runStart)
        w.key("closedAt"); w.time(m.runClosed)
        w.key("observedUntil"); w.time(m.observedUntil)
        w.key("status"); w.string(r.isClosed ? "closed" : "open")
        w.key("finalState"); w.string(r.finalState)
        w.key("closeReason"); w.string(r.closeReason)
        w.key("outcome"); w.string(r.outcome.replacingOccurrencesOfBackticks())
        w.close("}")

        w.key("integrity"); w.open("{")
        w.key("intact"); w.bool(r.integrity.intact)
        w.key("problem"); w.string(r.integrity.problem)
        w.key("headHash"); w.string(r.integrity.headHash)
        w.key("eventCount"); w.int(r.integrity.eventCount)
        w.key("checkedAt"); w.time(r.integrity.checkedAt)
        w.key("warnings"); w.open("[")
        for warning in r.integrity.warnings { w.item(); w.string(warning) }
        w.close("]")
        w.close("}")

        w.key("roles"); w.open("[")
        for t in r.roles {
            w.item(); w.open("{")
            w.key("role"); w.string(t.role)
            w.key("title"); w.string(t.roleTitle)
            w.key("person"); w.string(t.person)
            w.key("from"); w.time(t.from)
            w.key("until"); w.time(t.until)
            w.key("assignedBy"); w.string(t.assignedBy)
            w.key("handover"); w.string(t.handover)
            w.close("}")
        }
        w.close("]")

        w.key("metrics"); w.open("[")
        for metric in m.metrics {
            w.item(); w.open("{")
            w.key("id"); w.string(metric.id)
            w.key("name"); w.string(metric.name)
            w.key("definition"); w.string(metric.definition)
            switch metric.value {
            case .duration(let d): w.key("kind"); w.string("duration"); w.key("valueMs"); w.int64(d.milliseconds)
            case .count(let c): w.key("kind"); w.string("count"); w.key("value"); w.int(c)
            case .notReached: w.key("kind"); w.string("not-reached")
            }
            w.key("text"); w.string(metric.valueText)
            for (name, anchor) in [("from", metric.from), ("to", metric.to)] {
                w.key(name)
                if let anchor {
                    w.open("{"); w.key("name"); w.string(anchor.name); w.key("at"); w.time(anchor.at); w.close("}")
                } else {
                    w.null()
                }
            }
            w.close("}")
        }
        w.close("]")

        w.key("phases"); w.open("[")
        for p in m.phaseTimes {
            w.item(); w.open("{"); w.key("phase"); w.string(p.phase.rawValue); w.key("timeMs"); w.int64(p.time.milliseconds); w.close("}")
        }
        w.close("]")

        w.key("visits"); w.open("[")
        for v in m.visits {
            w.item(); w.open("{")
            w.key("state"); w.string(v.state)
            w.key("phases"); w.open("["); for p in v.phases { w.item(); w.string(p.rawValue) }; w.close("]")
            w.key("entered"); w.time(v.entered)
            w.key("left"); w.time(v.left)
            w.key("durationMs"); w.int64(v.duration.milliseconds)
            w.close("}")
        }
        w.close("]")

        w.key("services"); w.open("[")
        for s in m.services {
            w.item(); w.open("{")
            w.key("id"); w.string(s.service)
            w.key("title"); w.string(s.title)
            w.key("rtoMs"); w.int64(s.rto?.milliseconds)
            w.key("rpoMs"); w.int64(s.rpo?.milliseconds)
            w.key("mtpdMs"); w.int64(s.mtpd?.milliseconds)
            w.key("recoveryMs"); w.int64(s.recoveryTime?.milliseconds)
            w.key("rto"); w.string(s.rtoStatus.rawValue)
            w.key("rtoMarginMs"); w.int64(s.rtoMargin?.milliseconds)
            w.key("mtpd"); w.string(s.mtpdStatus.rawValue)
            w.key("mtpdMarginMs"); w.int64(s.mtpdMargin?.milliseconds)
            w.key("dataLossMs"); w.int64(s.dataLoss?.milliseconds)
            w.key("rpo"); w.string(s.rpoStatus.rawValue)
            w.key("rpoMarginMs"); w.int64(s.rpoMargin?.milliseconds)
            w.key("rtoDue"); w.time(s.rtoDue)
            w.key("mtpdDue"); w.time(s.mtpdDue)
            w.close("}")
        }
        w.close("]")

        w.key("timers"); w.open("[")
        for f in m.firingsByTimer { w.item(); w.open("{"); w.key("id"); w.string(f.id); w.key("firings"); w.int(f.count); w.close("}") }
        w.close("]")

        w.key("notifications"); w.open("[")
        for n in m.notifications {
            w.item(); w.open("{")
            w.key("id"); w.string(n.id)
            w.key("channel"); w.string(n.channel)
            w.key("trigger"); w.string(n.trigger)
            w.key("message"); w.string(n.message)
            w.key("queuedAt"); w.time(n.queuedAt)
            w.key("dueAt"); w.time(n.dueAt)
            w.key("status"); w.string(n.status.rawValue)
            w.key("attempts"); w.int(n.attempts)
            w.key("deliveredAt"); w.time(n.deliveredAt)
            w.key("late"); w.bool(n.late)
            w.close("}")
        }
        w.close("]")

        w.key("decisions"); w.open("[")
        for d in r.decisions {
            w.item(); w.open("{")
            w.key("seq"); w.int(d.seq)
            w.key("decision"); w.string(d.decision)
            w.key("question"); w.string(d.question)
            w.key("option"); w.string(d.option)
            w.key("leadsTo"); w.string(d.leadsTo)
            w.key("by"); w.string(d.by)
            w.key("role"); w.string(d.role)
            w.key("at"); w.time(d.at)
            w.key("rationale"); w.string(d.rationale)
            w.key("byDefault"); w.bool(d.byDefault)
            w.close("}")
        }
        w.close("]")

        if !r.catalogueServices.isEmpty {
            w.key("catalogueServices"); w.open("[")
            for s in r.catalogueServices {
                w.item(); w.open("{")
                w.key("service"); w.string(s.service)
                w.key("name"); w.string(s.name)
                w.key("mtpd"); w.string(s.mtpd?.description)
                w.key("timeLeftMs"); if let left = s.timeLeft { w.int(Int(left.milliseconds)) } else { w.string(nil) }
                w.key("reached"); w.string(r.catalogueReach(s))
                w.key("playbooks"); w.open("["); for p in s.coveredBy { w.item(); w.string(p) }; w.close("]")
                w.close("}")
            }
            w.close("]")
            w.key("catalogueSource"); w.string(r.catalogueSource)
        }

        if let h = r.hearingBack {
            w.key("hearingBack"); hearingBack(h, into: &w)
        }

        w.key("lessons"); w.open("[")
        for l in r.lessons {
            w.item(); w.open("{")
            w.key("id"); w.string("\(r.run.id)/\(l.seq)")
            w.key("seq"); w.int(l.seq)
            w.key("kind"); w.string(l.kind.rawValue)
            w.key("text"); w.string(l.text)
            w.key("rootCause"); w.string(l.rootCause)
            w.key("by"); w.string(l.by)
            w.key("at"); w.time(l.at)
            w.key("state"); w.string(l.state)
            w.key("actions"); w.open("["); for a in r.lessonActions["\(r.run.id)/\(l.seq)"] ?? [] { w.item(); w.string(a) }; w.close("]")
            w.close("}")
        }
        w.close("]")

        if let e = r.exercise {
            w.key("exercise"); ReportExercise.json(e, r, into: &w)
        }

        w.key("events"); w.open("[")
        for item in r.events {
            let e = item.event
            let (kind, text) = r.describe(e)
            w.item(); w.open("{")
            w.key("seq"); w.int(item.seq)
            w.key("at"); w.time(e.at)
            w.key("scenarioTime"); w.time(item.scenarioTime)
            w.key("wallTime"); w.time(item.wallTime)
            w.key("actor"); w.string(e.actor)
            w.key("role"); w.string(e.role)
            w.key("type"); w.string(e.body.typeName)
            w.key("kind"); w.string(kind)
            w.key("text"); w.string(text)
            w.close("}")
        }
        w.close("]")
        w.close("}")
        o = w.o
        o.write("\n")
        return o.bytes
    }

    /// The "Hearing back" section (present only for runs with acknowledgements or roll calls).
    static func hearingBack(_ h: HearingBackReport, into w: inout Writer) {
        w.open("{")
        w.key("acks"); w.open("[")
        for a in h.acks {
            w.item(); w.open("{")
            w.key("id"); w.string(a.id)
            w.key("role"); w.string(a.role)
            w.key("requestedAt"); w.time(a.requestedAt)
            w.key("withinMs"); w.int64(a.within.milliseconds)
            w.key("paged"); w.open("["); for p in a.paged { w.item(); w.string(p) }; w.close("]")
            w.key("escalationSteps"); w.int(a.steps)
            w.key("acknowledgedBy"); w.string(a.acknowledgedBy)
            w.key("acknowledgedAt"); w.time(a.acknowledgedAt)
            w.key("latencyMs"); w.int64(a.latency?.milliseconds)
            w.key("exhausted"); w.bool(a.exhausted)
            w.close("}")
        }
        w.close("]")
        w.key("mobilisation"); w.open("[")
        for m in h.mobilised {
            w.item(); w.open("{")
            w.key("role"); w.string(m.role)
            w.key("ack"); w.string(m.ack)
            w.key("by"); w.string(m.by)
            w.key("at"); w.time(m.at)
            w.key("latencyMs"); w.int64(m.latency.milliseconds)
            w.close("}")
        }
        w.close("]")
        w.key("rollCalls"); w.open("[")
        for r in h.rollCalls {
            w.item(); w.open("{")
            w.key("id"); w.string(r.id)
            w.key("ask"); w.string(r.ask)
            w.key("startedAt"); w.time(r.startedAt)
            w.key("withinMs"); w.int64(r.within?.milliseconds)
            w.key("people"); w.int(r.people)
            w.key("accounted"); w.int(r.accounted)
            w.key("accountedPercent"); w.int(r.accountedPercent)
            w.key("accountedAtWithin"); if let n = r.accountedAtWithin { w.int(n) } else { w.null() }
            w.key("completedAt"); w.time(r.completedAt)
            w.key("options"); w.open("[")
            for o in r.options {
                w.item(); w.open("{"); w.key("option"); w.string(o.id); w.key("label"); w.string(o.label); w.key("people"); w.int(o.people); w.close("}")
            }
            w.close("]")
            w.key("markedOnly"); w.int(r.markedOnly)
            w.key("curve"); w.open("[")
            for p in r.curve { w.item(); w.open("{"); w.key("at"); w.time(p.at); w.key("accounted"); w.int(p.accounted); w.close("}") }
            w.close("]")
            w.key("unaccounted"); w.open("["); for p in r.unaccounted { w.item(); w.string(p) }; w.close("]")
            w.key("neverReached"); w.open("["); for p in r.neverReached { w.item(); w.string(p) }; w.close("]")
            w.close("}")
        }
        w.close("]")
        w.key("channels"); w.open("[")
        for c in h.channels {
            w.item(); w.open("{")
            w.key("channel"); w.string(c.channel)
            w.key("sent"); w.int(c.sent)
            w.key("delivered"); w.int(c.delivered)
            w.key("failed"); w.int(c.failed)
            w.key("notSent"); w.int(c.notSent)
            w.key("pending"); w.int(c.pending)
            w.close("}")
        }
        w.close("]")
        w.close("}")
    }

    /// A tiny streaming writer that keeps track of commas.
    struct Writer {
        var o: TextBuffer
        var first = true

        mutating func open(_ bracket: String) { o.write(bracket); first = true }
        mutating func close(_ bracket: String) { o.write(bracket); first = false }
        mutating func key(_ name: String) {
            if !first { o.write(",") }
            first = false
            o.json(name)
            o.write(":")
        }
        mutating func item() { if !first { o.write(",") }; first = false }
        mutating func string(_ value: String?) { if let value { o.json(value) } else { o.write("null") }; first = false }
        mutating func int(_ value: Int) { o.write(value); first = false }
        mutating func int64(_ value: Int64?) { if let value { o.write(value) } else { o.write("null") }; first = false }
        mutating func bool(_ value: Bool) { o.write(value ? "true" : "false"); first = false }
        mutating func null() { o.write("null"); first = false }
        mutating func time(_ value: Instant?) { if let value { o.json(value.iso8601) } else { o.write("null") }; first = false }
    }
}
