-- Why a directory account has its rights (issue 20): the rows of the
-- [[group_mapping]] table that applied at its last sign-in or check, and
-- the directory groups it was in then, both as JSON lists of strings.
-- Written in the transaction that writes the rights themselves.
CREATE TABLE directory_grants (
    user_id     INTEGER NOT NULL PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    granted_by  TEXT   NOT NULL,
    groups      TEXT   NOT NULL,
    updated_at  TEXT   NOT NULL
);
