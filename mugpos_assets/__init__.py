"""Dagster code location: everything produced offline is an asset here."""
