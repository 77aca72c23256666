"""Every overlay and component combination renders offline and every object is
valid: built-in kinds against the Kubernetes OpenAPI schemas (strict), custom
resources against the structural schemas of crd_schemas.py."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.k8s.conftest import OVERLAYS
from tests.k8s.crd_schemas import SCHEMAS
from tests.k8s.manifests import ref
from tests.k8s.schema_validation import validate_strict

#: the EKS version terraform deploys (terraform/environments/*/main.tf) and the
#: newest the validator knows: manifests must be valid on both.
KUBERNETES_VERSIONS = ("1.33", kubernetes_validate.utils.latest_version())


_VALID: set[str] = set()


def validate(obj: dict[str, Any]) -> None:
    """Validate one object; an identical object (same in many renders) is validated once."""
    fingerprint = json.dumps(obj, sort_keys=True)
    if fingerprint in _VALID:
        return
    _validate(obj)
    _VALID.add(fingerprint)


def _validate(obj: dict[str, Any]) -> None:
    key = (obj["apiVersion"], obj["kind"])
    if key in SCHEMAS:
        jsonschema.validate(obj, SCHEMAS[key])
        return
    for version in KUBERNETES_VERSIONS:
        validate_strict(obj, version)


def test_the_cached_validator_agrees_with_kubernetes_validate(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    broken = copy.deepcopy(next(o for o in renders["base"] if o["kind"] == "Deployment"))
    broken["spec"]["replicas"] = "two"
    for obj in (next(o for o in renders["base"] if o["kind"] == "Deployment"), broken):
        ours = theirs = None
        try:
            validate_strict(obj, "1.33")
        except jsonschema.ValidationError as exc:
            ours = exc.message
        try:
            kubernetes_validate.validate(obj, "1.33", strict=True)
        except kubernetes_validate.ValidationError as exc:
            theirs = exc.message
        assert ours == theirs
    assert ours is not None


def test_the_repository_ships_the_kind_and_eks_overlays() -> None:
    assert {"kind", "eks"} <= set(OVERLAYS)


def test_every_render_produces_the_platform(rendered: list[dict[str, Any]]) -> None:
    names = {o["metadata"]["name"] for o in rendered if o["kind"] == "Deployment"}
    assert {"gateway", "orders", "risk", "portfolio", "marketdata", "analytics"} <= names
    assert any(o["kind"] == "StatefulSet" and o["metadata"]["name"] == "postgres"
               for o in rendered)


def test_every_object_is_valid(rendered: list[dict[str, Any]]) -> None:
    errors = []
    for obj in rendered:
        try:
            validate(obj)
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{ref(obj)}: no schema for {obj['apiVersion']} {obj['kind']} "
                          "(add a structural schema to tests/k8s/crd_schemas.py)")
        except (kubernetes_validate.ValidationError, jsonschema.ValidationError) as exc:
            path = "/".join(str(p) for p in exc.absolute_path)
            errors.append(f"{ref(obj)}: {path}: {exc.message}")
    assert errors == []


def test_object_names_are_unique_per_kind_and_namespace(rendered: list[dict[str, Any]]) -> None:
    seen = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in rendered]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("mutation", ["typo-field", "wrong-type", "crd-typo"])
def test_the_validation_rejects_broken_objects(
    renders: dict[str, list[dict[str, Any]]], mutation: str
) -> None:
    """Guard against a validator that accepts everything (the checks above could not fail)."""
    objects = renders["base+all"]
    if mutation == "typo-field":
        obj = copy.deepcopy(next(o for o in objects if o["kind"] == "Deployment"))
        obj["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    elif mutation == "wrong-type":
        obj = copy.deepcopy(next(o for o in objects if o["kind"] == "HorizontalPodAutoscaler"))
        obj["spec"]["maxReplicas"] = "ten"
    else:
        obj = copy.deepcopy(next(o for o in objects if o["kind"] == "ServiceMonitor"))
        obj["spec"]["endpoints"][0]["intervall"] = "5s"
    with pytest.raises((kubernetes_validate.ValidationError, jsonschema.ValidationError)):
        validate(obj)
