"""deploy/ validated offline: Kubernetes kinds against kubernetes-validate's bundled strict
schemas (the oldest and newest versions we support), the RayCluster against KubeRay's CRD
schema (vendored in deploy/schemas), the Dagster Helm values against the chart's keys.

Each validator is shown to reject a broken copy too, so a pass means something.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "k8s"
HELM_VALUES = ROOT / "deploy" / "helm" / "values-dagster.yaml"
RAY_SCHEMA = ROOT / "deploy" / "schemas" / "raycluster-ray.io-v1.json"
K8S_VERSIONS = ("1.30.0", "1.37.0")  # bundled by kubernetes-validate 1.37.0


def manifests() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(K8S_DIR.glob("*.yaml")):
        for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if doc:
                yield f"{path.name}#{i}", doc


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in manifests() if doc["kind"] == kind]


def validate_k8s(doc: dict[str, Any]) -> None:
    for v in K8S_VERSIONS:
        kubernetes_validate.validate(doc, v, strict=True)


# ---- Kubernetes kinds ---------------------------------------------------------------------


def test_every_kubernetes_manifest_is_valid_for_the_supported_versions() -> None:
    kinds = set()
    for name, doc in manifests():
        kinds.add(doc["kind"])
        if doc["apiVersion"].startswith("ray.io/"):
            continue  # the CRD's own test below
        try:
            validate_k8s(doc)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name} ({doc['kind']}): {exc.message} at {list(exc.path)}")
    assert kinds == {
        "Namespace",
        "ConfigMap",
        "PersistentVolumeClaim",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "RayCluster",
    }


def test_the_validator_rejects_a_misspelt_field() -> None:
    (deploy,) = by_kind("Deployment")
    broken = copy.deepcopy(deploy)
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbes"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_k8s(broken)


def test_api_deployment_serves_with_workers_and_probes_the_real_routes() -> None:
    (deploy,) = by_kind("Deployment")
    (service,) = by_kind("Service")
    pod = deploy["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    args = container["args"]
    assert container["command"] == ["mugpos"] and args[0] == "serve"
    assert int(args[args.index("--workers") + 1]) >= 2
    port = int(args[args.index("--port") + 1])
    (http,) = container["ports"]
    assert http["containerPort"] == port and http["name"] == "http"
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert deploy["spec"]["replicas"] >= 2
    # The routes and the flag exist in the code being deployed.
    health = (ROOT / "mugpos_serving" / "routes" / "health.py").read_text()
    assert '"/readyz"' in health and '"/healthz"' in health
    from typer.testing import CliRunner

    from mugpos.cli import app

    help_text = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200).output
    assert "--workers" in help_text and "--port" in help_text


def env_names() -> set[str]:
    names = set()
    for doc in by_kind("ConfigMap"):
        names |= set(doc["data"])
    for _, doc in manifests():
        text = json.dumps(doc)
        names |= set(re.findall(r'"name": "(MUGPOS_[A-Z0-9_]+)"', text))
    names |= set(re.findall(r"\b(MUGPOS_[A-Z0-9_]+)\b", HELM_VALUES.read_text()))
    return names


def test_every_mugpos_variable_in_deploy_is_a_setting() -> None:
    from mugpos.settings import Settings

    fields = set(Settings.model_fields)
    names = env_names()
    assert {"MUGPOS_HOME", "MUGPOS_DEVICE", "MUGPOS_EXECUTOR"} <= names
    unknown = {n.removeprefix("MUGPOS_").lower() for n in names} - fields
    assert not unknown, f"not in mugpos/settings.py: {sorted(unknown)}"


# ---- KubeRay ------------------------------------------------------------------------------


def strict(schema: Any) -> Any:
    """No unknown fields where the CRD lists the fields: the API server would prune them
    silently (structural schemas), which hides a typo until the cluster misbehaves."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


@pytest.fixture(scope="module")
def raycluster_validator() -> jsonschema.protocols.Validator:
    schema = strict(json.loads(RAY_SCHEMA.read_text()))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)


