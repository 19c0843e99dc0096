"""``mugpos serve --workers N`` (N > 1): N API processes behind one address.

gunicorn is the process manager and uvicorn the HTTP server inside each worker (its worker
class), so a request meets the same HTTP stack as with one process. gunicorn rather than
uvicorn's own ``--workers`` because its master has the hooks this needs: ``child_exit`` marks
a dead worker in the metric files (prometheus_client's ``mark_process_dead``) when it dies,
and gunicorn restarts it, times out a hung worker (heartbeat) and stops gracefully.

The workers share nothing in memory: each loads the models and has its own inference threads
(``MUGPOS_INFERENCE_WORKERS``; unset, the cores are shared out among the processes). What
must agree across them lives in Redis (the result cache, the rate limit's sliding window) or
in the metric files of ``PROMETHEUS_MULTIPROC_DIR``, which is emptied, or made, before the
first worker starts and set before any of them imports prometheus_client.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, ClassVar

from gunicorn.app.base import BaseApplication

with warnings.catch_warnings():  # deprecated in favour of the uvicorn-worker package; same code
    warnings.simplefilter("ignore", DeprecationWarning)
    from uvicorn.workers import UvicornWorker

ENV = "PROMETHEUS_MULTIPROC_DIR"


class ApiWorker(UvicornWorker):
    """uvicorn in a gunicorn worker, with the options ``mugpos serve`` uses for one process."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "loop": "auto",
        "http": "auto",
        "proxy_headers": False,
        "server_header": False,
    }


def prepare_metrics_dir(configured: Path | None) -> tuple[Path, bool]:
    """The directory for this start's metric files, empty, exported as ``ENV`` and picked up
    by prometheus_client (even if it was imported before); True when it is ours to remove."""
    if configured is not None:
        path, owned = configured, False
        if path.exists():
            for child in path.iterdir():  # files of an earlier start would be summed in
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        path.mkdir(parents=True, exist_ok=True)
    else:
        path, owned = Path(tempfile.mkdtemp(prefix="mugpos-metrics-")), True
    os.environ[ENV] = str(path)
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # multiprocess values from here on
    return path, owned


class ApiServer(BaseApplication):  # type: ignore[misc]
    """gunicorn's master, configured in code (no config file), loading ``create_app``."""

    def __init__(
        self, options: dict[str, Any], metrics_dir: Path, owned: bool, overrides: dict[str, Any]
    ) -> None:
        self.options = options
        self.metrics_dir = metrics_dir
        self.owned = owned
        self.overrides = overrides
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("child_exit", self._child_exit)

    def load(self) -> Any:  # runs in each worker, after the fork
        from mugpos.settings import get_settings
        from mugpos_serving.app import create_app

        # The settings were read before the directory was set (the master checked them).
        update = {"prometheus_multiproc_dir": self.metrics_dir, **self.overrides}
        return create_app(get_settings().model_copy(update=update))

    def _child_exit(self, server: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, str(self.metrics_dir))


def serve_replicas(
    *,
    host: str,
    port: int,
    workers: int,
    access_log: bool,
    metrics_dir: Path | None,
    inference_workers: int | None = None,
    graceful_timeout_s: int = 10,
) -> None:
    """Run ``workers`` API processes on ``host:port`` until stopped (SIGTERM, SIGINT).

    Without ``inference_workers`` (``MUGPOS_INFERENCE_WORKERS``) each process gets an equal
    share of the cores, not all of them: N processes x one thread per core would only queue."""
    from mugpos_serving.workers import usable_cores

    path, owned = prepare_metrics_dir(metrics_dir)
    overrides = {"inference_workers": inference_workers or max(1, usable_cores() // workers)}
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": ApiWorker,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "graceful_timeout": graceful_timeout_s,
        "timeout": 120,  # model loading at start-up must not look like a hung worker
        "keepalive": 5,  # uvicorn's default keep-alive, as with one process
        "proc_name": "mugpos-api",
        "control_socket_disable": True,  # one per user by default: two servers would clash
    }
    master = os.getpid()
    try:
        ApiServer(options, path, owned, overrides).run()
    finally:  # workers leave through here too (SystemExit after the fork): master only
        if owned and os.getpid() == master:
            with contextlib.suppress(OSError):
                shutil.rmtree(path)
