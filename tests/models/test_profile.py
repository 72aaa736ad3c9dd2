"""Model profiles: one per family, declared once, checked against what the layers above them accept."""

import pytest

from fimkit.errors import FimkitError
from fimkit.formats import FimFormat
from fimkit.formats.detect import Detection
from fimkit.infer.context.budget import SUFFIX_SCOPES
from fimkit.infer.engines.healing import POLICIES
from fimkit.infer.shaping import RULES
from fimkit.models import profile as P
from fimkit.models.profile import served_format


def test_the_models_layer_knows_the_same_choices_as_infer():
    """profiles.py cannot import infer (it sits below it), so its lists are copies: kept in step."""
    assert P.RULES == RULES and P.HEALING == POLICIES and P.SUFFIX_SCOPES == SUFFIX_SCOPES


def test_each_family_gets_its_own_profile_or_the_generic_one():
    assert P.profile_for(None).name == "prefix-only" and P.profile_for(None).layout == "prefix-only"
    assert P.profile_for("qwen2.5-coder").name == "qwen2.5-coder"
    assert P.profile_for("starcoder").name == "fim"
    for profile in P.profiles().values():
        assert set(profile.rules) <= set(RULES) and profile.healing in POLICIES


def test_a_detected_model_is_served_in_its_profiles_layout():
    from fimkit.formats import get_family

    qwen = get_family("qwen2.5-coder")
    assert served_format(Detection(qwen, "test")).spec == f"qwen2.5-coder:{P.profile_for('qwen2.5-coder').layout}"
    assert served_format(Detection(qwen, "recorded", "psm")).layout == "psm"  # a model's own record wins
    assert served_format(Detection(None, "no tokens")) == FimFormat(None, "prefix-only")


@pytest.mark.parametrize("row, message", [
    ({"rules": ["scope", "bogus"]}, "unknown rule"),
    ({"healing": "always"}, "healing 'always'"),
    ({"layout": "sideways"}, "layout 'sideways'"),
    ({"colour": "red"}, "unknown key"),
])
def test_a_bad_profile_names_the_key(row, message):
    with pytest.raises(FimkitError, match=message):
        P._check("test", row)