def test_raycluster_matches_kuberays_crd_and_its_pods_are_valid(raycluster_validator) -> None:  # type: ignore[no-untyped-def]
    (cluster,) = by_kind("RayCluster")
    assert cluster["apiVersion"] == "ray.io/v1"
    errors = [f"{list(e.path)}: {e.message}" for e in raycluster_validator.iter_errors(cluster)]
    assert not errors, errors
    spec = cluster["spec"]
    assert spec["rayVersion"] == version("ray")  # the client and the cluster must agree
    groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
    for group in groups:  # the pod templates are core Kubernetes: validate them as such
        validate_k8s(
            {
                "apiVersion": "v1",
                "kind": "PodTemplate",
                "metadata": {"name": "t"},
                "template": group["template"],
            }
        )
    (gpu,) = [g for g in spec["workerGroupSpecs"] if g["groupName"] == "gpu"]
    (worker,) = gpu["template"]["spec"]["containers"]
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == "1"
    head_ports = {
        p["name"]: p["containerPort"]
        for p in spec["headGroupSpec"]["template"]["spec"]["containers"][0]["ports"]
    }
    (config,) = [c for c in by_kind("ConfigMap") if "MUGPOS_RAY_ADDRESS" in c["data"]]
    address = config["data"]["MUGPOS_RAY_ADDRESS"]
    # KubeRay names the head service <cluster>-head-svc; the address uses its client port.
    assert address == (
        f"ray://{cluster['metadata']['name']}-head-svc.{cluster['metadata']['namespace']}.svc:"
        f"{head_ports['client']}"
    )


def test_the_crd_schema_rejects_a_misspelt_field(raycluster_validator) -> None:  # type: ignore[no-untyped-def]
    (cluster,) = by_kind("RayCluster")
    broken = copy.deepcopy(cluster)
    broken["spec"]["workerGroupSpec"] = broken["spec"].pop("workerGroupSpecs")
    assert list(raycluster_validator.iter_errors(broken))
    broken = copy.deepcopy(cluster)
    broken["spec"]["workerGroupSpecs"][0]["maxReplicas"] = "four"
    assert list(raycluster_validator.iter_errors(broken))


# ---- Dagster Helm values -------------------------------------------------------------------
# The chart's keys for what we set, from its pydantic schema (dagster-io/dagster,
# helm/dagster/schema/schema/charts/...: dagster_user_deployments/subschema/user_deployments.py,
# dagster/subschema/run_launcher.py and concurrency.py, dagster/values.py), unknown keys refused.
# Kubernetes-typed fields are checked with kubernetes-validate below.


