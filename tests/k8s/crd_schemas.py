"""Structural JSON schemas for the custom resources k8s/ ships.

kubernetes-validate knows only the built-in kinds. These schemas cover the
fields this repository uses of each CRD (Prometheus Operator, External
Secrets, Istio) with ``additionalProperties: false`` where a typo would
silently do nothing on a real cluster, and the enumerations the operators
accept. They are deliberately narrower than the real CRDs: a new field must be
added here on purpose.
"""

from __future__ import annotations

from typing import Any

_META = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}

_LABEL_SELECTOR = {
    "type": "object",
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "operator"],
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}

_DURATION = {"type": "string", "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?"
                                          r"(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}

_RELABEL = {
    "type": "object",
    "properties": {
        "sourceLabels": {"type": "array", "items": {"type": "string",
                                                    "pattern": r"^[a-zA-Z_][a-zA-Z0-9_]*$"}},
        "targetLabel": {"type": "string"},
        "action": {"enum": ["replace", "keep", "drop", "labelmap", "labeldrop", "labelkeep",
                            "hashmod", "lowercase", "uppercase", "keepequal", "dropequal"]},
        "regex": {"type": "string"},
        "replacement": {"type": "string"},
        "separator": {"type": "string"},
    },
    "additionalProperties": False,
}

_TLS = {
    "type": "object",
    "properties": {
        "caFile": {"type": "string"}, "certFile": {"type": "string"},
        "keyFile": {"type": "string"}, "insecureSkipVerify": {"type": "boolean"},
        "serverName": {"type": "string"},
    },
    "additionalProperties": False,
}

_ENDPOINT_COMMON = {
    "port": {"type": "string"},
    "path": {"type": "string", "pattern": "^/"},
    "scheme": {"enum": ["http", "https"]},
    "interval": _DURATION,
    "scrapeTimeout": _DURATION,
    "honorLabels": {"type": "boolean"},
    "relabelings": {"type": "array", "items": _RELABEL},
    "metricRelabelings": {"type": "array", "items": _RELABEL},
}

SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": _LABEL_SELECTOR,
                "namespaceSelector": {"type": "object"},
                "endpoints": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["port"],
                    "properties": {**_ENDPOINT_COMMON, "tlsConfig": _TLS},
                    "additionalProperties": False}},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

POD_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PodMonitor"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "required": ["selector", "podMetricsEndpoints"],
            "properties": {
                "selector": _LABEL_SELECTOR,
                "podMetricsEndpoints": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["port"], "properties": _ENDPOINT_COMMON,
                    "additionalProperties": False}},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

_RULE = {
    "type": "object",
    "required": ["expr"],
    "oneOf": [{"required": ["record"]}, {"required": ["alert"]}],
    "properties": {
        "record": {"type": "string", "pattern": r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"},
        "alert": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9]*$"},
        "expr": {"type": "string", "minLength": 1},
        "for": _DURATION,
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}

PROMETHEUS_RULE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": _META,
        "spec": {
            "type": "object", "required": ["groups"],
            "properties": {"groups": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["name", "rules"],
                "properties": {"name": {"type": "string"}, "interval": _DURATION,
                               "rules": {"type": "array", "minItems": 1, "items": _RULE}},
                "additionalProperties": False}}},
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

EXTERNAL_SECRET = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "external-secrets.io/v1"},
        "kind": {"const": "ExternalSecret"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "required": ["secretStoreRef", "target"],
            "anyOf": [{"required": ["data"]}, {"required": ["dataFrom"]}],
            "properties": {
                "refreshInterval": _DURATION,
                "secretStoreRef": {
                    "type": "object", "required": ["name", "kind"],
                    "properties": {"name": {"type": "string"},
                                   "kind": {"enum": ["SecretStore", "ClusterSecretStore"]}},
                    "additionalProperties": False},
                "target": {
                    "type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string"},
                                   "creationPolicy": {"enum": ["Owner", "Orphan", "Merge", "None"]},
                                   "deletionPolicy": {"enum": ["Delete", "Merge", "Retain"]},
                                   "template": {
                                       "type": "object",
                                       "properties": {"data": {
                                           "type": "object",
                                           "additionalProperties": {"type": "string"}}},
                                       "additionalProperties": False}},
                    "additionalProperties": False},
                "data": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["secretKey", "remoteRef"],
                    "properties": {
                        "secretKey": {"type": "string", "pattern": r"^[-._a-zA-Z0-9]+$"},
                        "remoteRef": {"type": "object", "required": ["key"],
                                      "properties": {"key": {"type": "string"},
                                                     "property": {"type": "string"}},
                                      "additionalProperties": False}},
                    "additionalProperties": False}},
                "dataFrom": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"extract": {"type": "object", "required": ["key"],
                                               "properties": {"key": {"type": "string"}},
                                               "additionalProperties": False}},
                    "additionalProperties": False}},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

PEER_AUTHENTICATION = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "security.istio.io/v1"},
        "kind": {"const": "PeerAuthentication"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "properties": {
                "selector": {"type": "object"},
                "mtls": {"type": "object", "required": ["mode"],
                         "properties": {"mode": {"enum": ["UNSET", "DISABLE", "PERMISSIVE",
                                                          "STRICT"]}},
                         "additionalProperties": False},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

_STRINGS = {"type": "array", "items": {"type": "string"}, "minItems": 1}
AUTHORIZATION_POLICY = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "security.istio.io/v1"},
        "kind": {"const": "AuthorizationPolicy"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "properties": {
                "selector": {"type": "object", "required": ["matchLabels"],
                             "properties": {"matchLabels": {"type": "object"}},
                             "additionalProperties": False},
                "action": {"enum": ["ALLOW", "DENY", "AUDIT", "CUSTOM"]},
                "rules": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "from": {"type": "array", "items": {
                            "type": "object", "required": ["source"],
                            "properties": {"source": {
                                "type": "object",
                                "properties": {"principals": _STRINGS, "namespaces": _STRINGS},
                                "additionalProperties": False}},
                            "additionalProperties": False}},
                        "to": {"type": "array", "items": {
                            "type": "object", "required": ["operation"],
                            "properties": {"operation": {
                                "type": "object",
                                "properties": {
                                    "ports": {"type": "array", "minItems": 1,
                                              "items": {"type": "string", "pattern": "^[0-9]+$"}},
                                    "methods": _STRINGS, "paths": _STRINGS},
                                "additionalProperties": False}},
                            "additionalProperties": False}},
                    },
                    "additionalProperties": False}},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

#: (apiVersion, kind) -> schema
SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR,
    ("monitoring.coreos.com/v1", "PodMonitor"): POD_MONITOR,
    ("monitoring.coreos.com/v1", "PrometheusRule"): PROMETHEUS_RULE,
    ("external-secrets.io/v1", "ExternalSecret"): EXTERNAL_SECRET,
    ("security.istio.io/v1", "PeerAuthentication"): PEER_AUTHENTICATION,
    ("security.istio.io/v1", "AuthorizationPolicy"): AUTHORIZATION_POLICY,
}
