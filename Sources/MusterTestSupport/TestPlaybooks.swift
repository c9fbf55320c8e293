/// Playbooks the tests write where a server or the CLI reads them.
public enum TestPlaybooks {
    /// Without channels or timers: nothing but the test's own commands appends to its runs.
    public static let quiet = """
        muster: 1
        id: quiet
        version: 1
        title: Quiet
        roles:
          incident_commander: { title: Incident commander }
        start: work
        states:
          work:
            phase: respond
            owner: incident_commander
            tasks:
              - { id: check, title: Check, role: incident_commander }
            transitions:
              - { on: resolved, to: closed }
          closed:
            phase: learn
            owner: incident_commander
            terminal: true
        """
}
