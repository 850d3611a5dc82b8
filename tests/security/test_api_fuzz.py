"""The JSON API fuzzed against its own OpenAPI description (/api/v1/openapi.json) with
schemathesis on a real waitress server: every generated request, valid or not, gets an answer
whose status, content type and body the description documents, and never a server error.
The number of examples is bounded so the run takes well under a minute."""

from __future__ import annotations

import json
import urllib.request

import hypothesis
import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the test extra")

from schemathesis.specs.openapi.checks import negative_data_rejection  # noqa: E402 - after the skip

EXAMPLES = {"POSITIVE": 120, "NEGATIVE": 80}
# Bad page, limit and sort values fall back to their defaults on purpose (scripts written
# against the lenient API keep working), so "invalid data must be rejected" does not apply.
LENIENT = [negative_data_rejection]


@pytest.fixture(scope="module")
def api(hostile_site):
    schema = schemathesis.openapi.from_url(hostile_site.base + "/api/v1/openapi.json")
    return schema, hostile_site.base + "/api/v1"


def test_the_description_is_served_and_names_both_operations(hostile_site):
    with urllib.request.urlopen(hostile_site.base + "/api/v1/openapi.json", timeout=10) as response:  # noqa: S310
        assert response.headers.get_content_type() == "application/json"
        description = json.load(response)
    assert description["openapi"].startswith("3.1")
    assert set(description["paths"]) == {"/search", "/records/{record_id}"}


@pytest.mark.parametrize("mode", sorted(EXAMPLES))
def test_every_generated_request_gets_a_documented_answer(api, mode):
    schema, base_url = api
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 2
    for operation in operations:

        @hypothesis.settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
        )
        @hypothesis.given(case=operation.as_strategy(generation_mode=schemathesis.GenerationMode[mode]))
        def call(case):
            case.call_and_validate(base_url=base_url, excluded_checks=LENIENT, timeout=20)

        call()


def test_real_answers_match_the_description(api, hostile_site):
    """A search that finds books and a record that exists, so the full shapes are checked too."""
    schema, base_url = api
    search = schema["/search"]["GET"]
    record = schema["/records/{record_id}"]["GET"]
    for query in ({"q": "padi"}, {"q": "kebun", "sort": "title", "limit": 1}, {"q": "alert", "lang": "en"}):
        response = search.Case(query=query).call_and_validate(base_url=base_url)
        assert response.status_code == 200
    assert json.loads(search.Case(query={"q": "padi"}).call(base_url=base_url).content)["hits"]
    for record_id in hostile_site.library.ids.values():
        assert (
            record.Case(path_parameters={"record_id": record_id}).call_and_validate(base_url=base_url).status_code
            == 200
        )
    for record_id in (0, 2**63, 10**30):
        assert (
            record.Case(path_parameters={"record_id": record_id}).call_and_validate(base_url=base_url).status_code
            == 404
        )
