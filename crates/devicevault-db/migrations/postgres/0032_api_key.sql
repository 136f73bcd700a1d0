-- A credential may carry an API key (issue 19's per-device credentials):
-- the token an HTTPS API driver sends as `{api_key}` (FortiOS's REST API
-- administrator token, a stored PAN-OS key). Sealed like the password and
-- never returned. A credential with only an API key has an empty
-- password_sealed, as a key credential has.
ALTER TABLE credentials ADD COLUMN api_key_sealed BYTEA;
