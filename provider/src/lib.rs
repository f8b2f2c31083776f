//! Pulumi native resource provider for Alibaba Cloud.

/// Generated Pulumi protocol types (`pulumirpc`) and the well-known types they use.
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    pub mod pulumirpc {
        tonic::include_proto!("pulumirpc");
    }
}

pub mod alicloud;
