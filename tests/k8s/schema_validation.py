"""kubernetes-validate's offline schemas, with the validators cached.

``kubernetes_validate.validate`` re-reads and re-parses the (large) schema
files on every call; the suite validates hundreds of objects, so this builds
one validator per (Kubernetes version, apiVersion, kind) from the same files
and the same rules (strict schemas, the newest schema version not newer than
the one asked for) and reuses it.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema
import kubernetes_validate
from kubernetes_validate import utils
from referencing import Registry, Resource


@functools.cache
def _schema_version(desired: str) -> str:
    return [v for v in utils.all_versions()
            if utils.major_minor(v) <= utils.major_minor(desired)][-1]


@functools.cache
def _definitions(schema_dir: str, desired: str) -> Resource:
    return Resource.from_contents(
        utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", desired))


@functools.cache
def _validator(desired: str, api_version: str, kind: str) -> jsonschema.Draft202012Validator:
    version = _schema_version(desired)
    schema_dir = f"v{version}-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(
            f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group_version}.json", desired)
    except FileNotFoundError:
        raise kubernetes_validate.SchemaNotFoundError(
            version=desired, kind=kind, api_version=api_version) from None
    registry = _definitions(schema_dir, desired) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate_strict(obj: dict[str, Any], version: str) -> None:
    """Raise ``jsonschema.ValidationError`` (or ``SchemaNotFoundError``) as kubernetes-validate."""
    _validator(version, obj["apiVersion"], obj["kind"]).validate(obj)
