-- CreateTable
CREATE TABLE "oncely_idempotency" (
    "id" BIGSERIAL NOT NULL,
    "tenant" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "fence" INTEGER NOT NULL,
    "lease_expires_at" BIGINT,
    "response" TEXT,
    "created_at" BIGINT NOT NULL,
    "updated_at" BIGINT NOT NULL,
    "expires_at" BIGINT NOT NULL,

    CONSTRAINT "oncely_idempotency_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "oncely_idempotency_scope_key" ON "oncely_idempotency"("tenant", "operation", "key");

-- CreateIndex
CREATE INDEX "oncely_idempotency_expires_at_idx" ON "oncely_idempotency"("expires_at");
