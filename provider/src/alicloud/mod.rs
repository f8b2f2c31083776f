//! The Alibaba Cloud OpenAPI client: signing, credentials, endpoints, retries and typed calls.
