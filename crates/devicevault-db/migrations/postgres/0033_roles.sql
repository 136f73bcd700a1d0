-- Roles (issue 20): `role` replaces `is_admin` — admin, operator or reader
-- (what a role allows is decided in the pipeline's app::rights; which
-- devices, by `restricted` and user_device_groups as before).
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'reader';
UPDATE users SET role = 'admin' WHERE is_admin = 1;
ALTER TABLE users DROP COLUMN is_admin;
-- Where an account comes from: 'local' (its password is here), 'ldap', or
-- 'oidc:<provider>' (no usable local password; its rights come from its
-- directory groups at each sign-in and each check).
ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
-- When the directory last confirmed a directory account, and when it said
-- the account was disabled or gone: a disabled user signs in nowhere and
-- none of its tokens work.
ALTER TABLE users ADD COLUMN directory_checked_at TEXT;
ALTER TABLE users ADD COLUMN disabled_at TEXT;
