//! Compiles the Pulumi protocol from the committed FileDescriptorSet (see proto/regenerate.py),
//! so building needs no `protoc`; and lays out a release plugin's code in the order a preview first runs it
//! (see `symbol-order.txt`).
use prost::Message;

/// The functions that start the plugin and answer the engine, first to last, as `make symbol-order`
/// recorded them. The kernel maps a binary's code in 64 KiB windows around each page it runs, so code
/// scattered over the binary keeps most of it resident; laid out together, the same code keeps a quarter
/// of the pages (RSS after Configure 6.5 → 4.2 MB).
const SYMBOL_ORDER: &str = "symbol-order.txt";

/// The one target the order is recorded for: its symbol names carry hashes of the target, toolchain,
/// profile and dependency versions, so only a build made as `make symbol-order` makes it matches them.
const ORDERED_TARGET: &str = "x86_64-unknown-linux-gnu";

/// Flags by which a build picks a linker other than rustc's own LLD.
const OTHER_LINKER_FLAGS: [&str; 4] = [
    "linker-features",
    "link-self-contained",
    "fuse-ld",
    "linker=",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = "proto/pulumi.fds.bin";
    println!("cargo:rerun-if-changed={path}");
    let fds = prost_types::FileDescriptorSet::decode(std::fs::read(path)?.as_slice())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .generate_default_stubs(true)
        .compile_fds(fds)?;
    order_symbols()?;
    Ok(())
}

/// Hands the symbol order to the linker for a release build of [`ORDERED_TARGET`] linked by rustc's own
/// LLD (the only linker here that reads it), and to nothing else: a missing symbol only leaves its
/// function where it was.
fn order_symbols() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={SYMBOL_ORDER}");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let rustflags = var("CARGO_ENCODED_RUSTFLAGS");
    let other_linker = !var("RUSTC_LINKER").is_empty()
        || OTHER_LINKER_FLAGS
            .iter()
            .any(|flag| rustflags.contains(flag));
    if var("TARGET") != ORDERED_TARGET || var("PROFILE") != "release" || other_linker {
        return Ok(());
    }
    let file = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join(SYMBOL_ORDER);
    if file.exists() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            file.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
    Ok(())
}
