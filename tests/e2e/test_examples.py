"""Every TypeScript, Python and Go example runs `pulumi up` and `pulumi destroy` against the emulator."""
from harness import ACCOUNT_A, REGION, ROOT, Stack

EXAMPLES = ROOT / "examples"
LOOKED_UP = {"regionId": REGION, "imageId": "m-bp1demoimage00000003", "accountId": ACCOUNT_A}


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
