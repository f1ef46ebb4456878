-- AlterTable
ALTER TABLE "federated_identities" ADD COLUMN     "avatar_url" VARCHAR(2048),
ADD COLUMN     "display_name" VARCHAR(255),
ADD COLUMN     "family_name" VARCHAR(100),
ADD COLUMN     "given_name" VARCHAR(100),
ADD COLUMN     "upstream_login" VARCHAR(255);
