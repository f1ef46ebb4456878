-- CreateTable
CREATE TABLE "federation_providers" (
    "id" VARCHAR(32) NOT NULL,
    "settings" JSONB NOT NULL,
    "client_secret_enc" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "federation_providers_pkey" PRIMARY KEY ("id")
);

-- Every node keeps the provider list in memory: notify on change (see the change_notify migration).
CREATE TRIGGER federation_providers_notify_change
    AFTER INSERT OR UPDATE OR DELETE ON "federation_providers"
    FOR EACH ROW EXECUTE FUNCTION idserver_notify_change('id');
