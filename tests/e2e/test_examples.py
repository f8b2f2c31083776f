"""Every TypeScript, Python, Go and YAML example runs `pulumi up` and `pulumi destroy` against the emulator."""
import os
import shutil

import pytest

from harness import ACCOUNT_A, REGION, ROOT, TOOLS_BIN, Stack, run

EXAMPLES = ROOT / "examples"
LOOKED_UP = {"regionId": REGION, "imageId": "m-bp1demoimage00000003", "accountId": ACCOUNT_A}


def test_every_example_is_a_project_the_cli_loads(tmp_path):
    """The stacks below are given a Pulumi.yaml of their own; the examples' own project files must load in
    the CLI too, and name the example."""
    state = tmp_path / "state"
    state.mkdir()
    env = dict(os.environ, PULUMI_HOME=str(tmp_path / "home"), PULUMI_BACKEND_URL=f"file://{state}",
               PULUMI_CONFIG_PASSPHRASE="")
    examples = sorted(p for p in EXAMPLES.iterdir() if (p / "Pulumi.yaml").exists())
    assert len(examples) >= 20, examples
    for example in examples:
        copy = tmp_path / example.name
        shutil.copytree(example, copy)
        run([TOOLS_BIN / "pulumi", "stack", "init", "probe", "--non-interactive"], cwd=copy, env=env)
        # A file backend keeps a stack under its project's name.
        assert (state / ".pulumi/stacks" / example.name / "probe.json").exists(), list(state.rglob("*.json"))


@pytest.mark.parametrize("runtime", ["typescript", "python", "go", "yaml"], indirect=True)
def test_examples_run_up_and_destroy(runtime, emulator, seed, tmp_path):
    examples = sorted(EXAMPLES.glob(f"*-{runtime.language}"))
    assert len(examples) >= 3, examples
    # The lookup examples read this share by default.
    emulator.control("POST", "ecs/share", LOOKED_UP)
    for example in examples:
        stack = Stack(runtime, emulator, tmp_path, source=example)
        stack.up()
        outputs = stack.outputs()
        assert outputs and all(v not in (None, "", [], {}) for v in outputs.values()), (example.name, outputs)
        if "ecd-image" in example.name or "quickstart" in example.name:
            assert outputs.get("status", outputs.get("imageStatus")) == "Available", outputs
        stack.destroy()
        assert stack.resources() == []
    emulator.control("POST", "ecs/unshare", LOOKED_UP)
    assert emulator.state() == seed
