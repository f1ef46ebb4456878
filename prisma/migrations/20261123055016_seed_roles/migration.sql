-- Default roles every installation has. ON CONFLICT keeps this harmless on a database where an
-- operator already created them (for example one that was bootstrapped before migrations existed).
-- gen_random_uuid() is core PostgreSQL since 13 (PGlite included); no pgcrypto needed.
INSERT INTO "roles" ("id", "name", "description")
VALUES
    (gen_random_uuid(), 'admin', 'Full administrative access'),
    (gen_random_uuid(), 'user', 'Default role of every account')
ON CONFLICT ("name") DO NOTHING;
