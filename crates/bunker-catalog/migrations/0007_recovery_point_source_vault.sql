-- Copies name the vault they were copied from (AWS `SourceBackupVaultArn`), kept on the
-- copy itself so it survives the source's deletion.
ALTER TABLE recovery_points ADD COLUMN source_backup_vault_arn TEXT;
