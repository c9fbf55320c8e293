/// The hash chain. Each value here is part of the journal's format (version 1): changing any of them makes
/// every existing journal fail verification. `docs/journal.md` describes the same bytes in words.
enum Chain {
    static let runTag = "muster-run/1"
    static let eventTag = "muster-event/1"

    /// The bytes hashed for a run header:
    /// `["muster-run/1",RUN_ID,PLAYBOOK_ID,PLAYBOOK_VERSION,PLAYBOOK_SHA256]` in canonical JSON.
    static func headerBytes(runID: String, playbookID: String, playbookVersion: Int, playbookSHA256: String) -> [UInt8] {
        var out: [UInt8] = [0x5B]
        CanonicalJSON.writeString(runTag, to: &out)
        out.append(0x2C)
        CanonicalJSON.writeString(runID, to: &out)
        out.append(0x2C)
        CanonicalJSON.writeString(playbookID, to: &out)
        out.append(0x2C)
        out.append(contentsOf: Array(String(playbookVersion).utf8))
        out.append(0x2C)
        CanonicalJSON.writeString(playbookSHA256, to: &out)
        out.append(0x5D)
        return out
    }

    /// The `prev_hash` of a run's first event.
    static func headerHash(runID: String, playbookID: String, playbookVersion: Int, playbookSHA256: String) -> String {
        Digest256.hex(of: headerBytes(runID: runID, playbookID: playbookID, playbookVersion: playbookVersion, playbookSHA256: playbookSHA256))
    }

    /// The bytes hashed for an event:
    /// `["muster-event/1",RUN_ID,SEQ,AT_MS,SCENARIO_MS|null,ACTOR,ROLE|null,TYPE,PAYLOAD,PREV_HASH]` in canonical
    /// JSON, where PAYLOAD is the stored payload text embedded as is (it is canonical JSON itself).
    static func eventBytes(
        runID: String, seq: Int, atMS: Int64, scenarioMS: Int64?, actor: String, role: String?,
        type: String, payload: String, prevHash: String
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.utf8.count + 200)
        out.append(0x5B)
        CanonicalJSON.writeString(bytes: eventTag.utf8, to: &out)
        out.append(0x2C)
        CanonicalJSON.writeString(bytes: runID.utf8, to: &out)
        out.append(0x2C)
        out.append(contentsOf: String(seq).utf8)
        out.append(0x2C)
        out.append(contentsOf: String(atMS).utf8)
        out.append(0x2C)
        if let scenarioMS { out.append(contentsOf: String(scenarioMS).utf8) } else { out.append(contentsOf: "null".utf8) }
        out.append(0x2C)
        CanonicalJSON.writeString(bytes: actor.utf8, to: &out)
        out.append(0x2C)
        if let role { CanonicalJSON.writeString(bytes: role.utf8, to: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(0x2C)
        CanonicalJSON.writeString(bytes: type.utf8, to: &out)
        out.append(0x2C)
        out.append(contentsOf: payload.utf8)
        out.append(0x2C)
        CanonicalJSON.writeString(bytes: prevHash.utf8, to: &out)
        out.append(0x5D)
        return out
    }

    static func eventHash(
        runID: String, seq: Int, atMS: Int64, scenarioMS: Int64?, actor: String, role: String?,
        type: String, payload: String, prevHash: String
    ) -> String {
        Digest256.hex(of: eventBytes(
            runID: runID, seq: seq, atMS: atMS, scenarioMS: scenarioMS, actor: actor, role: role,
            type: type, payload: payload, prevHash: prevHash))
    }
}
