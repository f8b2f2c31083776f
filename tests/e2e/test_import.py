"""`pulumi import` through the real CLI: the code `pulumi import --out` generates, used as it is, previews with
no changes in every language that runs here (Python, TypeScript, Go, YAML; C# is generated and parsed); a program
that gives the imported image's real desktopId does too; a new image still needs a desktopId; and an import of
something that does not exist says what is missing and where."""
import json
import re

import pytest

from harness import (ACCOUNT_A, ACCOUNT_B, DESKTOP_1, IMAGE_1, IMAGE_TYPE, MAIN_FILE, PROGRAMS, REGION, ROOT,
                     SEED, SHARE_TYPE, Runtime, Stack, program_from, run)

MUTATING = {"ModifyImageSharePermission", "CreateImage", "ModifyImageAttribute", "DeleteImages"}
# A second account of the seed (a bench recipient), so that the two shares are `share` and `share-<account>`:
# the names the end-to-end program gives them.
ACCOUNT_C = SEED["FIRST_OF_FIFTY_RECIPIENTS"]
NAME, DESCRIPTION = "imported-image", "Made by hand"


def output(proc):
    return proc.stdout + proc.stderr


def make_existing(emulator):
    """Two shares of IMAGE_1 and one ECD image, made outside Pulumi; returns the image's id."""
    for account in (ACCOUNT_A, ACCOUNT_C):
        emulator.control("POST", "ecs/share", {"regionId": REGION, "imageId": IMAGE_1, "accountId": account})
    return emulator.control("POST", "ecd/create-image", {"regionId": REGION, "desktopId": DESKTOP_1, "name": NAME,
                                                         "description": DESCRIPTION})["imageId"]


def generate(stack, image_id, *extra):
    """`pulumi import --file resources.json --out <file>` of the shares and the image; returns the code."""
    resources = stack.dir / "resources.json"
    resources.write_text(json.dumps({"resources": [
        {"type": SHARE_TYPE, "name": "share", "id": f"{IMAGE_1}:{ACCOUNT_A}"},
        {"type": SHARE_TYPE, "name": f"share-{ACCOUNT_C}", "id": f"{IMAGE_1}:{ACCOUNT_C}"},
        {"type": IMAGE_TYPE, "name": "image", "id": image_id},
    ]}))
    out = stack.dir / f"generated-{MAIN_FILE[stack.runtime.language]}"
    stack.pulumi("import", "--file", resources, "--out", out, "--yes", "--non-interactive", *extra)
    code = out.read_text()
    for expected in (ACCOUNT_A, ACCOUNT_C, IMAGE_1, NAME, DESCRIPTION):
        assert expected in code, f"{expected} missing from the generated code:\n{code}"
    # The API never reports the image's source desktop: the code must not make one up (`desktop_id=""`).
    assert '""' not in code, f"the generated code has an empty value:\n{code}"
    return code


def check_errors(out):
    """The Check failures the engine printed (`... resource '<name>'...has a problem: ...`)."""
    return [line for line in out.splitlines() if "has a problem" in line]


@pytest.mark.parametrize("runtime", ["python", "typescript", "go"], indirect=True)
def test_the_program_import_generates_previews_with_no_changes(stack, emulator, runtime):
    image_id = make_existing(emulator)
    try:
        code = generate(stack, image_id)
        assert len(stack.resources()) == 3
        # The generated code, as it is, is the whole program.
        stack.use_program(program_from(runtime.language, code, stack.dir))
        emulator.control("POST", "calls/reset")
        stack.preview("--expect-no-changes")

        # A program that also gives the image's real desktopId: no change either (above all, no replacement).
        stack.use_program(PROGRAMS / runtime.language)
        stack.configure(shareImageId=IMAGE_1, shareAccountId=ACCOUNT_A, manyShareAccountIds=ACCOUNT_C,
                        imageDesktopId=DESKTOP_1, imageName=NAME, imageDescription=DESCRIPTION)
        same = stack.preview("--expect-no-changes", "--diff")
        assert "replace" not in same.stdout, same.stdout

        # A new image without desktopId is still refused, by Check, at preview, naming the property.
        stack.configure(newImageName="brand-new-image")
        refused = stack.preview(check=False)
        assert refused.returncode != 0, output(refused)
        problems = check_errors(output(refused))
        assert any("new-image" in line and "desktopId" in line for line in problems), output(refused)
        assert not MUTATING & set(emulator.calls()), emulator.calls()
        stack.configure(newImageName=None)
        assert [i["imageId"] for i in emulator.ecd_images()] == [image_id]
        assert sorted(emulator.shared_with(IMAGE_1)) == sorted([ACCOUNT_A, ACCOUNT_C])
    finally:
        # `pulumi import` protects what it imports; the stack fixture destroys it.
        stack.pulumi("state", "unprotect", "--all", "--yes", check=False)


