#!/usr/bin/env bash
# Source me: a project-local DAGSTER_HOME (unless one is set) that uses ./dagster.yaml.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DAGSTER_HOME="${DAGSTER_HOME:-$_root/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
[ -e "$DAGSTER_HOME/dagster.yaml" ] || ln -s "$_root/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"
