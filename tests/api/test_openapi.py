"""`/api/v1/openapi.json` is a valid OpenAPI 3.1 document (openapi-spec-validator), every operation named."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import OpenAPIV31SpecValidator

from bot.api.openapi import build_document, operation_id


async def test_the_document_is_valid_openapi_3_1(client: Any) -> None:
    """It said 3.0.3 but used `type: "null"` and pydantic v2 `$defs`: the validator refused it."""
    resp = await client.get("/api/v1/openapi.json")
    assert resp.status == 200
    document = await resp.json()
    assert document["openapi"].startswith("3.1.")
    errors = [str(error).splitlines()[0] for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


async def test_every_operation_has_a_unique_operation_id(client: Any) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    ids = [op.get("operationId") for ops in document["paths"].values() for op in ops.values()]
    assert all(ids), [i for i in ids if not i]
    assert len(ids) == len(set(ids))


async def test_no_openapi_3_0_or_pydantic_leftovers(client: Any) -> None:
    text = await (await client.get("/api/v1/openapi.json")).text()
    assert '"nullable"' not in text
    assert '"$defs"' not in text and "#/$defs/" not in text


def test_the_assembly_turns_3_0_and_pydantic_shapes_into_3_1() -> None:
    paths = {
        "/api/v1/things/{id}": {
            "get": {
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "name": {"type": "string", "nullable": True},
                                        "kind": {"type": "string", "enum": ["a"], "nullable": True},
                                        "ref": {"$ref": "#/components/schemas/Other", "nullable": True},
                                        "inner": {"$ref": "#/$defs/Inner"},
                                    },
                                    "$defs": {"Inner": {"type": "object"}},
                                }
                            }
                        },
                    }
                },
            }
        }
    }
    document = build_document(paths, {"Other": {"type": "object"}})
    op = document["paths"]["/api/v1/things/{id}"]["get"]
    props = op["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert props["name"] == {"type": ["string", "null"]}
    assert props["kind"] == {"type": ["string", "null"], "enum": ["a", None]}
    assert props["ref"] == {"anyOf": [{"$ref": "#/components/schemas/Other"}, {"type": "null"}]}
    assert props["inner"] == {"$ref": "#/components/schemas/Inner"}
    assert "Inner" in document["components"]["schemas"]
    assert op["operationId"] == operation_id("get", "/api/v1/things/{id}") == "get_things_id"
    assert list(OpenAPIV31SpecValidator(document).iter_errors()) == []
