"""A small validator of JSON bodies against Google's discovery document for Sheets v4.

It checks what a proto-backed API would reject or never produce: unknown property names,
wrong JSON types, and values outside an enum. Methods are matched by HTTP verb and path
using the document's own ``flatPath`` templates.
"""

from __future__ import annotations

import json
import os
import re

import googleapiclient

DOCUMENT = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents", "sheets.v4.json")


class Discovery:
    def __init__(self, path: str = DOCUMENT):
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        self.schemas = doc["schemas"]
        self.methods = []
        self._collect(doc)

    def _collect(self, resource: dict) -> None:
        for method in resource.get("methods", {}).values():
            pattern = re.sub(r"\{[^}]+\}", "[^/]+", re.escape(method["flatPath"]).replace(r"\{", "{").replace(r"\}", "}"))
            self.methods.append((
                method["httpMethod"],
                re.compile("^/" + pattern + "$"),
                method.get("request", {}).get("$ref"),
                method.get("response", {}).get("$ref"),
            ))
        for sub in resource.get("resources", {}).values():
            self._collect(sub)

    def method(self, verb: str, path: str) -> tuple[str | None, str | None] | None:
        """(request schema, response schema) for a Sheets call, or None if not Sheets."""
        # Ranges contain ':' and '!' that flatPath's [^/]+ accepts; verbs like :append
        # must win over a plain range, so the longest template is tried first.
        for http, pattern, request, response in sorted(self.methods, key=lambda m: -len(m[1].pattern)):
            if http == verb and pattern.match(path):
                return request, response
        return None

    def validate(self, value, schema_name: str) -> list[str]:
        errors: list[str] = []
        self._check(value, {"$ref": schema_name}, schema_name, errors)
        return errors

    def _check(self, value, schema: dict, where: str, errors: list[str]) -> None:
        if value is None:
            return  # JSON null is "unset" to a proto parser, valid for any field
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        kind = schema.get("type")
        if kind == "any" or kind is None and "properties" not in schema:
            return
        if kind == "object" or "properties" in schema:
            if not isinstance(value, dict):
                errors.append(f"{where}: expected object, got {type(value).__name__}")
                return
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for key, item in value.items():
                if key in props:
                    self._check(item, props[key], f"{where}.{key}", errors)
                elif extra:
                    self._check(item, extra, f"{where}[{key}]", errors)
                else:
                    errors.append(f"{where}: unknown property {key!r}")
            return
        if kind == "array":
            if not isinstance(value, list):
                errors.append(f"{where}: expected array, got {type(value).__name__}")
                return
            for i, item in enumerate(value):
                self._check(item, schema.get("items", {}), f"{where}[{i}]", errors)
            return
        if kind == "string":
            # int64 fields travel as strings but Google also accepts plain numbers.
            ok = isinstance(value, str) or (schema.get("format") in ("int64", "uint64") and isinstance(value, int))
            if not ok:
                errors.append(f"{where}: expected string, got {type(value).__name__}")
            elif "enum" in schema and value not in schema["enum"]:
                errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
            return
        if kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                errors.append(f"{where}: expected integer, got {value!r}")
            return
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                errors.append(f"{where}: expected number, got {value!r}")
            return
        if kind == "boolean" and not isinstance(value, bool):
            errors.append(f"{where}: expected boolean, got {value!r}")
