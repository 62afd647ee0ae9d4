"""Checks `openapi/ontime.json` with tools from outside the Rust workspace (run by
scripts/spec-conformance.sh, which installs them). Subcommands:

* `examples SPEC` — the document is valid OpenAPI 3.0 (openapi-spec-validator), and every
  `example` (schemas, parameters, request and response bodies) is valid against its schema under
  a strict OpenAPI 3.0 validator (openapi-schema-validator's OAS30Validator with format checks).
* `records SPEC MODELS BASE KEY` — fetches records of every type from a running simulator and
  decodes each with the Pydantic models datamodel-code-generator made from the spec (MODELS, a
  Python file), and validates it against the spec with the same strict validator.

Every failure is printed; the exit status is 1 when there was any.
"""

import importlib.util
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate as validate_spec


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def validator(spec, schema):
    """A strict OAS 3.0 validator for `schema`, whose `$ref`s resolve inside `spec`."""
    return OAS30Validator(
        {**schema, "components": spec["components"]}, format_checker=oas30_format_checker
    )


def errors_of(spec, schema, instance):
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}"
        for e in validator(spec, schema).iter_errors(instance)
    ]


def examples(spec_path):
    spec = load(spec_path)
    validate_spec(spec)
    print("openapi-spec-validator: the document is valid OpenAPI 3.0")
    checked, failures = 0, []

    def check(where, schema, example):
        nonlocal checked
        checked += 1
        for problem in errors_of(spec, schema, example):
            failures.append(f"{where}: {problem}")

    for name, schema in spec["components"]["schemas"].items():
        if "example" in schema:
            check(f"#/components/schemas/{name}", schema, schema["example"])
    for path, item in spec["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                if "example" in param:
                    check(f"{where} parameter {param['name']}", param["schema"], param["example"])
            body = op.get("requestBody", {}).get("content", {})
            for media_type, media in body.items():
                if "example" in media:
                    check(f"{where} request {media_type}", media["schema"], media["example"])
            for code, response in op["responses"].items():
                for media_type, media in response.get("content", {}).items():
                    if "example" in media:
                        check(f"{where} {code} {media_type}", media["schema"], media["example"])
    print(f"examples: {checked} checked, {len(failures)} invalid")
    for failure in failures:
        print(f"  INVALID {failure}")
    return 1 if failures or checked == 0 else 0


class Api:
    def __init__(self, base, key):
        self.base, self.key, self.calls = base, key, 0

    def call(self, method, path, body=None):
        self.calls += 1
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.base}/api/{path}",
            data=data,
            method=method,
            headers={"Authorization": self.key, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)

    def get(self, path):
        return self.call("GET", path)


