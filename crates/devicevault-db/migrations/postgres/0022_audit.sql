-- The audit log (issue 16): who changed what, who signed in, who read a
-- configuration. Append-only and chained: each row's hash is the SHA-256
-- of the previous row's hash and its own fields, so an altered or deleted
-- row breaks the chain (`devicevault audit verify`).
--
-- audit_head: the one row that orders writers (each append updates it
-- first, which locks it until the append commits) and names the last row,
-- so a deleted tail is noticed too.
-- audit_checkpoints: what pruning removed — the last pruned row's id and
-- hash, where the remaining chain starts — signed with a key derived from
-- the sealing key, which the database does not hold.
CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    via TEXT NOT NULL,
    address TEXT,
    action TEXT NOT NULL,
    object_type TEXT,
    object_id TEXT,
    fields TEXT NOT NULL,
    outcome TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);

CREATE TABLE audit_head (
    one BIGINT PRIMARY KEY CHECK (one = 1),
    last_id BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (one, last_id, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_checkpoints (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    through_id BIGINT NOT NULL,
    through_hash TEXT NOT NULL,
    signature TEXT NOT NULL
);
