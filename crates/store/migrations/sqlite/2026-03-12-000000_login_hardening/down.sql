ALTER TABLE staff_accounts DROP COLUMN totp_last_step;