class Chart(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Image(Chart):
    repository: str
    tag: str
    pullPolicy: str


class IncludeConfig(Chart):
    enabled: bool


class UserDeployment(Chart):
    name: str
    image: Image
    dagsterApiGrpcArgs: list[str] | None = None
    codeServerArgs: list[str] | None = None
    includeConfigInLaunchedRuns: IncludeConfig | None = None
    port: int
    env: dict[str, str] | list[dict[str, Any]] | None = None
    envConfigMaps: list[dict[str, Any]] | None = None
    envSecrets: list[dict[str, Any]] | None = None
    annotations: dict[str, str] | None = None
    nodeSelector: dict[str, str] | None = None
    affinity: dict[str, Any] | None = None
    tolerations: list[dict[str, Any]] | None = None
    podSecurityContext: dict[str, Any] | None = None
    securityContext: dict[str, Any] | None = None
    resources: dict[str, Any] | None = None
    livenessProbe: dict[str, Any] | None = None
    readinessProbe: dict[str, Any] | None = None
    startupProbe: dict[str, Any] | None = None
    labels: dict[str, str] | None = None
    volumeMounts: list[dict[str, Any]] | None = None
    volumes: list[dict[str, Any]] | None = None
    schedulerName: str | None = None


class UserDeployments(Chart):
    enabled: bool
    enableSubchart: bool
    deployments: list[UserDeployment]


class RunK8sConfig(Chart):
    containerConfig: dict[str, Any] | None = None
    podSpecConfig: dict[str, Any] | None = None
    podTemplateSpecMetadata: dict[str, Any] | None = None
    jobSpecConfig: dict[str, Any] | None = None
    jobMetadata: dict[str, Any] | None = None


class K8sRunLauncherConfig(Chart):
    image: Image | None = None
    imagePullPolicy: str
    jobNamespace: str | None = None
    loadInclusterConfig: bool
    kubeconfigFile: str | None = None
    envConfigMaps: list[dict[str, Any]]
    envSecrets: list[dict[str, Any]]
    envVars: list[str]
    volumeMounts: list[dict[str, Any]]
    volumes: list[dict[str, Any]]
    labels: dict[str, str] | None = None
    failPodOnRunFailure: bool | None = None
    resources: dict[str, Any] | None = None
    schedulerName: str | None = None
    securityContext: dict[str, Any] | None = None
    runK8sConfig: RunK8sConfig | None = None


class RunLauncherConfig(Chart):
    k8sRunLauncher: K8sRunLauncherConfig


class RunLauncher(Chart):
    type: str
    config: RunLauncherConfig


class Pools(Chart):
    defaultLimit: int | None = None
    granularity: str | None = None
    opGranularityRunBuffer: int | None = None


class Runs(Chart):
    maxConcurrentRuns: int | None = None
    tagConcurrencyLimits: list[dict[str, Any]] = []


class Concurrency(Chart):
    enabled: bool = False
    pools: Pools = Pools()
    runs: Runs = Runs()


CHART_TOP_LEVEL = {  # dagster/values.py (DagsterHelmValues) plus concurrency
    "dagsterWebserver", "dagster-user-deployments", "postgresql",
    "generatePostgresqlPasswordSecret", "generateCeleryConfigSecret", "rabbitmq", "redis",
    "flower", "ingress", "imagePullSecrets", "computeLogManager", "scheduler", "runLauncher",
    "pythonLogs", "dagsterDaemon", "busybox", "migrate", "telemetry", "serviceAccount",
    "global", "retention", "additionalInstanceConfig", "concurrency",
}  # fmt: skip


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load(HELM_VALUES.read_text())


def test_helm_values_use_the_charts_keys(values: dict[str, Any]) -> None:
    assert set(values) <= CHART_TOP_LEVEL, set(values) - CHART_TOP_LEVEL
    users = UserDeployments.model_validate(values["dagster-user-deployments"])
    launcher = RunLauncher.model_validate(values["runLauncher"])
    concurrency = Concurrency.model_validate(values["concurrency"])
    assert launcher.type == "K8sRunLauncher"
    (code,) = users.deployments
    assert code.dagsterApiGrpcArgs is not None
    # The gRPC server loads the module workspace.yaml names for local runs.
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    module = workspace["load_from"][0]["python_module"]["module_name"]
    args = code.dagsterApiGrpcArgs
    assert args[args.index("--module-name") + 1] == module
    secret_names = {s["name"] for s in (code.envSecrets or [])}
    assert secret_names == {s["name"] for s in launcher.config.k8sRunLauncher.envSecrets}
    # One GPU step at a time by default, as dagster.yaml on one machine.
    local = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert (
        concurrency.enabled
        and concurrency.pools.defaultLimit == (local["concurrency"]["pools"]["default_limit"])
    )
    embeddings = (ROOT / "mugpos_assets" / "assets" / "embeddings.py").read_text()
    assert 'GPU_POOL = "gpu"' in embeddings and "pool=GPU_POOL" in embeddings


def test_helm_values_refuse_a_key_the_chart_does_not_know(values: dict[str, Any]) -> None:
    broken = copy.deepcopy(values["runLauncher"])
    broken["config"]["k8sRunLauncher"]["envSecret"] = []
    with pytest.raises(ValidationError):
        RunLauncher.model_validate(broken)


def test_helm_values_kubernetes_parts_are_valid_kubernetes(values: dict[str, Any]) -> None:
    """What the chart pastes into pods, validated as the pods and jobs it becomes."""
    (code,) = values["dagster-user-deployments"]["deployments"]
    probe = {k: v for k, v in code["readinessProbe"].items() if k != "enabled"}
    probe["exec"] = {"command": ["dagster", "api", "grpc-health-check", "-p", str(code["port"])]}
    user_container = {
        "name": code["name"],
        "image": f"{code['image']['repository']}:{code['image']['tag']}",
        "env": code["env"],
        "envFrom": [{"configMapRef": c} for c in code["envConfigMaps"]]
        + [{"secretRef": s} for s in code["envSecrets"]],
        "resources": code["resources"],
        "readinessProbe": probe,
    }
    validate_k8s(pod({"containers": [user_container]}))
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    run = launcher["runK8sConfig"]
    run_container = {
        "name": "dagster",
        "image": user_container["image"],
        "volumeMounts": launcher["volumeMounts"],
        **run["containerConfig"],
    }
    run_pod = {
        **run["podSpecConfig"],
        "containers": [run_container],
        "volumes": launcher["volumes"],
        "restartPolicy": "Never",
    }
    validate_k8s(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "run"},
            "spec": {**run["jobSpecConfig"], "template": {"spec": run_pod}},
        }
    )
    claims = {v["persistentVolumeClaim"]["claimName"] for v in launcher["volumes"]}
    assert claims <= {d["metadata"]["name"] for d in by_kind("PersistentVolumeClaim")}


def pod(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}
