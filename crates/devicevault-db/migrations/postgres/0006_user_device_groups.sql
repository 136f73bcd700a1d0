-- Device groups scope what a user sees and may do (DESIGN §6). A restricted
-- user sees only the devices of their groups; others (and admins) see all.
ALTER TABLE users ADD COLUMN restricted BIGINT NOT NULL DEFAULT 0;
CREATE TABLE user_device_groups (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_group_id BIGINT NOT NULL REFERENCES device_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, device_group_id)
);
CREATE INDEX user_device_groups_group ON user_device_groups (device_group_id);
