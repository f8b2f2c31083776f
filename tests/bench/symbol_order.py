#!/usr/bin/env python3
"""Records provider/symbol-order.txt: the release plugin's functions in the order the engine first needs them.

The release plugin (built as `make bench` and `make dist` build it, for the host triple) runs three times
under callgrind, each run going one phase further with the engine's calls:

1. start, GetPluginInfo, CheckConfig and Configure with a bridged-shaped configuration (what every stack
   pays before its first resource, and what the bench row "RSS after Configure" measures);
2. then Check and Diff of both resources, and GetSchema (a preview);
3. then Create, Read and Delete of an image share against the release emulator (an update).

The file lists the functions each phase runs first, a phase after the one before, sorted by name inside a
phase so that a new recording diffs cleanly. provider/build.rs hands it to the linker, which lays those
functions out side by side. Symbol names carry hashes of the toolchain, target, profile and dependency
versions: record again after changing any of them (`make bench` reports how many of the names it finds).
"""
import pathlib
import re
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import bench  # noqa: E402

ORDER_FILE = bench.ROOT / "provider" / "symbol-order.txt"
PROVIDER_URN = "urn:pulumi:order::alicloud-order::pulumi:providers:alicloud::default"
SHARE_TYPE = "alicloud:ecs:ImageSharePermission"
IMAGE_TYPE = "alicloud:ecd:Image"
SHARE = {"imageId": bench.ONE_IMAGE[0], "accountId": bench.SEED["OTHER_ACCOUNT"]}


def struct(values):
    from google.protobuf import struct_pb2
    s = struct_pb2.Struct()
    s.update(values)
    return s


def urn(type_, name):
    return f"urn:pulumi:order::alicloud-order::{type_}::{name}"


# Each phase makes its calls through `stub` with the messages of `pb` (provider_pb2), the endpoints at
# `emulator_host`.

def phase_configure(stub, pb, emulator_host):
    from google.protobuf import empty_pb2
    stub.GetPluginInfo(empty_pb2.Empty(), timeout=60)
    config = bench.bridged_config(emulator_host)
    answer = stub.CheckConfig(pb.CheckRequest(urn=PROVIDER_URN, olds=struct({}), news=struct(config)),
                              timeout=60)
    if answer.failures:
        raise RuntimeError(f"CheckConfig failed: {answer.failures}")
    stub.Configure(pb.ConfigureRequest(args=struct(config), acceptSecrets=True, acceptResources=True),
                   timeout=60)


def phase_preview(stub, pb, _emulator_host):
    image = {"desktopId": bench.DESKTOP, "imageName": "golden-desktop", "description": "golden"}
    for type_, name, inputs in ((SHARE_TYPE, "share", SHARE), (IMAGE_TYPE, "golden", image)):
        checked = stub.Check(pb.CheckRequest(urn=urn(type_, name), olds=struct({}), news=struct(inputs),
                                                      name=name, type=type_), timeout=60)
        if checked.failures:
            raise RuntimeError(f"Check of {type_} failed: {checked.failures}")
        stub.Diff(pb.DiffRequest(id="x", urn=urn(type_, name), olds=struct(inputs),
                                          news=struct(dict(inputs)), old_inputs=struct(inputs), name=name,
                                          type=type_), timeout=60)
    stub.GetSchema(pb.GetSchemaRequest(), timeout=60)


def phase_update(stub, pb, _emulator_host):
    created = stub.Create(pb.CreateRequest(urn=urn(SHARE_TYPE, "share"), properties=struct(SHARE),
                                                    timeout=300, name="share", type=SHARE_TYPE), timeout=300)
    stub.Read(pb.ReadRequest(id=created.id, urn=urn(SHARE_TYPE, "share"), properties=created.properties,
                             inputs=struct(SHARE), name="share", type=SHARE_TYPE), timeout=300)
    stub.Delete(pb.DeleteRequest(id=created.id, urn=urn(SHARE_TYPE, "share"), properties=created.properties,
                                 old_inputs=struct(SHARE), timeout=300, name="share", type=SHARE_TYPE), timeout=300)


PHASES = [phase_configure, phase_preview, phase_update]


def executed_functions(profile, binary_name):
    """The functions of the plugin's own binary that a callgrind profile (names not demangled) ran."""
    names, objects, executed = {}, {}, set()
    current_object = None
    for line in profile.read_text().splitlines():
        if m := re.match(r"^(c?ob)=\((\d+)\)(?: (.*))?$", line):
            if m.group(3):
                objects[m.group(2)] = m.group(3)
            if m.group(1) == "ob":
                current_object = objects[m.group(2)]
        elif m := re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line):
            if m.group(3):
                names[m.group(2)] = m.group(3)
            if m.group(1) == "fn" and current_object and current_object.endswith("/" + binary_name):
                executed.add(names[m.group(2)])
    # Callgrind marks recursion as `name'2`, names a function it has no symbol for by its address, and adds
    # pseudo-functions such as `(below main)`.
    return {name.split("'")[0] for name in executed if not name.startswith(("0x", "("))}


def record(phases, work, emulator):
    """Runs the plugin under callgrind through the given phases; the functions it ran."""
    import grpc
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

    profile = work / f"callgrind.{len(phases)}.out"
    provider = bench.Provider(wrapper=["valgrind", "--tool=callgrind", "-q", f"--callgrind-out-file={profile}",
                                       "--dump-instr=no", "--demangle=no"])
    try:
        with grpc.insecure_channel(f"127.0.0.1:{provider.port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=120)
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            for phase in phases:
                phase(stub, provider_pb2, emulator.url.removeprefix("http://"))
    finally:
        # Callgrind writes the profile as the plugin exits on SIGTERM.
        provider.stop()
    return executed_functions(profile, bench.PROVIDER.name)


def main():
    bench.ensure_venv(__file__)
    for binary in (bench.PROVIDER, bench.EMULATOR):
        if not binary.exists():
            sys.exit(f"{binary} is missing: build it as `make symbol-order` does")
    emulator = bench.Emulator()
    try:
        emulator.prepare(bench.bench_seed(), [])
        with tempfile.TemporaryDirectory(prefix="alicloud-symbol-order-") as work:
            seen, lines = set(), []
            for count in range(1, len(PHASES) + 1):
                ran = record(PHASES[:count], pathlib.Path(work), emulator)
                new = sorted(ran - seen)
                lines.append(f"# phase {count}: {PHASES[count - 1].__name__}, {len(new)} functions")
                lines.extend(new)
                seen |= ran
                print(f"phase {count} ({PHASES[count - 1].__name__}): {len(new)} new functions", file=sys.stderr)
    finally:
        emulator.stop()
    header = [
        "# The release plugin's functions in the order the engine first needs them, for the linker",
        "# (provider/build.rs). Recorded by `make symbol-order` (tests/bench/symbol_order.py); not edited by hand.",
        f"# {bench.RUSTC_VERSION}, target {bench.HOST}",
    ]
    ORDER_FILE.write_text("\n".join(header + lines) + "\n")
    print(f"wrote {ORDER_FILE.relative_to(bench.ROOT)}: {len(seen)} functions", file=sys.stderr)


if __name__ == "__main__":
    main()
