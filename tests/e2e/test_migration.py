"""Moving a stack from the Terraform-bridged alicloud provider to this one (docs/migration-from-bridged.md).

The stack's state is written the way the bridged provider v3.88.0 leaves it (testdata/bridged-stack.json: its
default provider, `alicloud:ecs/imageSharePermission:ImageSharePermission` and `alicloud:eds/image:Image` with
their `__defaults` and `__meta` fields), over a share and an ECD image that exist in the emulator with the same
ids. The e2e program, now written against this provider, is then run with `pulumi preview` and `pulumi up`:
the schema's aliases carry the old URNs over to the new types, so nothing is created, replaced or deleted,
and nothing in the cloud is changed.

The bridged provider's plugin is not installed (there is none here, and automatic plugin acquisition is off):
this provider's plugin is installed the way users install it, so a request for alicloud v3.88.0 finds nothing,
unlike the suite's usual project setting that points every version of `alicloud` at the built binary."""
import json
import pathlib
import re
import string

import pytest

from harness import (ACCESS_KEY, ACCOUNT_A, DESKTOP_1, IMAGE_1, IMAGE_TYPE, REGION, ROOT, SECRET_KEY, SHARE_TYPE,
                     TARGET, assert_consistent, plain)

TEMPLATE = pathlib.Path(__file__).resolve().parent / "testdata/bridged-stack.json"
BRIDGED_VERSION = "3.88.0"
BRIDGED_TYPES = {"alicloud:ecs/imageSharePermission:ImageSharePermission": SHARE_TYPE,
                 "alicloud:eds/image:Image": IMAGE_TYPE}
MUTATING = ("ModifyImageSharePermission", "CreateImage", "DeleteImages", "ModifyImageAttribute")
IMAGE_NAME = "golden-desktop"
DESCRIPTION = "Golden desktop image"
DESKTOP_2 = "ecd-demodesktop0000002"
PROVIDER_ID = "8bd1f6a4-6b54-4ab8-9f4e-7a9a3c4e2f10"


def version():
    return json.loads((ROOT / "schema.json").read_text())["version"]


def install_plugin_as_users_do(stack):
    """This provider's plugin in the stack's plugin cache, as `pulumi plugin install` puts it, instead of the
    project's `plugins.providers` path (which would answer for any version of `alicloud`)."""
    settings = json.loads((stack.project / "Pulumi.yaml").read_text())
    settings.pop("plugins", None)
    (stack.project / "Pulumi.yaml").write_text(json.dumps(settings))
    stack.pulumi("plugin", "install", "resource", "alicloud", f"v{version()}", "--file",
                 TARGET / "pulumi-resource-alicloud")
    installed = stack.pulumi("plugin", "ls", "--json").stdout
    assert [(p["name"], p["version"]) for p in json.loads(installed)] == [("alicloud", version())], installed


def bridged_state(target, values):
    """The bridged stack for this project and stack, with the stack's own manifest and secrets provider."""
    def fill(node):
        if isinstance(node, str):
            return string.Template(node).substitute(values)
        if isinstance(node, list):
            return [fill(n) for n in node]
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        return node

    state = target.export()
    state["deployment"]["resources"] = fill(json.loads(TEMPLATE.read_text())["resources"])
    return state


def operations(result):
    """The resource operations a preview or update prints (`+ create`, `- delete`, `~ update`, `+- replace`...)."""
    return re.findall(r"^\s*([-+~]+|\+-|-\+)\s*(?:alicloud|pulumi:providers)\S*", result.stdout, re.M)


def mutations(emulator):
    calls = emulator.calls()
    return {a: calls[a] for a in MUTATING if calls.get(a)}


