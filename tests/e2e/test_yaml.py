"""Pulumi YAML: programs with `runtime: yaml` use the schema directly (no SDK; the YAML host asks the
provider for it with GetSchema) and run through the real CLI against the emulator.

Every program in programs/yaml/ goes through preview, up, a second preview, refresh and destroy, with what
the emulator holds checked at each step; the lookups they call through `fn::invoke` are checked against the
emulator in CHECKS. Adding a resource's YAML case is one more program file there (and, for checks of its
own, one more entry in CHECKS). The resource options users write in YAML, and how the YAML host passes a
numeric-looking config value, are tested here too; `pulumi import --out` into a YAML project is in
test_import.py."""
import json
import pathlib
import textwrap

import pytest

from harness import ACCOUNT_A, ACCOUNT_B, DESKTOP_1, IMAGE_1, IMAGE_2, PROGRAMS, REGION, Runtime, Stack

YAML_PROGRAMS = sorted((PROGRAMS / "yaml").glob("*.yaml"))
MUTATING = {"ModifyImageSharePermission", "CreateImage", "ModifyImageAttribute", "DeleteImages"}


@pytest.fixture(scope="module")
def yaml_runtime(tmp_path_factory):
    return Runtime("yaml", tmp_path_factory.mktemp("runtime-yaml"))


def source_dir(base, name, program):
    """A program directory named `name` whose Main.yaml is `program` (text)."""
    source = pathlib.Path(base) / "programs" / name
    source.mkdir(parents=True)
    (source / "Main.yaml").write_text(program)
    return source


def output(proc):
    return proc.stdout + proc.stderr


def planned_creates(stack):
    """(type, name) of every alicloud resource `pulumi preview` plans to create."""
    plan = json.loads(stack.preview("--json").stdout)
    return sorted((s["newState"]["type"], s["urn"].rsplit("::", 1)[1]) for s in plan.get("steps", [])
                  if s["op"] == "create" and s["newState"]["type"].startswith("alicloud:"))


def in_state(stack):
    return sorted((r["type"], r["urn"].rsplit("::", 1)[1]) for r in stack.resources())


def check_share(outputs, emulator):
    image_id, account_id = outputs["shareId"].split(":")
    assert (image_id, account_id) == (IMAGE_1, ACCOUNT_A), outputs
    assert emulator.shared_with(IMAGE_1) == [ACCOUNT_A]
    # getImageSharePermissions, called with the share's output, saw the share.
    assert outputs["sharedWith"] == [ACCOUNT_A], outputs


def check_image(outputs, emulator):
    [image] = emulator.ecd_images()
    assert (outputs["imageId"], outputs["status"]) == (image["imageId"], "Available"), (outputs, image)
    assert (image["name"], image["status"]) == ("yaml-golden", "Available"), image
    # getImages, its name pattern built from the image's output, listed exactly that image.
    assert [(i["imageId"], i["imageName"], i["status"]) for i in outputs["listed"]] == \
        [(image["imageId"], "yaml-golden", "Available")], outputs


def check_share_list(outputs, emulator):
    assert outputs["listId"] == IMAGE_2, outputs
    # Check sorts the list; the cloud holds exactly it, and the lookup saw it.
    assert outputs["accountIds"] == sorted([ACCOUNT_A, ACCOUNT_B]), outputs
    assert outputs["isPublic"] is False, outputs
    assert sorted(emulator.shared_with(IMAGE_2)) == sorted([ACCOUNT_A, ACCOUNT_B])
    assert sorted(outputs["sharedWith"]) == sorted([ACCOUNT_A, ACCOUNT_B]), outputs


# What each program's outputs say, checked against the emulator after `up`, by program file name.
CHECKS = {"image-share-permission": check_share, "ecd-image": check_image, "image-share-list": check_share_list}


def test_every_check_names_a_program():
    assert {p.stem for p in YAML_PROGRAMS} >= set(CHECKS), "a CHECKS entry names no program"
    assert len(YAML_PROGRAMS) >= 2, YAML_PROGRAMS


@pytest.mark.parametrize("program", YAML_PROGRAMS, ids=lambda p: p.stem)
def test_yaml_program_up_refresh_destroy(program, yaml_runtime, emulator, seed, tmp_path):
    stack = Stack(yaml_runtime, emulator, tmp_path, source=source_dir(tmp_path, program.stem, program.read_text()))
    emulator.control("POST", "calls/reset")
    planned = planned_creates(stack)
    assert planned, f"{program.name} declares no alicloud resource"
    assert not MUTATING & set(emulator.calls()), f"preview changed something: {emulator.calls()}"
    assert emulator.state() == seed

    stack.up()
    assert in_state(stack) == planned
    assert emulator.state() != seed, "up made nothing in the cloud"
    outputs = stack.outputs()
    assert outputs and all(v not in (None, "", [], {}) for v in outputs.values()), outputs
    if program.stem in CHECKS:
        CHECKS[program.stem](outputs, emulator)
    cloud = emulator.state()

    # The program, run again, asks for nothing; a refresh finds everything as it was.
    stack.preview("--expect-no-changes")
    stack.refresh("--expect-no-changes")
    assert in_state(stack) == planned
    assert stack.outputs() == outputs
    assert emulator.state() == cloud

    stack.destroy()
    assert stack.resources() == []
    assert emulator.state() == seed


