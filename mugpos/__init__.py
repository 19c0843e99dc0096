"""mugpos engine: framework-free image decoding, models, positioning and storage.

Nothing in this package imports Dagster, FastAPI or MLflow; the API, the Dagster assets and the
evaluation all share this one inference path.
"""

__version__ = "0.1.0"