def test_the_yaml_program_import_generates_previews_with_no_changes(emulator, seed, tmp_path):
    """In a YAML project (an empty program) `pulumi import --out` writes YAML through the YAML host; that
    file, as it is, is the whole program and previews with no changes."""
    image_id = make_existing(emulator)
    source = tmp_path / "yaml"
    source.mkdir()
    stack = Stack(Runtime("yaml", tmp_path / "runtime-yaml"), emulator, tmp_path, source=source)
    try:
        code = generate(stack, image_id)
        assert "type: alicloud:ecd:Image" in code and "type: alicloud:ecs:ImageSharePermission" in code, code
        assert "desktopId" not in code, code
        stack.use_program(program_from("yaml", code, stack.dir))
        emulator.control("POST", "calls/reset")
        stack.preview("--expect-no-changes")
        assert not MUTATING & set(emulator.calls()), emulator.calls()
        assert len(stack.resources()) == 3
    finally:
        stack.pulumi("state", "unprotect", "--all", "--yes", check=False)
    stack.destroy()
    assert emulator.state() == seed


def test_the_csharp_program_import_generates_parses(emulator, seed, tmp_path):
    """No .NET SDK here, so the C# program is not run: `pulumi import --out` in a C# project (the language
    comes from the project's runtime) generates it, and it must parse, with no empty desktopId."""
    image_id = make_existing(emulator)
    source = tmp_path / "csharp"
    source.mkdir()
    stack = Stack(Runtime("dotnet", tmp_path / "runtime-dotnet"), emulator, tmp_path, source=source)
    code = generate(stack, image_id, "--protect=false")
    assert "new Alicloud.Ecd.Image(" in code and "new Alicloud.Ecs.ImageSharePermission(" in code, code
    program = tmp_path / "generated-csharp"
    program.mkdir()
    (program / "Program.cs").write_text(code)
    venv = run([ROOT / "tools/venv.sh", "sdk-check", ROOT / "tests/sdk/requirements.txt"]).stdout.strip()
    parsed = run([f"{venv}/bin/python", ROOT / "tests/sdk/parse_csharp.py", program], check=False)
    assert parsed.returncode == 0, f"{code}\n{output(parsed)}"
    # The C# stack only held the code generation: it goes, leaving the resources; then they go too.
    stack.pulumi("stack", "rm", "--force", "--yes")
    for account in (ACCOUNT_A, ACCOUNT_C):
        emulator.control("POST", "ecs/unshare", {"regionId": REGION, "imageId": IMAGE_1, "accountId": account})
    emulator.control("POST", "ecd/delete-image", {"regionId": REGION, "imageId": image_id})
    assert emulator.state() == seed


@pytest.mark.parametrize("runtime", ["python", "typescript"], indirect=True)
def test_an_import_of_a_share_that_does_not_exist_says_which_and_where(stack, emulator):
    failed = stack.pulumi("import", SHARE_TYPE, "share", f"{IMAGE_1}:{ACCOUNT_B}", "--yes", "--non-interactive",
                          check=False)
    out = output(failed)
    assert failed.returncode != 0, out
    assert "resource '' does not exist" not in out, out
    errors = [line for line in out.splitlines() if "error:" in line]
    assert any(IMAGE_1 in line and ACCOUNT_B in line and REGION in line and re.search(r"does not exist", line)
               for line in errors), out
    assert stack.resources() == []
    assert emulator.shares() == set()


@pytest.mark.parametrize("runtime", ["python", "typescript"], indirect=True)
def test_an_import_of_an_ecd_image_that_does_not_exist_says_which_and_where(stack, emulator):
    missing = "m-0123456789abcdef0"
    failed = stack.pulumi("import", IMAGE_TYPE, "image", missing, "--yes", "--non-interactive", check=False)
    out = output(failed)
    assert failed.returncode != 0, out
    assert "resource '' does not exist" not in out, out
    errors = [line for line in out.splitlines() if "error:" in line]
    assert any(missing in line and REGION in line for line in errors), out
    assert stack.resources() == []
    assert emulator.ecd_images() == []
