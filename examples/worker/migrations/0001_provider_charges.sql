-- The fake payment provider's ledger (model ProviderCharge in prisma/worker.prisma).
-- oncely's own table comes from its shipped migrations (prisma/sqlite/migrations).
CREATE TABLE "provider_charges" (
    "charge_key" TEXT NOT NULL PRIMARY KEY,
    "amount" INTEGER NOT NULL,
    "requests" INTEGER NOT NULL,
    "created_at" BIGINT NOT NULL
);
