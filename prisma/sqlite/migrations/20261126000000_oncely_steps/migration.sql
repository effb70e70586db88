-- AlterTable
-- Steps of multi-step mutations (ClaimContext.step / databaseStep): a JSON array, NULL when none.
ALTER TABLE "oncely_idempotency" ADD COLUMN "steps" TEXT;
