"""The example workflows the demo and the template gallery offer are valid."""

from __future__ import annotations

import pytest

from builder import examples, services


@pytest.mark.parametrize("example", examples.all_examples(), ids=lambda e: e.slug)
def test_every_example_is_a_valid_workflow(example):
    result = services.validate(example.graph)
    assert result.valid, [issue.as_dict() for issue in result.errors]
    assert result.warnings == []


def test_the_gallery_covers_the_orchestration_patterns():
    slugs = {example.slug for example in examples.all_examples()}
    assert {
        "email-triage",
        "document-intake",
        "content-pipeline",
        "model-fallback",
        "parallel-research",
    } <= slugs
    loop = examples.content_pipeline().graph
    assert any(edge.get("loop") for edge in loop["edges"])
    assert any(node.get("max_visits", 1) > 1 for node in loop["nodes"])
