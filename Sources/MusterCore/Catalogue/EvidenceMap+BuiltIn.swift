// The evidence map built into muster: the same text as evidence-map.yaml at the repository root (a test
// compares them). `muster evidence` uses evidence-map.yaml beside the catalogue when there is one, else this.
extension EvidenceMap {
    public static let builtInText = #"""
# Which artefacts of an evidence pack (`muster evidence`) satisfy which control. Extend it with your own
# controls (a policy clause, another standard): each names the artefact kinds that evidence it. A control
# whose kinds have no artefact in the period is listed as a gap. Format: docs/readiness.md.
# Artefact kinds: catalogue, playbooks, exercise-reports, incident-reports, chain-verifications,
# improvement-plans, actions-closed, readiness-scorecard.
muster_evidence_map: 1
controls:
  - id: A.5.24
    standard: ISO/IEC 27001:2022
    title: Information security incident management planning and preparation
    expects: Documented, versioned incident playbooks with roles and the services they protect
    evidence: [playbooks, catalogue]
  - id: A.5.25
    standard: ISO/IEC 27001:2022
    title: Assessment and decision on information security events
    expects: Events assessed and declared, each decision recorded with who, when and why
    evidence: [incident-reports, exercise-reports]
  - id: A.5.26
    standard: ISO/IEC 27001:2022
    title: Response to information security incidents
    expects: Incidents responded to per the playbooks, with an intact timeline
    evidence: [incident-reports, chain-verifications]
  - id: A.5.27
    standard: ISO/IEC 27001:2022
    title: Learning from information security incidents
    expects: Lessons turned into corrective actions, closed after an effectiveness review
    evidence: [improvement-plans, actions-closed]
  - id: A.5.28
    standard: ISO/IEC 27001:2022
    title: Collection of evidence
    expects: Run timelines kept append-only and hash-chained, verified for the period
    evidence: [chain-verifications]
  - id: A.5.29
    standard: ISO/IEC 27001:2022
    title: Information security during disruption
    expects: Continuity plans for disruption, exercised, with results
    evidence: [playbooks, exercise-reports]
  - id: A.5.30
    standard: ISO/IEC 27001:2022
    title: ICT readiness for business continuity
    expects: ICT services with BIA objectives, plans tested against RTO and RPO, readiness reviewed
    evidence: [catalogue, exercise-reports, readiness-scorecard]
  - id: "8.4"
    standard: ISO 22301:2019
    title: Business continuity plans and procedures
    expects: Plans per service with recovery objectives from the business impact analysis
    evidence: [playbooks, catalogue]
  - id: "8.5"
    standard: ISO 22301:2019
    title: Exercise programme
    expects: Exercises at planned intervals with after-action reports, and the programme's status
    evidence: [exercise-reports, readiness-scorecard]
  - id: "10"
    standard: ISO 22301:2019
    title: Improvement (nonconformity, corrective action, continual improvement)
    expects: Corrective actions tracked to closure with their effectiveness reviewed
    evidence: [improvement-plans, actions-closed]
  - id: services-identified
    standard: ISO/IEC 27031:2025
    title: ICT services and their dependencies identified, with objectives from the BIA
    evidence: [catalogue]
  - id: plans-tested
    standard: ISO/IEC 27031:2025
    title: ICT continuity plans exist and are tested
    evidence: [playbooks, exercise-reports]
  - id: objectives-demonstrated
    standard: ISO/IEC 27031:2025
    title: Recovery within RTO and RPO demonstrated by exercises or incidents
    evidence: [exercise-reports, incident-reports, readiness-scorecard]
  - id: readiness-improved
    standard: ISO/IEC 27031:2025
    title: Readiness measured and improved
    evidence: [readiness-scorecard, improvement-plans, actions-closed]
"""#
}
