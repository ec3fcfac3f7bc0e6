"""Pins python-terraform 0.10.1's quirks with Terraform >= 1.x, so an upgrade that changes them is
noticed, and checks the adapter's answers to them. Uses a provider-free configuration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from python_terraform import IsNotFlagged, Terraform

from pipecheck.terraform import Backend, Workspace

CONFIG = """
resource "terraform_data" "thing" {
  input = var.word
}
variable "word" {
  type = string
}
output "word" {
  value = terraform_data.thing.output
}
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "main.tf").write_text(CONFIG)
    code, _, err = Terraform(working_dir=str(tmp_path)).init()
    assert code == 0, err
    return tmp_path


def test_apply_without_skip_plan_asks_for_approval_and_fails(workdir: Path) -> None:
    code, _, err = Terraform(working_dir=str(workdir)).apply(var={"word": "a"})
    assert code != 0 and "approval" in err.lower(), f"got exit {code} / {err[-300:]!r}, expected an approval error"


def test_destroy_default_passes_force_which_terraform_rejects(workdir: Path) -> None:
    tf = Terraform(working_dir=str(workdir))
    assert tf.apply(var={"word": "a"}, skip_plan=True)[0] == 0
    code, _, err = tf.destroy(var={"word": "a"})
    assert code != 0 and "force" in err, f"got exit {code} / {err[-300:]!r}, expected -force to be rejected"
    code, _, err = tf.destroy(var={"word": "a"}, force=IsNotFlagged, auto_approve=True)
    assert code == 0, f"got exit {code} / {err[-300:]!r}, expected destroy to work with auto_approve"


def test_output_by_name_needs_full_value(workdir: Path) -> None:
    tf = Terraform(working_dir=str(workdir))
    assert tf.apply(var={"word": "b"}, skip_plan=True)[0] == 0
    with pytest.raises(TypeError):
        tf.output("word")
    assert tf.output("word", full_value=True) == "b"


def test_workspace_applies_plans_clean_reads_outputs_and_destroys(workdir: Path, tmp_path: Path) -> None:
    ws = Workspace(workdir, dict(os.environ), {"word": "c"}, data_dir=tmp_path / "data")
    ws.init()
    ws.apply()
    assert ws.outputs() == {"word": "c"}, f"got {ws.outputs()}, expected {{'word': 'c'}}"
    assert ws.output("word") == "c"
    changed, text = ws.plan_changes()
    assert not changed, f"got changes after apply, expected none:\n{text}"
    ws.variables["word"] = "d"
    assert ws.plan_changes()[0], "got no changes after changing a variable, expected a diff"
    ws.destroy()
    assert set(ws.timings) >= {"init", "apply", "plan", "destroy"}, f"got timings {ws.timings}"


def test_backend_renders_local_and_aws_forms() -> None:
    template = 'bucket = "@BUCKET@"\nkey = "@USERNAME@/x"\nregion = "@REGION@"\n    @EXTRA@\n}\n'
    local = Backend("b", "k", "eu-west-1", path_style=True).render(template, "alice")
    assert local == 'bucket = "b"\nkey = "alice/x"\nregion = "eu-west-1"\n    use_path_style = true\n}\n'
    aws = Backend("b", "k", "eu-west-1", path_style=False).render(template, "alice")
    assert "@" not in aws and "use_path_style" not in aws, f"got {aws!r}"