OPTIONS_PROGRAM = textwrap.dedent("""\
    config:
      description:
        type: string
        default: first words
    resources:
      image:
        type: alicloud:ecd:Image
        properties:
          desktopId: {desktop}
          imageName: yaml-options
          description: ${{description}}
        options:
          customTimeouts:
            create: 2s
          ignoreChanges:
            - description
      share:
        type: alicloud:ecs:ImageSharePermission
        properties:
          imageId: {image}
          accountId: "{account}"
        options:
          protect: true
          dependsOn:
            - ${{image}}
    outputs:
      status: ${{image.status}}
    """).format(desktop=DESKTOP_1, image=IMAGE_1, account=ACCOUNT_A)


def test_resource_options_written_in_yaml(yaml_runtime, emulator, seed, tmp_path):
    stack = Stack(yaml_runtime, emulator, tmp_path, source=source_dir(tmp_path, "options", OPTIONS_PROGRAM))
    try:
        # customTimeouts.create: the image is still Creating after 2 s, so the create fails but the image stays
        # in the state; the share, which dependsOn the image, is not made.
        emulator.hold_images()
        failed = stack.up(check=False)
        assert failed.returncode != 0, output(failed)
        [image] = stack.resources()
        assert image["type"] == "alicloud:ecd:Image" and image["outputs"]["status"] == "Creating", image
        assert image.get("initErrors"), image
        assert emulator.shared_with(IMAGE_1) == []

        # The next up waits for that same image and then makes the share.
        emulator.hold_images(False)
        assert emulator.release_images() == [image["id"]]
        stack.up()
        assert stack.outputs() == {"status": "Available"}
        assert [(i["imageId"], i["status"]) for i in emulator.ecd_images()] == [(image["id"], "Available")]
        assert emulator.shared_with(IMAGE_1) == [ACCOUNT_A]

        # ignoreChanges: a new description is no change, and the image keeps its old one.
        stack.configure(description="other words")
        stack.preview("--expect-no-changes")
        stack.up("--expect-no-changes")
        assert [i.get("description") for i in emulator.ecd_images()] == ["first words"]

        # protect: destroy refuses, naming the share, and deletes nothing.
        refused = stack.destroy(check=False)
        assert refused.returncode != 0 and "protected" in output(refused) and "share" in output(refused), output(refused)
        assert emulator.shared_with(IMAGE_1) == [ACCOUNT_A] and len(emulator.ecd_images()) == 1
    finally:
        stack.pulumi("state", "unprotect", "--all", "--yes", check=False)
        if emulator.holding:
            emulator.hold_images(False)
            emulator.release_images()
    stack.destroy()
    assert emulator.state() == seed


def test_a_lookup_of_an_image_that_does_not_exist_fails_the_yaml_program(yaml_runtime, emulator, seed, tmp_path):
    missing = "m-bp1nosuchimage000001"
    program = textwrap.dedent(f"""\
        variables:
          shares:
            fn::invoke:
              function: alicloud:ecs:getImageSharePermissions
              arguments:
                imageId: {missing}
              return: accountIds
        outputs:
          sharedWith: ${{shares}}
        """)
    stack = Stack(yaml_runtime, emulator, tmp_path, source=source_dir(tmp_path, "missing", program))
    failed = stack.preview(check=False)
    assert failed.returncode != 0, output(failed)
    assert f"image {missing} does not exist in region {REGION}" in output(failed), output(failed)
    assert emulator.state() == seed


def test_an_account_id_from_stack_config_needs_json_quotes(yaml_runtime, emulator, seed, tmp_path):
    """The YAML host (pulumi-yaml v1.25.0) reads a stack config value that parses as an integer as a number,
    even when the program declares it `type: string`; an account ID then reaches the provider as a number.
    The provider refuses it at preview, naming the property, and shares nothing; given in JSON quotes, the
    value stays a string and the share is made."""
    program = (PROGRAMS / "yaml/image-share-permission.yaml").read_text()
    stack = Stack(yaml_runtime, emulator, tmp_path, source=source_dir(tmp_path, "account-from-config", program))
    stack.configure(accountId=ACCOUNT_A)
    refused = stack.preview(check=False)
    assert refused.returncode != 0, output(refused)
    assert "'accountId' must be a string" in output(refused), output(refused)
    assert emulator.state() == seed

    stack.configure(accountId=json.dumps(ACCOUNT_A))
    stack.up()
    assert stack.outputs()["shareId"] == f"{IMAGE_1}:{ACCOUNT_A}"
    assert emulator.shared_with(IMAGE_1) == [ACCOUNT_A]
    stack.destroy()
    assert emulator.state() == seed
