"""The live positioning API (FastAPI) on the models the Dagster assets materialized."""
