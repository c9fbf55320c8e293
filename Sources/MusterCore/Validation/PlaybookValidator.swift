public enum PlaybookValidator { public static func validate(_ playbook: Playbook) -> [Diagnostic] { [] } }
