/// Checks a playbook's roll calls against the people directory (when one is configured): a group with nobody in
/// it, or a person the directory does not know, would ask nobody on the day. Warnings, at the name in the file;
/// pure (the shell reads the directory).
public enum DirectoryCheck {
    /// `people`: the directory's names; `groups`: each group's members (names as stored).
    public static func check(_ playbook: Playbook, people: Set<String>, groups: [String: Set<String>]) -> [Diagnostic] {
        let known = Set(people.map { $0.lowercased() })
        var found: [Diagnostic] = []
        for rollCall in playbook.allRollCalls {
            for audience in rollCall.who {
                switch audience {
                case .group(let group) where (groups[group.value] ?? []).isEmpty:
                    found.append(.warning("empty-group", "roll call '\(rollCall.id.value)' asks group '\(group.value)', which has nobody in the "
                        + "people directory (muster people add NAME --group \(group.value))", at: group.location))
                case .person(let person) where !known.contains(person.value.lowercased()):
                    found.append(.warning("unknown-person", "roll call '\(rollCall.id.value)' asks '\(person.value)', who is not in the people "
                        + "directory (muster people add \(person.value))", at: person.location))
                default:
                    break
                }
            }
        }
        return found
    }
}