def migrate(stack, emulator, provider=None):
    """Makes the stack's state the bridged provider's, over a share and an image made for it in the emulator.
    With `provider`, the bridged resources use an explicit provider of that name instead of the default one,
    and so does the program."""
    install_plugin_as_users_do(stack)
    # The bridged provider takes `endpoints` as a list; this one reads that form too.
    stack.pulumi("config", "rm", "alicloud:endpoints")
    for service in ("ecs", "ecd"):
        stack.pulumi("config", "set", "--path", f"alicloud:endpoints[0].{service}", emulator.url)
    stack.configure(shareImageId=IMAGE_1, shareAccountId=ACCOUNT_A, imageDesktopId=DESKTOP_1,
                    imageName=IMAGE_NAME, imageDescription=DESCRIPTION)
    if provider:
        stack.configure(explicitProvider=provider, explicitProviderEndpoint=emulator.url)

    emulator.control("POST", "ecs/share", {"regionId": REGION, "imageId": IMAGE_1, "accountId": ACCOUNT_A})
    ecd_image = emulator.control("POST", "ecd/create-image", {
        "regionId": REGION, "desktopId": DESKTOP_1, "name": IMAGE_NAME, "description": DESCRIPTION})["imageId"]

    project = json.loads((stack.project / "Pulumi.yaml").read_text())["name"]
    state = bridged_state(stack, dict(
        project=project, stack="e2e", region=REGION, endpoint=emulator.url, accessKey=ACCESS_KEY,
        secretKey=SECRET_KEY, imageId=IMAGE_1, accountId=ACCOUNT_A, ecdImageId=ecd_image, desktopId=DESKTOP_1,
        imageName=IMAGE_NAME, description=DESCRIPTION))
    if provider:
        text = json.dumps(state).replace("::pulumi:providers:alicloud::default_3_88_0", f"::pulumi:providers:alicloud::{provider}")
        state = json.loads(text)
    path = stack.dir / "bridged-stack.json"
    path.write_text(json.dumps(state, indent=2))
    stack.pulumi("stack", "import", "--file", path)
    imported = {r["type"]: r["id"] for r in stack.export()["deployment"]["resources"] if "id" in r}
    assert imported == {"pulumi:providers:alicloud": PROVIDER_ID,
                        "alicloud:ecs/imageSharePermission:ImageSharePermission": f"{IMAGE_1}:{ACCOUNT_A}",
                        "alicloud:eds/image:Image": ecd_image}, imported
    emulator.control("POST", "calls/reset")
    return {"share": f"{IMAGE_1}:{ACCOUNT_A}", "image": ecd_image}


@pytest.fixture
def migrated(stack, emulator):
    """A stack whose state is the bridged provider's, over the share and image it names."""
    return migrate(stack, emulator)


def test_bridged_resources_move_over_without_replacement(stack, emulator, migrated):
    # The bridged plugin really is absent: a refresh of the old state, which needs it, cannot start.
    refresh = stack.pulumi("refresh", "--preview-only", "--non-interactive", check=False)
    assert refresh.returncode != 0, refresh.stdout
    assert f"v{BRIDGED_VERSION}" in refresh.stdout + refresh.stderr, refresh.stderr

    # preview and up: every resource unchanged; the old URNs are the new resources' aliases.
    preview = stack.preview("--diff", "--expect-no-changes")
    assert operations(preview) == [], preview.stdout
    assert re.search(r"\b3 unchanged\b", preview.stdout), preview.stdout
    summary = json.loads(stack.pulumi("preview", "--json", "--non-interactive").stdout)["changeSummary"]
    assert summary == {"same": 3}, summary
    up = stack.up("--expect-no-changes")
    assert operations(up) == [] and re.search(r"\b3 unchanged\b", up.stdout), up.stdout
    assert mutations(emulator) == {}, emulator.calls()

    # The state now holds this provider's resources, with the same ids, under this provider's default provider.
    state = stack.export()["deployment"]["resources"]
    types = {r["type"]: r for r in state}
    assert not set(BRIDGED_TYPES) & set(types), [r["urn"] for r in state]
    assert types[SHARE_TYPE]["id"] == migrated["share"]
    assert types[IMAGE_TYPE]["id"] == migrated["image"]
    assert types[SHARE_TYPE]["urn"].endswith(f"::{SHARE_TYPE}::share")
    assert types[IMAGE_TYPE]["urn"].endswith(f"::{IMAGE_TYPE}::image")
    providers = [r for r in state if r["type"] == "pulumi:providers:alicloud"]
    assert len(providers) == 1 and plain(providers[0]["inputs"]["version"]) == version(), providers
    assert all(r["provider"].startswith(providers[0]["urn"] + "::") for r in (types[SHARE_TYPE], types[IMAGE_TYPE]))
    # The bridged bookkeeping goes from the inputs; outputs keep it until the next read.
    assert "__defaults" not in types[SHARE_TYPE]["inputs"] and "__defaults" not in types[IMAGE_TYPE]["inputs"]

    # A refresh reads both through this provider: the state is what the cloud holds, nothing to change.
    stack.refresh()
    assert assert_consistent(stack, emulator) == ({migrated["share"]}, {migrated["image"]: (IMAGE_NAME, DESCRIPTION)})
    image = next(r for r in stack.resources() if r["type"] == IMAGE_TYPE)
    assert "__meta" not in image["outputs"], image["outputs"]
    assert stack.outputs()["imageStatus"] == "Available"
    stack.preview("--expect-no-changes")
    assert mutations(emulator) == {}, emulator.calls()
    # The teardown destroys the stack: this provider deletes both, and the emulator is back at its seed.


