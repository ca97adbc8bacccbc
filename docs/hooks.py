"""mkdocs hooks: pages generated from the code at build time (never pasted).

* reference/configuration.md: every setting of every component, from the settings classes.
* reference/http-api.md and reference/openapi.json: the service's OpenAPI document.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

DOCS = Path(__file__).parent
REFERENCE = DOCS / "reference"


def configuration_rows() -> dict[str, list[tuple[str, str, str]]]:
    """Component -> [(VARIABLE, default, meaning)], read from the settings classes."""
    from ecs_service.settings import ServiceSettings
    from lambdas.canary_check._settings import CanaryCheckSettings
    from lambdas.query._settings import QueryLambdaSettings
    from lambdas.query_result._settings import QueryResultSettings

    def pydantic_rows(model: Any) -> list[tuple[str, str, str]]:
        rows = []
        for name, info in model.model_fields.items():
            default = "" if info.default is None else str(info.default)
            rows.append((name.upper(), default, (info.description or "").replace("\n", " ")))
        return rows

    def dataclass_rows(settings: Any) -> list[tuple[str, str, str]]:
        return [
            (
                f.name.upper(),
                "required" if f.default is dataclasses.MISSING else str(f.default),
                f.metadata.get("description", ""),
            )
            for f in dataclasses.fields(settings)
        ]

    return {
        "ECS service (`apps/ecs_service`)": pydantic_rows(ServiceSettings),
        "Query Result Lambda (`lambdas.query_result`)": pydantic_rows(QueryResultSettings),
        "Query Lambda (`lambdas.query`)": dataclass_rows(QueryLambdaSettings),
        "Canary check hook (`lambdas.canary_check`)": dataclass_rows(CanaryCheckSettings),
    }


def configuration_page() -> str:
    lines = [
        "# Configuration reference",
        "",
        "Generated from the settings classes when the site is built: every environment",
        "variable each component reads, its default and its meaning. Settings are validated",
        "at start; in `production` a missing required setting stops the process with one",
        "clear line. `ENVIRONMENT=local` allows AWS endpoint overrides (`AWS_ENDPOINT_URL`);",
        "`production` ignores them.",
        "",
    ]
    for component, rows in configuration_rows().items():
        lines += [f"## {component}", "", "| variable | default | meaning |", "| --- | --- | --- |"]
        lines += [
            f"| `{name}` | `{default or '—'}` | {meaning} |" for name, default, meaning in rows
        ]
        lines.append("")
    return "\n".join(lines)


def openapi_document() -> dict[str, Any]:
    from ecs_service.app import create_app
    from ecs_service.settings import ServiceSettings

    return create_app(ServiceSettings(environment="local")).openapi()


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node``, or the component its ``$ref`` names."""
    ref = node.get("$ref")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else node


def http_api_page(spec: dict[str, Any]) -> str:
    lines = [
        "# HTTP API (OpenAPI)",
        "",
        f"Generated from the service's OpenAPI document ({spec['info']['title']} "
        f"{spec['info']['version']}); download it as [openapi.json](openapi.json). The",
        "running service also serves it at `/openapi.json` and `/docs` (not with",
        "`ENVIRONMENT=production`).",
        "",
    ]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            lines += [f"## `{method.upper()} {path}`", "", operation.get("summary", ""), ""]
            if operation.get("description"):
                lines += [operation["description"], ""]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                schema = _resolve(spec, body["schema"])
                required = set(schema.get("required", []))
                lines += ["| field | type | required | rule |", "| --- | --- | --- | --- |"]
                for name, declared in schema.get("properties", {}).items():
                    choices = [_resolve(spec, c) for c in declared.get("anyOf", [declared])]
                    prop = {k: v for choice in choices for k, v in choice.items()} | declared
                    kinds = [c.get("type", "") for c in choices]
                    rule = ", ".join(
                        f"{k}={prop[k]}"
                        for k in (
                            "minLength",
                            "maxLength",
                            "minimum",
                            "maximum",
                            "pattern",
                            "default",
                        )
                        if k in prop
                    )
                    lines.append(
                        f"| `{name}` | {' or '.join(filter(None, kinds))} | "
                        f"{'yes' if name in required else 'no'} | {rule} |"
                    )
                lines.append("")
            lines += ["| status | meaning |", "| --- | --- |"]
            for status, response in operation.get("responses", {}).items():
                lines.append(f"| {status} | {response.get('description', '')} |")
            lines.append("")
    return "\n".join(lines)


def on_pre_build(config: Any) -> None:
    REFERENCE.mkdir(exist_ok=True)
    (REFERENCE / "configuration.md").write_text(configuration_page())
    spec = openapi_document()
    (REFERENCE / "openapi.json").write_text(json.dumps(spec, indent=2))
    (REFERENCE / "http-api.md").write_text(http_api_page(spec))
