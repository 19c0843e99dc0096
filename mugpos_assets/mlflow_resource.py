"""MLflow as a Dagster resource: an explicit client, sqlite under the MUGPOS home by default.

Nothing here sets ``MLFLOW_*`` variables or MLflow's global tracking URI: each call builds an
``MlflowClient`` with the resource's URIs, so two resources (or a test and the code location)
never leak into each other. Point ``tracking_uri`` at a server (``http://mlflow:5000``) to share
runs; its artifact store is then the server's own unless ``artifact_root`` says otherwise.
"""

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from mugpos_assets.resources import resolve_settings

if TYPE_CHECKING:
    from mlflow import MlflowClient


class MlflowResource(dg.ConfigurableResource):
    """Where evaluation runs, comparisons and the champion alias live."""

    tracking_uri: str | None = None
    registry_uri: str | None = None
    artifact_root: str | None = None
    ui_url: str | None = None
    home: str | None = None

    def _home(self) -> Path:
        return Path(resolve_settings(home=self.home).home).resolve()

    def resolved_tracking_uri(self) -> str:
        """The configured URI, else ``sqlite:///<home>/mlflow.db`` (created on first use)."""
        if self.tracking_uri:
            return self.tracking_uri
        home = self._home()
        home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{home / 'mlflow.db'}"

    def resolved_artifact_root(self) -> str | None:
        """Artifacts of new experiments: configured, else ``<home>/mlartifacts`` for a local
        sqlite store (MLflow's own default is ``./mlruns`` under whatever the working directory
        happens to be), else the server's default."""
        if self.artifact_root:
            return self.artifact_root
        if self.resolved_tracking_uri().startswith("sqlite:"):
            return (self._home() / "mlartifacts").as_uri()
        return None

    def client(self) -> "MlflowClient":
        from mlflow import MlflowClient

        uri = self.resolved_tracking_uri()
        return MlflowClient(tracking_uri=uri, registry_uri=self.registry_uri or uri)

    def run_link(self, experiment_id: str, run_id: str) -> dg.MetadataValue:
        """A clickable link when the UI's address is known, else the run's URI as text."""
        if self.ui_url:
            base = self.ui_url.rstrip("/")
            return dg.MetadataValue.url(f"{base}/#/experiments/{experiment_id}/runs/{run_id}")
        return dg.MetadataValue.text(f"runs:/{run_id} (experiment {experiment_id})")