def test_differences_after_the_move(stack, emulator, migrated):
    stack.up("--expect-no-changes")

    # Another desktop is another image: replaced here (the bridged provider ignores the change).
    stack.configure(imageDesktopId=DESKTOP_2)
    preview = stack.preview("--diff")
    assert re.search(r"^\s*\+-\s*alicloud:ecd:Image", preview.stdout, re.M), preview.stdout
    assert re.search(r"desktopId\s*:\s*\"ecd-demodesktop0000001\"\s*=>\s*\"ecd-demodesktop0000002\"",
                     preview.stdout), preview.stdout
    stack.configure(imageDesktopId=DESKTOP_1)

    # Names follow CreateImage's documented rule, checked before anything is called: no '.'.
    stack.configure(imageName="golden.desktop")
    failed = stack.preview(check=False)
    assert failed.returncode != 0
    assert "'imageName' must be 2 to 128 characters" in failed.stdout and "(no '.')" in failed.stdout, failed.stdout
    stack.configure(imageName=IMAGE_NAME)

    # A rename or a new description is an update in place, as before.
    stack.configure(imageDescription="Golden desktop image, v2")
    preview = stack.preview("--diff")
    assert re.search(r"^\s*~\s*alicloud:ecd:Image", preview.stdout, re.M), preview.stdout
    stack.configure(imageDescription=DESCRIPTION)
    stack.preview("--expect-no-changes")
    assert mutations(emulator) == {}, emulator.calls()


def test_an_explicit_provider_moves_over_too(stack, emulator):
    """A bridged program that made its own `alicloud.Provider`: the program makes this package's provider under
    the same name; the engine compares the two configurations through this provider and keeps the provider's
    id, so the resources keep their provider reference."""
    ids = migrate(stack, emulator, provider="bridged-hz")
    preview = stack.preview("--diff", "--expect-no-changes")
    assert operations(preview) == [], preview.stdout
    stack.up("--expect-no-changes")
    assert mutations(emulator) == {}, emulator.calls()
    state = stack.export()["deployment"]["resources"]
    providers = [r for r in state if r["type"] == "pulumi:providers:alicloud"]
    assert [(p["urn"].rsplit("::", 1)[1], p["id"]) for p in providers] == [("bridged-hz", PROVIDER_ID)], providers
    assert plain(providers[0]["inputs"]["version"]) == version(), providers[0]["inputs"]
    moved = {r["type"]: r for r in state if r["type"] in (SHARE_TYPE, IMAGE_TYPE)}
    assert {t: r["id"] for t, r in moved.items()} == {SHARE_TYPE: ids["share"], IMAGE_TYPE: ids["image"]}
    assert all(r["provider"] == f"{providers[0]['urn']}::{PROVIDER_ID}" for r in moved.values()), moved
    stack.refresh()
    assert_consistent(stack, emulator)
    stack.preview("--expect-no-changes")
    assert mutations(emulator) == {}, emulator.calls()
