//! Compiles the Pulumi protocol from the committed FileDescriptorSet (see proto/regenerate.py),
//! so building needs no `protoc`.
use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = "proto/pulumi.fds.bin";
    println!("cargo:rerun-if-changed={path}");
    let fds = prost_types::FileDescriptorSet::decode(std::fs::read(path)?.as_slice())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .generate_default_stubs(true)
        .compile_fds(fds)?;
    Ok(())
}
