-- CreateTable
-- utf8mb4_bin: keys, tenants and operations compare byte for byte ("abc" and "ABC" are two keys).
CREATE TABLE `oncely_idempotency` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `tenant` VARCHAR(191) NOT NULL,
    `operation` VARCHAR(191) NOT NULL,
    `key` VARCHAR(255) NOT NULL,
    `status` VARCHAR(16) NOT NULL,
    `fingerprint` VARCHAR(64) NOT NULL,
    `token` VARCHAR(64) NOT NULL,
    `fence` INTEGER NOT NULL,
    `lease_expires_at` BIGINT NULL,
    `response` LONGTEXT NULL,
    `created_at` BIGINT NOT NULL,
    `updated_at` BIGINT NOT NULL,
    `expires_at` BIGINT NOT NULL,

    UNIQUE INDEX `oncely_idempotency_scope_key`(`tenant`, `operation`, `key`),
    INDEX `oncely_idempotency_expires_at_idx`(`expires_at`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
