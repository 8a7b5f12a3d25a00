"""The layer rules are a registry keyed by exact type: each rule declares what it imports."""

from __future__ import annotations

import pytest
from torch import nn

from engine.export import ExportError
from engine.export.import_rules import map_module, maps


class WiderLinear(nn.Linear):
    """A subclass may change forward, so it must not be imported as its base."""


def test_a_subclass_is_not_imported_as_its_base():
    with pytest.raises(ExportError, match=r"layer `fc` \(WiderLinear\) has no LayerForge block"):
        map_module(WiderLinear(2, 3), "fc", None)


def test_an_exact_type_finds_its_rule():
    rule = map_module(nn.Linear(2, 3, bias=False), "fc", None)
    assert (rule.block, rule.params) == ("Linear", {"out_features": 3, "bias": False})


def test_a_second_rule_for_one_layer_is_refused():
    with pytest.raises(ValueError, match="two import rules"):
        maps(nn.Linear)(lambda m, name, n: None)
