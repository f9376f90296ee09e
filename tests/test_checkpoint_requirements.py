"""The checkpoint's `requirements` (strictTypeScript, noAnyTypes, jsdocRequired) say what the package as written
satisfies, checked after each phase, instead of `true` written at the start whatever the code holds."""

from __future__ import annotations

import re

from conftest import example_answer
from messages_api import Text

UNDOCUMENTED = re.sub(r"(?s)/\*\*.*?\*/\n", "", example_answer("CORE_IMPLEMENTATION"))


def test_a_package_whose_exports_have_no_jsdoc_records_false_and_the_rest_as_checked(project):
    assert "/**" not in UNDOCUMENTED and "export function" in UNDOCUMENTED
    project.write_config(buildValidation={"enabled": False})
    project.api.script("CORE_IMPLEMENTATION", Text(UNDOCUMENTED))

    project.doit("generate:data-validator:04-core-implementation", check=True)
    requirements = project.state()["requirements"]
    assert (requirements["strictTypeScript"], requirements["noAnyTypes"], requirements["jsdocRequired"]) == (
        True,
        True,
        False,
    )
