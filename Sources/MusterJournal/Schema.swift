import Foundation
import GRDB
import MusterCore

/// The journal's schema, as GRDB migrations. A shipped migration NEVER changes: a new format is a new
/// migration appended here that also raises `meta.format_version` (and `Journal.formatVersion`).
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1", migrate: v1)
        migrator.registerMigration("v2", migrate: v2)
        migrator.registerMigration("v3", migrate: v3)
        migrator.registerMigration("v4", migrate: v4)
        migrator.registerMigration("v5", migrate: v5)
        migrator.registerMigration("v6", migrate: v6)
        migrator.registerMigration("v7", migrate: v7)
        migrator.registerMigration("v8", migrate: v8)
        return migrator
    }

    /// Format 1, shipped with the first journal. Do not edit.
    static func v1(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE meta (
                key TEXT NOT NULL PRIMARY KEY,
                value TEXT NOT NULL
            ) WITHOUT ROWID;
            INSERT INTO meta (key, value) VALUES ('format_version', '1');

            CREATE TABLE runs (
                id TEXT NOT NULL PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
                playbook_id TEXT NOT NULL,
                playbook_version INTEGER NOT NULL,
                playbook_sha256 TEXT NOT NULL CHECK (length(playbook_sha256) = 64),
                playbook_text TEXT NOT NULL,
                mode TEXT NOT NULL CHECK (mode IN ('live', 'exercise')),
                title TEXT NOT NULL,
                created_at INTEGER NOT NULL
            );
            CREATE INDEX runs_by_created_at ON runs (created_at);

            CREATE TABLE events (
                run_id TEXT NOT NULL REFERENCES runs (id),
                seq INTEGER NOT NULL CHECK (seq >= 1),
                at_ms INTEGER NOT NULL,
                scenario_ms INTEGER,
                actor TEXT NOT NULL,
                role TEXT,
                type TEXT NOT NULL,
                payload TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL,
                PRIMARY KEY (run_id, seq)
            ) WITHOUT ROWID;

            CREATE TABLE outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                run_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                notification_id TEXT NOT NULL,
                channel TEXT NOT NULL,
                payload TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dead', 'skipped')),
                attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                next_attempt_ms INTEGER NOT NULL,
                last_error TEXT,
                idempotency_key TEXT NOT NULL UNIQUE,
                updated_at INTEGER NOT NULL,
                UNIQUE (run_id, notification_id),
                FOREIGN KEY (run_id, seq) REFERENCES events (run_id, seq)
            );
            CREATE INDEX outbox_by_due ON outbox (status, next_attempt_ms);

            -- Runs and events are append-only, in the database too.
            CREATE TRIGGER runs_append_only_update BEFORE UPDATE ON runs
            BEGIN SELECT RAISE(ABORT, 'muster journal: runs are append-only'); END;
            CREATE TRIGGER runs_append_only_delete BEFORE DELETE ON runs
            BEGIN SELECT RAISE(ABORT, 'muster journal: runs are append-only'); END;
            CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'muster journal: events are append-only'); END;
            CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'muster journal: events are append-only'); END;
            -- No gap and no reordering, whoever inserts.
            CREATE TRIGGER events_in_sequence BEFORE INSERT ON events
            WHEN NEW.seq <> COALESCE((SELECT seq FROM events WHERE run_id = NEW.run_id ORDER BY seq DESC LIMIT 1), 0) + 1
            BEGIN SELECT RAISE(ABORT, 'muster journal: events are appended in seq order without gaps'); END;
            -- Outbox rows change status, never what they deliver, and are never deleted.
            CREATE TRIGGER outbox_fixed_columns
            BEFORE UPDATE OF id, run_id, seq, notification_id, channel, payload, idempotency_key ON outbox
            BEGIN SELECT RAISE(ABORT, 'muster journal: an outbox item only changes status'); END;
            CREATE TRIGGER outbox_no_delete BEFORE DELETE ON outbox
            BEGIN SELECT RAISE(ABORT, 'muster journal: outbox items are never deleted'); END;
            """)
    }

    /// Format 2: the improvement log, one hash-chained, append-only log of improvement-action changes
    /// (`docs/reports.md`). Do not edit.
    static func v2(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE improvement_events (
                seq INTEGER NOT NULL PRIMARY KEY CHECK (seq >= 1),
                at_ms INTEGER NOT NULL,
                actor TEXT NOT NULL,
                action_id TEXT NOT NULL,
                type TEXT NOT NULL,
                payload TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            );
            CREATE INDEX improvement_events_by_action ON improvement_events (action_id, seq);
            CREATE TRIGGER improvement_events_append_only_update BEFORE UPDATE ON improvement_events
            BEGIN SELECT RAISE(ABORT, 'muster journal: the improvement log is append-only'); END;
            CREATE TRIGGER improvement_events_append_only_delete BEFORE DELETE ON improvement_events
            BEGIN SELECT RAISE(ABORT, 'muster journal: the improvement log is append-only'); END;
            CREATE TRIGGER improvement_events_in_sequence BEFORE INSERT ON improvement_events
            WHEN NEW.seq <> COALESCE((SELECT MAX(seq) FROM improvement_events), 0) + 1
            BEGIN SELECT RAISE(ABORT, 'muster journal: improvement events are appended in seq order without gaps'); END;
            UPDATE meta SET value = '2' WHERE key = 'format_version';
            """)
    }

    /// Format 3: server users (a SHA-256 of each token, never the token) and per-run access (`restricted` runs,
    /// set when the run is declared through the server). Neither is part of any hash chain. Do not edit.
    static func v3(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE users (
                name TEXT NOT NULL PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
                token_sha256 TEXT NOT NULL UNIQUE CHECK (length(token_sha256) = 64),
                admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
                created_at INTEGER NOT NULL,
                revoked_at INTEGER
            );
            CREATE TABLE run_access (
                run_id TEXT NOT NULL PRIMARY KEY REFERENCES runs (id),
                restricted INTEGER NOT NULL CHECK (restricted IN (0, 1)),
                set_by TEXT NOT NULL,
                set_at INTEGER NOT NULL
            ) WITHOUT ROWID;
            UPDATE meta SET value = '3' WHERE key = 'format_version';
            """)
    }

    /// Format 4: the access log, one hash-chained, append-only log of access changes (users added and revoked, each
    /// run's restricted flag), checked against the `users` and `run_access` tables by `verifyAccessLog`. Every run
    /// now has an access row, written with the run; a run of an older journal without one was public and gets a
    /// row saying so. The users and access rows already present open the log, in time order, as `muster` did them.
    /// Do not edit.
    static func v4(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE access_events (
                seq INTEGER NOT NULL PRIMARY KEY CHECK (seq >= 1),
                at_ms INTEGER NOT NULL,
                actor TEXT NOT NULL,
                subject TEXT NOT NULL,
                type TEXT NOT NULL CHECK (type IN ('user-added', 'user-revoked', 'user-token-rotated', 'user-reinstated', 'run-access')),
                payload TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            );
            CREATE INDEX access_events_by_subject ON access_events (subject, seq);
            CREATE TRIGGER access_events_append_only_update BEFORE UPDATE ON access_events
            BEGIN SELECT RAISE(ABORT, 'muster journal: the access log is append-only'); END;
            CREATE TRIGGER access_events_append_only_delete BEFORE DELETE ON access_events
            BEGIN SELECT RAISE(ABORT, 'muster journal: the access log is append-only'); END;
            CREATE TRIGGER access_events_in_sequence BEFORE INSERT ON access_events
            WHEN NEW.seq <> COALESCE((SELECT MAX(seq) FROM access_events), 0) + 1
            BEGIN SELECT RAISE(ABORT, 'muster journal: access events are appended in seq order without gaps'); END;
            INSERT INTO run_access (run_id, restricted, set_by, set_at)
            SELECT id, 0, 'muster', created_at FROM runs WHERE id NOT IN (SELECT run_id FROM run_access);
            """)
        var changes: [(at: Int64, actor: String, change: AccessChange)] = []
        for row in try Row.fetchAll(db, sql: "SELECT name, admin, token_sha256, created_at, revoked_at FROM users ORDER BY created_at, name") {
            changes.append((row[3], "muster", .userAdded(name: row[0], admin: (row[1] as Int) != 0, tokenSHA256: row[2])))
            if let revoked = row[4] as Int64? { changes.append((revoked, "muster", .userRevoked(name: row[0]))) }
        }
        for row in try Row.fetchAll(db, sql: "SELECT run_id, restricted, set_by, set_at FROM run_access ORDER BY set_at, run_id") {
            changes.append((row[3], row[2], .runAccess(runID: row[0], restricted: (row[1] as Int) != 0)))
        }
        // Stable: a user's revocation stays after its addition at the same millisecond.
        for item in changes.enumerated().sorted(by: { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }).map(\.element) {
            try Journal.appendAccess(SQLiteSession(db), item.change, actor: item.actor, at: Instant(millisecondsSinceEpoch: item.at))
        }
        try db.execute(sql: "UPDATE meta SET value = '4' WHERE key = 'format_version'")
    }

    /// The triggers `verifyAccessLog` expects.
    static let accessTriggers = [
        "access_events_append_only_update", "access_events_append_only_delete", "access_events_in_sequence",
    ]

    /// Format 5: `run_summary`, one row per run with what listing runs and the timer pump need without reading
    /// events: the current state, the role holders, and when the run closed. Kept by `Journal.insert` in the
    /// same transaction as the events that change it (`RunDigest`); filled here from the events of existing
    /// runs. Open runs are found through a partial index, so idle work does not grow with closed runs.
    /// Derived from the chained events, so not part of any chain itself. Do not edit once shipped.
    static func v5(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE run_summary (
                run_id TEXT NOT NULL PRIMARY KEY REFERENCES runs (id),
                state TEXT,
                holders TEXT NOT NULL DEFAULT '{}',
                closed_at INTEGER
            ) WITHOUT ROWID;
            CREATE INDEX run_summary_open ON run_summary (run_id) WHERE closed_at IS NULL;
            """)
        var digests: [String: RunDigest] = [:]
        for id in try String.fetchAll(db, sql: "SELECT id FROM runs") { digests[id] = RunDigest() }
        let rows = try Row.fetchCursor(db, sql: """
            SELECT run_id, at_ms, payload FROM events WHERE type IN (\(RunDigest.types.map { "'\($0)'" }.joined(separator: ", ")))
            ORDER BY run_id, seq
            """)
        let decoder = JSONDecoder()
        while let row = try rows.next() {
            let runID: String = row[0]
            let payload: String = row[2]
            // A payload that does not decode changes nothing here; `verify` and replay report it.
            guard let body = try? decoder.decode(RunEvent.Body.self, from: Data(payload.utf8)), let change = RunDigest.Change(body) else { continue }
            digests[runID, default: RunDigest()].apply(change, atMS: row[1])
        }
        for (runID, digest) in digests { try digest.save(SQLiteSession(db), runID: runID) }
        try db.execute(sql: "UPDATE meta SET value = '5' WHERE key = 'format_version'")
    }

    /// Format 6, for several servers on one journal: `command_keys` (a command's idempotency key, written in the
    /// transaction of its events, so a retried command is answered from what the first one recorded), `leases`
    /// (who drives the timer pump or an exercise, until when, on the database's clock), and the outbox claim's
    /// holder and lease end (`claimed_by`, `lease_until_ms`, also on the database's clock). Not chained: keys and
    /// leases say nothing the events do not; they only keep servers from doing a thing twice. Do not edit.
    static func v6(_ db: Database) throws {
        try db.execute(sql: Schema.format6(integer: "INTEGER", withoutRowID: " WITHOUT ROWID"))
    }

    /// Format 6's SQL: the same on both backends but for the integer type name and SQLite's `WITHOUT ROWID`.
    static func format6(integer: String, withoutRowID: String) -> String {
        """
        CREATE TABLE command_keys (
            user_name TEXT NOT NULL,
            key TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            run_id TEXT NOT NULL REFERENCES runs (id),
            first_seq \(integer) NOT NULL,
            last_seq \(integer) NOT NULL,
            rejection TEXT,
            at_ms \(integer) NOT NULL,
            PRIMARY KEY (user_name, key)
        )\(withoutRowID);
        CREATE INDEX command_keys_by_time ON command_keys (at_ms);
        CREATE TABLE leases (
            name TEXT NOT NULL PRIMARY KEY,
            holder TEXT NOT NULL,
            expires_ms \(integer) NOT NULL,
            since_ms \(integer) NOT NULL
        )\(withoutRowID);
        ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
        ALTER TABLE outbox ADD COLUMN lease_until_ms \(integer);
        UPDATE meta SET value = '6' WHERE key = 'format_version';
        """
    }

    /// Format 7: the people directory (`people`, `docs/people.md`), and its changes on the access log (the
    /// `person-added`, `person-updated` and `person-removed` types). SQLite cannot widen a CHECK in place, so the
    /// access log is rebuilt: its rows are copied unchanged (the same bytes, so the same hashes), then its index and
    /// guards are made again. (`DROP TABLE` fires no DELETE trigger.) Do not edit.
    static func v7(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE access_events_v7 (
                seq INTEGER NOT NULL PRIMARY KEY CHECK (seq >= 1),
                at_ms INTEGER NOT NULL,
                actor TEXT NOT NULL,
                subject TEXT NOT NULL,
                type TEXT NOT NULL CHECK (type IN (\(accessTypes7))),
                payload TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            );
            INSERT INTO access_events_v7 (seq, at_ms, actor, subject, type, payload, prev_hash, hash)
            SELECT seq, at_ms, actor, subject, type, payload, prev_hash, hash FROM access_events ORDER BY seq;
            DROP TABLE access_events;
            ALTER TABLE access_events_v7 RENAME TO access_events;
            CREATE INDEX access_events_by_subject ON access_events (subject, seq);
            CREATE TRIGGER access_events_append_only_update BEFORE UPDATE ON access_events
            BEGIN SELECT RAISE(ABORT, 'muster journal: the access log is append-only'); END;
            CREATE TRIGGER access_events_append_only_delete BEFORE DELETE ON access_events
            BEGIN SELECT RAISE(ABORT, 'muster journal: the access log is append-only'); END;
            CREATE TRIGGER access_events_in_sequence BEFORE INSERT ON access_events
            WHEN NEW.seq <> COALESCE((SELECT MAX(seq) FROM access_events), 0) + 1
            BEGIN SELECT RAISE(ABORT, 'muster journal: access events are appended in seq order without gaps'); END;
            """)
        try db.execute(sql: Schema.format7(integer: "INTEGER", withoutRowID: " WITHOUT ROWID"))
    }

    /// The access log's types from format 7 on.
    static let accessTypes7 = [
        "user-added", "user-revoked", "user-token-rotated", "user-reinstated", "run-access",
        "person-added", "person-updated", "person-removed",
    ].map { "'\($0)'" }.joined(separator: ", ")

    /// Format 7's SQL, the same on both backends but for the integer type name and SQLite's `WITHOUT ROWID`: the
    /// people directory. `name` is the name roles hold and users sign in with; `name_key` (its `lowercased()`)
    /// keeps two spellings of one name out and is what lookups use, the same on both backends (SQLite's `lower`
    /// folds ASCII only). `groups` is a canonical JSON array of group names, sorted. Contact details live here
    /// and nowhere else in the journal: the access log records which fields changed, never their values.
    static func format7(integer: String, withoutRowID: String) -> String {
        """
        CREATE TABLE people (
            name TEXT NOT NULL PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
            name_key TEXT NOT NULL UNIQUE,
            email TEXT,
            phone TEXT CHECK (phone IS NULL OR (substr(phone, 1, 1) = '+' AND length(phone) BETWEEN 9 AND 16)),
            slack_id TEXT,
            mattermost_user TEXT,
            groups TEXT NOT NULL DEFAULT '[]',
            site TEXT,
            deputy TEXT,
            added_at \(integer) NOT NULL,
            updated_at \(integer) NOT NULL
        )\(withoutRowID);
        UPDATE meta SET value = '7' WHERE key = 'format_version';
        """
    }

    /// Format 8: personal answer links (`answer_links`, `docs/people.md`). Do not edit.
    static func v8(_ db: Database) throws {
        try db.execute(sql: Schema.format8(integer: "INTEGER", withoutRowID: " WITHOUT ROWID"))
    }

    /// Format 8's SQL, the same on both backends but for the integer type name and SQLite's `WITHOUT ROWID`: one row
    /// per personal answer link sent. Only the token's SHA-256 is kept (the token itself is in the one message that
    /// carried it, never in the journal); the row binds it to one person and one question of one run, until
    /// `expires_ms`. `kind` is `rollcall` (question: the roll call's id) or `ack` (question: the ack's id). Not
    /// chained: the answers it leads to are the run's events. No foreign key to `runs`, so a journal copy can move
    /// the links before their runs.
    static func format8(integer: String, withoutRowID: String) -> String {
        """
        CREATE TABLE answer_links (
            token_sha256 TEXT NOT NULL PRIMARY KEY CHECK (length(token_sha256) = 64),
            run_id TEXT NOT NULL,
            person TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('rollcall', 'ack')),
            question TEXT NOT NULL,
            notification_id TEXT NOT NULL,
            message TEXT NOT NULL,
            created_ms \(integer) NOT NULL,
            expires_ms \(integer) NOT NULL
        )\(withoutRowID);
        CREATE INDEX answer_links_by_run ON answer_links (run_id, person);
        UPDATE meta SET value = '8' WHERE key = 'format_version';
        """
    }

    /// The triggers `verify` expects; a missing one is reported as a warning.
    static let guardTriggers = [
        "runs_append_only_update", "runs_append_only_delete",
        "events_append_only_update", "events_append_only_delete", "events_in_sequence",
    ]

    /// The triggers `verifyImprovementLog` expects.
    static let improvementTriggers = [
        "improvement_events_append_only_update", "improvement_events_append_only_delete", "improvement_events_in_sequence",
    ]
}
