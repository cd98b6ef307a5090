//! The operations, one module per AWS service: the typed requests (which are the CLI's
//! flags too) and how each runs on the service, with its output in the AWS CLI's JSON.
//! Only [`crate::Service::call`] runs them.

pub mod audit;
pub mod backup;
pub mod iam;
pub mod kms;
pub mod org;
pub mod resource;
pub mod sts;