def records(spec_path, models_path, base, key):
    spec = load(spec_path)
    module_spec = importlib.util.spec_from_file_location("ontime_models", models_path)
    models = importlib.util.module_from_spec(module_spec)
    sys.modules["ontime_models"] = models  # pydantic resolves generic models through it
    module_spec.loader.exec_module(models)
    api = Api(base, key)
    found = {}  # type name -> list of (where, record)

    def add(kind, where, record):
        found.setdefault(kind, []).append((where, record))

    def fetch_all(finder, getter, kind, limit):
        for rid in api.get(finder)[:limit]:
            add(kind, f"{getter}/{rid}", api.get(f"{getter}/{rid}"))

    for finder, kind in [
        ("contacts", "Contact"), ("customers", "Customer"), ("departments", "Department"),
        ("invoices", "Invoice"), ("locations", "Location"), ("payments", "Payment"),
        ("statuses", "Status"), ("users", "User"), ("userSessions", "UserSession"),
        ("vehicles", "Vehicle"), ("zones", "Zone"),
    ]:
        fetch_all(finder, finder, kind, 50)
    fetch_all("orders", "orders", "Order", 200)
    seen = set()
    for _, order in list(found.get("Order", [])):
        oid = order["ID"]
        for item in (order.get("Items") or [])[:2]:
            add("Item", f"items/{item['ID']}", api.get(f"items/{item['ID']}"))
        for att in api.get(f"fileAttachments?orderID={oid}")[:2]:
            add("FileAttachment", f"fileAttachments/{att}", api.get(f"fileAttachments/{att}"))
        for status in api.get(f"orderStatusChanges/{oid}")[:3]:
            add("Status", f"orderStatusChanges/{oid}", status)
        for modifier in order.get("PriceModifiers") or []:
            if modifier.get("ID") and modifier["ID"] not in seen:
                seen.add(modifier["ID"])
                add("PriceModifier", f"priceModifiers/{modifier['ID']}",
                    api.get(f"priceModifiers/{modifier['ID']}"))
        if order.get("PriceSet") and order["PriceSet"] not in seen:
            seen.add(order["PriceSet"])
            add("PriceSet", f"priceSets/{order['PriceSet']}", api.get(f"priceSets/{order['PriceSet']}"))
        for comp in order.get("UserMiscCompensations") or []:
            add("UserMiscCompensation", f"userMiscCompensations/{comp['ID']}",
                api.get(f"userMiscCompensations/{comp['ID']}"))
        # Records that only travel embedded in an order.
        for field, kind in [("CollectionArrivalWindow", "TimeWindow"),
                            ("DeliveryArrivalWindow", "TimeWindow"),
                            ("VehicleRequired", "VehicleType")]:
            if order.get(field) is not None:
                add(kind, f"orders/{oid} {field}", order[field])
        for udf in (order.get("UserDefinedFields") or {}).values():
            add("UserDefinedField", f"orders/{oid} UserDefinedFields", udf)
    for _, user in list(found.get("User", []))[:20]:
        uid = user["ID"]
        try:
            add("UserAvailability", f"user/availability/{uid}", api.get(f"user/availability/{uid}"))
        except urllib.error.HTTPError as e:
            if e.code != 404:
                raise
        for position in api.get(f"user/position?userId={uid}")[:3]:
            add("UserPosition", f"user/position?userId={uid}", position)

    # A type the seeded data has none of is created from the spec's own example (attached to a
    # fetched order), posted, and read back.
    order = found["Order"][0][1]
    if "UserMiscCompensation" not in found:
        example = dict(spec["components"]["schemas"]["UserMiscCompensation"]["example"])
        example.pop("ID", None)
        example["OrderID"] = order["ID"]
        created = api.call("POST", "userMiscCompensation/post", example)
        add("UserMiscCompensation", f"userMiscCompensations/{created['ID']} (posted)",
            api.get(f"userMiscCompensations/{created['ID']}"))
    if "UserDefinedField" not in found:
        example = dict(spec["components"]["schemas"]["UserDefinedField"]["example"])
        example["OrderID"] = order["ID"]
        # order/post replaces the whole record: post the fetched order with the field added.
        api.call("POST", "order/post", {**order, "UserDefinedFields": {example["Label"]: example}})
        stored = api.get(f"orders/{order['ID']}")
        for udf in (stored.get("UserDefinedFields") or {}).values():
            add("UserDefinedField", f"orders/{order['ID']} UserDefinedFields (posted)", udf)

    failures = []
    wanted = [n for n, s in spec["components"]["schemas"].items()
              if s.get("type") == "object" and n != "Fault"]
    def model_of(kind):
        # datamodel-codegen names the null branch of a nullable field `X` (`anyOf: [{$ref:
        # XId}, null]`) after the field; when a record schema has the same name, one of the two
        # gets a numeric suffix. The record's model is the one that is not a RootModel.
        for name in [kind] + [f"{kind}{i}" for i in range(1, 4)]:
            model = getattr(models, name, None)
            if model is not None and "root" not in getattr(model, "model_fields", {}):
                return model
        raise SystemExit(f"no generated Pydantic model for record schema {kind}")

    for kind in wanted:
        model = model_of(kind)
        schema = {"$ref": f"#/components/schemas/{kind}"}
        rows = found.get(kind, [])
        bad = 0
        for where, record in rows:
            problems = []
            try:
                model.model_validate(record)
            except Exception as e:  # pydantic.ValidationError, reported whole
                problems.append(f"pydantic: {str(e).splitlines()[0]} {str(e).splitlines()[1:3]}")
            problems += [f"schema: {p}" for p in errors_of(spec, schema, record)]
            if problems:
                bad += 1
                failures.extend(f"{kind} {where}: {p}" for p in problems[:5])
        print(f"  {kind:<22} {len(rows):>4} records, {bad} rejected")
        if not rows:
            failures.append(f"{kind}: the simulator gave no record of this type")
    total = sum(len(v) for k, v in found.items() if k in wanted)
    print(f"records: {total} decoded with the generated Pydantic models and validated "
          f"against the spec ({api.calls} requests); {len(failures)} problems")
    for failure in failures[:60]:
        print(f"  FAILED {failure}")
    return 1 if failures else 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "examples":
        return examples(argv[1])
    if len(argv) == 5 and argv[0] == "records":
        return records(*argv[1:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
