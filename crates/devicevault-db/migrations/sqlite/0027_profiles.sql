-- Connection profiles (issue 15 items 1 and 4).

-- How a device is reached: its transport (the port defaults to the
-- transport's when the device is saved), legacy SSH algorithms (NULL: its
-- device type's choice), timeouts in seconds (NULL: its device type's,
-- else the collector's), and an optional SSH jump host with a credential
-- of its own.
ALTER TABLE devices ADD COLUMN transport TEXT NOT NULL DEFAULT 'ssh'
    CHECK (transport IN ('ssh', 'telnet'));
ALTER TABLE devices ADD COLUMN legacy_algorithms INTEGER;
ALTER TABLE devices ADD COLUMN connect_timeout INTEGER;
ALTER TABLE devices ADD COLUMN command_timeout INTEGER;
ALTER TABLE devices ADD COLUMN job_timeout INTEGER;
ALTER TABLE devices ADD COLUMN jump_host TEXT;
ALTER TABLE devices ADD COLUMN jump_port INTEGER;
ALTER TABLE devices ADD COLUMN jump_credential_id INTEGER
    REFERENCES credentials(id) ON DELETE RESTRICT;

ALTER TABLE device_types ADD COLUMN legacy_algorithms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE device_types ADD COLUMN connect_timeout INTEGER;
ALTER TABLE device_types ADD COLUMN command_timeout INTEGER;
ALTER TABLE device_types ADD COLUMN job_timeout INTEGER;

-- A credential may log in with an SSH private key (sealed like the
-- password, with its passphrase); its public key's fingerprint is what
-- people are shown. A key credential has no password: password_sealed is
-- then empty (a sealed secret never is), so the column keeps its NOT NULL.
ALTER TABLE credentials ADD COLUMN private_key_sealed BLOB;
ALTER TABLE credentials ADD COLUMN passphrase_sealed BLOB;
ALTER TABLE credentials ADD COLUMN key_fingerprint TEXT;

-- The most sessions a collector opens at once for the group's devices.
ALTER TABLE collection_groups ADD COLUMN max_sessions INTEGER NOT NULL DEFAULT 32
    CHECK (max_sessions >= 1);
