"""Backups of everything the platform makes, to R2 (S3) or a directory, and verified restore.

Engine-level and framework-free: the Dagster assets (``mugpos_assets.assets.backups``) and the
``mugpos backups`` / ``mugpos restore`` commands (``mugpos.backup.cli``) both call in here.
"""

from mugpos.backup.catalog import load_manifest, manifest_keys
from mugpos.backup.manifest import BackupEntry, BackupError, BackupManifest, FamilyInfo
from mugpos.backup.restore import RestoreError, RestoreReport, restore_backup
from mugpos.backup.retention import RetentionResult, apply_retention
from mugpos.backup.run import BackupReport, FamilyResult, backup_family, run_backup, write_manifest
from mugpos.backup.sources import FAMILIES, BackupRoots
from mugpos.backup.verify import VerifyResult, verify_backup

__all__ = [
    "FAMILIES",
    "BackupEntry",
    "BackupError",
    "BackupManifest",
    "BackupReport",
    "BackupRoots",
    "FamilyInfo",
    "FamilyResult",
    "RestoreError",
    "RestoreReport",
    "RetentionResult",
    "VerifyResult",
    "apply_retention",
    "backup_family",
    "load_manifest",
    "manifest_keys",
    "restore_backup",
    "run_backup",
    "verify_backup",
    "write_manifest",
]
